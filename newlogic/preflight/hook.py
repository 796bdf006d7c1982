"""The workflow's ``onstart:`` hook: under the slurm executor, preflight, then the status watchdog.

``NEWLOGIC_PREFLIGHT=no-srun`` skips the srun, ``off`` the whole check. A blocking finding exits 2
before the first sbatch. The hook records the id of every job the plugin submits (its
``report_job_submission``), so that the watchdog cancels exactly the run's jobs, and hides the
plugin's account-guessing warnings when the profile sets ``slurm-no-account`` (the plugin 2.8
ignores that setting and guesses anyway; the account finding says so).
"""

import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

from newlogic.errors import UserError
from newlogic.preflight.checks_account import ACCOUNT_GUESS_WARNINGS
from newlogic.preflight.findings import Context
from newlogic.preflight.profile import settings_of_workflow, status_command_in_use
from newlogic.preflight.registry import run_preflight
from newlogic.preflight.report import blocking, report
from newlogic.preflight.watchdog import StatusWatchdog, status_query, status_timeout

PREFLIGHT_VARIABLE = "NEWLOGIC_PREFLIGHT"  # the workflow hook: full (default), no-srun or off
PREFLIGHT_MODES = ("full", "no-srun", "off")


class SubmittedJobs:
    """The Slurm ids of the jobs this run submitted, recorded as the plugin reports each submission."""

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    def record(self, executor: Any) -> None:
        """Wrap ``executor.report_job_submission`` so that every submitted job's id is kept here."""
        report_submission = executor.report_job_submission

        def recording(job_info: Any) -> None:
            if job_info.external_jobid:
                with self._lock:
                    self._ids.add(str(job_info.external_jobid))
            report_submission(job_info)

        executor.report_job_submission = recording

    def ids(self) -> list[str]:
        with self._lock:
            return sorted(self._ids)


class _DropAccountGuesses(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(ACCOUNT_GUESS_WARNINGS)


def uses_slurm(workflow: Any) -> bool:
    """Whether this snakemake process submits jobs with the slurm executor plugin."""
    plugin = getattr(workflow, "executor_plugin", None)
    return plugin is not None and plugin.cli_prefix == "slurm"


def workflow_preflight(workflow: Any, config: dict[str, Any]) -> None:
    """The ``onstart:`` hook (module docstring); nothing unless the slurm executor runs in this main process."""
    mode = os.environ.get(PREFLIGHT_VARIABLE, "full")
    if mode not in PREFLIGHT_MODES:
        sys.exit(f"{PREFLIGHT_VARIABLE}={mode!r:.40}: use one of {', '.join(PREFLIGHT_MODES)}")
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
    executor = getattr(getattr(workflow, "scheduler", None), "_executor", None)
    if settings.no_account and executor is not None and hasattr(executor, "logger"):
        executor.logger.addFilter(_DropAccountGuesses())
    if timeout:
        submitted = SubmittedJobs()
        if executor is not None:
            submitted.record(executor)
        # the run exits at once after the watchdog's line (it stays the last), its directory lock released
        StatusWatchdog(status_query(status_command_in_use(settings)), timeout, submitted.ids,
                       release=workflow.persistence.unlock).start()
