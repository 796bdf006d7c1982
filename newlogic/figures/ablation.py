"""The ablation figures and the depth plot: they read result files only, so no torch (``newlogic figures ablation``).

- per ablation (``make_ablation_figures``): ``accuracy_vs_eps``, ``training_curves`` (from ``metrics.json``);
- once (``make_depth_figure``): ``depth_propagation``.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path

from newlogic.figures.accuracy import plot_accuracy_vs_eps, read_results
from newlogic.figures.depth import plot_depth, read_depth_result
from newlogic.figures.files import save_figure
from newlogic.figures.training_curves import plot_training_curves, read_runs
from newlogic.store.paths import ACCURACY_FIGURE, DEPTH_FIGURE, TRAINING_CURVES_FIGURE


def make_ablation_figures(results: Sequence[Path | str], out_dir: Path | str, *,
                          labels: Mapping[str, str] | None = None, title: str = "",
                          metrics: Sequence[Path | str] = ()) -> list[Path]:
    """``accuracy_vs_eps`` of an ablation's result JSONs and, given its runs' ``metrics.json``, ``training_curves``.

    ``labels`` maps a model name to its row label; returns the files written.
    """
    figure = plot_accuracy_vs_eps(read_results(results), labels,
                                  title=f"Accuracy versus perturbation size {title}".strip())
    files = save_figure(figure, out_dir, ACCURACY_FIGURE)
    if metrics:
        curves = plot_training_curves(read_runs(metrics), labels, title=f"Training curves {title}".strip())
        files += save_figure(curves, out_dir, TRAINING_CURVES_FIGURE)
    return files


def make_depth_figure(depth_json: Path | str, out_dir: Path | str) -> list[Path]:
    """``depth_propagation`` from ``newlogic.evaluation.depth.run_depth_experiment``'s JSON; returns the files."""
    return save_figure(plot_depth(read_depth_result(depth_json)), out_dir, DEPTH_FIGURE)
