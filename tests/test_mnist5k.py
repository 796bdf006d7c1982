"""Real MNIST everywhere (issue 12): mnist5k trains, every shipped config plans, ramps finish, paper vs journal."""

import dataclasses
import math
from pathlib import Path

import pytest
import yaml
from test_workflow import REPO, planned_jobs, snakemake

from newlogic.spec import canonical_name, parse_model_name
from newlogic.store import paths
from newlogic.study import ablations
from newlogic.study_loader import load_study
from newlogic.training.options import resolve_options
from newlogic.training.run import run_training

CONFIGS = sorted(path.name for path in (REPO / "config").glob("*.yaml"))
TRAIN_SIZES = {"digits": 1437, "mnist5k": 4000, "mnist": 60000, "cifar10": 50000}
PAPER_ROWS = [  # SPEC §7: the paper's cumulative ablation
    "relu", "relog", "relog-maxout_4", "relog-minmaxout_2_4", "relog-elliptical-minmaxout_2_4",
    "relog-elliptical-minmaxout_2_4-max_fit_l1", "relog-elliptical-minmaxout_2_4-bce-max_fit_l1",
    "relog-elliptical-minmaxout_2_4-bce-max_fit_l1-overlay",
]
# What the paper's definitions change against the journal's (SPEC §1–§2), and nothing else:
# ReLog's form (β form, β = 1) and the ramps' form (a fraction of training instead of per step).
PAPER_VS_JOURNAL = {
    "architecture": {"relog_form", "relog_step", "curvature_step"},
    "training": {"relog_ramp_fraction", "curvature_ramp_fraction"},
}


def test_one_epoch_mnist_cnn_on_mnist5k_beats_chance_by_far(tmp_path: Path) -> None:
    metrics = run_training("relu", "mnist5k", tmp_path, data_dir=tmp_path, seed=0, device="cpu",
                           training={"epochs": 1}, architecture={})
    assert metrics["final"]["test_accuracy"] > 0.6  # chance: 0.1; one epoch under the MNIST augmentation
    assert metrics["flags"] == []


@pytest.mark.parametrize("config_name", CONFIGS)
def test_no_shipped_config_leaves_a_ramp_unfinished(config_name: str) -> None:
    config = load_study(REPO / "config" / config_name).config
    dataset = config["dataset"]
    training, options = resolve_options(dataset, config.get("training") or {}, config.get("architecture") or {},
                                        TRAIN_SIZES[dataset])
    steps = training.epochs * math.ceil(TRAIN_SIZES[dataset] / training.batch_size)
    assert options.relog_start + options.relog_step * steps >= 1.0
    assert options.curvature_step * steps >= 1.0


@pytest.mark.parametrize(("paper", "journal"), [("paper-mnist.yaml", "journal-mnist.yaml"),
                                                ("paper-cifar10.yaml", "journal-cifar10.yaml")])
def test_paper_and_journal_definitions_differ_exactly_in_the_documented_components(paper: str, journal: str) -> None:
    resolved = {}
    for name in (paper, journal):
        config = load_study(REPO / "config" / name).config
        dataset = config["dataset"]
        training, options = resolve_options(dataset, config["training"] or {}, config["architecture"] or {},
                                            TRAIN_SIZES[dataset])
        resolved[name] = {"training": dataclasses.asdict(training), "architecture": dataclasses.asdict(options)}
    for part, documented in PAPER_VS_JOURNAL.items():
        ours, theirs = resolved[paper][part], resolved[journal][part]
        assert {key for key in ours if ours[key] != theirs[key]} == documented, part
    assert resolved[paper]["architecture"]["relog_form"] == "beta"
    assert resolved[paper]["architecture"]["relog_beta"] == 1.0
    assert resolved[journal]["architecture"]["relog_form"] == "journal"
    assert resolved[journal]["architecture"]["relog_step"] == 0.001


