"""The Slurm tests' submitting environment, ``.venv-slurm``: the tests' ``.venv-test`` plus the Slurm executor plugin.

Snakemake imports every installed executor plugin at its start, and the Slurm plugin imports pandas, so the tests'
own environment holds none (tests/test_planning.py); cluster/local-slurm/slurm-venv.sh layers the plugin over it.
What submits to Slurm runs there: Snakemake with a Slurm profile and ``newlogic preflight``. Tests that call the
plugin in this process put its layer on ``sys.path`` first (``use_slurm_plugin``). Without the layer a test fails
with the command that builds it; it never skips.
"""

import os
import site
import sysconfig
from collections.abc import Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SLURM_VENV = REPO / ".venv-slurm"
BUILD = "bash cluster/local-slurm/slurm-venv.sh"


def slurm_python() -> str:
    """``.venv-slurm/bin/python``; the test fails with the command that builds it when it is missing."""
    python = SLURM_VENV / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} not found: the Slurm tests submit from it; build it with {BUILD}")
    return str(python)


def slurm_snakemake() -> list[str]:
    """The command line of Snakemake in ``.venv-slurm`` (the layer has no ``snakemake`` script of its own)."""
    return [slurm_python(), "-m", "snakemake"]


def slurm_environ(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """``environ`` with ``.venv-slurm/bin`` first on PATH: the jobs' ``newlogic`` runs with the plugin beside it."""
    slurm_python()
    return {**environ, "PATH": f"{SLURM_VENV / 'bin'}{os.pathsep}{environ.get('PATH', '')}"}


def use_slurm_plugin() -> None:
    """Make the plugin importable in this process and registered with Snakemake's executor registry.

    The registry collects the installed plugins once, when it is first built; collecting again after
    the layer is on ``sys.path`` registers the plugin whichever test built the registry first.
    """
    slurm_python()
    site.addsitedir(sysconfig.get_path("purelib", vars={"base": str(SLURM_VENV)}))  # as slurm-venv.sh finds it
    from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry

    ExecutorPluginRegistry().collect_plugins()
