"""Figures of the study (issue 5, SPEC §6), PNG and PDF: one module per figure family, entry points in ``registry``."""

from newlogic.figures.registry import (
    ACCURACY_FIGURE,
    DEPTH_FIGURE,
    MODEL_FIGURES,
    FigureOptions,
    make_ablation_figures,
    make_depth_figure,
    make_model_figures,
    model_figure_files,
)

__all__ = ["ACCURACY_FIGURE", "DEPTH_FIGURE", "MODEL_FIGURES", "FigureOptions", "make_ablation_figures",
           "make_depth_figure", "make_model_figures", "model_figure_files"]
