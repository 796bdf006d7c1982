"""Campaign cases of the classes "code runs" and "failing clusters" (issue 30): each ends in one line.

*code runs*: profiles that would run Python in ``newlogic preflight`` (a ``__use_yte__`` template
found by path, by name under ``~/.config/snakemake`` or through ``XDG_CONFIG_HOME``; a string resource
that escapes ``eval``; a YAML tag). Each payload would create ``code-ran`` in its case folder; a case
whose file appears gets a second line, so it is not clean. *failing clusters*: status commands that
fail or hang (the watchdog must end within twice its timeout, name the fix for that command and leave
no status process; on a Slurm that answers it cancels a submitted job), ``NEWLOGIC_STATUS_TIMEOUT``
values that are not seconds, and Slurm answers or profile values that preflight cannot use (one finding
each). The Slurm cases need the local cluster of cluster/local-slurm/start.sh (CI starts it).
"""

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

from bad_inputs_campaign import DEMO_CONFIG, Build, Case, Workspace
from slurm_venv import use_slurm_plugin

from newlogic import preflight
from newlogic.errors import UserError

CODE_RUNS, FAILING = "code runs", "failing clusters"
MARKER = "code-ran"
YTE_PROFILE = """__use_yte__: true
__definitions__:
  - |
    import os
    os.system("touch {marker}")
executor: slurm
"""
SUBCLASS_WALK = ("[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'catch_warnings'][0]()"
                 "._module.__builtins__['__import__']('os').system('touch {marker}')")
STATUS_TIMEOUT = 3.0  # seconds: the watchdog cases' timeout (2 s was tight on a loaded 2-core machine)


def _profile(text: str, where: str = "path") -> Build:
    """``newlogic preflight`` of a profile holding ``text`` (``{marker}``: the file its code would create).

    ``where``: ``path`` (the folder given), ``home`` (``--profile lab`` under ``$HOME/.config/snakemake``) or
    ``xdg`` (``--profile lab`` under ``$XDG_CONFIG_HOME/snakemake``).
    """
    def build(_workspace: Workspace, case_dir: Path) -> Callable[[], int]:
        marker = case_dir / MARKER
        home, xdg = case_dir / "home", case_dir / "xdg"
        folder = {"path": case_dir / "shared", "home": home / ".config" / "snakemake" / "lab",
                  "xdg": xdg / "snakemake" / "lab"}[where]
        folder.mkdir(parents=True)
        (folder / "config.yaml").write_text(text.format(marker=marker))

        def probe() -> int:
            from newlogic.cli import main

            use_slurm_plugin()
            variables = {"HOME": str(home), "XDG_CONFIG_HOME": str(xdg) if where == "xdg" else ""}
            with mock.patch.dict(os.environ, variables):
                try:
                    code = main(["preflight", "--profile", str(folder) if where == "path" else "lab",
                                 "--configfile", str(DEMO_CONFIG), "--no-srun"])
                except SystemExit as stop:
                    code = stop.code if isinstance(stop.code, int) else 2
            if marker.exists():
                sys.stderr.write(f"{marker} was created: the profile's code ran\n")
            return code

        return probe

    return build


def _resource(key: str, value: str) -> str:
    return f"executor: slurm\ndefault-resources:\n  {key}: \"{value}\"\n"


def _findings(check: Callable[[preflight.Context], Any], jobs: dict[str, dict[str, Any]],
              answers: dict[tuple[str, ...], str], patch: Callable[[], Any] = contextlib.nullcontext) -> Build:
    """Run one check on canned Slurm answers (stdout, exit 0) and the demo config; what is not ``ok`` goes to stderr."""
    def build(_workspace: Workspace, case_dir: Path) -> Callable[[], int]:
        def probe() -> int:
            use_slurm_plugin()
            settings = preflight.ClusterSettings("profile p", "squeue", True, jobs, ("gpu",))
            config, _problem = preflight.prepared_config(DEMO_CONFIG)
            context = preflight.Context(settings, config, case_dir / "results")
            for command, stdout in answers.items():
                context.answers[command] = subprocess.CompletedProcess(command, 0, stdout, "")
            with mock.patch.object(shutil, "which", lambda name: f"/usr/bin/{name}"), patch():
                shown = [f.line() for f in check(context) if f.level != "ok"]
            sys.stderr.write("".join(line + "\n" for line in shown))
            return 2 if shown else 0

        return probe

    return build


def _status_timeout(value: str) -> Build:
    def build(_workspace: Workspace, _case_dir: Path) -> Callable[[], int]:
        def probe() -> int:
            with mock.patch.dict(os.environ, {preflight.STATUS_TIMEOUT_VARIABLE: value}):
                try:
                    preflight.status_timeout()
                except UserError as error:
                    sys.stderr.write(f"{error}\n")
                    return 2
            return 0

        return probe

    return build


