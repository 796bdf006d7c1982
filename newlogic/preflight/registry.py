"""The checks as registered entries, run in order; ``newlogic preflight`` itself.

A ``Check`` names its function and what it needs: ``commands`` (a Slurm that answers), ``config``
(a config that passes), or ``NOTHING_BLOCKING`` (no blocking finding so far). The environment check
needs nothing blocking, so after any blocking finding preflight submits nothing (its ``srun`` is the
only submission) and a bad partition is not reported a second time as a Python that does not run.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from newlogic.errors import UserError
from newlogic.preflight.checks_account import check_account
from newlogic.preflight.checks_config import check_config, prepared_config
from newlogic.preflight.checks_disk import check_disk
from newlogic.preflight.checks_environment import check_environment, stop_probe
from newlogic.preflight.checks_partitions import check_partitions
from newlogic.preflight.checks_slurm import check_commands, check_status
from newlogic.preflight.data_check import check_data
from newlogic.preflight.findings import Context, Finding
from newlogic.preflight.profile import load_profile
from newlogic.preflight.report import blocking, report

NOTHING_BLOCKING = "*"


@dataclass(frozen=True)
class Check:
    """One check: its name (the findings' ``check``), its function, and the check it needs unblocked."""

    name: str
    run: Callable[[Context], Iterator[Finding]]
    needs: str = ""


CHECKS: tuple[Check, ...] = (
    Check("commands", check_commands),
    Check("status", check_status, needs="commands"),
    Check("partitions", check_partitions, needs="commands"),
    Check("account", check_account, needs="commands"),
    Check("config", check_config),
    Check("data", check_data, needs="config"),
    Check("disk", check_disk, needs="config"),
    Check("environment", check_environment, needs=NOTHING_BLOCKING),
)


def _unblocked(check: Check, findings: list[Finding]) -> bool:
    if check.needs == NOTHING_BLOCKING:
        return not blocking(findings)
    return not any(f.check == check.needs and f.level == "blocking" for f in findings)


def run_preflight(context: Context) -> list[Finding]:
    """Every check's findings, in ``CHECKS`` order, each only when what it needs has not blocked."""
    findings: list[Finding] = []
    try:
        for check in CHECKS:
            if _unblocked(check, findings):
                findings += check.run(context)
    finally:
        stop_probe(context)
    return findings


def preflight(profile: Path | str, config_file: Path | str, results_dir: Path | str = "results",
              srun: bool = True, as_json: bool = False) -> tuple[str, bool]:
    """``newlogic preflight``: (the report, whether anything blocks) for a profile and a workflow config."""
    if find_spec("snakemake_executor_plugin_slurm") is None:
        raise UserError("newlogic preflight needs snakemake and its slurm plugin: pip install -e '.[slurm]'")
    settings = load_profile(profile)
    config, problem = prepared_config(config_file)
    context = Context(settings, config, Path(results_dir), srun=srun, config_problem=problem)
    findings = run_preflight(context)
    return report(findings, as_json), blocking(findings)
