"""Cluster preflight: check a Slurm cluster before a study submits its first job (cluster/README.md).

Each check returns findings; a finding is one line with its fix, at level ``ok``, ``warning`` or
``blocking``. Any blocking finding makes ``newlogic preflight`` exit 2 and stops the workflow in its
``onstart:`` handler, before the first ``sbatch``. The modules, one job each:

- ``profile``: a Snakemake profile read as data (strict YAML, no ``__use_yte__``, resource grammar);
- the checks, in ``registry.CHECKS`` order: ``checks_slurm`` (``commands``: the Slurm commands answer;
  ``status``: job states are readable with the run's status command), ``checks_partitions`` (partitions
  exist and are up, runtimes fit MaxTime, ``sbatch --test-only``), ``checks_account``, ``checks_config``,
  ``data_check`` (the dataset's files), ``checks_disk``, ``checks_environment`` (one short ``srun``, only
  when nothing blocks);
- ``slurm_answers``: sinfo and scontrol answers read strictly (one line for what does not parse);
- ``report``: the lines and the summary; ``hook``: the workflow's ``onstart:``; ``watchdog``: stops a run
  whose job states stay unreadable for ``NEWLOGIC_STATUS_TIMEOUT`` seconds and cancels its jobs.

Importing it is cheap: no torch (this node's torch version comes from the package metadata).
"""

from newlogic.errors import UserError
from newlogic.preflight.checks_account import check_account
from newlogic.preflight.checks_config import check_config, prepared_config
from newlogic.preflight.checks_disk import RESULT_BYTES, check_disk, plan_bytes, size_text
from newlogic.preflight.checks_environment import check_environment, login_versions, version_mismatches
from newlogic.preflight.checks_partitions import check_partitions, sbatch_arguments
from newlogic.preflight.checks_slurm import STATUS_FIX, check_commands, check_status
from newlogic.preflight.data_check import check_data
from newlogic.preflight.findings import JOB_RULES, LEVELS, ClusterSettings, Context, Finding
from newlogic.preflight.hook import PREFLIGHT_MODES, PREFLIGHT_VARIABLE, uses_slurm, workflow_preflight
from newlogic.preflight.profile import (
    load_profile,
    profile_file,
    resource_value,
    settings_of_workflow,
    status_command_in_use,
)
from newlogic.preflight.registry import CHECKS, Check, preflight, run_preflight
from newlogic.preflight.report import blocking, report, summary
from newlogic.preflight.slurm_answers import Unreadable, slurm_minutes
from newlogic.preflight.watchdog import (
    DEFAULT_STATUS_TIMEOUT,
    STATUS_TIMEOUT_VARIABLE,
    StatusWatchdog,
    status_query,
    status_timeout,
)

__all__ = [
    "CHECKS", "Check", "ClusterSettings", "Context", "DEFAULT_STATUS_TIMEOUT", "Finding",
    "JOB_RULES", "LEVELS", "PREFLIGHT_MODES", "PREFLIGHT_VARIABLE", "RESULT_BYTES", "STATUS_FIX",
    "STATUS_TIMEOUT_VARIABLE", "StatusWatchdog", "Unreadable", "UserError", "blocking", "check_account",
    "check_commands", "check_config", "check_data", "check_disk", "check_environment", "check_partitions",
    "check_status", "load_profile", "login_versions", "plan_bytes", "preflight", "prepared_config",
    "profile_file", "report", "resource_value", "run_preflight", "sbatch_arguments", "settings_of_workflow",
    "size_text", "slurm_minutes", "status_command_in_use", "status_query", "status_timeout", "summary",
    "uses_slurm", "version_mismatches", "workflow_preflight",
]
