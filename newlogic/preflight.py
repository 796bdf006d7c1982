"""Cluster preflight: check a Slurm cluster before a study submits its first job (cluster/README.md).

Each check returns findings; a finding is one line with its fix, at level ``ok``, ``warning`` or
``blocking``. Any blocking finding makes ``newlogic preflight`` exit 2 and stops the workflow in its
``onstart:`` handler, before the first ``sbatch``. The checks, in order (``CHECKS``):

- ``commands``: ``sbatch``, ``squeue`` and ``sacct`` exist and the controller answers ``squeue``;
- ``status``: whether accounting is on (``sacct`` answers); off while the profile reads job states
  with ``sacct`` (the plugin's default) is blocking, since snakemake then waits forever;
- ``partitions``: every partition the profile names exists and is up, a job's ``runtime`` is within
  the partition's ``MaxTime``, and ``sbatch --test-only`` with the profile's own arguments of one
  train and one evaluate job (partition, time, memory, GPU request form, account) is accepted;
- ``account``: the account (``slurm_account``, from ``SBATCH_ACCOUNT`` in the profiles) is accepted;
- ``config``: the config passes the dry run's checks (its schema, ``newlogic.validation.validate_config``);
- ``data``: the config's dataset is bundled, on disk, or fetched first by the ``download`` rule;
- ``environment``: one short ``srun`` on the GPU partition reports the Python, torch and newlogic
  versions there (compared with this node's) and whether CUDA is visible (skip: ``--no-srun``);
- ``disk``: free space under the results folder against an estimate from the plan.

Importing this module is cheap: no torch here (this node's torch version comes from the package
metadata; the compute node imports torch in its own process). ``StatusWatchdog`` stops a run whose
job states stay unreadable for ``NEWLOGIC_STATUS_TIMEOUT`` seconds (default 300).
"""

import getpass
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from newlogic.datasets import dataset_info
from newlogic.errors import UserError

LEVELS = ("ok", "warning", "blocking")
JOB_RULES = ("train", "evaluate")  # the rules whose jobs sbatch --test-only tries (one of each)
STATUS_FIX = "add `slurm-status-command: squeue` to the profile, or pass --slurm-status-command squeue"
COMMAND_SECONDS = 20  # a Slurm command that takes longer than this counts as not answering
SRUN_SECONDS = 90  # the environment check gives up (warning) when srun has not finished by then
# Rough upper bounds of the disk space one training run (weights, checkpoint, logs, figures) and one
# attack setting's result (JSON and per-sample NPZ) take; CIFAR-10 models are the larger ones.
RUN_BYTES = {"cifar10": 200 * 2**20}
DEFAULT_RUN_BYTES = 20 * 2**20
RESULT_BYTES = 2 * 2**20
STATUS_TIMEOUT_VARIABLE = "NEWLOGIC_STATUS_TIMEOUT"
DEFAULT_STATUS_TIMEOUT = 300.0
CONFIG_SCHEMA = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"
PREFLIGHT_VARIABLE = "NEWLOGIC_PREFLIGHT"  # the workflow hook: full (default), no-srun or off
PREFLIGHT_MODES = ("full", "no-srun", "off")
PROBE_MARK = "newlogic-preflight-probe:"
# Printed on a compute node: its versions and whether CUDA is visible (torch is imported there only).
PROBE = f"""
import json, platform, sys
found = {{"python": platform.python_version(), "executable": sys.executable}}
try:
    import newlogic
    found.update(newlogic=newlogic.__version__, newlogic_path=newlogic.__file__)
except ImportError as error:
    found.update(newlogic=None, newlogic_path=str(error))
try:
    import torch
    found.update(torch=torch.__version__, cuda=torch.cuda.is_available())
except ImportError:
    found.update(torch=None, cuda=False)
print({PROBE_MARK!r} + json.dumps(found))
"""


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
    init_seconds: int = 40  # slurm-init-seconds-before-status-checks (the plugin's default)


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
    probe: subprocess.Popen[str] | None = None  # the environment check's srun, started early (start_probe)

    def ask(self, *command: str) -> subprocess.CompletedProcess[str] | None:
        """Run a Slurm command once (cached); ``None`` when it is missing or took over ``COMMAND_SECONDS``."""
        if command not in self.answers:
            self.answers[command] = _run(list(command), COMMAND_SECONDS)
        return self.answers[command]


