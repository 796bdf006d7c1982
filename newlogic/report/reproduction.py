"""Published against regenerated: the comparison, from per-image outcomes (docs/results.md). No torch, no pandas.

The published side is ``newlogic.report.published`` (the tables as data and an ablation's
mapping); the tables and figure are drawn by ``newlogic.report.reproduction_render`` and
``newlogic.figures.reproduction``. Every regenerated number here comes from the per-image
correctness of the verified results (``newlogic.report.collect``): an attack column from its
result's ``adv_correct``, the clean column from the ``clean_correct`` of the run's result on the
most images, and the strong worst case from each run's ``checks.json`` survivor count.

Per cell (``compare_cell``): the published value, the regenerated mean over seeds of per-seed
accuracies with its 95 % interval (``cell_interval``) and, when values are comparable, the difference
and whether the published value (± half its last digit) lies inside the interval. The interval with
fewer than ``MIN_SEEDS_TO_RESAMPLE`` seeds is Clopper–Pearson on the seeds' pooled images (it covers
the choice of test images for these seeds' networks); with more, a bootstrap over seeds and images
(``newlogic.stats.bootstrap_interval``: it also covers training variance).

Per pair of consecutive compared rows (``pair_change``): the published change ``v_b − v_a`` beside the
regenerated change ``(1/S)·Σ_s mean_i (b_{s,i} − a_{s,i})`` in points, on the images both rows
attacked in each seed both have (aligned by test-set index), with a 95 % bootstrap interval (over
images within seeds; over seeds and images with ≥ ``MIN_SEEDS_TO_RESAMPLE`` seeds). Its label:

- ``agrees``: the interval excludes 0 on the published side;
- ``opposite``: the interval excludes 0 on the other side;
- ``inconclusive``: the interval contains 0 (``same_sign`` says whether the point estimate has the
  published sign);
- ``not comparable`` (``—``, never counted): equal published values, or no shared images.

Per column (``column_agreement``): the count of each label and Kendall's τ-b between the published
values and the regenerated means, with its exact one-sided permutation p-value
(``newlogic.stats.kendall_permutation_p``). A last column gives each row's strong worst case at the
published table's threat model and ε (the RobustBench "claimed against measured" column).

**Shape mode** (``setting_differences``): when the run differs from the published setting (another
dataset such as mnist5k, fewer epochs, fewer seeds, a subset of rows or of the test set, another
threat model), values are not compared (no difference, no inside flag): only the changes and the
rank order, and the caption says why.
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from newlogic.errors import UserError
from newlogic.report.entries import read_checks
from newlogic.report.published import CLEAN, THREAT_MODEL_DEFAULT, PublishedCell, PublishedTable, resolve_mapping
from newlogic.report.samples import values_at
from newlogic.stats import (
    MIN_SEEDS_TO_RESAMPLE,
    bootstrap_interval,
    clopper_pearson,
    kendall_permutation_p,
    kendall_tau_b,
)

if TYPE_CHECKING:
    from newlogic.report.collect import AblationResults, RunFiles

CLOPPER_PEARSON = "clopper-pearson"
BOOTSTRAP = "bootstrap"
AGREES, INCONCLUSIVE, OPPOSITE, NOT_COMPARABLE = "agrees", "inconclusive", "opposite", "not comparable"
LABELS = (AGREES, INCONCLUSIVE, OPPOSITE, NOT_COMPARABLE)  # the pair labels, in the order columns count them


@dataclass(frozen=True)
class Outcomes:
    """One seed's per-image outcomes in one cell: test-set ``index`` and ``correct`` (booleans), aligned."""

    index: np.ndarray
    correct: np.ndarray

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.correct))


