"""Published against regenerated (issue 24): one panel per column of the published table, no torch.

Each row of the comparison is a point at x = the published value, y = the regenerated mean over
seeds, with its 95% interval as a vertical bar (``newlogic.report.reproduction.interval``), on the
y = x line (a point on the line reproduces its published value). Beside each point, shifted right
by ``WORST_OFFSET``, a hollow marker at the row's regenerated worst case under the strong suite: the
gap between the two is what the stronger evaluation takes away. In shape mode the title says that
values are not comparable and only the order of the points matters.
"""

from matplotlib.figure import Figure

from newlogic.figures.panels import panel_grid
from newlogic.report.reproduction import Reproduction

WORST_OFFSET = 0.015


def plot_reproduction(reproduction: Reproduction) -> Figure:
    """One panel per column: regenerated (with interval bars) and strong worst case against published."""
    columns = list(reproduction.columns)
    figure, axes = panel_grid(len(columns), 4.0, 3.8)
    for ax, column in zip(axes, columns, strict=True):
        ax.plot([0, 1], [0, 1], color="0.6", linewidth=0.8, linestyle="--", label="y = x")
        ax.plot([], [], marker="v", markerfacecolor="none", color="0.3", linestyle="none", label="strong worst case")
        for index, row in enumerate(reproduction.rows):
            comparison = reproduction.cells[(row.model, column)]
            colour = f"C{index % 10}"
            x = comparison.published.value
            if comparison.regenerated.mean is not None:
                y = comparison.regenerated.mean
                bounds = comparison.interval
                yerr = [[y - bounds[0]], [bounds[1] - y]] if bounds is not None else None
                ax.errorbar([x], [y], yerr=yerr, marker="o", markersize=4, capsize=2, color=colour, label=row.label)
            if row.worst_case.mean is not None:
                ax.plot([x + WORST_OFFSET], [row.worst_case.mean], marker="v", markersize=5, markerfacecolor="none",
                        color=colour, linestyle="none")
        agreement = reproduction.agreement[column]
        direction = "—" if agreement.direction is None else f"{100 * agreement.direction:.0f}%"
        tau = "—" if agreement.tau is None else f"{agreement.tau:+.2f}"
        ax.set_title(f"{reproduction.table.headers[column]} (direction {direction}, τ {tau})", fontsize=9)
        ax.set_xlabel("published accuracy")
        ax.set_ylabel("regenerated accuracy")
        ax.set_xlim(-0.03, 1.05)
        ax.set_ylim(-0.03, 1.03)
        ax.set_aspect("equal")
        ax.grid(True, alpha=0.3)
    legend = {name: handle for ax in axes for handle, name in zip(*ax.get_legend_handles_labels(), strict=True)}
    figure.legend(list(legend.values()), list(legend), loc="outside lower center", ncols=min(4, len(legend)),
                  fontsize=8)
    mode = "shape only: values not comparable" if reproduction.shape_mode else "values compared"
    figure.suptitle(f"Published ({reproduction.table.source}, {reproduction.table.name}) against regenerated "
                    f"({reproduction.ablation}); {mode}; ▽ strong worst case", fontsize=10)
    return figure
