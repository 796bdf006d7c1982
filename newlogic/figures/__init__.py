"""Figures of the study (issue 5, SPEC §6), PNG and PDF: one module per figure family, the list in the catalog.

The figures are the entries of ``newlogic.figure_catalog`` (torch- and matplotlib-free): name,
``module:function``, scope and caption.

Importing the package imports neither torch nor matplotlib: the entry points are imported on first
use, the ablation figures and the depth plot from ``newlogic.figures.ablation`` (result files, no
torch), the per-model figures from ``registry`` (they load a model, with torch). ``FigureOptions``
(``newlogic.figures.options``) is torch-, scikit-learn- and matplotlib-free: planning checks it.
"""

from typing import Any

from newlogic.figures.options import FigureOptions

# entry point → the module that defines it, imported when the entry point is first asked for
ENTRY_POINTS = {
    "make_ablation_figures": "ablation",
    "make_depth_figure": "ablation",
    "make_model_figures": "registry",
    "model_figure_files": "registry",
}

__all__ = ["FigureOptions", *ENTRY_POINTS]


def __getattr__(name: str) -> Any:
    """An entry point of ``ENTRY_POINTS``, its module imported (with matplotlib, maybe torch) when first asked for."""
    if name in ENTRY_POINTS:
        from importlib import import_module

        return getattr(import_module(f"newlogic.figures.{ENTRY_POINTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
