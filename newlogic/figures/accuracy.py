"""Accuracy versus ε per attack and model (issue 5), from an ablation's verified results (``newlogic.report.collect``).

Fields read from each result: ``complete``, ``model``, ``attack``, ``preset``, ``attack_on``,
``norm``, ``eps``, ``adv_accuracy``, ``clean_accuracy``. One panel per attack setting family
(attack, preset, attack_on), one line per model (config order = first appearance). A point is
the mean adversarial accuracy over a model's results at that ε (several seeds: error bar =
sample standard deviation); the point at ε = 0 is the mean clean accuracy of the same results.
Results without an ε (C&W, …) cannot be placed on the axis and are left out. A panel is titled
with the tables' labels of its settings (``newlogic.report.tables.column_header``, carried in each
result as ``TABLE_LABEL`` by ``results_of``) with their ``ε=…`` part removed (``FGM-L∞ ε=0.1`` and
``FGM-L∞ ε=0.3`` → ``FGM-L∞``), distinct ones joined by `` / ``; a result without one falls back to
its registry ids (``panel_title``).
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from newlogic.attacks.catalog import DEFAULT_PRESET
from newlogic.errors import UserError
from newlogic.figures.panels import panel_grid
from newlogic.report.collect import AblationResults
from newlogic.report.tables import column_header
from newlogic.report.vocabulary import shown_norm

TABLE_LABEL = "table_label"  # the key results_of adds: the setting's column header in the tables
EPS_IN_LABEL = re.compile(r"\s*ε\s*=\s*[-+0-9.eE]+")  # the ε part of a label, e.g. " ε=0.3"


@dataclass(frozen=True)
class Curve:
    """One model's accuracies in one panel: ``eps`` ascending (0 first), mean, std (0 for one run), run counts."""

    eps: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    runs: np.ndarray


def results_of(collected: AblationResults) -> list[dict[str, Any]]:
    """Every verified result of an ablation (``newlogic.report.collect``), model by model in config order, each
    with its setting's table label under ``TABLE_LABEL``."""
    return [{**result.data, TABLE_LABEL: column_header(setting, collected.attacks.get(setting, {}))}
            for model in collected.models for run in model.runs.values()
            for setting, result in run.results.items()]


def panel_key(result: Mapping[str, Any]) -> tuple[str, str, str]:
    """``(attack, preset, attack_on)``: results that share it share a panel."""
    return result["attack"], result.get("preset") or DEFAULT_PRESET, result.get("attack_on") or "scores"


def panel_title(key: tuple[str, str, str], norm: str | None) -> str:
    """``fgsm (L∞)``, ``bim (strong) (L∞)``, ``fgsm, on probabilities (L∞)``."""
    attack, preset, attack_on = key
    title = attack + ("" if preset == DEFAULT_PRESET else f" ({preset})")
    title += ", on probabilities" if attack_on == "probs" else ""
    return title + (f" ({shown_norm(norm)})" if norm else "")


def family_title(key: tuple[str, str, str], results: Sequence[Mapping[str, Any]], norm: str | None) -> str:
    """A panel's title: its settings' table labels without their ε part, distinct ones joined (module docstring)."""
    labels = [result.get(TABLE_LABEL) for result in results
              if result.get("eps") is not None and panel_key(result) == key]
    if not labels or any(label is None for label in labels):
        return panel_title(key, norm)
    stripped = dict.fromkeys(" ".join(EPS_IN_LABEL.sub("", str(label)).split()) for label in labels)
    return " / ".join(stripped)


def _stats(values: list[float]) -> tuple[float, float]:
    array = np.asarray(values, dtype=float)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0


def accuracy_curves(results: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str, str], dict[str, Curve]]:
    """Panel key → model name → ``Curve``: mean/std over results per ε, clean accuracy at ε = 0.

    Results with ``eps`` None are left out; panels keep the order of first appearance, as do models.
    """
    grouped: dict[tuple[str, str, str], dict[str, dict[float, list[float]]]] = {}
    clean: dict[tuple[tuple[str, str, str], str], list[float]] = {}
    for result in results:
        if result.get("eps") is None:
            continue
        key, model = panel_key(result), result["model"]
        grouped.setdefault(key, {}).setdefault(model, {}).setdefault(float(result["eps"]), []).append(
            float(result["adv_accuracy"]))
        clean.setdefault((key, model), []).append(float(result["clean_accuracy"]))
    curves: dict[tuple[str, str, str], dict[str, Curve]] = {}
    for key, models in grouped.items():
        for model, by_eps in models.items():
            points = {0.0: clean[key, model], **{eps: by_eps[eps] for eps in sorted(by_eps) if eps > 0}}
            stats = [_stats(values) for values in points.values()]
            curves.setdefault(key, {})[model] = Curve(
                eps=np.array(list(points)), mean=np.array([mean for mean, _ in stats]),
                std=np.array([std for _, std in stats]), runs=np.array([len(values) for values in points.values()]))
    return curves


def plot_accuracy_vs_eps(results: Sequence[Mapping[str, Any]], labels: Mapping[str, str] | None = None,
                         title: str = "Accuracy versus perturbation size") -> Figure:
    """One panel per attack, one line per model (``labels`` maps a model name to its table label)."""
    curves = accuracy_curves(results)
    if not curves:
        raise UserError("no result with an eps to plot (accuracy versus eps needs bounded attacks such as fgsm, bim)")
    norms = {panel_key(result): result.get("norm") for result in results if result.get("eps") is not None}
    labels = labels or {}
    figure, axes = panel_grid(len(curves), 4.2, 3.4)
    colours = {model: f"C{index % 10}" for index, model in enumerate(dict.fromkeys(r["model"] for r in results))}
    for ax, (key, models) in zip(axes, curves.items(), strict=True):
        for model, curve in models.items():
            ax.errorbar(curve.eps, curve.mean, yerr=curve.std, marker="o", markersize=3, capsize=2,
                        color=colours[model], label=labels.get(model, model))
        ax.set_title(family_title(key, results, norms.get(key)), fontsize=10)
        norm = norms.get(key)
        ax.set_xlabel(f"ε ({shown_norm(norm) if norm else 'norm'})")
        ax.set_ylabel("accuracy")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(True, alpha=0.3)
    legend = {name: handle for ax in axes for handle, name in zip(*ax.get_legend_handles_labels(), strict=True)}
    figure.legend(list(legend.values()), list(legend), loc="outside lower center", ncols=min(4, len(legend)),
                  fontsize=8)
    figure.suptitle(title)
    return figure
