"""The training_curves ablation figure, drawn from metrics.json and config.json (no training needed)."""

import json
from pathlib import Path

import pytest

from newlogic.errors import UserError
from newlogic.figures.files import save_figure
from newlogic.figures.training_curves import plot_training_curves, read_runs
from newlogic.store import paths


def _write_run(root: Path, model: str, seed: int, strength: bool) -> Path:
    model_dir = paths.model_dir(root, "digits", model, seed)
    model_dir.mkdir(parents=True)
    epochs = [{"epoch": e, "train_loss": 2.0 - e, "test_loss": 2.1 - e, "train_accuracy": 0.3 * e,
               "test_accuracy": 0.25 * e, "relog_strength": 0.5 * e if strength else None} for e in range(3)]
    (model_dir / "config.json").write_text(json.dumps({"model": {"name": model}, "seed": seed}))
    (model_dir / paths.METRICS_FILE).write_text(json.dumps({"epochs": epochs}))
    return model_dir / paths.METRICS_FILE


def test_one_row_per_model_one_line_per_seed_and_split_and_the_relog_strength(tmp_path: Path) -> None:
    files = [_write_run(tmp_path, "relu", seed, strength=False) for seed in (0, 1)]
    files.append(_write_run(tmp_path, "relog", 0, strength=True))
    runs = read_runs(files)
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


def test_a_run_without_metrics_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="train it first"):
        read_runs([tmp_path / "missing" / paths.METRICS_FILE])
    with pytest.raises(UserError, match="no training run"):
        plot_training_curves([])
