"""The grid of panels that the multi-panel ablation figures share (no torch: they read result files only)."""

from matplotlib.axes import Axes
from matplotlib.figure import Figure

PANEL_COLUMNS = 3  # panels per row


def panel_grid(count: int, width: float, height: float) -> tuple[Figure, list[Axes]]:
    """A figure with ``count`` panels of ``width`` × ``height`` inches, ``PANEL_COLUMNS`` a row (spare ones hidden)."""
    columns = min(PANEL_COLUMNS, count)
    rows = -(-count // columns)
    figure = Figure(figsize=(width * columns, height * rows + 0.8), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_axis_off()
    return figure, list(axes.flat[:count])
