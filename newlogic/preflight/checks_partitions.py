"""Check ``partitions``: named partitions exist and are up, runtimes fit MaxTime, ``sbatch --test-only`` accepts."""

import shlex
from collections.abc import Iterator
from typing import Any

from newlogic.errors import UserError
from newlogic.preflight.findings import COMMAND_SECONDS, JOB_RULES, Context, Finding, said
from newlogic.preflight.slurm_answers import Unreadable, partition_table, slurm_minutes

GPU_KEYS = ("gpu", "gres", "gpu_model")

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


def sbatch_fix(message: str) -> str:
    """The fix of ``SBATCH_FIXES`` whose pattern ``message`` holds, else a general one."""
    lowered = message.lower()
    return next((fix for pattern, fix in SBATCH_FIXES.items() if pattern in lowered),
                "change the profile's resources of this rule so that sbatch accepts them")


def sbatch_arguments(resources: dict[str, Any]) -> list[str]:
    """The sbatch options the slurm executor plugin derives from a job's resources (its ``set_gres_string``).

    UserError with one line when the plugin refuses the GPU request (e.g. a ``gres`` it cannot parse).
    """
    from types import SimpleNamespace

    from snakemake.iocontainers import ResourceList
    from snakemake_executor_plugin_slurm.utils import set_gres_string
    from snakemake_interface_common.exceptions import WorkflowError

    arguments = []
    for key, option in (("slurm_account", "-A"), ("slurm_partition", "-p"), ("runtime", "-t"), ("mem_mb", "--mem")):
        if resources.get(key):
            arguments += [option, str(resources[key])]
    gpu = {key: value for key, value in resources.items() if key in GPU_KEYS and value}
    try:
        return arguments + shlex.split(set_gres_string(SimpleNamespace(resources=ResourceList(fromdict=gpu))))
    except (WorkflowError, ValueError) as error:
        shown = ", ".join(f"{key}={value!r:.60}" for key, value in gpu.items())
        raise UserError(f"the GPU request {shown} is refused by the slurm plugin: "
                        f"{' '.join(str(error).split())[:200]}") from None


def check_partitions(context: Context) -> Iterator[Finding]:
    """Named partitions exist and are up; each job kind's runtime fits MaxTime and sbatch --test-only accepts it."""
    table, unreadable = partition_table(context)
    for line in unreadable:
        yield Finding("partitions", "warning", f"sinfo printed {line!r:.80}, not PARTITION|AVAIL|TIMELIMIT: "
                      "that line is not checked", "run `sinfo --format='%R|%a|%l'` and ask the admins")
    listed = ", ".join(sorted(table)) or "none"
    bad = set()
    for name in context.settings.partitions:
        if name not in table:
            bad.add(name)
            yield Finding("partitions", "blocking", f"partition {name!r} named by {context.settings.source} does "
                          f"not exist (sinfo lists: {listed})", sbatch_fix("invalid partition"))
        elif table[name][0] != "up":
            bad.add(name)
            yield Finding("partitions", "blocking", f"partition {name!r} is {table[name][0]!r:.40}, not up",
                          "wait until the admins bring it up, or name another partition in the profile")
    for kind in JOB_RULES:
        resources = context.settings.jobs.get(kind)
        if resources is None:  # no such job left to run
            continue
        partition = resources.get("slurm_partition")
        if partition in bad:
            continue
        yield from _job_findings(context, kind, resources, table)


def _job_findings(context: Context, kind: str, resources: dict[str, Any],
                  table: dict[str, tuple[str, str]]) -> Iterator[Finding]:
    """One job kind: its runtime against the partition's MaxTime, then ``sbatch --test-only``."""
    partition = resources.get("slurm_partition")
    limit = None
    if partition in table:
        try:
            limit = slurm_minutes(table[partition][1], f"sinfo's MaxTime of partition {partition!r}")
        except Unreadable as error:
            yield Finding("partitions", "warning", f"{error}: the {kind} jobs' runtime is not checked against it",
                          "ask the admins for the partition's time limit (`scontrol show partition`)")
    runtime = resources.get("runtime")
    if limit is not None and isinstance(runtime, int | float) and runtime > limit:
        yield Finding("partitions", "blocking", f"{kind} jobs ask for runtime {runtime} min, above the MaxTime "
                      f"({limit:g} min) of partition {partition!r}: Slurm would never start them",
                      sbatch_fix("time limit"))
        return
    try:
        arguments = sbatch_arguments(resources)
    except UserError as error:
        yield Finding("partitions", "blocking", f"{kind} jobs: {error}", "give gres as NAME:COUNT or "
                      "NAME:TYPE:COUNT (gpu:1, gpu:a100:1), or gpu as a whole number")
        return
    answer = context.ask("sbatch", "--test-only", *arguments, "--job-name=newlogic-preflight", "--wrap=true")
    shown = " ".join(arguments)
    if answer is None:
        yield Finding("partitions", "blocking", f"sbatch --test-only {shown} ({kind}) did not answer within "
                      f"{COMMAND_SECONDS} s", "check `scontrol ping`; the controller may be overloaded")
    elif answer.returncode == 0:
        yield Finding("partitions", "ok", f"sbatch --test-only accepts the {kind} job ({shown})")
    elif "account" not in said(answer).lower():  # a refused account is check_account's finding
        yield Finding("partitions", "blocking", f"sbatch refuses the {kind} job ({shown}): {said(answer)}",
                      sbatch_fix(said(answer)))
