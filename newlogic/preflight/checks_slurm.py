"""Checks ``commands`` and ``status``: the Slurm client commands answer, and the run can read job states."""

import getpass
import shutil
from collections.abc import Iterator

from newlogic.preflight.findings import COMMAND_SECONDS, Context, Finding, said
from newlogic.preflight.profile import status_command_in_use
from newlogic.preflight.slurm_answers import Unreadable, min_job_age_seconds, slurm_config

STATUS_FIX = "add `slurm-status-command: squeue` to the profile, or pass --slurm-status-command squeue"
SLURM_COMMANDS = ("sbatch", "squeue", "sacct", "sinfo", "srun", "scancel")


def check_commands(context: Context) -> Iterator[Finding]:
    """The Slurm commands exist; squeue reaches the controller."""
    missing = [command for command in SLURM_COMMANDS if shutil.which(command) is None]
    if missing:
        yield Finding("commands", "blocking", f"{', '.join(missing)} not found on this node",
                      "run on the cluster's login node, or load its Slurm module (module load slurm)")
        return
    answer = context.ask("squeue", "--noheader", f"--user={getpass.getuser()}", "--format=%i")
    if answer is None or answer.returncode != 0:
        found = f"no answer within {COMMAND_SECONDS} s" if answer is None else said(answer)
        yield Finding("commands", "blocking", f"squeue cannot reach the Slurm controller ({found})",
                      "check `scontrol ping`; ask the cluster's admins if slurmctld is down")
        return
    yield Finding("commands", "ok", f"{', '.join(SLURM_COMMANDS)} found; the controller answers")


def check_status(context: Context) -> Iterator[Finding]:
    """Accounting on or off, and whether the status command the run will use can read job states."""
    command = status_command_in_use(context.settings)
    answer = context.ask("sacct", "-X", "--noheader", "--format=JobIDRaw", "--starttime", "now-1hours")
    accounting = answer is not None and answer.returncode == 0
    found = "no answer" if answer is None else said(answer)
    if command == "sacct" and not accounting:
        yield Finding("status", "blocking",
                      f"Slurm accounting is off (sacct: {found}), and {context.settings.source} reads job states "
                      "with sacct: snakemake would wait forever for jobs that have finished", STATUS_FIX)
        return
    if command == "squeue":
        age = slurm_config(context).get("MinJobAge")
        needed = 3 * context.settings.init_seconds  # below it the plugin falls back to sacct
        try:
            seconds = None if age is None else min_job_age_seconds(age)
        except Unreadable as error:
            yield Finding("status", "warning", f"{error}: whether squeue keeps finished jobs for {needed} s is not "
                          "checked", "ask the admins for MinJobAge (`scontrol show config | grep MinJobAge`)")
            seconds = None
        if seconds is not None and seconds < needed and not accounting:
            yield Finding("status", "blocking",
                          f"job states come from squeue, but MinJobAge={seconds} s < {needed} s: the plugin then "
                          "falls back to sacct, which cannot answer (accounting off)",
                          f"ask the admins for MinJobAge >= {needed} s or for accounting, or lower "
                          "slurm-init-seconds-before-status-checks")
            return
    state = "on" if accounting else f"off ({found})"
    yield Finding("status", "ok", f"accounting {state}; job states are read with {command}")