@pytest.mark.parametrize(("config_name", "max_group"), [("paper-mnist.yaml", 4), ("paper-cifar10.yaml", 2)])
def test_paper_configs_use_bce_and_the_papers_maxout(config_name: str, max_group: int) -> None:
    config = load_study(REPO / "config" / config_name).config
    (ablation, *_) = ablations(config).values()
    specs = [parse_model_name(entry.name, config["dataset"]) for entry in ablation.models]
    assert {spec.max_group for spec in specs if spec.fold_factor > 1} == {max_group}
    assert all(spec.loss == "bce" for spec in specs if spec.output == "sigmoid")
    assert len(specs) == len(PAPER_ROWS)


def _check_mnist5k_study(config: dict, output: str, jobs: dict[str, int]) -> None:
    """The whole MNIST study on a laptop: all eight rows of the paper's ablation × 3 seeds."""
    assert config["seeds"] == [0, 1, 2]
    for name in PAPER_ROWS:
        for seed in config["seeds"]:
            assert f"results/models/mnist5k/{canonical_name(name)}/seed{seed}/metrics.json" in output, (name, seed)
    assert jobs["train"] == len(PAPER_ROWS) * 3


def _check_beta_form(_config: dict, output: str, _jobs: dict[str, int]) -> None:
    """paper-mnist's train jobs build ReLog in the β form (the resolved overrides in the printed commands)."""
    assert '"relog_beta": 1.0, "relog_form": "beta"' in output


def _check_journal_form(_config: dict, output: str, _jobs: dict[str, int]) -> None:
    assert '"relog_form": "journal", "relog_step": 0.001' in output


def _check_default_demo(config: dict, _output: str, _jobs: dict[str, int]) -> None:
    """The README's first command runs real MNIST with the rows issue 12 asks for."""
    assert config["dataset"] == "mnist5k" and len(config["seeds"]) >= 2
    names = {canonical_name(e["name"] if isinstance(e, dict) else e, "mnist5k")
             for a in config["ablations"].values() for e in a["models"]}
    assert {canonical_name(n) for n in ("relu", "relog", "relog-maxout_4", "relog-minmaxout_2_4")} <= names
    assert any(parse_model_name(n).loss == "bce" and parse_model_name(n).negatives for n in names)
    kinds = {setting["attack"] for setting in config["attacks"].values()}
    assert {"fgsm", "fgm_l2", "bim", "cw_l2", "spsa", "pgd"} <= kinds


EXTRA_CHECKS = {
    "config.yaml": _check_default_demo,
    "mnist5k.yaml": _check_mnist5k_study,
    "paper-mnist.yaml": _check_beta_form,
    "journal-mnist.yaml": _check_journal_form,
}


@pytest.mark.parametrize("config_name", CONFIGS)
def test_dry_run_of_every_shipped_config_lists_its_models_and_attacks(tmp_path: Path, config_name: str) -> None:
    path = REPO / "config" / config_name
    done = snakemake("-n", "-p", "--configfile", str(path), cwd=tmp_path)
    output = done.stdout + done.stderr
    config = yaml.safe_load(path.read_text())
    header = path.read_text().splitlines()[0]
    assert header.startswith("#")  # each config says what it is in its header
    results = paths.results_dir(config.get("run"))  # results/, or results/runs/<run>/ for a named run
    for ablation in ablations(config).values():
        for entry in ablation.models:
            assert f"{results}/models/{config['dataset']}/{entry.name}/seed0/metrics.json" in output, entry.name
            for setting in ablation.settings:
                assert f"{results}/attacks/{config['dataset']}/{entry.name}/seed0/{setting}.json" in output, setting
        assert ablation.caption, ablation.name  # the table says which definitions it uses
    jobs = planned_jobs(output)
    models = {entry.name for ablation in ablations(config).values() for entry in ablation.models}
    assert jobs["train"] == len(models) * len(config["seeds"])
    if config_name in EXTRA_CHECKS:
        EXTRA_CHECKS[config_name](config, output, jobs)