@dataclass(frozen=True)
class RegeneratedCell:
    """A regenerated cell: per-seed ``Outcomes``; ``subset``: computed on a subset of the test set."""

    per_seed: dict[int, Outcomes] = field(default_factory=dict)
    subset: bool = False

    @classmethod
    def from_counts(cls, counts: Mapping[int, tuple[int, int]]) -> "RegeneratedCell":
        """A cell known only by per-seed (right, images) counts (a worst case): its images carry no index, so
        it is never paired with another row."""
        return cls({seed: Outcomes(np.full(images, -1), np.arange(images) < right)
                    for seed, (right, images) in counts.items() if images > 0})

    @property
    def values(self) -> tuple[float, ...]:
        """Per-seed accuracies, in seed order."""
        return tuple(outcomes.accuracy for _seed, outcomes in sorted(self.per_seed.items()))

    @property
    def mean(self) -> float | None:
        """The mean over seeds of per-seed accuracies; None without a seed."""
        return sum(self.values) / len(self.values) if self.per_seed else None

    @property
    def pooled_interval(self) -> tuple[float, float] | None:
        """The 95 % Clopper–Pearson interval of the seeds' pooled images (right of all); None without a seed."""
        outcomes = self.per_seed.values()
        return clopper_pearson(sum(int(o.correct.sum()) for o in outcomes), sum(len(o.correct) for o in outcomes))


@dataclass(frozen=True)
class RegeneratedRow:
    """A compared row: the config's model and label, its cells by published column key, its strong worst case."""

    model: str
    label: str
    published_label: str
    cells: dict[str, RegeneratedCell]
    worst_case: RegeneratedCell = field(default_factory=RegeneratedCell)


def cell_interval(cell: RegeneratedCell) -> tuple[tuple[float, float] | None, str | None]:
    """The cell's 95 % interval and its method: Clopper–Pearson on the pooled images with fewer than
    ``MIN_SEEDS_TO_RESAMPLE`` seeds, else a bootstrap over seeds and images; (None, None) without data."""
    if not cell.per_seed:
        return None, None
    if len(cell.per_seed) < MIN_SEEDS_TO_RESAMPLE:
        return cell.pooled_interval, CLOPPER_PEARSON
    return bootstrap_interval([o.correct for o in cell.per_seed.values()], over_seeds=True), BOOTSTRAP


@dataclass(frozen=True)
class CellComparison:
    """Published against regenerated in one cell; ``difference`` and ``inside`` are None in shape mode."""

    published: PublishedCell
    regenerated: RegeneratedCell
    interval: tuple[float, float] | None
    method: str | None
    difference: float | None
    inside: bool | None


def compare_cell(published: PublishedCell, cell: RegeneratedCell, decimals: int, values: bool) -> CellComparison:
    """The cell's interval, difference ``x̄ − v`` and inside flag (interval meets ``[v − h, v + h]``, h = ½·10^−d)."""
    bounds, method = cell_interval(cell)
    mean = cell.mean
    difference = mean - published.value if values and mean is not None else None
    inside = None
    if values and bounds is not None:
        half = 0.5 * 10 ** -decimals
        inside = bounds[0] <= published.value + half + 1e-12 and bounds[1] >= published.value - half - 1e-12
    return CellComparison(published, cell, bounds, method, difference, inside)


def paired_differences(above: RegeneratedCell, below: RegeneratedCell) -> list[np.ndarray]:
    """Per seed both cells have, ``b_i − a_i`` (in {−1, 0, 1}) on the test images both attacked (by index)."""
    differences = []
    for seed in sorted(set(above.per_seed) & set(below.per_seed)):
        a, b = above.per_seed[seed], below.per_seed[seed]
        shared = np.intersect1d(a.index[a.index >= 0], b.index[b.index >= 0])
        if len(shared):
            differences.append(values_at(b.index, b.correct, shared).astype(float)
                               - values_at(a.index, a.correct, shared).astype(float))
    return differences


@dataclass(frozen=True)
class PairChange:
    """Two consecutive compared rows in one column: published and regenerated change (fractions), the
    regenerated change's 95 % interval, its label and whether its point estimate has the published sign."""

    above: str
    below: str
    published: float | None
    star: bool | None
    regenerated: float | None
    interval: tuple[float, float] | None
    label: str
    same_sign: bool | None


