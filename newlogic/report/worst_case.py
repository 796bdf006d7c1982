"""Worst-case robust accuracy per threat model and ε (the RobustBench / AutoAttack convention; issues 10, 21).

For one model's results at norm ``p`` and bound ε, a test image *survives* when it is classified
right clean and by every attack run at that (p, ε): ``survived_i = clean_i ∧ ⋀_a adv_correct_{a,i}``,
over the images every one of those attacks attacked (the intersection of their ``index`` arrays,
``n`` of them). The worst-case robust accuracy is the mean of ``survived``, reported with ``n``
and its 95 % Clopper–Pearson interval (``newlogic.stats.clopper_pearson``). An attack
without an ε whose catalog entry has a ``per_sample_norm`` (C&W: L2) joins every group of that
norm through its per-sample norms (``robust_within``: fooled only if fooled within ε). The
uniform-noise baseline is not an attack and is left out; so are attacks without an ε (JSMA), and
a group whose attacks share no image.

It is computed once per (model, seed), from all of the model's results, by the checks
(``checks.json``); tables and ``summary.json`` read it from there. Its ``kind`` says whether it is a
worst case at all: ``worst_case`` when a sound white-box attack (``newlogic.report.verdicts.known_weak``
is false) ran at that (p, ε); ``one_step_only`` when only one-step attacks ran; ``weak_attacks_only``
otherwise (known-weak attacks, black-box or transfer only). Only ``worst_case`` is labelled a worst case.

Over seeds, the tables and ``summary.json`` pool the seeds' images (``pooled``): ``Σ survived / Σ n``
with the Clopper–Pearson interval of those counts. It covers the choice of test images for these
seeds' trained networks, not the variance of training (another seed trains another network).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import reduce

import numpy as np

from newlogic.attacks.catalog import CATALOG, NOISE, ONE_STEP, PIXELS
from newlogic.report.samples import Result, robust_within, values_at
from newlogic.report.verdicts import sound_white_box
from newlogic.report.vocabulary import (
    CASE_KINDS,
    NORMS,
    ONE_STEP_ONLY,
    WEAK_ATTACKS_ONLY,
    WORST_CASE,
    WORST_CASE_NORMS,
)
from newlogic.stats import CONFIDENCE, clopper_pearson

COLUMN_PREFIX = "worst_"
PIXEL_UNITS = (None, PIXELS)  # ε in pixel units (newlogic.threat_model): no suffix on the column
__all__ = ["CASE_KINDS", "WORST_CASE", "WorstCase", "pooled", "worst_case"]
# how a column's header names each kind: only a sound one is called a worst case
CASE_HEADERS = {WORST_CASE: "Worst-case", ONE_STEP_ONLY: "One-step only", WEAK_ATTACKS_ONLY: "Weak attacks only"}


@dataclass(frozen=True)
class WorstCase:
    """The images that survived every attack at one (norm, ε): their ``index`` and ``survived`` flags, and its kind;
    ``member_survived``: per setting (in ``settings`` order), the images that survived that attack alone."""

    norm: str
    eps: float
    threat_model: str | None
    settings: tuple[str, ...]
    index: np.ndarray
    survived: np.ndarray
    kind: str = WORST_CASE
    member_survived: tuple[np.ndarray, ...] = field(default=(), compare=False)

    @property
    def accuracy(self) -> float:
        return float(self.survived.mean())

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95 % Clopper–Pearson interval of ``accuracy`` on its ``len(index)`` images."""
        return clopper_pearson(int(self.survived.sum()), len(self.index))

    @property
    def column(self) -> str:
        """The table column id, e.g. ``worst_linf_0.3`` (``worst_linf_0.3_normalized`` in normalised units)."""
        return case_column(self.norm, self.eps, self.threat_model)

    @property
    def header(self) -> str:
        return case_header(self.norm, self.eps, self.threat_model, self.kind)

    def to_dict(self) -> dict[str, object]:
        """The ``checks.json`` entry (docs/results.md): accuracy, n, survivors, 95 % interval, kind, settings."""
        return {"norm": self.norm, "eps": self.eps, "threat_model": self.threat_model, "column": self.column,
                "kind": self.kind, "accuracy": self.accuracy, "sample_count": len(self.index),
                "survived": int(self.survived.sum()), "confidence": CONFIDENCE,
                "interval": list(self.interval or ()), "settings": list(self.settings)}


def case_column(norm: str, eps: float, threat_model: str | None) -> str:
    """``worst_<norm>_<ε>`` with ``_<threat model>`` unless ε is in pixel units."""
    units = "" if threat_model in PIXEL_UNITS else f"_{threat_model}"
    return f"{COLUMN_PREFIX}{norm}_{eps:g}{units}"


def case_header(norm: str, eps: float, threat_model: str | None, kind: str) -> str:
    """``Worst-case L∞ ε=0.3``; ``One-step only …`` or ``Weak attacks only …`` when it is no worst case."""
    units = "" if threat_model in PIXEL_UNITS else f" ({threat_model})"
    return f"{CASE_HEADERS[kind]} {NORMS[norm].shown} ε={eps:g}{units}"


def case_kind(results: list[Result]) -> str:
    """``worst_case`` if a sound white-box attack is in ``results``, ``one_step_only``, else ``weak_attacks_only``."""
    if any(sound_white_box(r) for r in results):
        return WORST_CASE
    if all(r.kind == ONE_STEP for r in results):
        return ONE_STEP_ONLY
    return WEAK_ATTACKS_ONLY


def worst_case(results: list[Result]) -> list[WorstCase]:
    """One ``WorstCase`` per (norm, ε) that a bounded attack ran at, sorted by norm then ε."""
    groups: dict[tuple[str, float, str], list[Result]] = {}
    for result in results:
        if result.kind != NOISE and result.eps is not None and result.data["norm"] in WORST_CASE_NORMS:
            key = (result.data["norm"], float(f"{result.eps:.10g}"), str(result.threat_model))
            groups.setdefault(key, []).append(result)
    cases = []
    for (norm, eps, _units), bounded in sorted(groups.items()):
        units = bounded[0].threat_model
        per_sample = [r for r in results if CATALOG[r.data["attack"]].per_sample_norm == norm and r.eps is None
                      and r.threat_model == units]
        members = [(r, r.adv_correct) for r in bounded] + [(r, robust_within(r, eps)) for r in per_sample]
        index = reduce(np.intersect1d, [r.index for r, _ in members])
        if len(index) == 0:
            continue
        clean = values_at(bounded[0].index, bounded[0].clean_correct, index)
        alone = tuple(clean & values_at(result.index, values, index) for result, values in members)
        survived = reduce(np.logical_and, alone)
        cases.append(WorstCase(norm, eps, units, tuple(r.setting for r, _ in members), index, survived,
                               case_kind([r for r, _ in members]), alone))
    return cases


def pooled(counts: Iterable[tuple[int, int]]) -> dict[str, object] | None:
    """Seeds' worst cases ``(survived, n)`` pooled: ``accuracy = Σ survived / Σ n``, ``n_samples = Σ n``, and the
    95 % Clopper–Pearson ``interval`` of those counts (the choice of images for these seeds' networks, not training
    variance); None for no seed."""
    pairs = list(counts)
    survived, count = sum(s for s, _ in pairs), sum(n for _, n in pairs)
    interval = clopper_pearson(survived, count)
    if interval is None:
        return None
    return {"accuracy": survived / count, "n_samples": count, "survived": survived, "interval": list(interval)}
