"""Figures of the study (issue 5, SPEC §6), PNG and PDF: one module per figure family, entry points in ``registry``.

The ablation figures and the depth plot (``newlogic.figures.ablation``) read result files only and
import no torch; the per-model figures (``registry``: they load a model) are imported on first use.
"""

from typing import Any

from newlogic.figures.ablation import make_ablation_figures, make_depth_figure
from newlogic.store.paths import ACCURACY_FIGURE, DEPTH_FIGURE

MODEL_ENTRY_POINTS = ("MODEL_FIGURES", "FigureOptions", "make_model_figures", "model_figure_files")

__all__ = ["ACCURACY_FIGURE", "DEPTH_FIGURE", "make_ablation_figures", "make_depth_figure", *MODEL_ENTRY_POINTS]


def __getattr__(name: str) -> Any:
    """The per-model entry points of ``newlogic.figures.registry``, imported (with torch) when first asked for."""
    if name in MODEL_ENTRY_POINTS:
        from newlogic.figures import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
