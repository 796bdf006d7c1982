"""Training curves of an ablation (issue 15): loss and accuracy per epoch, the ReLog strength on a second axis.

Read from each run's verified ``metrics.json`` (``newlogic.report.collect``; ``epochs``:
``train_loss``, ``test_loss``, ``train_accuracy``, ``test_accuracy``, ``relog_strength``;
docs/architecture.md); no torch. One row per model (first appearance = config order), two panels:
loss and accuracy, train solid and test dashed, one colour per seed. Where the model has a ReLog
ramp (SPEC §2: the strength ``s`` rises from 0 to 1), ``s`` per epoch is drawn dotted on a second
y-axis of the accuracy panel. Epochs count from 0, as in ``log.txt``.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure

from newlogic.errors import UserError
from newlogic.report.collect import AblationResults

PANELS = (("loss", "loss"), ("accuracy", "accuracy"))  # (metrics key suffix, y label)
SPLITS = (("train", "-"), ("test", "--"))  # (metrics key prefix, line style)
STRENGTH_KEY = "relog_strength"


@dataclass(frozen=True)
class TrainingRun:
    """One training run's per-epoch metrics, with the model and seed it belongs to."""

    model: str
    seed: int
    epochs: tuple[dict[str, Any], ...]

    def series(self, key: str) -> tuple[list[int], list[float]]:
        """``(epochs, values)`` of a per-epoch metric, leaving out epochs where it is null."""
        points = [(e["epoch"], e[key]) for e in self.epochs if e.get(key) is not None]
        return [epoch for epoch, _ in points], [value for _, value in points]


def runs_of(collected: AblationResults) -> list[TrainingRun]:
    """The training runs of an ablation with a verified ``metrics.json`` (``newlogic.report.collect``)."""
    return [TrainingRun(model.name, seed, tuple(run.metrics["epochs"])) for model in collected.models
            for seed, run in model.runs.items() if run.metrics is not None]


def plot_training_curves(runs: Sequence[TrainingRun], labels: Mapping[str, str] | None = None,
                         title: str = "Training curves") -> Figure:
    """Per model a row: loss and accuracy per epoch (train solid, test dashed, one colour per seed), ReLog ``s``."""
    if not runs:
        raise UserError("no training run to plot (training curves need metrics.json files)")
    labels = labels or {}
    models = list(dict.fromkeys(run.model for run in runs))
    seeds = sorted({run.seed for run in runs})
    colours = {seed: f"C{index % 10}" for index, seed in enumerate(seeds)}
    figure = Figure(figsize=(9.0, 2.6 * len(models) + 0.8), layout="constrained")
    axes = figure.subplots(len(models), len(PANELS), squeeze=False)
    for row, model in zip(axes, models, strict=True):
        model_runs = [run for run in runs if run.model == model]
        for ax, (metric, ylabel) in zip(row, PANELS, strict=True):
            for run in model_runs:
                for split, style in SPLITS:
                    ax.plot(*run.series(f"{split}_{metric}"), linestyle=style, marker=".", color=colours[run.seed],
                            label=f"{split}, seed {run.seed}")
            ax.set_title(f"{labels.get(model, model)}: {ylabel}", fontsize=9)
            ax.set_xlabel("epoch")
            ax.set_ylabel(ylabel)
            ax.grid(True, alpha=0.3)
        strengths = [run for run in model_runs if run.series(STRENGTH_KEY)[0]]
        if strengths:
            twin = row[-1].twinx()
            for run in strengths:
                twin.plot(*run.series(STRENGTH_KEY), linestyle=":", color=colours[run.seed],
                          label=f"ReLog s, seed {run.seed}")
            twin.set_ylabel("ReLog strength s")
            twin.set_ylim(-0.02, 1.02)
    legend = {name: handle for ax in figure.axes for handle, name in zip(*ax.get_legend_handles_labels(), strict=True)}
    figure.legend(list(legend.values()), list(legend), loc="outside lower center", ncols=min(6, len(legend)),
                  fontsize=8)
    figure.suptitle(title)
    return figure
