"""The cluster path for real: a tiny workflow through the local-slurm profile and sbatch.

Needs the one-node cluster of cluster/local-slurm/start.sh; without it the test fails (never skips),
so that a CI run without a cluster cannot pass unnoticed.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from slurm_venv import slurm_snakemake

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "cluster" / "local-slurm"
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
        [*slurm_snakemake(), "--profile", str(PROFILE), "--directory", str(tmp_path)],
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


# A training cut by its Slurm time limit: the limit is 2 min on the first attempt (`runtime` grows with the attempt,
# as in the profiles; the profile's `retries` resubmits), and the run needs longer than the first attempt leaves
# before its deadline (limit − margin), on an idle machine too, and on one several times faster than this one.
CUT_EPOCHS = 200  # 0.55 s an epoch on this idle 2-core machine (110 s); CI once ran 120 epochs within 60 s of the start
CUT_MARGIN = 100  # seconds: the first attempt trains until 20 s after the job started (minus its start-up)
CUT_SNAKEFILE = r"""
rule train_cut:
    output: "model/metrics.json", "model/model.pt"
    resources: runtime=lambda wildcards, attempt: 2 * attempt**2
    shell: {SHELL}
"""
ATTEMPT = "echo attempt job=$SLURM_JOB_ID limit=$(squeue -h -j $SLURM_JOB_ID -o %l) >> train.log"


def train_command(python: str = sys.executable) -> list[str]:
    """``newlogic train`` of the cut run (relu on digits, CUT_EPOCHS epochs, CPU), without ``--out``."""
    return [python, "-m", "newlogic.cli", "train", "--dataset", "digits", "--model", "relu", "--seed", "0",
            "--device", "cpu", "--training", json.dumps({"epochs": CUT_EPOCHS})]


@pytest.mark.slurm
@pytest.mark.slow
def test_a_training_cut_by_its_time_limit_resumes_on_the_retry_to_identical_weights(tmp_path: Path) -> None:
    require_cluster()
    train = " ".join(shlex.quote(part) for part in train_command())
    shell = f"{ATTEMPT}; {train} --out model >> train.log 2>&1".replace("{", "{{").replace("}", "}}")
    (tmp_path / "Snakefile").write_text(CUT_SNAKEFILE.replace("{SHELL}", repr(shell)))
    env = {**os.environ, "NEWLOGIC_STOP_MARGIN": str(CUT_MARGIN), "OMP_NUM_THREADS": "1"}
    reference = subprocess.Popen([*train_command(), "--out", str(tmp_path / "reference")], cwd=REPO, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    run = subprocess.run(
        [*slurm_snakemake(), "--profile", str(PROFILE), "--directory", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=900, env=env,
    )
    _, reference_errors = reference.communicate(timeout=600)
    log = (tmp_path / "train.log").read_text() if (tmp_path / "train.log").exists() else ""
    assert run.returncode == 0, f"snakemake failed:\n{run.stdout[-3000:]}{run.stderr[-3000:]}\n--- train.log\n{log}"
    assert reference.returncode == 0, reference_errors

    attempts = [dict(field.split("=", 1) for field in line.split()[1:]) for line in log.splitlines()
                if line.startswith("attempt ")]
    print(log)  # CI's log shows the cut, the retry and the resume
    assert len(attempts) >= 2 and [a["limit"] for a in attempts] == ["2:00", "8:00", "18:00"][:len(attempts)], log
    assert len({a["job"] for a in attempts}) == len(attempts), "each retry must be a new Slurm job"
    assert re.search(r"stopped by the job's deadline \(.*\) at epoch \d+, batch \d+", log), log
    resumed = re.search(r"resuming from \S+ at epoch (\d+), batch (\d+)", log)
    assert resumed and (int(resumed[1]), int(resumed[2])) != (0, 0), log
    weights = [torch.load(tmp_path / d / "model.pt", weights_only=True) for d in ("model", "reference")]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0]), "weights differ from the reference"