def _run(command: list[str], seconds: float) -> subprocess.CompletedProcess[str] | None:
    if shutil.which(command[0]) is None:
        return None
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=seconds, check=False)
    except subprocess.TimeoutExpired:
        return None


def _said(answer: subprocess.CompletedProcess[str]) -> str:
    """The first non-empty line of what a command printed on stderr (else stdout)."""
    for text in (answer.stderr, answer.stdout):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if lines:
            return lines[0]
    return f"exit code {answer.returncode}"


# ---- the profile ------------------------------------------------------------------------------------------


def _evaluated(value: Any) -> Any:
    """A profile's resource value at attempt 1: ``480 * attempt`` → 480; a plain string (``gpu:1``) stays."""
    if not isinstance(value, str):
        return value
    try:
        return eval(value, {"__builtins__": {}}, {"attempt": 1})  # noqa: S307 - the user's own profile, as snakemake does
    except Exception:  # noqa: BLE001 - not an expression: a string resource such as gres
        return value


def profile_file(profile: Path | str) -> Path:
    """``config.yaml`` of a profile given as a folder, its file, or a name under ``~/.config/snakemake``."""
    given = Path(profile).expanduser()
    config_home = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    for candidate in (given, given / "config.yaml", config_home / "snakemake" / str(profile) / "config.yaml"):
        if candidate.is_file():
            return candidate
    raise UserError(f"profile {profile}: no config.yaml there (nor in {config_home / 'snakemake' / str(profile)}); "
                    "give a profile folder such as cluster/slurm")


def load_profile(profile: Path | str) -> ClusterSettings:
    """The ``ClusterSettings`` a Snakemake profile (YAML, or yte template like cluster/slurm) asks for."""
    import yaml
    import yte

    path = profile_file(profile)
    text = path.read_text()
    try:
        parsed = yte.process_yaml(text) if "__use_yte__" in text else yaml.safe_load(text)
    except Exception as error:  # noqa: BLE001 - yte raises many kinds; the profile is the user's file
        raise UserError(f"profile {path} cannot be read: {str(error).strip().splitlines()[0]}") from None
    parsed = parsed or {}
    if parsed.get("executor") != "slurm":
        raise UserError(f"profile {path} uses executor {parsed.get('executor')!r}, not 'slurm': preflight checks "
                        "a Slurm cluster's profile, such as cluster/slurm")
    defaults = {key: _evaluated(value) for key, value in (parsed.get("default-resources") or {}).items()}
    per_rule = parsed.get("set-resources") or {}
    jobs = {rule: {**defaults, **{key: _evaluated(value) for key, value in (per_rule.get(rule) or {}).items()}}
            for rule in JOB_RULES}
    named = [defaults.get("slurm_partition")] + [(body or {}).get("slurm_partition") for body in per_rule.values()]
    account = os.environ.get("SBATCH_ACCOUNT")
    if account and not parsed.get("slurm-no-account"):
        for resources in jobs.values():
            resources.setdefault("slurm_account", account)
    return ClusterSettings(
        source=f"profile {path.parent}",
        status_command=parsed.get("slurm-status-command"),
        no_account=bool(parsed.get("slurm-no-account")),
        jobs=jobs,
        partitions=tuple(sorted({name for name in named if name})),
        init_seconds=int(parsed.get("slurm-init-seconds-before-status-checks") or 40),
    )


def settings_of_workflow(workflow: Any) -> ClusterSettings:
    """The ``ClusterSettings`` of a running workflow (the ``onstart:`` hook): its first train and evaluate job."""
    first: dict[str, dict[str, Any]] = {}
    partitions = set()
    for job in workflow.dag.needrun_jobs():
        if job.is_local:
            continue
        resources = {name: job.resources.get(name) for name in
                     ("slurm_partition", "runtime", "mem_mb", "gpu", "gres", "slurm_account")}
        resources = {name: value for name, value in resources.items() if value not in (None, "")}
        partitions.add(resources.get("slurm_partition"))
        if job.rule.name in JOB_RULES and job.rule.name not in first:
            first[job.rule.name] = resources
    executor = workflow.executor_settings
    return ClusterSettings(
        source="this run",
        status_command=getattr(executor, "status_command", None),
        no_account=bool(getattr(executor, "no_account", False)),
        jobs=first,
        partitions=tuple(sorted(name for name in partitions if isinstance(name, str) and name)),
        init_seconds=int(getattr(executor, "init_seconds_before_status_checks", None) or 40),
    )


