"""Published against regenerated: one panel per column of the published table, no torch.

Each row of the comparison is a point at x = the published value, y = the regenerated mean over
seeds, with its 95 % interval as a vertical bar (``newlogic.report.reproduction.cell_interval``), on
the y = x line (a point on the line reproduces its published value); rows are dodged sideways by
``DODGE`` of the panel's span, so equal published values stay apart. In the panels whose attack runs
at the published worst case's norm and ε (``Reproduction.at_worst_case_threat``), and only there, a
hollow marker ``WORST_OFFSET`` to the right of each point gives the row's strong worst case: the gap
is what the stronger evaluation takes away. Each panel is zoomed on its own points (the clean
accuracies sit near 1 and would otherwise share one corner) with equal axes, so the y = x line keeps
its slope. Panel titles are the table's column headers; the lines under each give its pair labels
and Kendall's τ-b. In shape mode the title says that only the order matters.
"""

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from newlogic.figures.panels import panel_grid
from newlogic.report.reproduction import Reproduction
from newlogic.report.reproduction_render import labels_text, tau_text

WORST_OFFSET = 0.02  # of the panel's span
DODGE = 0.01  # of the panel's span: rows with equal published values sit side by side, not on top of each other
MARGIN = 0.08  # of the panel's span, around its points
MIN_SPAN = 0.04  # accuracy: a panel shows at least this range (4 points), centred on its points


def _limits(values: list[float]) -> tuple[float, float]:
    """A square range around ``values``: their span with ``MARGIN`` each side, at least ``MIN_SPAN``, inside
    [−0.02, 1.02] (accuracies)."""
    low, high = min(values), max(values)
    span = max(high - low, MIN_SPAN)
    centre = (low + high) / 2
    low, high = centre - span / 2 - MARGIN * span, centre + span / 2 + MARGIN * span
    shift = max(-0.02 - low, 0.0) - max(high - 1.02, 0.0)
    return max(low + shift, -0.02), min(high + shift, 1.02)


def _panel(ax: Axes, reproduction: Reproduction, column: str) -> None:
    """One column: every row's point, interval bar and (at the worst case's threat) its strong worst case."""
    worst = reproduction.at_worst_case_threat(column)
    shown: list[float] = []
    points = []
    for index, row in enumerate(reproduction.rows):
        comparison = reproduction.cells[(row.model, column)]
        x, y = comparison.published.value, comparison.regenerated.mean
        shown.append(x)
        if y is not None:
            shown += [y, *(comparison.interval or ())]
        if worst and row.worst_case.mean is not None:
            shown.append(row.worst_case.mean)
        points.append((index, row, x, y, comparison.interval))
    low, high = _limits(shown)
    offset, dodge = WORST_OFFSET * (high - low), DODGE * (high - low)
    middle = (len(points) - 1) / 2
    ax.plot([low, high], [low, high], color="0.6", linewidth=0.8, linestyle="--")
    for index, row, published, y, bounds in points:
        colour, x = f"C{index % 10}", published + (index - middle) * dodge
        if y is not None:
            yerr = [[y - bounds[0]], [bounds[1] - y]] if bounds is not None else None
            ax.errorbar([x], [y], yerr=yerr, marker="o", markersize=4, capsize=2, color=colour)
        if worst and row.worst_case.mean is not None:
            ax.plot([x + offset], [row.worst_case.mean], marker="v", markersize=5, markerfacecolor="none",
                    color=colour, linestyle="none")
    agreement = reproduction.agreement[column]
    ax.set_title(f"{reproduction.table.headers[column]}\n{labels_text(agreement)}\n{tau_text(agreement)}",
                 fontsize=8)
    ax.set_xlabel("published accuracy", fontsize=8)
    ax.set_ylabel("regenerated accuracy", fontsize=8)
    ax.tick_params(labelsize=7)
    for axis in (ax.xaxis, ax.yaxis):  # no tick at the lower-left corner, where an x and a y label would meet
        axis.set_major_locator(MaxNLocator(nbins=6, prune="lower"))
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_aspect("equal")
    ax.grid(True, alpha=0.3)


def plot_reproduction(reproduction: Reproduction) -> Figure:
    """One panel per column: regenerated (with interval bars) against published, strong worst case where it bounds."""
    columns = list(reproduction.columns)
    figure, axes = panel_grid(len(columns), 4.6, 4.4)
    for ax, column in zip(axes, columns, strict=True):
        _panel(ax, reproduction, column)
    handles = [Line2D([], [], marker="o", markersize=4, color=f"C{index % 10}", linestyle="none", label=row.label)
               for index, row in enumerate(reproduction.rows)]
    handles.append(Line2D([], [], color="0.6", linewidth=0.8, linestyle="--", label="y = x"))
    if any(reproduction.at_worst_case_threat(column) for column in columns):
        norm, eps = reproduction.table.worst_case
        handles.append(Line2D([], [], marker="v", markerfacecolor="none", color="0.3", linestyle="none",
                              label=f"strong worst case ({norm} ε={eps:g})"))
    figure.legend(handles=handles, loc="outside lower center", ncols=min(4, len(handles)), fontsize=8)
    mode = "shape only: values not comparable" if reproduction.shape_mode else "values compared"
    figure.suptitle(f"Published ({reproduction.table.source}, {reproduction.table.name}) against regenerated "
                    f"({reproduction.ablation}); {mode}", fontsize=10)
    return figure