def pair_label(published: float | None, interval: tuple[float, float] | None) -> str:
    """``agrees`` / ``opposite`` when the interval excludes 0 on the published / other side, ``inconclusive``
    when it contains 0, ``not comparable`` without a published sign or an interval."""
    if not published or interval is None:
        return NOT_COMPARABLE
    low, high = interval
    if low > 0 or high < 0:
        return AGREES if (low > 0) == (published > 0) else OPPOSITE
    return INCONCLUSIVE


def pair_change(above: RegeneratedCell, below: RegeneratedCell, published_above: PublishedCell,
                published_below: PublishedCell, decimals: int, adjacent: bool,
                labels: tuple[str, str]) -> PairChange:
    """The change between two compared rows (module docstring); ``adjacent``: next to each other when published,
    so the lower row's star (the paper's test against the row above) applies."""
    published = round(published_below.value - published_above.value, decimals)
    differences = paired_differences(above, below)
    regenerated = interval = None
    if differences:
        regenerated = sum(float(np.mean(d)) for d in differences) / len(differences)
        interval = bootstrap_interval(differences, over_seeds=len(differences) >= MIN_SEEDS_TO_RESAMPLE)
    label = pair_label(published, interval)
    same_sign = None if label == NOT_COMPARABLE or regenerated is None else regenerated * published > 0
    return PairChange(labels[0], labels[1], published, published_below.star if adjacent else None, regenerated,
                      interval, label, same_sign)


@dataclass(frozen=True)
class ColumnAgreement:
    """A column's pairs, and Kendall's τ-b between published values and regenerated means with its p-value."""

    pairs: tuple[PairChange, ...]
    tau: float | None
    tau_p: float | None

    def count(self, label: str) -> int:
        """Pairs with ``label`` (one of ``LABELS``)."""
        return sum(pair.label == label for pair in self.pairs)

    @property
    def inconclusive_same_sign(self) -> int:
        """Inconclusive pairs whose point estimate has the published sign."""
        return sum(pair.label == INCONCLUSIVE and bool(pair.same_sign) for pair in self.pairs)


def column_agreement(table: PublishedTable, rows: Sequence[RegeneratedRow], column: str) -> ColumnAgreement:
    """The changes over consecutive compared rows and Kendall's τ-b (with p) over the rows with a regenerated mean."""
    order = [row.label for row in table.rows]
    pairs = []
    for above, below in zip(rows, rows[1:], strict=False):
        adjacent = order.index(below.published_label) == order.index(above.published_label) + 1
        pairs.append(pair_change(above.cells[column], below.cells[column],
                                 table.row(above.published_label).cells[column],
                                 table.row(below.published_label).cells[column], table.decimals, adjacent,
                                 (above.label, below.label)))
    measured = [(row, mean) for row in rows if (mean := row.cells[column].mean) is not None]
    published = [table.row(row.published_label).cells[column].value for row, _ in measured]
    regenerated = [mean for _, mean in measured]
    return ColumnAgreement(tuple(pairs), kendall_tau_b(published, regenerated) if len(measured) >= 2 else None,
                           kendall_permutation_p(published, regenerated))


@dataclass(frozen=True)
class Reproduction:
    """The reproduction table of one ablation: cells by (model, column key), agreement by column, worst cases."""

    ablation: str
    table: PublishedTable
    rows: tuple[RegeneratedRow, ...]
    columns: tuple[str, ...]
    cells: dict[tuple[str, str], CellComparison]
    agreement: dict[str, ColumnAgreement]
    differences: tuple[str, ...]
    caption: str = ""
    threats: dict[str, tuple[str, float]] = field(default_factory=dict)  # column → its attack's (norm, ε)

    def at_worst_case_threat(self, column: str) -> bool:
        """Whether ``column``'s attack runs at the published worst case's norm and ε (where that worst case bounds
        it; the clean column and other threats have none)."""
        threat, (norm, eps) = self.threats.get(column), self.table.worst_case
        return threat is not None and threat[0] == norm and math.isclose(threat[1], eps)

    @property
    def shape_mode(self) -> bool:
        """Values are compared only when the run matches the published setting (no ``differences``)."""
        return bool(self.differences)

    @property
    def seeds(self) -> int:
        """The most seeds any compared cell has (it decides how the intervals resample)."""
        return max((len(row.cells[c].per_seed) for row in self.rows for c in self.columns), default=0)


