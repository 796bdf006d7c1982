"""The preflight's shared types: a finding, what a run would submit, the checks' context, bounded commands.

Every Slurm command preflight or the watchdog runs goes through ``run_bounded``: it runs in its own
process group and, when it has not finished within its time, the whole group is killed (a ``squeue``
wrapper script and the ``squeue`` it started alike), so no status process is left behind.
"""

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LEVELS = ("ok", "warning", "blocking")
JOB_RULES = ("train", "evaluate")  # the rules whose jobs sbatch --test-only tries (one of each)
COMMAND_SECONDS = 20  # a Slurm command that takes longer than this counts as not answering
SRUN_SECONDS = 90  # the environment check gives up (warning) when srun has not finished by then
DEFAULT_INIT_SECONDS = 40  # slurm-init-seconds-before-status-checks (the plugin's default)


@dataclass(frozen=True)
class Finding:
    """One line of the report: which check, its level (``LEVELS``), what it found and how to fix it."""

    check: str
    level: str
    message: str
    fix: str = ""

    def line(self) -> str:
        """``[level] check: message; fix: …``."""
        return f"[{self.level}] {self.check}: {self.message}" + (f"; fix: {self.fix}" if self.fix else "")


@dataclass(frozen=True)
class ClusterSettings:
    """What a run would submit: the status command, the account, and the resources of each job kind.

    ``jobs`` maps a rule of ``JOB_RULES`` to its resources (``slurm_partition``, ``runtime`` in minutes,
    ``mem_mb``, ``gpu``, ``gres``, ``slurm_account``) as the profile sets them at attempt 1;
    ``partitions`` every partition the profile names; ``source`` says where they come from;
    ``init_seconds`` the first status check's delay, which sets how long squeue must keep finished jobs.
    """

    source: str
    status_command: str | None
    no_account: bool
    jobs: dict[str, dict[str, Any]]
    partitions: tuple[str, ...]
    init_seconds: int = DEFAULT_INIT_SECONDS


@dataclass
class Context:
    """The inputs of every check; ``answers`` caches Slurm command outputs between checks.

    ``config`` is the workflow's view of it (schema defaults filled in, the strong suite expanded).
    """

    settings: ClusterSettings
    config: dict[str, Any]
    results_dir: Path
    srun: bool = True
    config_problem: str | None = None  # the schema's complaint about the config file, if any
    srun_seconds: float = SRUN_SECONDS
    answers: dict[tuple[str, ...], subprocess.CompletedProcess[str] | None] = field(default_factory=dict)
    probe: subprocess.Popen[str] | None = None  # the environment check's srun (environment.start_probe)

    def ask(self, *command: str) -> subprocess.CompletedProcess[str] | None:
        """Run a Slurm command once (cached); ``None`` when it is missing or took over ``COMMAND_SECONDS``."""
        if command not in self.answers:
            self.answers[command] = run_bounded(list(command), COMMAND_SECONDS)
        return self.answers[command]


def kill_group(process: subprocess.Popen[str]) -> None:
    """SIGKILL ``process``'s whole process group (it leads one: ``start_new_session``), then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.communicate()


def run_bounded(command: list[str], seconds: float) -> subprocess.CompletedProcess[str] | None:
    """``command``'s result, or ``None`` when it is missing or has not finished within ``seconds`` (then killed)."""
    if shutil.which(command[0]) is None:
        return None
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        kill_group(process)
        return None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def said(answer: subprocess.CompletedProcess[str]) -> str:
    """The first non-empty line of what a command printed on stderr (else stdout)."""
    for text in (answer.stderr, answer.stdout):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if lines:
            return lines[0]
    return f"exit code {answer.returncode}"
