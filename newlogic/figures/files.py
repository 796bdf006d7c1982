"""Saving a figure as PNG and PDF, atomically; no torch (ablation figures and tables read results without it).

Figures are built on ``matplotlib.figure.Figure`` objects, never through ``pyplot``: no global
state, no display; ``savefig`` renders PNG with Agg and PDF with matplotlib's PDF backend.
"""

from functools import partial
from pathlib import Path

from matplotlib.figure import Figure

from newlogic.store.atomic import atomic_write

FORMATS = ("png", "pdf")
DPI = 150


def figure_paths(out_dir: Path | str, stem: str) -> list[Path]:
    """The files a figure named ``stem`` is saved to: ``out_dir/stem.png`` and ``out_dir/stem.pdf``."""
    return [Path(out_dir) / f"{stem}.{ext}" for ext in FORMATS]


def _savefig(figure: Figure, ext: str, path: Path) -> None:
    figure.savefig(path, format=ext, dpi=DPI, bbox_inches="tight")


def save_figure(figure: Figure, out_dir: Path | str, stem: str) -> list[Path]:
    """Save ``figure`` as ``stem.png`` and ``stem.pdf`` under ``out_dir``, each atomically; returns the paths."""
    paths = figure_paths(out_dir, stem)
    for path, ext in zip(paths, FORMATS, strict=True):
        atomic_write(path, partial(_savefig, figure, ext))
    return paths
