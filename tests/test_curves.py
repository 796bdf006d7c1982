"""Training curves: the TensorBoard event files of a training run, read back with tensorboard's own reader."""

import math
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from newlogic.training.checkpoint import StopRequest
from newlogic.training.curves import STEP_INTERVAL, TrainingCurves
from newlogic.training.loop import Progress, prepare_run, train_epoch
from newlogic.training.run import run_training

EPOCHS = 2
STEPS_PER_EPOCH = 23  # ceil(1437 digits training images / batch size 64)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("curves") / "relog-maxout_4"
    metrics = run_training("relog-maxout_4", "digits", out, data_dir=out.parent, seed=0, device="cpu",
                           training={"epochs": EPOCHS, "grad_clip": 1.0}, architecture={})
    return out, metrics


def _scalars(model_dir: Path) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(model_dir))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_event_files_hold_every_epoch_metric_and_the_learning_rate(trained: tuple[Path, dict]) -> None:
    model_dir, metrics = trained
    assert list(model_dir.glob("events.out.tfevents.*"))
    scalars = _scalars(model_dir)
    keys = ("train_loss", "train_accuracy", "train_regularization", "test_loss", "test_accuracy", "test_rejected",
            "relog_strength", "clipped_fraction")
    for key in keys:
        logged = scalars[f"epoch/{key}"]
        assert [step for step, _ in logged] == list(range(EPOCHS))
        assert [value for _, value in logged] == pytest.approx([m[key] for m in metrics["epochs"]], rel=1e-6)
    assert "epoch/curvature" not in scalars  # no elliptical units: no curvature ramp
    learning_rates = [value for _, value in scalars["epoch/learning_rate"]]
    assert len(learning_rates) == EPOCHS and all(rate > 0 for rate in learning_rates)


def test_step_loss_every_n_steps_averages_to_the_epoch_loss(trained: tuple[Path, dict]) -> None:
    model_dir, metrics = trained
    points = _scalars(model_dir)["step/loss"]
    ends = [(epoch + 1) * STEPS_PER_EPOCH for epoch in range(EPOCHS)]
    expected_steps = sorted({s for e in range(EPOCHS) for s in range(e * STEPS_PER_EPOCH + STEP_INTERVAL,
                                                                      (e + 1) * STEPS_PER_EPOCH, STEP_INTERVAL)}
                            | set(ends))
    assert [step for step, _ in points] == expected_steps
    for epoch, end in enumerate(ends):
        previous, total = end - STEPS_PER_EPOCH, 0.0
        for step, value in points:
            if end - STEPS_PER_EPOCH < step <= end:
                assert math.isfinite(value)
                total += value * (step - previous)
                previous = step
        assert total / STEPS_PER_EPOCH == pytest.approx(metrics["epochs"][epoch]["train_loss"], rel=1e-5)


def test_an_epoch_cut_by_a_stop_and_resumed_by_another_writer_keeps_the_step_losses_exact(tmp_path: Path) -> None:
    """Stopped after batch 13 (a signal), resumed by a second process's writer: points at 10, 13, 20, 23."""
    run = prepare_run("relu", "digits", data_dir=tmp_path, seed=0, device="cpu", training={}, architecture={})
    progress, stop = Progress(), StopRequest()

    def stop_after_13(state: Progress) -> None:
        curves.step(state)
        if state.batch == 13:
            stop.signal_name = "SIGTERM"

    with TrainingCurves(tmp_path, run.steps_per_epoch) as curves:
        curves.begin(progress)
        assert train_epoch(run, progress, stop, on_step=stop_after_13) is False
        curves.end(progress)
    with TrainingCurves(tmp_path, run.steps_per_epoch) as curves:
        curves.begin(progress)
        assert train_epoch(run, progress, on_step=curves.step) is True
        curves.end(progress)
    points = _scalars(tmp_path)["step/loss"]
    assert [step for step, _ in points] == [10, 13, 20, 23]
    total = sum(value * (step - previous) for (step, value), previous in zip(points, [0, 10, 13, 20], strict=True))
    assert total / STEPS_PER_EPOCH == pytest.approx(progress.sums["loss"].item() / STEPS_PER_EPOCH, rel=1e-5)