def build_reproduction(ablation: str, table: PublishedTable, rows: Sequence[RegeneratedRow],
                       columns: Sequence[str], differences: Sequence[str] = (), caption: str = "",
                       threats: Mapping[str, tuple[str, float]] | None = None) -> Reproduction:
    """Compare every cell and column; ``differences`` (``setting_differences``) non-empty means shape mode;
    ``threats``: each attack column's (norm, ε)."""
    values = not differences
    cells = {(row.model, column): compare_cell(table.row(row.published_label).cells[column], row.cells[column],
                                               table.decimals, values)
             for row in rows for column in columns}
    agreement = {column: column_agreement(table, rows, column) for column in columns}
    return Reproduction(ablation, table, tuple(rows), tuple(columns), cells, agreement, tuple(differences), caption,
                        dict(threats or {}))


def setting_differences(table: PublishedTable, *, dataset: str, epochs: int | None, seeds: int, rows_compared: int,
                        test_subset: bool, threat_models: Sequence[str]) -> list[str]:
    """How the run differs from the published setting, one phrase each; empty: values are comparable."""
    setting = table.setting
    found = []
    if dataset != setting["dataset"]:
        found.append(f"dataset {dataset}, published {setting['dataset']}")
    if epochs is not None and epochs < setting["epochs"]:
        found.append(f"{epochs} epochs, published {setting['epochs']}")
    if seeds < setting["min_seeds"]:
        found.append(f"{seeds} seed(s), published several (≥ {setting['min_seeds']})")
    if rows_compared < len(table.rows):
        found.append(f"{rows_compared} of {len(table.rows)} published rows")
    if test_subset:
        found.append("attacks on a subset of the test set")
    other = sorted({units for units in threat_models if units != setting["threat_model"]})
    if other:
        found.append(f"threat model {', '.join(other)}, published {setting['threat_model']}")
    return found


# --- from the verified files --------------------------------------------------------------------------------------


def _seed_outcomes(run: "RunFiles", setting: str, settings: Sequence[str]) -> tuple[Outcomes, bool] | None:
    """One run's per-image outcomes in a column and whether they are a subset: an attack's ``adv_correct``; for
    ``clean``, the ``clean_correct`` of the run's result on the most images (first in config order on a tie)."""
    if setting == CLEAN:
        found = [run.results[s] for s in settings if s in run.results]
        if not found:
            return None
        result = max(found, key=lambda r: len(r.index))
        return Outcomes(np.asarray(result.index), np.asarray(result.clean_correct, dtype=bool)), \
            bool(result.data["subset"])
    if setting not in run.results:
        return None
    result = run.results[setting]
    return Outcomes(np.asarray(result.index), np.asarray(result.adv_correct, dtype=bool)), bool(result.data["subset"])


def _threat(runs: Iterable["RunFiles"], column: str, setting: str) -> dict[str, tuple[str, float]]:
    """``{column: (norm, ε)}`` of the first run's result of ``setting``; empty for clean and unbounded attacks."""
    for run in runs:
        result = run.results.get(setting)
        if result is not None and result.eps is not None:
            return {column: (str(result.data["norm"]), float(result.eps))}
    return {}


def _worst_counts(report: Mapping[str, Any] | None, norm: str, eps: float) -> tuple[int, int] | None:
    """(survived, images) of the run's ``checks.json`` worst case at (norm, ε) in pixel units; None if absent."""
    cases = read_checks(report).worst_cases if report is not None else ()
    return next((case.counts for case in cases if case.at_pixel_bound(norm, eps)), None)


def _epochs(config: Mapping[str, Any]) -> int | None:
    from newlogic.training.recipes import recipe

    training = config.get("training") or {}
    return training.get("epochs", recipe(config["dataset"]).training.get("epochs"))


