"""A table cell and the tests between rows (SPEC §7): per-seed values and counts, the config's ``stats`` test,
Holm–Bonferroni over the table, and the marks for a seed that lacks a cell. ``newlogic.report.tables`` fills and
renders the cells. No torch.

``stats: seeds`` (default) is Welch's t-test on the per-seed accuracies, only when both cells have
≥ ``MIN_SEEDS`` seeds; ``stats: paper`` is the paper's Welch's t-test on per-batch accuracies; a cell
that cannot be tested is ``tested = False``. A cell's ``pooled`` figure pools its seeds' images
(``newlogic.report.worst_case.pooled``): its Clopper–Pearson interval covers the choice of images for
these seeds' trained networks, not training variance.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from newlogic.report.vocabulary import RELIABLE
from newlogic.report.worst_case import pooled
from newlogic.stats import holm, sample_std, welch_p

SIGNIFICANCE_LEVEL = 0.05  # family-wise, Holm–Bonferroni over the table's comparisons
MIN_SEEDS = 3  # a seed-level test needs this many seeds in both cells [project]
DEFAULT_STATS = "seeds"


@dataclass
class Cell:
    """One table cell: accuracy (fraction) per seed found, and what the tests between rows use.

    ``per_batch``: the per-batch accuracies of every seed (``stats: paper``); ``tested``: a test
    against the row above was made; ``word``: the worst cell word of its seeds' checks;
    ``attacks``: per seed, the settings its worst case covers; ``seed_missing``: a seed lacks it;
    ``survivors``: per seed (right, n); ``worst``: a worst-case cell; ``upper_bound``: its model's verdict is
    ``masking suspected``, so the figure is an upper bound.
    """

    values: dict[int, float] = field(default_factory=dict)
    per_batch: list[float] = field(default_factory=list)
    subset: bool = False
    markers: set[str] = field(default_factory=set)
    significant: bool = False
    tested: bool = True
    word: str = RELIABLE
    attacks: dict[int, frozenset[str]] = field(default_factory=dict)
    seed_missing: bool = False
    survivors: dict[int, tuple[int, int]] = field(default_factory=dict)
    worst: bool = False
    upper_bound: bool = False

    @property
    def pooled(self) -> dict[str, Any] | None:
        """The seeds' images pooled (``worst_case.pooled``): accuracy, n, 95 % Clopper–Pearson interval."""
        return pooled(self.survivors.values())

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95 % Clopper–Pearson interval of the seeds' pooled images; None without counts."""
        found = self.pooled
        return None if found is None else (found["interval"][0], found["interval"][1])

    @property
    def mean(self) -> float:
        return sum(self.values.values()) / len(self.values) if self.values else math.nan

    @property
    def std(self) -> float:
        std = sample_std(list(self.values.values()))
        return math.nan if std is None else std


def _welch_on_seeds(above: Cell, below: Cell) -> float | None:
    return welch_p(list(above.values.values()), list(below.values.values()))


def _seed_test(above: Cell, below: Cell) -> float | None:
    """Welch on per-seed accuracies when both cells have ≥ ``MIN_SEEDS`` seeds; else None (not tested)."""
    if len(above.values) < MIN_SEEDS or len(below.values) < MIN_SEEDS:
        return None
    return _welch_on_seeds(above, below)


@dataclass(frozen=True)
class StatsTest:
    """A test between a cell and the one above it, and the legend sentence that names it."""

    p_value: Callable[[Cell, Cell], float | None]
    legend: str


STATS: dict[str, StatsTest] = {
    "seeds": StatsTest(_seed_test, f"Welch's t-test on per-seed accuracies (both cells ≥ {MIN_SEEDS} seeds)"),
    "paper": StatsTest(lambda above, below: welch_p(above.per_batch, below.per_batch),
                       "Welch's t-test on per-batch accuracies, the paper's test"),
}


def mark_missing_seeds(cell: Cell, seeds: int, worst: bool) -> None:
    """``seed_missing`` when a seed that ran lacks the cell, or (a worst case) one of the attacks another seed has."""
    lacking = bool(cell.values) and len(cell.values) < seeds
    if worst and cell.attacks:
        every = frozenset().union(*cell.attacks.values())
        lacking |= any(attacks != every for attacks in cell.attacks.values())
    cell.seed_missing = lacking


def mark_significance(rows: list[str], columns: list[str], cells: dict[tuple[str, str], Cell],
                       test: StatsTest) -> None:
    """``test`` of each cell against the cell of the row above (SPEC §7), Holm–Bonferroni-adjusted over the table.

    A cell with a row above but no test (``test`` gives None) is ``tested = False``: not tested.
    """
    tested: list[tuple[Cell, float]] = []
    for above, below in zip(rows, rows[1:], strict=False):
        for column in columns:
            p_value = test.p_value(cells[(above, column)], cells[(below, column)])
            cells[(below, column)].tested = p_value is not None
            if p_value is not None:
                tested.append((cells[(below, column)], p_value))
    for (cell, _p), adjusted in zip(tested, holm([p for _cell, p in tested]), strict=True):
        cell.significant = adjusted < SIGNIFICANCE_LEVEL
