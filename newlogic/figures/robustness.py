"""Robustness curves: an ablation's worst-case accuracy against ε, per threat model, from its ``summary.json``.

One panel per threat model (L∞, L2, …), one colour per model. The solid line is the model's
worst case at each ε (``robust_acc[].pooled.accuracy``: Σ survived / Σ n over the seeds' pooled
images) and its band the pooled 95 % Clopper–Pearson interval ``[B⁻¹(0.025; k, n − k + 1),
B⁻¹(0.975; k + 1, n − k)]``: it covers the choice of test images for these seeds' networks, not
training variance. The dashed line beside it is the strongest single attack at that ε (the lowest
``attacks[].pooled.accuracy`` among the settings with that threat model and ε, noise excluded).
A hollow marker is a figure that only bounds the worst case from above (``upper_bound``). No torch.
The figure catalog's ``robustness_curves`` entry (scope ``summary``): ``newlogic landing`` draws it.
"""

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure

from newlogic.attacks.catalog import NOISE
from newlogic.figures.panels import panel_grid
from newlogic.report.findings import THREAT_LABELS

PANEL_WIDTH, PANEL_HEIGHT = 4.2, 3.2  # inches per panel (newlogic.figures.panels.panel_grid)


def _strongest_single_attack(model: Mapping[str, Any], threat: str) -> dict[float, float]:
    """ε → the lowest pooled accuracy of any single attack setting of ``threat`` at that ε (noise excluded)."""
    lowest: dict[float, float] = {}
    for attack in model["attacks"]:
        if attack.get("eps") is None or attack.get("kind") == NOISE or attack["threat_model"] != threat:
            continue
        eps = float(attack["eps"])
        lowest[eps] = min(lowest.get(eps, 1.0), float(attack["pooled"]["accuracy"]))
    return lowest


def plot_robustness_curves(summary: Mapping[str, Any]) -> Figure:
    """The figure of the module docstring for one ablation's summary (a note in place of panels without data)."""
    threats = list(dict.fromkeys(entry["threat_model"] for model in summary["models"] for entry in model["robust_acc"]))
    if not threats:
        figure = Figure(figsize=(PANEL_WIDTH, 1.0))
        figure.text(0.5, 0.5, "no worst case in summary.json", ha="center", va="center")
        return figure
    figure, axes = panel_grid(len(threats), PANEL_WIDTH, PANEL_HEIGHT)
    colours = {model["name"]: f"C{index % 10}" for index, model in enumerate(summary["models"])}
    for ax, threat in zip(axes, threats, strict=True):
        for model in summary["models"]:
            entries = sorted((entry for entry in model["robust_acc"] if entry["threat_model"] == threat),
                             key=lambda entry: float(entry["eps"]))
            if not entries:
                continue
            colour = colours[model["name"]]
            eps = [float(entry["eps"]) for entry in entries]
            accuracy = [float(entry["pooled"]["accuracy"]) for entry in entries]
            ax.fill_between(eps, [entry["pooled"]["interval"][0] for entry in entries],
                            [entry["pooled"]["interval"][1] for entry in entries], color=colour, alpha=0.2, lw=0)
            ax.plot(eps, accuracy, "-", color=colour, label=model["label"])
            for x, y, entry in zip(eps, accuracy, entries, strict=True):
                ax.plot([x], [y], "o", color=colour, markerfacecolor="none" if entry.get("upper_bound") else colour)
            single = _strongest_single_attack(model, threat)
            if single:
                ax.plot(sorted(single), [single[x] for x in sorted(single)], "--", color=colour, alpha=0.8)
        ax.set_title(f"{THREAT_LABELS.get(threat, threat)}: worst case (band: 95 % CI) and strongest attack (dashed)",
                     fontsize=8)
        ax.set_xlabel(f"ε ({THREAT_LABELS.get(threat, threat)})")
        ax.set_ylabel("accuracy")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    legend = {name: handle for ax in axes for handle, name in zip(*ax.get_legend_handles_labels(), strict=True)}
    figure.legend(legend.values(), legend.keys(), loc="outside lower center", ncols=min(4, len(legend)), fontsize=8)
    return figure
