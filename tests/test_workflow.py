"""The Snakemake workflow: dry runs of every config, config validation, and the digits demo end to end."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from slurm_venv import slurm_environ, slurm_snakemake

from newlogic.spec import canonical_name

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
SPEC_MODELS = [  # SPEC §7: the cumulative MNIST ablation and the CIFAR-10 models of 29 Oct
    "relu", "relog", "relog-maxout_4", "relog-minmaxout_2_4", "relog-minmaxout_2_4-max_fit_l2",
    "relog-quadratic-max_fit_l2-maxout_4", "relog-quadratic-max_fit_l2-maxout_4-sigmoid_out",
    "relog-quadratic-max_fit_l2-maxout_4-sigmoid_out-overlay",
    "relog-quadratic-max_fit_l2-maxout_4-sigmoid_out-scrambling",
]
SPEC_ATTACKS = ["fgsm", "fgm_l2", "bim", "pgd", "cw_l2", "max_confidence", "jsma", "transfer", "autoattack"]


def snakemake(*args: str, cwd: Path, check: bool = True, timeout: int = 900,
              slurm: bool = False) -> subprocess.CompletedProcess:
    """Run snakemake on the repository's Snakefile in ``cwd`` with the venv's commands on PATH.

    ``slurm``: from .venv-slurm, which holds the executor plugin a Slurm profile needs (tests/slurm_venv.py).
    """
    env = slurm_environ() if slurm else {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [*(slurm_snakemake() if slurm else [str(VENV_BIN / "snakemake")]), "--snakefile", str(REPO / "Snakefile"),
         *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )
    if check and done.returncode != 0:
        pytest.fail(f"snakemake {' '.join(args)} failed ({done.returncode}):\n"
                    f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    return done


def planned_jobs(output: str) -> dict[str, int]:
    """The job-count table of a dry run: rule → count."""
    counts = {}
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Job stats:"))
    for line in lines[start + 3:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


def dry_run(tmp_path: Path, *args: str, slurm: bool = False) -> dict[str, int]:
    done = snakemake("-n", *args, cwd=tmp_path, slurm=slurm)
    return planned_jobs(done.stdout + done.stderr)


def test_dry_run_of_the_demo_lists_train_attack_aggregate(tmp_path: Path) -> None:
    jobs = dry_run(tmp_path, "--configfile", str(REPO / "config/config.yaml"))
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    models = {entry["name"] if isinstance(entry, dict) else entry for a in config["ablations"].values()
              for entry in a["models"]}
    assert jobs["train"] == len(models) * len(config["seeds"])
    assert jobs["evaluate"] == jobs["train"]  # one evaluation job per training run: every setting, noise, checks
    assert not {"attack", "noise", "checks"} & set(jobs)
    assert jobs["aggregate"] == len(config["ablations"])


def test_dry_run_through_the_slurm_profile(tmp_path: Path) -> None:
    jobs = dry_run(tmp_path, "--configfile", str(REPO / "config/config.yaml"), "--profile", str(REPO / "cluster/slurm"),
                   slurm=True)
    assert {"train", "evaluate", "aggregate"} <= set(jobs)


@pytest.mark.parametrize("config_name", ["journal-mnist.yaml", "journal-cifar10.yaml"])
def test_journal_configs_plan_every_spec_model_and_attack(tmp_path: Path, config_name: str) -> None:
    config_path = REPO / "config" / config_name
    done = snakemake("-n", "--profile", str(REPO / "cluster/slurm"), "--configfile", str(config_path), cwd=tmp_path,
                     slurm=True)
    output = done.stdout + done.stderr
    config = yaml.safe_load(config_path.read_text())
    dataset = config["dataset"]
    for name in SPEC_MODELS:
        assert f"results/models/{dataset}/{canonical_name(name)}/seed0/metrics.json" in output, name
    attacks = {setting["attack"] for setting in config["attacks"].values()}
    assert set(SPEC_ATTACKS) <= attacks
    if dataset == "mnist":
        assert "spsa" in attacks
    jobs = planned_jobs(output)
    assert jobs["train"] == len({canonical_name(e["name"] if isinstance(e, dict) else e, dataset)
                                 for a in config["ablations"].values() for e in a["models"]}) * len(config["seeds"])


def test_a_bad_config_key_is_named(tmp_path: Path) -> None:
    done = snakemake("-n", "--configfile", str(REPO / "config/config.yaml"), "--config", "nonsense_key=1",
                     cwd=tmp_path, check=False)
    assert done.returncode != 0
    assert "nonsense_key" in done.stdout + done.stderr


def test_a_bad_model_name_in_a_config_is_named(tmp_path: Path) -> None:
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config["ablations"] = {"bad": {"models": ["relog-nonsense_3"]}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    done = snakemake("-n", "--configfile", str(path), cwd=tmp_path, check=False)
    assert done.returncode != 0
    assert "nonsense_3" in done.stdout + done.stderr


def tiny_demo_config(tmp_path: Path) -> Path:
    """The demo shrunk to two models, one epoch and a 60-image subset: the whole flow in about a minute."""
    config = {
        "dataset": "digits",
        "device": "auto",
        "seeds": [0],
        "training": {"epochs": 2, "relog_ramp_epochs": 1, "augment": "none"},
        "strong_suite": {"profile": "quick", "limit": 20},
        "attacks": {
            "fgsm_0.1": {"attack": "fgsm", "eps": 0.1, "limit": 60},
            "fgsm_0.3": {"attack": "fgsm", "eps": 0.3, "limit": 60},
        },
        "figures": {"gallery_samples": 2, "noise_samples": 50},
        "ablations": {"tiny": {"models": [{"name": "relu", "label": "Baseline"}, "relog-maxout_4"]}},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def check_tiny_tables(workdir: Path) -> pd.DataFrame:
    table = pd.read_csv(workdir / "results/tables/tiny.csv")
    assert list(table["label"]) == ["Baseline", "relog-maxout_4"]
    for column in ("clean", "fgsm_0.1", "fgsm_0.3"):
        assert table[column].between(0, 100).all(), table
    relu = table.iloc[0]
    assert relu["fgsm_0.3"] < relu["clean"]
    markdown = (workdir / "results/tables/tiny.md").read_text()
    assert "| Baseline |" in markdown and "⊂" in markdown  # subset results are marked
    assert r"\toprule" in (workdir / "results/tables/tiny.tex").read_text()
    return table


def check_tiny_ecosystem_files(workdir: Path) -> None:
    """Each run's TensorBoard scalars read back by tensorboard; the summary valid against its schema."""
    import jsonschema
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from newlogic.repo_files import SUMMARY_SCHEMA

    model_dirs = sorted(workdir.glob("results/models/*/*/seed0"))
    assert len(model_dirs) == 2
    for model_dir in model_dirs:
        events = EventAccumulator(str(model_dir))
        events.Reload()
        metrics = json.loads((model_dir / "metrics.json").read_text())
        logged = [event.value for event in events.Scalars("epoch/test_accuracy")]
        assert logged == pytest.approx([epoch["test_accuracy"] for epoch in metrics["epochs"]])
        assert {"epoch/train_loss", "epoch/learning_rate", "step/loss"} <= set(events.Tags()["scalars"])
    summary = json.loads((workdir / "results/tables/tiny.summary.json").read_text())
    jsonschema.validate(summary, yaml.safe_load(SUMMARY_SCHEMA.read_text()))
    assert [model["label"] for model in summary["models"]] == ["Baseline", "relog-maxout_4"]