def status_command_in_use(settings: ClusterSettings) -> str:
    """``sacct`` or ``squeue``: the profile's choice, else the plugin's default (sacct when installed)."""
    if settings.status_command:
        return settings.status_command
    return "sacct" if shutil.which("sacct") else "squeue"


# ---- checks -----------------------------------------------------------------------------------------------


def check_commands(context: Context) -> Iterator[Finding]:
    """sbatch, squeue and sacct exist; squeue reaches the controller."""
    missing = [command for command in ("sbatch", "squeue", "sacct", "sinfo", "srun") if shutil.which(command) is None]
    if missing:
        yield Finding("commands", "blocking", f"{', '.join(missing)} not found on this node",
                      "run on the cluster's login node, or load its Slurm module (module load slurm)")
        return
    answer = context.ask("squeue", "--noheader", f"--user={getpass.getuser()}", "--format=%i")
    if answer is None or answer.returncode != 0:
        said = f"no answer within {COMMAND_SECONDS} s" if answer is None else _said(answer)
        yield Finding("commands", "blocking", f"squeue cannot reach the Slurm controller ({said})",
                      "check `scontrol ping`; ask the cluster's admins if slurmctld is down")
        return
    yield Finding("commands", "ok", "sbatch, squeue, sacct, sinfo and srun found; the controller answers")


def check_status(context: Context) -> Iterator[Finding]:
    """Accounting on or off, and whether the status command the run will use can read job states."""
    command = status_command_in_use(context.settings)
    answer = context.ask("sacct", "-X", "--noheader", "--format=JobIDRaw", "--starttime", "now-1hours")
    accounting = answer is not None and answer.returncode == 0
    said = "no answer" if answer is None else _said(answer)
    if command == "sacct" and not accounting:
        yield Finding("status", "blocking",
                      f"Slurm accounting is off (sacct: {said}), and {context.settings.source} reads job states "
                      "with sacct: snakemake would wait forever for jobs that have finished", STATUS_FIX)
        return
    if command == "squeue":
        age = _slurm_config(context).get("MinJobAge", "")
        seconds = int(age.split()[0]) if age[:1].isdigit() else None
        needed = 3 * context.settings.init_seconds  # below it the plugin falls back to sacct
        if seconds is not None and seconds < needed and not accounting:
            yield Finding("status", "blocking",
                          f"job states come from squeue, but MinJobAge={seconds} s < {needed} s: the plugin then "
                          "falls back to sacct, which cannot answer (accounting off)",
                          f"ask the admins for MinJobAge >= {needed} s or for accounting, or lower "
                          "slurm-init-seconds-before-status-checks")
            return
    state = "on" if accounting else f"off ({said})"
    yield Finding("status", "ok", f"accounting {state}; job states are read with {command}")


