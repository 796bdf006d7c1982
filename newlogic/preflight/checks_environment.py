"""Check ``environment``: one short ``srun`` on the GPU partition reports the node's versions and CUDA.

This node's torch version comes from the package metadata (no import); the compute node imports torch
in its own process. The srun is the only thing preflight submits, and only when no check has blocked.
"""

import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from typing import Any

from newlogic.config_file import parse_json_text
from newlogic.errors import UserError
from newlogic.preflight.checks_partitions import sbatch_arguments
from newlogic.preflight.findings import Context, Finding, kill_group, said

PROBE_MARK = "newlogic-preflight-probe:"
STOP_SECONDS = 5  # how long an interrupted srun may take to end its job step
PACKAGES = ("python", "torch", "newlogic")
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
    """``name: here X, there Y`` for each of ``PACKAGES`` (torch without its ``+cu…`` build tag).

    A package missing on one side is named as such (``torch 2.14.1 here, not installed there``).
    """
    def base(version: Any) -> Any:
        return version.split("+")[0] if isinstance(version, str) else version

    def shown(version: Any) -> str:
        return "not installed" if version is None else str(version)

    found = []
    for name in PACKAGES:
        if base(login[name]) != base(node.get(name)):
            where = f" at {node.get('newlogic_path')}" if name == "newlogic" and node.get(name) else ""
            found.append(f"{name} {shown(login[name])} here, {shown(node.get(name))}{where} there")
    return found


def _probe_resources(context: Context) -> dict[str, Any]:
    """The train job's resources (its GPU partition and request), else the first job's, else none."""
    return context.settings.jobs.get("train") or next(iter(context.settings.jobs.values()), {})


def start_probe(context: Context) -> None:
    """Start the environment check's srun (once)."""
    if not context.srun or context.probe is not None or shutil.which("srun") is None:
        return
    try:
        arguments = sbatch_arguments({**_probe_resources(context), "runtime": 5, "mem_mb": 2000})  # short, small
    except UserError:
        return  # check_partitions has named the request
    context.probe = subprocess.Popen(
        ["srun", "--job-name=newlogic-preflight", "--ntasks=1", *arguments, sys.executable, "-c", PROBE],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def stop_probe(context: Context) -> None:
    """End the srun if it still runs: SIGTERM (srun then ends its job step), SIGKILL after ``STOP_SECONDS``."""
    if context.probe is not None and context.probe.poll() is None:
        _end_srun(context.probe)


def _end_srun(probe: subprocess.Popen[str]) -> None:
    probe.terminate()
    try:
        probe.communicate(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        kill_group(probe)


def _probe_answer(context: Context) -> subprocess.CompletedProcess[str] | None:
    """The srun's output; ``None`` (and the srun stopped) when it has not finished within ``srun_seconds``."""
    start_probe(context)
    probe = context.probe
    if probe is None:
        return None
    try:
        stdout, stderr = probe.communicate(timeout=context.srun_seconds)
    except subprocess.TimeoutExpired:
        _end_srun(probe)
        return None
    return subprocess.CompletedProcess(probe.args, probe.returncode, stdout, stderr)


def _node_versions(stdout: str) -> dict[str, Any] | None:
    """The probe's JSON line as a mapping, or ``None`` when there is none or it does not parse."""
    line = next((line[len(PROBE_MARK):] for line in stdout.splitlines() if line.startswith(PROBE_MARK)), None)
    try:
        found = parse_json_text(line, "the probe's answer") if line is not None else None
    except UserError:
        return None
    return found if isinstance(found, dict) else None


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
    node = _node_versions(answer.stdout)
    if answer.returncode != 0 or node is None:
        yield Finding("environment", "blocking", f"{sys.executable} does not run on {partition} "
                      f"({said(answer)})", "install the environment where compute nodes see it (a shared file "
                      "system) and activate it in ~/.bashrc or before snakemake (sbatch --export=ALL)")
        return
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