@pytest.mark.slow
def test_tiny_demo_runs_end_to_end_and_reruns_only_what_is_missing(tmp_path: Path) -> None:
    config = str(tiny_demo_config(tmp_path))
    snakemake("--cores", "2", "--configfile", config, cwd=tmp_path)
    check_tiny_tables(tmp_path)
    assert (tmp_path / "results/figures/digits/relu/seed0/conv1_weights.png").stat().st_size > 0
    assert (tmp_path / "results/figures/tiny/accuracy_vs_eps.pdf").stat().st_size > 0
    snakemake("--report", "results/report.html", "--configfile", config, cwd=tmp_path)
    report = (tmp_path / "results/report.html").read_text(errors="replace")
    assert "conv1_weights.png" in report and "tiny.csv" in report and "accuracy_vs_eps.png" in report
    assert "training_curves.png" in report
    check_tiny_ecosystem_files(tmp_path)

    seed_dir = tmp_path / "results/attacks/digits/relu/seed0"
    kept = {path: path.read_bytes() for path in [seed_dir / "fgsm_0.1.json", seed_dir / "fgsm_0.1.npz",
                                                 tmp_path / "results/noise/digits/relu/seed0.json"]}
    (seed_dir / "fgsm_0.3.json").unlink()
    jobs = dry_run(tmp_path, "--configfile", config)
    assert jobs == {"evaluate": 1, "aggregate": 1, "figures_model": 1, "figures_ablation": 1, "landing": 1, "all": 1,
                    "total": 6}
    snakemake("--cores", "2", "--configfile", config, cwd=tmp_path)
    log = (tmp_path / "logs/evaluate/digits/relu/seed0.log").read_text()
    assert "fgsm_0.1: up to date" in log and "fgsm_0.3: up to date" not in log
    assert {path: path.read_bytes() for path in kept} == kept  # neither recomputed nor rewritten
    assert json.loads((seed_dir / "fgsm_0.3.json").read_text())["complete"] is True


@pytest.mark.slurm
@pytest.mark.slow
def test_tiny_demo_through_the_slurm_profile_on_the_local_cluster(tmp_path: Path) -> None:
    """The real cluster profile against the local cluster (its accounting is off: status from squeue)."""
    config = str(tiny_demo_config(tmp_path))
    snakemake("--profile", str(REPO / "cluster/slurm"), "--configfile", config,
              "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2",
              "--latency-wait", "5", "--jobs", "4", cwd=tmp_path, slurm=True)
    check_tiny_tables(tmp_path)
    model_record = json.loads((tmp_path / "results/models/digits/relu/seed0/config.json").read_text())
    assert model_record["provenance"]["slurm"]["SLURM_JOB_ID"].isdigit()
    assert model_record["provenance"]["slurm"]["SLURM_JOB_PARTITION"] == "gpu"
    result = json.loads((tmp_path / "results/attacks/digits/relu/seed0/fgsm_0.3.json").read_text())
    assert result["provenance"]["slurm"]["SLURM_JOB_ID"].isdigit()
    assert result["provenance"]["slurm"]["SLURM_JOB_ID"] != model_record["provenance"]["slurm"]["SLURM_JOB_ID"]
