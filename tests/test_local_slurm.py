"""The cluster path for real: a tiny workflow through the local-slurm profile and sbatch.

Needs the one-node cluster of cluster/local-slurm/start.sh; without it the test fails (never skips),
so that a CI run without a cluster cannot pass unnoticed.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROFILE = Path(__file__).resolve().parents[1] / "cluster" / "local-slurm"
START = "run cluster/local-slurm/start.sh (as root) first"

# train on the gpu partition with one (fake) GPU, checks on normal, aggregate local (no sbatch).
SNAKEFILE = r"""
localrules:
    aggregate,

RECORD = "echo job=${{SLURM_JOB_ID:-}} partition=${{SLURM_JOB_PARTITION:-}} gpus=${{CUDA_VISIBLE_DEVICES:-}} > {output}"

rule aggregate:
    input: "train.txt", "checks.txt"
    output: "aggregate.txt"
    shell: RECORD

rule train:
    output: "train.txt"
    shell: RECORD

rule checks:
    output: "checks.txt"
    shell: RECORD
"""


def require_cluster() -> None:
    """Fail (not skip) unless sinfo answers with partitions normal and gpu up and usable."""
    if shutil.which("sinfo") is None:
        pytest.fail(f"sinfo not found: no Slurm here; {START}")
    answer = subprocess.run(["sinfo", "-h", "-o", "%R %a %t"], capture_output=True, text=True, timeout=30)
    if answer.returncode != 0:
        pytest.fail(f"sinfo failed ({answer.stderr.strip()}): the local cluster is down; {START}")
    usable = {
        fields[0]
        for fields in map(str.split, answer.stdout.splitlines())
        if fields[1] == "up" and fields[2] in ("idle", "mix", "alloc", "comp")
    }
    if not {"normal", "gpu"} <= usable:
        pytest.fail(f"partitions normal and gpu are not both up: sinfo says {answer.stdout.strip()!r}; {START}")


def record(path: Path) -> dict[str, str]:
    """``job=… partition=… gpus=…`` → dict."""
    return dict(field.split("=", 1) for field in path.read_text().split())


@pytest.mark.slurm
def test_jobs_go_through_sbatch(tmp_path: Path) -> None:
    require_cluster()
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "--profile", str(PROFILE), "--directory", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    logs = "".join(f"\n--- {log}\n{log.read_text()}" for log in tmp_path.glob(".snakemake/slurm_logs/*/*.log"))
    assert run.returncode == 0, f"snakemake failed:\n{run.stdout[-3000:]}{run.stderr[-3000:]}{logs}"

    train, checks, aggregate = (record(tmp_path / f"{rule}.txt") for rule in ("train", "checks", "aggregate"))
    assert train["job"].isdigit() and checks["job"].isdigit() and train["job"] != checks["job"]
    assert (train["partition"], checks["partition"]) == ("gpu", "normal")
    assert train["gpus"] != "" and checks["gpus"] == ""
    assert aggregate["job"] == "", "a localrules rule must run in the snakemake process, not through sbatch"