def _slurm_config(context: Context) -> dict[str, str]:
    answer = context.ask("scontrol", "show", "config")
    if answer is None or answer.returncode != 0:
        return {}
    pairs = (line.split("=", 1) for line in answer.stdout.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def _partition_table(context: Context) -> dict[str, tuple[str, str]]:
    """Partition → (availability, MaxTime) from ``sinfo`` (``gpu*`` marks the default: the star is dropped)."""
    answer = context.ask("sinfo", "--noheader", "--format=%R|%a|%l")
    if answer is None or answer.returncode != 0:
        return {}
    rows = (line.split("|") for line in answer.stdout.splitlines() if line.count("|") == 2)
    return {name.rstrip("*"): (available, limit) for name, available, limit in rows}


def slurm_minutes(limit: str) -> float | None:
    """Minutes of a Slurm time (``[D-]H:M:S``, ``M:S``, ``M``); ``None`` for ``infinite``/``UNLIMITED``."""
    if limit.lower() in ("infinite", "unlimited", "n/a", ""):
        return None
    days, _, clock = limit.rpartition("-")
    parts = [int(part) for part in clock.split(":")]
    seconds = {1: lambda: parts[0] * 60, 2: lambda: parts[0] * 60 + parts[1],
               3: lambda: parts[0] * 3600 + parts[1] * 60 + parts[2]}[len(parts)]()
    return (int(days or 0) * 86400 + seconds) / 60


def sbatch_arguments(resources: dict[str, Any]) -> list[str]:
    """The sbatch options the slurm executor plugin derives from a job's resources (its ``set_gres_string``)."""
    from types import SimpleNamespace

    from snakemake.iocontainers import ResourceList
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    arguments = []
    if resources.get("slurm_account"):
        arguments += ["-A", str(resources["slurm_account"])]
    if resources.get("slurm_partition"):
        arguments += ["-p", str(resources["slurm_partition"])]
    if resources.get("runtime"):
        arguments += ["-t", str(resources["runtime"])]
    if resources.get("mem_mb"):
        arguments += ["--mem", str(resources["mem_mb"])]
    gpu = {key: value for key, value in resources.items() if key in ("gpu", "gres", "gpu_model") and value}
    return arguments + shlex.split(set_gres_string(SimpleNamespace(resources=ResourceList(fromdict=gpu))))


# sbatch's refusal → what to change; the first pattern found in its message applies
SBATCH_FIXES: dict[str, str] = {
    "invalid partition": "set slurm_partition in the profile to a partition `sinfo -s` lists",
    "invalid account": "set SBATCH_ACCOUNT to an account of `sacctmgr show assoc user=$USER format=account`",
    "gres option unsupported": "use NEWLOGIC_GPU_REQUEST=gres (the cluster does not understand --gpus)",
    "invalid generic resource": "use the other GPU request form (NEWLOGIC_GPU_REQUEST=gres or gpus) or the GRES "
                                "name `sinfo -o %G` shows",
    "node configuration is not available": "ask for what a node of the partition has (`sinfo -p PARTITION -o "
                                           "'%N %c %m %G'`): fewer GPUs (gres gpu:1), less mem_mb",
    "memory specification": "lower mem_mb in the profile below the nodes' memory (`sinfo -o '%N %m'`)",
    "time limit": "lower runtime in the profile below the partition's MaxTime (`sinfo -o '%P %l'`)",
    "qos": "set slurm-qos in a copy of the profile to a QOS of `sacctmgr show assoc user=$USER format=qos`",
}


def _sbatch_fix(message: str) -> str:
    lowered = message.lower()
    return next((fix for pattern, fix in SBATCH_FIXES.items() if pattern in lowered),
                "change the profile's resources of this rule so that sbatch accepts them")


def check_partitions(context: Context) -> Iterator[Finding]:
    """Named partitions exist and are up; each job kind's runtime fits MaxTime and sbatch --test-only accepts it."""
    table = _partition_table(context)
    listed = ", ".join(sorted(table)) or "none"
    bad = set()
    for name in context.settings.partitions:
        if name not in table:
            bad.add(name)
            yield Finding("partitions", "blocking", f"partition {name!r} named by {context.settings.source} does "
                          f"not exist (sinfo lists: {listed})", _sbatch_fix("invalid partition"))
        elif table[name][0] != "up":
            bad.add(name)
            yield Finding("partitions", "blocking", f"partition {name!r} is {table[name][0]}, not up",
                          "wait until the admins bring it up, or name another partition in the profile")
    for kind in JOB_RULES:
        resources = context.settings.jobs.get(kind)
        if resources is None:  # no such job left to run
            continue
        partition = resources.get("slurm_partition")
        if partition in bad:
            continue
        limit = slurm_minutes(table.get(partition, ("", ""))[1]) if partition else None
        runtime = resources.get("runtime")
        if limit is not None and isinstance(runtime, int | float) and runtime > limit:
            yield Finding("partitions", "blocking", f"{kind} jobs ask for runtime {runtime} min, above the MaxTime "
                          f"({limit:g} min) of partition {partition!r}: Slurm would never start them",
                          _sbatch_fix("time limit"))
            continue
        arguments = sbatch_arguments(resources)
        answer = context.ask("sbatch", "--test-only", *arguments, "--job-name=newlogic-preflight", "--wrap=true")
        shown = " ".join(arguments)
        if answer is None:
            yield Finding("partitions", "blocking", f"sbatch --test-only {shown} ({kind}) did not answer within "
                          f"{COMMAND_SECONDS} s", "check `scontrol ping`; the controller may be overloaded")
        elif answer.returncode == 0:
            yield Finding("partitions", "ok", f"sbatch --test-only accepts the {kind} job ({shown})")
        elif "account" not in _said(answer).lower():  # a refused account is check_account's finding
            said = _said(answer)
            yield Finding("partitions", "blocking", f"sbatch refuses the {kind} job ({shown}): {said}",
                          _sbatch_fix(said))


def check_account(context: Context) -> Iterator[Finding]:
    """The account is set and accepted (by the test submissions of ``check_partitions``), or none is set."""
    accounts = sorted({str(r["slurm_account"]) for r in context.settings.jobs.values() if r.get("slurm_account")})
    if not accounts:
        how = ("the profile sets slurm-no-account" if context.settings.no_account
               else "the plugin guesses one with sacctmgr")
        yield Finding("account", "ok", f"no account set: {how}, else Slurm charges your default account")
        return
    refused = [_said(answer) for command, answer in context.answers.items()
               if command[:2] == ("sbatch", "--test-only") and answer is not None and answer.returncode != 0
               and "account" in _said(answer).lower()]
    if refused:
        yield Finding("account", "blocking", f"account {', '.join(accounts)} refused: {refused[0]}",
                      _sbatch_fix("invalid account"))
    else:
        yield Finding("account", "ok", f"account {', '.join(accounts)} accepted by sbatch --test-only")


def _dataset_files(name: str, data_dir: Path) -> list[Path]:
    """The files the loader of a downloaded dataset reads (``newlogic.data``; torch is imported only here)."""
    from newlogic.data import CIFAR10_DIR, CIFAR10_FILES, MNIST_FILES

    layouts: dict[str, tuple[Path, Mapping[str, tuple[str, ...]]]] = {
        "mnist": (data_dir / "MNIST" / "raw", MNIST_FILES),
        "cifar10": (data_dir / CIFAR10_DIR, CIFAR10_FILES),
    }
    folder, files = layouts[name]
    return [folder / file for split in files.values() for file in split]


def check_data(context: Context) -> Iterator[Finding]:
    """The dataset is bundled, on disk, or fetched by the ``download`` rule before the first job."""
    name = context.config["dataset"]
    if dataset_info(name).bundled:
        yield Finding("data", "ok", f"{name} is bundled with a Python package: nothing to fetch")
        return
    data_dir = Path(context.config.get("data_dir", "data"))
    missing = [path for path in _dataset_files(name, data_dir) if not path.is_file()]
    marker = data_dir / f".{name}.downloaded"  # data_marker in workflow/rules/common.smk
    if not missing:
        yield Finding("data", "ok", f"{name} is in {data_dir}")
    elif marker.exists():
        yield Finding("data", "blocking", f"{name}: {marker} says it was fetched, but {missing[0]} is missing "
                      f"({len(missing)} files)", f"delete {marker} (the download rule then fetches it again) or run "
                      f"`newlogic download --dataset {name} --data-dir {data_dir}`")
    else:
        yield Finding("data", "ok", f"{name} is not in {data_dir} yet: the download rule fetches it first, on this "
                      "node (it needs internet here)")


def login_versions() -> dict[str, Any]:
    """This node's Python, torch (from the package metadata: no import) and newlogic versions."""
    import newlogic

    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = None
    return {"python": platform.python_version(), "torch": torch_version, "newlogic": newlogic.__version__,
            "newlogic_path": newlogic.__file__}


def version_mismatches(login: dict[str, Any], node: dict[str, Any]) -> list[str]:
    """``name: here X, there Y`` for each of python, torch (without its ``+cu…`` build tag) and newlogic."""
    def base(version: Any) -> Any:
        return version.split("+")[0] if isinstance(version, str) else version

    found = []
    for name in ("python", "torch", "newlogic"):
        if base(login[name]) != base(node.get(name)):
            where = f" at {node.get('newlogic_path')}" if name == "newlogic" else ""
            found.append(f"{name} {login[name]} here, {node.get(name)}{where} there")
    return found


def _probe_resources(context: Context) -> dict[str, Any]:
    """The train job's resources (its GPU partition and request), else the first job's, else none."""
    return context.settings.jobs.get("train") or next(iter(context.settings.jobs.values()), {})


def start_probe(context: Context) -> None:
    """Start the environment check's srun (once), so that it runs while the other checks do."""
    if not context.srun or context.probe is not None or shutil.which("srun") is None:
        return
    arguments = sbatch_arguments({**_probe_resources(context), "runtime": 5, "mem_mb": 2000})  # short, small
    context.probe = subprocess.Popen(
        ["srun", "--job-name=newlogic-preflight", "--ntasks=1", *arguments, sys.executable, "-c", PROBE],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _probe_answer(context: Context) -> subprocess.CompletedProcess[str] | None:
    """The srun's output; ``None`` (and the srun stopped) when it has not finished within ``srun_seconds``."""
    start_probe(context)
    probe = context.probe
    if probe is None:
        return None
    try:
        stdout, stderr = probe.communicate(timeout=context.srun_seconds)
    except subprocess.TimeoutExpired:
        probe.kill()
        probe.communicate()
        return None
    return subprocess.CompletedProcess(probe.args, probe.returncode, stdout, stderr)


def check_environment(context: Context) -> Iterator[Finding]:
    """One short srun on the GPU partition: versions as on this node, CUDA visible."""
    if not context.srun:
        yield Finding("environment", "warning", "compute-node environment not checked (--no-srun)",
                      "run preflight without --no-srun once the queue is short")
        return
    answer = _probe_answer(context)
    partition = _probe_resources(context).get("slurm_partition", "the default partition")
    if answer is None:
        yield Finding("environment", "warning", f"srun on {partition} did not finish within {context.srun_seconds:g} s "
                      "(a long queue?)", "run preflight with --no-srun, or again later")
        return
    probe = next((line[len(PROBE_MARK):] for line in answer.stdout.splitlines() if line.startswith(PROBE_MARK)), None)
    if answer.returncode != 0 or probe is None:
        yield Finding("environment", "blocking", f"{sys.executable} does not run on {partition} "
                      f"({_said(answer)})", "install the environment where compute nodes see it (a shared file "
                      "system) and activate it in ~/.bashrc or before snakemake (sbatch --export=ALL)")
        return
    node = json.loads(probe)
    mismatches = version_mismatches(login_versions(), node)
    if mismatches:
        yield Finding("environment", "blocking", f"the compute node differs: {'; '.join(mismatches)}",
                      "use one environment for both (its PYTHONPATH too: unset it, or point it at this checkout)")
    else:
        yield Finding("environment", "ok", f"python {node['python']}, torch {node['torch']}, newlogic "
                      f"{node['newlogic']} on {partition} as here")
    if not node.get("cuda"):
        yield Finding("environment", "warning", f"CUDA is not visible on {partition}: jobs fall back to the CPU",
                      "request GPUs the way the site wants (NEWLOGIC_GPU_REQUEST), or install a CUDA build of torch")


def plan_bytes(config: dict[str, Any]) -> tuple[int, int, int]:
    """(training runs, attack results, bytes): the plan, sized with ``RUN_BYTES`` and ``RESULT_BYTES``."""
    from newlogic.study import ablations

    runs: dict[tuple[str, int], set[str]] = {}
    for ablation in ablations(config).values():
        for entry in ablation.models:
            for seed in ablation.seeds:
                runs.setdefault((entry.name, seed), set()).update(ablation.evaluated)
    results = sum(len(settings) for settings in runs.values())
    per_run = RUN_BYTES.get(config["dataset"], DEFAULT_RUN_BYTES)
    return len(runs), results, len(runs) * per_run + results * RESULT_BYTES


def check_disk(context: Context) -> Iterator[Finding]:
    """Free space where the results go against the plan's estimate (``plan_bytes``)."""
    runs, results, needed = plan_bytes(context.config)
    existing = next(path for path in (context.results_dir.resolve(), *context.results_dir.resolve().parents)
                    if path.exists())
    free = shutil.disk_usage(existing).free
    estimate = f"{runs} training runs and {results} results need about {needed / 2**30:.1f} GiB"
    if free < needed:
        yield Finding("disk", "blocking", f"{estimate}; {existing} has {free / 2**30:.1f} GiB free",
                      "free space there, or give snakemake a --directory on a larger file system")
    else:
        yield Finding("disk", "ok", f"{estimate}; {free / 2**30:.1f} GiB free under {existing}")


def check_config(context: Context) -> Iterator[Finding]:
    """The config passes what the dry run checks: the schema (``prepared_config``), then ``validate_config``."""
    from newlogic.validation import validate_config

    problem = context.config_problem
    if problem is None:
        try:
            validate_config(context.config)
        except UserError as error:
            problem = str(error)
    if problem:
        yield Finding("config", "blocking", problem, "correct the config (snakemake -n names the same value)")
    else:
        yield Finding("config", "ok", "the config passes the dry run's validation")


def prepared_config(config_file: Path | str) -> tuple[dict[str, Any], str | None]:
    """(config, schema problem): the file read strictly, checked and filled in by the schema, suite expanded.

    As the Snakefile does before its rules (``newlogic.config_file``, ``snakemake.utils.validate``,
    ``expand_strong_suite``); with a schema problem the config is returned as read.
    """
    import copy

    from snakemake.utils import validate

    from newlogic.attacks.suite import expand_strong_suite
    from newlogic.config_file import read_config_file, schema_error

    raw = read_config_file(Path(config_file))
    problem = schema_error(raw, CONFIG_SCHEMA)
    if problem is not None:
        return raw, problem
    config = copy.deepcopy(raw)
    validate(config, str(CONFIG_SCHEMA))
    try:
        expand_strong_suite(config)
    except UserError as error:
        return raw, str(error)
    return config, None


CHECKS: dict[str, Callable[[Context], Iterator[Finding]]] = {
    "commands": check_commands,
    "status": check_status,
    "partitions": check_partitions,
    "account": check_account,
    "config": check_config,
    "data": check_data,
    "environment": check_environment,
    "disk": check_disk,
}
SLURM_CHECKS = ("status", "partitions", "account", "environment")  # skipped when Slurm does not answer
PLAN_CHECKS = ("data", "disk")  # skipped when the config does not pass


def run_preflight(context: Context) -> list[Finding]:
    """Every check's findings, in ``CHECKS`` order; without a working Slurm, or with a bad config, fewer."""
    findings: list[Finding] = []
    try:
        for name, check in CHECKS.items():
            needs = "commands" if name in SLURM_CHECKS else "config" if name in PLAN_CHECKS else None
            if any(f.check == needs and f.level == "blocking" for f in findings):
                continue
            findings += check(context)
            if name == "commands" and not blocking(findings):
                start_probe(context)  # the srun (and torch's import on the node) overlaps the other checks
    finally:
        if context.probe is not None and context.probe.poll() is None:
            context.probe.kill()
            context.probe.communicate()
    return findings


def summary(findings: list[Finding]) -> str:
    """``preflight: N checks, M warnings, K blocking``."""
    count = {level: sum(f.level == level for f in findings) for level in LEVELS}
    return f"preflight: {len(findings)} checks, {count['warning']} warnings, {count['blocking']} blocking"


def blocking(findings: list[Finding]) -> bool:
    return any(finding.level == "blocking" for finding in findings)


def report(findings: list[Finding], as_json: bool = False) -> str:
    """One line per finding and the summary line, or the same as JSON (``findings``, ``summary``, ``blocking``)."""
    if as_json:
        return json.dumps({"findings": [asdict(f) for f in findings], "summary": summary(findings),
                           "blocking": blocking(findings)}, indent=2)
    return "\n".join([finding.line() for finding in findings] + [summary(findings)])


def preflight(profile: Path | str, config_file: Path | str, results_dir: Path | str = "results",
              srun: bool = True, as_json: bool = False) -> tuple[str, bool]:
    """``newlogic preflight``: (the report, whether anything blocks) for a profile and a workflow config."""
    if find_spec("snakemake_executor_plugin_slurm") is None:
        raise UserError("newlogic preflight needs snakemake and its slurm plugin: pip install -e '.[workflow]'")
    config, problem = prepared_config(config_file)
    context = Context(load_profile(profile), config, Path(results_dir), srun=srun, config_problem=problem)
    findings = run_preflight(context)
    return report(findings, as_json), blocking(findings)


# ---- the workflow hook ------------------------------------------------------------------------------------


def status_timeout() -> float:
    """``NEWLOGIC_STATUS_TIMEOUT`` in seconds (default 300; 0 turns the watchdog off)."""
    text = os.environ.get(STATUS_TIMEOUT_VARIABLE, str(DEFAULT_STATUS_TIMEOUT))
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise UserError(f"{STATUS_TIMEOUT_VARIABLE}={text!r}: give seconds (a number >= 0; 0 turns the check off)")
    return seconds


def status_query(command: str) -> list[str]:
    """The query the watchdog runs: the plugin's kind of ``sacct`` or ``squeue`` call, for this user's jobs."""
    if command == "sacct":
        since = f"{datetime.now() - timedelta(days=2):%Y-%m-%dT%H:00}"
        return ["sacct", "-X", "--parsable2", "--noheader", "--format=JobIdRaw,State", "--starttime", since,
                "--endtime", "now"]
    return ["squeue", "--noheader", "--states=all", f"--user={getpass.getuser()}", "--format=%i|%T"]


class StatusWatchdog:
    """Stops a run whose job states stay unreadable: the status query failing for ``timeout`` seconds.

    The slurm executor plugin retries a failed status query forever (``slurm-status-attempts`` bounds
    the attempts of one check, not the run), so a run whose states cannot be read would wait forever.
    This thread runs the same kind of query every ``timeout / 10`` seconds (at most 30 s); when none
    has answered for ``timeout`` seconds it prints one line naming the cause and calls ``stop``
    (default: SIGINT to this process, which makes snakemake cancel its jobs and exit).
    """

    def __init__(self, query: list[str], timeout: float, stop: Callable[[], None] | None = None) -> None:
        self.query = query
        self.timeout = timeout
        self.stop = stop or (lambda: os.kill(os.getpid(), signal.SIGINT))
        self.fired = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="newlogic-status-watchdog", daemon=True)

    def start(self) -> "StatusWatchdog":
        self._thread.start()
        return self

    def _watch(self) -> None:
        interval = min(30.0, self.timeout / 10)
        last_answer, said = time.monotonic(), ""
        while True:
            time.sleep(interval)
            answer = _run(self.query, max(interval, 1.0))
            if answer is not None and answer.returncode == 0:
                last_answer = time.monotonic()
                continue
            said = "no answer" if answer is None else _said(answer)
            if time.monotonic() - last_answer >= self.timeout:
                print(f"newlogic: job states unreadable for {self.timeout:g} s ({self.query[0]}: {said}); stopping "
                      f"the run; fix: {STATUS_FIX} when accounting is off, else ask the admins "
                      f"(timeout: {STATUS_TIMEOUT_VARIABLE})", file=sys.stderr, flush=True)
                self.fired.set()
                self.stop()
                return


def uses_slurm(workflow: Any) -> bool:
    """Whether this snakemake process submits jobs with the slurm executor plugin."""
    plugin = getattr(workflow, "executor_plugin", None)
    return plugin is not None and plugin.cli_prefix == "slurm"


def workflow_preflight(workflow: Any, config: dict[str, Any]) -> None:
    """The ``onstart:`` hook: under the slurm executor, preflight (then the status watchdog); else nothing.

    ``NEWLOGIC_PREFLIGHT=no-srun`` skips the srun, ``off`` the whole check. A blocking finding exits 2
    before the first sbatch.
    """
    mode = os.environ.get(PREFLIGHT_VARIABLE, "full")
    if mode not in PREFLIGHT_MODES:
        sys.exit(f"{PREFLIGHT_VARIABLE}={mode!r}: use one of {', '.join(PREFLIGHT_MODES)}")
    if not uses_slurm(workflow) or not workflow.is_main_process:
        return
    try:
        timeout = status_timeout()
    except UserError as error:
        sys.exit(str(error))
    settings = settings_of_workflow(workflow)
    if mode != "off":
        from newlogic.store import paths

        context = Context(settings, config, Path(paths.results_dir(config.get("run"))), srun=mode == "full")
        findings = run_preflight(context)
        print(report(findings), file=sys.stderr, flush=True)
        if blocking(findings):
            print("preflight: blocking findings above; nothing was submitted "
                  f"({PREFLIGHT_VARIABLE}=off skips the check)", file=sys.stderr, flush=True)
            sys.exit(2)
    if timeout:
        StatusWatchdog(status_query(status_command_in_use(settings)), timeout).start()
