"""GPU requests of cluster/slurm, as Snakemake and the Slurm plugin compute them: one GPU per job and per group job.

A dry run of the real workflow with the real profile (in each ``NEWLOGIC_GPU_REQUEST`` mode) hands
every job to the dry-run executor; the test records them, sizes each group job with Snakemake's
own ``GroupResources.basic_layered`` as it is sized for a cluster submission (``run_local=False``,
no core limit), and asks the plugin's ``set_gres_string`` for the sbatch GPU arguments.
``--group-components evaluate=2`` puts two models' evaluations into one group job, side by side:
the case in which Snakemake adds up integer resources such as ``gpu``.
"""

from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from slurm_venv import use_slurm_plugin
from snakemake.cli import main as snakemake_main
from snakemake.executors import dryrun
from snakemake.iocontainers import ResourceList
from snakemake.resources import GroupResources

REPO = Path(__file__).resolve().parents[1]
GPU_RULES = {"train", "figures_model"}  # and every evaluate rule (evaluate, evaluate_2, ...)
SBATCH_GPU = {"gres": " --gres=gpu:1", "gpus": " --gpus=1"}


def is_gpu_rule(name: str) -> bool:
    return name in GPU_RULES or name == "evaluate" or name.startswith("evaluate_")


def cluster_resources(job: Any) -> dict[str, Any]:
    """A job's resources as submitted to Slurm; a group job's as Snakemake sizes it for a cluster."""
    if not job.is_group():
        return dict(job.resources)
    return GroupResources.basic_layered(
        toposorted_jobs=job.toposorted, constraints=job.global_resources, run_local=False,
        additive_resources=["runtime"], sortby=["runtime"],
    )


def submissions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: str) -> Counter:
    """(rules, partition, sbatch GPU arguments, mem_mb) of every job the profile would submit, counted."""
    use_slurm_plugin()  # from .venv-slurm: the tests' own environment holds no executor plugin
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    jobs: list[Any] = []
    run_job = dryrun.Executor.run_job
    monkeypatch.setattr(dryrun.Executor, "run_job", lambda self, job: (jobs.append(job), run_job(self, job))[1])
    monkeypatch.setenv("NEWLOGIC_GPU_REQUEST", mode)
    with pytest.raises(SystemExit) as done:
        snakemake_main([
            "--profile", str(REPO / "cluster" / "slurm"), "--snakefile", str(REPO / "Snakefile"),
            "--configfile", str(REPO / "config" / "config.yaml"), "--directory", str(tmp_path),
            "-n", "--forceall", "--nolock", "--quiet", "all", "--cores", "1000",  # a cluster run has no core limit
            "--group-components", "evaluate=2",
        ])
    assert done.value.code == 0
    found: Counter = Counter()
    for job in jobs:
        resources = cluster_resources(job)
        rules = tuple(sorted(member.rule.name for member in job.jobs)) if job.is_group() else (job.rule.name,)
        sbatch = set_gres_string(SimpleNamespace(resources=ResourceList(fromdict=resources)))
        found[rules, resources.get("slurm_partition"), sbatch, resources.get("mem_mb")] += 1
    return found


@pytest.mark.parametrize("mode", ["gres", "gpus"])
def test_every_job_and_group_job_asks_for_exactly_one_gpu(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: str
) -> None:
    found = submissions(monkeypatch, tmp_path, mode)
    pairs = [key for key in found if key[0].count("evaluate") == 2]  # (rules, partition, sbatch, mem_mb)
    assert pairs, f"no group job of two evaluations: {found}"
    for rules, partition, sbatch, mem_mb in found:
        if any(is_gpu_rule(rule) for rule in rules):
            assert (partition, sbatch) == ("gpu", SBATCH_GPU[mode]), (rules, partition, sbatch)
            assert mem_mb <= 16000, (rules, mem_mb)  # the profile's cap of a group job
        else:
            assert (partition, sbatch) == ("normal", ""), (rules, partition, sbatch)
    if mode == "gres":  # gres is text, not added up: two evaluations run side by side on the one GPU
        assert all(mem_mb == 16000 for *_, mem_mb in pairs), pairs
    else:  # gpu is an integer: capped at 1 (profile `resources:`), the two evaluations take turns
        assert all(mem_mb == 8000 for *_, mem_mb in pairs), pairs
