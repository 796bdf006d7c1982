"""The ablation figures and the depth plot: they read result files only, so no torch (``newlogic figures ablation``).

- per ablation (``make_ablation_figures``, from its verified files): ``accuracy_vs_eps``, ``training_curves``;
- per ablation with a published counterpart (``make_reproduction_figure``): ``reproduction``;
- once (``make_depth_figure``): ``depth_propagation``.
"""

from pathlib import Path

from newlogic.figures.accuracy import plot_accuracy_vs_eps, results_of
from newlogic.figures.depth import plot_depth, read_depth_result
from newlogic.figures.files import save_figure
from newlogic.figures.reproduction import plot_reproduction
from newlogic.figures.training_curves import plot_training_curves, runs_of
from newlogic.report.collect import AblationResults
from newlogic.report.reproduction import Reproduction
from newlogic.store.paths import ACCURACY_FIGURE, DEPTH_FIGURE, REPRODUCTION_FIGURE, TRAINING_CURVES_FIGURE


def make_ablation_figures(collected: AblationResults, out_dir: Path | str) -> list[Path]:
    """``accuracy_vs_eps`` and ``training_curves`` of an ablation's verified files (``newlogic.report.collect``).

    Lines are labelled as the table's rows; returns the files written.
    """
    labels = {model.name: model.label for model in collected.models}
    title = collected.ablation.name
    figure = plot_accuracy_vs_eps(results_of(collected), labels, title=f"Accuracy versus perturbation size {title}")
    curves = plot_training_curves(runs_of(collected), labels, title=f"Training curves {title}")
    return save_figure(figure, out_dir, ACCURACY_FIGURE) + save_figure(curves, out_dir, TRAINING_CURVES_FIGURE)


def make_depth_figure(depth_json: Path | str, out_dir: Path | str) -> list[Path]:
    """``depth_propagation`` from ``newlogic.evaluation.depth.run_depth_experiment``'s JSON; returns the files."""
    return save_figure(plot_depth(read_depth_result(depth_json)), out_dir, DEPTH_FIGURE)


def make_reproduction_figure(reproduction: Reproduction, out_dir: Path | str) -> list[Path]:
    """``reproduction``: published against regenerated per column (``newlogic.figures.reproduction``); the files."""
    return save_figure(plot_reproduction(reproduction), out_dir, REPRODUCTION_FIGURE)
