"""The figures drawn from result files only, so no torch: per ablation, per summary, per reproduction, the depth plot.

Each draws the catalog's entries of its scope (``newlogic.figure_catalog``): the entry's function
returns a ``Figure`` from the scope's input, saved as ``<name>.png`` and ``<name>.pdf`` under ``out_dir``.

- ``ablation`` (``make_ablation_figures``, from an ablation's verified files, ``newlogic figures
  ablation``): ``accuracy_vs_eps``, ``training_curves``;
- ``summary`` (``make_summary_figures``, from an ablation's ``summary.json``, ``newlogic landing``):
  ``robustness_curves``;
- ``reproduction`` (``make_reproduction_figure``): ``reproduction``;
- ``depth`` (``make_depth_figure``): ``depth_propagation``.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from newlogic.errors import UserError
from newlogic.figure_catalog import ABLATION, DEPTH, REPRODUCTION, SUMMARY, figures_of
from newlogic.figures.accuracy import plot_accuracy_vs_eps, results_of
from newlogic.figures.depth import read_depth_result
from newlogic.figures.files import save_figure
from newlogic.figures.training_curves import plot_training_curves, runs_of
from newlogic.report.collect import AblationResults
from newlogic.report.reproduction import Reproduction


def draw_scope(scope: str, subject: Any, out_dir: Path | str, names: Sequence[str] | None = None) -> list[Path]:
    """Draw the figures ``names`` (default: every entry of ``scope``) from ``subject``, the scope's input.

    Each entry's function is called on ``subject``; its figure is saved under ``out_dir``. Returns the files.
    """
    entries = {entry.name: entry for entry in figures_of(scope)}
    unknown = [name for name in names or () if name not in entries]
    if unknown:
        raise UserError(f"unknown {scope} figure(s) {', '.join(unknown)}; valid: {', '.join(entries)}")
    return [path for name in (names or entries)
            for path in save_figure(entries[name].draw_function()(subject), out_dir, name)]


def _labels(collected: AblationResults) -> dict[str, str]:
    """Model name → its label in the ablation's tables."""
    return {model.name: model.label for model in collected.models}


def accuracy_vs_eps(collected: AblationResults) -> Figure:
    """Accuracy against ε per attack, lines labelled as the table's rows."""
    return plot_accuracy_vs_eps(results_of(collected), _labels(collected),
                                title=f"Accuracy versus perturbation size {collected.ablation.name}")


def training_curves(collected: AblationResults) -> Figure:
    """Loss and accuracy per epoch of every model and seed, labelled as the table's rows."""
    return plot_training_curves(runs_of(collected), _labels(collected),
                                title=f"Training curves {collected.ablation.name}")


def make_ablation_figures(collected: AblationResults, out_dir: Path | str) -> list[Path]:
    """Every ``ablation`` figure of an ablation's verified files (``newlogic.report.collect``); returns the files."""
    return draw_scope(ABLATION, collected, out_dir)


def make_summary_figures(summary: Mapping[str, Any], out_dir: Path | str) -> list[Path]:
    """Every ``summary`` figure (``robustness_curves``) of an ablation's ``summary.json``; returns the files."""
    return draw_scope(SUMMARY, summary, out_dir)


def make_depth_figure(depth_json: Path | str, out_dir: Path | str) -> list[Path]:
    """``depth_propagation`` from ``newlogic.evaluation.depth.run_depth_experiment``'s JSON; returns the files."""
    return draw_scope(DEPTH, read_depth_result(depth_json), out_dir)


def make_reproduction_figure(reproduction: Reproduction, out_dir: Path | str) -> list[Path]:
    """``reproduction``: published against regenerated per column (``newlogic.figures.reproduction``); the files."""
    return draw_scope(REPRODUCTION, reproduction, out_dir)