def reproduction_from(collected: "AblationResults", config: Mapping[str, Any]) -> Reproduction | None:
    """The reproduction table of an ablation's verified files (``newlogic.report.collect``); None if unpublished."""
    ablation = collected.ablation
    models = [entry.name for entry in ablation.models]
    mapping = resolve_mapping(config["ablations"][ablation.name], models, ablation.settings, ablation.name)
    if mapping is None:
        return None
    labels = {entry.name: entry.label for entry in ablation.models}
    rows, subset, threats = [], False, {}
    for model, published_label in mapping.rows.items():
        runs = collected.model(model).runs
        cells = {}
        for column in mapping.columns:
            threats.update(_threat(runs.values(), column, mapping.table.settings[column]))
            found = {seed: outcome for seed, run in runs.items()
                     if (outcome := _seed_outcomes(run, mapping.table.settings[column], ablation.settings))}
            cells[column] = RegeneratedCell({seed: outcomes for seed, (outcomes, _) in found.items()},
                                            any(flag for _, flag in found.values()))
            subset |= cells[column].subset
        worst = {seed: counts for seed, run in runs.items()
                 if (counts := _worst_counts(run.checks, *mapping.table.worst_case))}
        rows.append(RegeneratedRow(model, labels[model], published_label, cells, RegeneratedCell.from_counts(worst)))
    threat_models = [str(config["attacks"][setting].get("threat_model", THREAT_MODEL_DEFAULT))
                     for column, setting in mapping.table.settings.items() if column in mapping.columns
                     and setting != CLEAN]
    differences = setting_differences(mapping.table, dataset=ablation.dataset, epochs=_epochs(config),
                                      seeds=len(ablation.seeds), rows_compared=len(rows), test_subset=subset,
                                      threat_models=threat_models)
    return build_reproduction(ablation.name, mapping.table, rows, mapping.columns, differences, ablation.caption,
                              threats)


def reproduction_of(config: Mapping[str, Any], ablation_name: str, results_dir: Path | str) -> Reproduction | None:
    """The ablation's reproduction table from its files under ``results_dir``; None when it is unpublished."""
    from newlogic.report.collect import collect_ablation

    return reproduction_from(collect_ablation(config, ablation_name, Path(results_dir)), config)


def require_reproduction(config: Mapping[str, Any], ablation_name: str, results_dir: Path | str) -> Reproduction:
    """``reproduction_of``, or a UserError when the ablation has no published counterpart."""
    reproduction = reproduction_of(config, ablation_name, results_dir)
    if reproduction is None:
        raise UserError(f"ablation {ablation_name!r} has no 'published' counterpart; add published: "
                        "{source: arxiv-1911.08635, table: mnist} to it")
    return reproduction


def reproduction_summary(collected: "AblationResults", config: Mapping[str, Any]) -> dict[str, Any] | None:
    """``summary.json``'s ``reproduction`` object of an ablation's verified files (None when it is unpublished):
    source, mode, reasons, labels and τ per column, worst cases."""
    reproduction = reproduction_from(collected, config)
    if reproduction is None:
        return None
    table = reproduction.table
    insides = [c.inside for c in reproduction.cells.values() if c.inside is not None]
    return {
        "source": table.source, "table": table.name, "mode": "shape" if reproduction.shape_mode else "values",
        "differences": list(reproduction.differences),
        "rows": {row.model: row.published_label for row in reproduction.rows},
        "columns": {column: {"setting": table.settings[column],
                             "pairs": {label.replace(" ", "_"): agreement.count(label) for label in LABELS},
                             "inconclusive_same_sign": agreement.inconclusive_same_sign,
                             "kendall_tau_b": agreement.tau, "kendall_p": agreement.tau_p}
                    for column, agreement in reproduction.agreement.items()},
        "inside_interval": None if reproduction.shape_mode else {"inside": sum(insides), "cells": len(insides)},
        "worst_case": {"norm": table.worst_case[0], "eps": table.worst_case[1],
                       "per_row": {row.model: row.worst_case.mean for row in reproduction.rows}},
    }
