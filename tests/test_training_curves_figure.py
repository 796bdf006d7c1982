"""The training_curves ablation figure, drawn from verified metrics.json files (no training needed)."""

from pathlib import Path

import pytest
from result_fixtures import fake_model_dir

from newlogic.errors import UserError
from newlogic.figures.files import save_figure
from newlogic.figures.training_curves import plot_training_curves, runs_of
from newlogic.report.collect import collect_ablation
from newlogic.store import paths

CONFIG = {"dataset": "digits", "seeds": [0, 1], "attacks": {"fgsm_0.3": {"attack": "fgsm", "eps": 0.3}},
          "ablations": {"demo": {"models": ["relu", "relog"]}}}


def _write_run(root: Path, model: str, seed: int, strength: bool) -> None:
    epochs = [{"epoch": e, "train_loss": 2.0 - e, "test_loss": 2.1 - e, "train_accuracy": 0.3 * e,
               "test_accuracy": 0.25 * e, "relog_strength": 0.5 * e if strength else None} for e in range(3)]
    fake_model_dir(root, model, seed, test_accuracy=0.5, epochs=epochs)


def test_one_row_per_model_one_line_per_seed_and_split_and_the_relog_strength(tmp_path: Path) -> None:
    for seed in (0, 1):
        _write_run(tmp_path, "relu", seed, strength=False)
    _write_run(tmp_path, "relog", 0, strength=True)
    runs = runs_of(collect_ablation(CONFIG, "demo", tmp_path))  # relog seed 1 was never trained: no line
    assert [(run.model, run.seed) for run in runs] == [("relu", 0), ("relu", 1), ("relog", 0)]
    figure = plot_training_curves(runs, {"relu": "Baseline"}, title="Training curves demo")
    loss, accuracy, relog_loss, relog_accuracy, strength = figure.axes  # twin axis last: only the ReLog row has one
    assert len(loss.lines) == 4 and len(accuracy.lines) == 4  # 2 seeds × train, test
    assert len(relog_loss.lines) == 2 and loss.get_title() == "Baseline: loss"
    assert list(accuracy.lines[1].get_ydata()) == [0.0, 0.25, 0.5]  # seed 0, test
    assert strength.get_ylabel() == "ReLog strength s"
    assert list(strength.lines[0].get_ydata()) == [0.0, 0.5, 1.0]
    written = save_figure(figure, tmp_path / "figures", "training_curves")
    assert [path.name for path in written] == ["training_curves.png", "training_curves.pdf"]
    assert all(path.stat().st_size > 0 for path in written)


def test_an_ablation_without_metrics_is_a_user_error(tmp_path: Path) -> None:
    assert runs_of(collect_ablation(CONFIG, "demo", tmp_path / "missing" / paths.METRICS_FILE)) == []
    with pytest.raises(UserError, match="no training run"):
        plot_training_curves([])