def _shim(folder: Path, action: str) -> Path:
    """``folder/squeue``, a status command that runs ``action`` (fails or hangs)."""
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "squeue"
    shim.write_text(f"#!/bin/bash\n{action}\n")
    shim.chmod(0o755)
    return shim


def _processes_naming(path: Path) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if str(path).encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
    return found


def _watchdog(action: str, submit: bool = False) -> Build:
    """The watchdog on a status command running ``action``, with one such call of this process hung or failing.

    Clean: one line (the watchdog's), within ``2 * STATUS_TIMEOUT``, no status process left, and with
    ``submit`` the job it sbatch'ed no longer pending or running (needs the local Slurm).
    """
    def build(_workspace: Workspace, case_dir: Path) -> Callable[[], int]:
        shim = _shim(case_dir / "bin", action)

        def probe() -> int:
            jobs = [_submit(case_dir)] if submit else []
            try:
                others = subprocess.Popen([str(shim)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                start = time.monotonic()
                watchdog = preflight.StatusWatchdog([str(shim)], STATUS_TIMEOUT, job_ids=lambda: jobs,
                                                    stop=lambda: None).start()
                fired = watchdog.fired.wait(4 * STATUS_TIMEOUT)
                seconds = time.monotonic() - start
                others.wait(5)
                if not fired or seconds > 2 * STATUS_TIMEOUT:
                    sys.stderr.write(f"the watchdog took {seconds:.1f} s (timeout {STATUS_TIMEOUT:g} s)\n")
                if _processes_naming(shim):
                    sys.stderr.write(f"status processes left: {_processes_naming(shim)}\n")
                if jobs and _active(jobs):
                    sys.stderr.write(f"jobs {_active(jobs)} still pending or running\n")
            finally:
                if jobs:
                    subprocess.run(["scancel", *jobs], capture_output=True, timeout=30, check=False)
            return 2

        return probe

    return build


def _submit(case_dir: Path) -> str:
    return subprocess.run(["sbatch", "--parsable", "-p", "normal", "-t", "5", "--mem", "100", f"--chdir={case_dir}",
                           "--job-name=newlogic-campaign", "--wrap=sleep 300"],
                          capture_output=True, text=True, timeout=30, check=True).stdout.strip().split(";")[0]


def _active(jobs: list[str]) -> list[str]:
    listed = subprocess.run(["squeue", "--noheader", "--states=PENDING,RUNNING", "--format=%i"],
                            capture_output=True, text=True, timeout=30, check=True).stdout.split()
    return [job for job in jobs if job in listed]


def _bad_partition_submits_nothing(_workspace: Workspace, case_dir: Path) -> Callable[[], int]:
    """Preflight with its srun check on a profile naming a partition the local Slurm lacks."""
    folder = case_dir / "profile"
    folder.mkdir()
    (folder / "config.yaml").write_text("executor: slurm\nslurm-no-account: true\nslurm-status-command: squeue\n"
                                        "default-resources:\n  slurm_partition: nosuch\n  runtime: 10\n")

    def probe() -> int:
        use_slurm_plugin()
        text, blocked = preflight.preflight(folder, DEMO_CONFIG, case_dir / "results", srun=True)
        sys.stderr.write("".join(line + "\n" for line in text.splitlines() if not line.startswith(("[ok]", "pre"))))
        listed = subprocess.run(["squeue", "--noheader", "--states=all", "--format=%j|%Z"], capture_output=True,
                                text=True, timeout=30, check=True).stdout
        if f"newlogic-preflight|{case_dir}" in listed:
            sys.stderr.write("preflight submitted its srun after a blocking finding\n")
        return 2 if blocked else 0

    return probe


def _little_free_space() -> Any:
    return mock.patch.object(shutil, "disk_usage", lambda _path: mock.Mock(free=20 * 2**20))


def _node_without_torch(_workspace: Workspace, _case_dir: Path) -> Callable[[], int]:
    def probe() -> int:
        node = {"python": preflight.login_versions()["python"], "newlogic": preflight.login_versions()["newlogic"],
                "newlogic_path": "x", "torch": None}
        found = preflight.version_mismatches(preflight.login_versions(), node)
        sys.stderr.write("".join(line + "\n" for line in found))
        return 2 if found else 0

    return probe


SINFO = ("sinfo", "--noheader", "--format=%R|%a|%l")
SACCT = ("sacct", "-X", "--noheader", "--format=JobIDRaw", "--starttime", "now-1hours")
SCONTROL = ("scontrol", "show", "config")
GPU_JOB = {"slurm_partition": "gpu", "runtime": 20}
TEST_ONLY = ("sbatch", "--test-only", "-p", "gpu", "-t", "20", "--job-name=newlogic-preflight", "--wrap=true")
CLUSTER_CASES: tuple[Case, ...] = (
    # code runs: a profile is read as data; its code never runs in preflight
    Case("yte profile by path", CODE_RUNS, _profile(YTE_PROFILE), "Snakemake itself would run", injection=True),
    Case("yte profile by name (~/.config)", CODE_RUNS, _profile(YTE_PROFILE, "home"), "Snakemake itself would run",
         injection=True),
    Case("yte profile via XDG_CONFIG_HOME", CODE_RUNS, _profile(YTE_PROFILE, "xdg"), "Snakemake itself would run",
         injection=True),
    Case("subclass walk in a resource", CODE_RUNS, _profile(_resource("runtime", SUBCLASS_WALK)),
         "Snakemake would evaluate it as Python", injection=True),
    Case("__import__ in a resource via XDG", CODE_RUNS,
         _profile(_resource("mem_mb", "__import__('os').system('touch {marker}')"), "xdg"),
         "default-resources.mem_mb", injection=True),
    Case("YAML tag in a profile", CODE_RUNS,
         _profile("executor: slurm\ndefault-resources: !!python/object/apply:os.system ['touch {marker}']\n"),
         "YAML tags", injection=True),
    # failing clusters: status commands that fail or hang, values preflight cannot use
    Case("squeue fails", FAILING, _watchdog('echo "squeue: error: Unable to contact slurm controller" >&2; exit 1'),
         "check `scontrol ping`"),
    Case("squeue hangs", FAILING, _watchdog("sleep 1000"), "no answer within"),
    Case("squeue fails, a job to cancel", FAILING, _watchdog("exit 1", submit=True), "cancelled the run's 1 Slurm"),
    Case("squeue hangs, a job to cancel", FAILING, _watchdog("sleep 1000", submit=True),
         "cancelled the run's 1 Slurm"),
    Case("NEWLOGIC_STATUS_TIMEOUT=nan", FAILING, _status_timeout("nan"), "'nan'"),
    Case("NEWLOGIC_STATUS_TIMEOUT=inf", FAILING, _status_timeout("inf"), "'inf'"),
    Case("NEWLOGIC_STATUS_TIMEOUT=1e-9", FAILING, _status_timeout("1e-9"), "'1e-9'"),
    Case("bad partition, srun check on", FAILING, _bad_partition_submits_nothing, "partition 'nosuch'"),
    Case("hostile gres", FAILING, _findings(preflight.check_partitions, {"train": {**GPU_JOB, "gres": "gpu::1"}},
                                            {SINFO: "gpu|up|infinite\n"}), "gpu::1"),
    Case("unparsable MaxTime", FAILING, _findings(preflight.check_partitions, {"train": GPU_JOB},
                                                  {SINFO: "gpu|up|3 fortnights\n", TEST_ONLY: ""}), "3 fortnights"),
    Case("unparsable sinfo line", FAILING, _findings(preflight.check_partitions, {},
                                                     {SINFO: "gpu|up|infinite\n<html>\n"}), "<html>"),
    Case("unparsable MinJobAge", FAILING, _findings(preflight.check_status, {},
                                                    {SACCT: "", SCONTROL: "MinJobAge = soon\n"}), "soon"),
    Case("string slurm-init-seconds", FAILING,
         _profile("executor: slurm\nslurm-init-seconds-before-status-checks: '40'\n"), "'40'"),
    Case("list default-resources", FAILING, _profile("executor: slurm\ndefault-resources: [mem_mb=1]\n"),
         "default-resources must be a mapping"),
    Case("20 MB free", FAILING, _findings(preflight.check_disk, {}, {}, _little_free_space), "20.0 MiB free"),
    Case("no torch on the node", FAILING, _node_without_torch, "torch"),
)


if __name__ == "__main__":
    import tempfile

    from bad_inputs_campaign import run_case

    with tempfile.TemporaryDirectory() as scratch:
        outcomes = [(case, run_case(case, Workspace(Path(scratch), Path(scratch)), Path(scratch) / f"case{index:03d}"))
                    for index, case in enumerate(CLUSTER_CASES)]
    for case, outcome in outcomes:
        problems = outcome.problems(case)
        print(f"{'ok ' if not problems else 'BAD'} [{case.kind}] {case.name}: {'; '.join(problems) or 'clean'}")
    for kind in (CODE_RUNS, FAILING):
        chosen = [(case, outcome) for case, outcome in outcomes if case.kind == kind]
        print(f"{kind}: {sum(not o.problems(c) for c, o in chosen)}/{len(chosen)} clean")
    failing = [(case, outcome) for case, outcome in outcomes if case.kind == FAILING]
    print(f"cluster_failures_clean {sum(not o.problems(c) for c, o in failing)}/{len(failing)}")
