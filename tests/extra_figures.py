"""Test-only figure entries registered from outside the package (``NEWLOGIC_EXTRA_FIGURES=extra_figures``).

``extra_model_figure`` (one per trained model) and ``extra_ablation_figure`` (one per ablation):
one entry, one function and one caption each. Nothing else in the project names them: the
workflow's targets and the figures commands must take them in from these entries alone.
"""

from pathlib import Path
from typing import TYPE_CHECKING

from newlogic.figure_catalog import ABLATION, MODEL, FigureEntry

if TYPE_CHECKING:  # the catalog imports this module in planning: matplotlib and torch only where a figure is drawn
    from matplotlib.figure import Figure

    from newlogic.figures.registry import ModelFigureInputs
    from newlogic.report.collect import AblationResults

CAPTION = str(Path(__file__).with_name("extra_figures.rst"))

FIGURES = (
    FigureEntry("extra_model_figure", "extra_figures:draw_model", MODEL, "test-only: test labels per class",
                caption=CAPTION),
    FigureEntry("extra_ablation_figure", "extra_figures:draw_ablation", ABLATION, "test-only: seeds per model",
                caption=CAPTION),
)


def draw_model(inputs: "ModelFigureInputs") -> "Figure":
    """A bar per class: how many test images carry that label."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4, 3))
    counts = inputs.test.labels.bincount().tolist()
    figure.subplots().bar(range(len(counts)), counts)
    figure.suptitle(inputs.title)
    return figure


def draw_ablation(collected: "AblationResults") -> "Figure":
    """A bar per model: how many seeds its verified files hold."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4, 3))
    figure.subplots().bar([model.label for model in collected.models], [len(model.runs) for model in collected.models])
    figure.suptitle(collected.ablation.name)
    return figure
