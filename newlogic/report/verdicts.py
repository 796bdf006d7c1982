"""Decisions behind the checks and the verdicts: paired exact tests, known-weak settings, cell and model words.

Every comparison of two results is made on the test samples both attacked (``decide``): "``a``
leaves less accuracy than ``b``" is

- *inconclusive* on fewer than ``MIN_SAMPLES`` shared samples ("n = 29 < 30 shared images"): it
  can neither raise nor clear a flag, so a 10-image setting cannot move a verdict;
- *flagged* when the drop ``acc(b) − acc(a)`` is at least ``MIN_EFFECT`` (2 points) and McNemar's
  exact test (``newlogic.stats.mcnemar_exact_p``) gives ``p < SIGNIFICANCE``: no fixed minimum
  effect hides a significant drop of 2 points or more;
- *passed* when the drop is bounded: the upper end of its 95 % interval
  (``newlogic.stats.paired_drop_upper``, from the discordant images) is below ``EQUIVALENCE``;
- *inconclusive* otherwise: a drop that is neither significant nor ruled out (60 % → 50 % on 50
  images, McNemar p = 0.06) says the images were too few, never that all is well.

Known-weak settings (``known_weak``): a one-step attack, an attack through the probabilities (the
``attack_on: probs`` twins), and an attack whose catalog ``budget`` (gradient steps × restarts) is
under ``WEAK_BUDGET`` (the paper's 5-step BIM). A flag whose suspect setting is known weak, at a
bound where a sound white-box attack also ran (``sound_at``), marks that cell ``weak attack``
rather than the model.

The words (``newlogic.report.vocabulary``: the evaluation, never the model): a cell is
``reliable``, ``weak attack`` or ``masking suspected``; the model ``masking suspected``,
``incomplete``, ``inconclusive`` or ``no masking found (N checks)``. No torch, no scipy at import.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from newlogic.attacks.catalog import CATALOG, NOISE, ONE_STEP, WHITE_BOX_KINDS
from newlogic.report.samples import Result, values_at
from newlogic.report.vocabulary import (
    CELL_VERDICTS,
    FLAGGED,
    INCOMPLETE,
    INCONCLUSIVE,
    MASKING_SUSPECTED,
    NO_MASKING_FOUND,
    PASSED,
    RELIABLE,
    VERDICTS,
    WEAK_ATTACK,
)
from newlogic.stats import PairedComparison, compare_paired, paired_drop_upper

if TYPE_CHECKING:
    from newlogic.report.entries import ChecksEntry  # entries → worst_case → this module

SIGNIFICANCE = 0.05  # exact McNemar, two-sided [project]
MIN_EFFECT = 0.02  # two points: a significant drop this large always flags [project]
EQUIVALENCE = 0.05  # a drop whose 95 % upper end is below five points counts as none [project]
MIN_SAMPLES = 30  # fewer shared samples: inconclusive, neither flag nor pass [project]
WEAK_BUDGET = 10  # a gradient attack with fewer steps × restarts is known weak (5-step BIM) [project]
GRADIENT_KINDS = WHITE_BOX_KINDS  # attacks on the model's own gradients (the adaptive one among them)
PROBS = "probs"
__all__ = ["CELL_VERDICTS", "FLAGGED", "INCOMPLETE", "INCONCLUSIVE", "MASKING_SUSPECTED", "NO_MASKING_FOUND",
           "PASSED", "RELIABLE", "VERDICTS", "WEAK_ATTACK", "Decision", "below", "decide"]


def budget(result: Result) -> float | None:
    """The catalog ``budget`` of a result's resolved parameters (None: the attack is not in the strength order)."""
    entry = CATALOG[result.data["attack"]]
    return None if entry.budget is None else float(entry.budget(result.data["parameters"]))


def known_weak(result: Result) -> bool:
    """A one-step attack, an attack through the probabilities, or a budget under ``WEAK_BUDGET``."""
    steps = budget(result)
    return (result.kind == ONE_STEP or result.data["attack_on"] == PROBS
            or (steps is not None and steps < WEAK_BUDGET))


def sound_white_box(result: Result) -> bool:
    """An attack on the model's own gradients that is not known weak (it makes a worst case a worst case)."""
    return result.kind in GRADIENT_KINDS and not known_weak(result)


def sound_at(results: Iterable[Result], like: Result) -> bool:
    """A sound white-box attack ran at ``like``'s norm, ε and units."""
    return any(sound_white_box(r) and r.same_bound(like) for r in results)


def shared(a: Result, b: Result, a_values: np.ndarray | None = None,
           b_values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Both results' values (default: adversarial correctness) on the samples both attacked, in index order."""
    common = np.intersect1d(a.index, b.index)
    a_values = a.adv_correct if a_values is None else a_values
    b_values = b.adv_correct if b_values is None else b_values
    return values_at(a.index, a_values, common), values_at(b.index, b_values, common)


@dataclass(frozen=True)
class Decision:
    """Is ``a`` below ``b``: ``flagged``, ``passed`` or ``inconclusive`` (``decide``), and what was too small."""

    outcome: str
    comparison: PairedComparison
    drop_upper: float

    @property
    def too_few(self) -> bool:
        """Fewer than ``MIN_SAMPLES`` shared samples."""
        return self.comparison.count < MIN_SAMPLES

    def describe(self, a: str, b: str) -> str:
        c = self.comparison
        return (f"{a} leaves {c.first:.1%} accuracy, {b} {c.second:.1%} ({100 * -c.gap:+.1f} points, "
                f"McNemar p = {c.p_value:.2g}, on {c.count} common samples)")

    def too_small(self, a: str, b: str) -> str:
        """What kept an inconclusive comparison from a decision, e.g. ``n = 29 < 30 shared images``."""
        c = self.comparison
        if self.too_few:
            return f"n = {c.count} < {MIN_SAMPLES} shared images ({a} against {b})"
        return (f"{a} against {b}: a {100 * -c.gap:.1f}-point drop, not significant (McNemar p = {c.p_value:.2g}) "
                f"and not ruled out (95 % upper end {100 * self.drop_upper:.1f} ≥ {100 * EQUIVALENCE:.0f} points) "
                f"on n = {c.count} shared images")


def decide(first: np.ndarray, second: np.ndarray) -> Decision:
    """Whether paired correctness ``first`` is below ``second`` (the rule of the module docstring)."""
    comparison = compare_paired(first.tolist(), second.tolist())
    first_only = int(np.sum(first & ~second))
    second_only = int(np.sum(second & ~first))
    upper = paired_drop_upper(first_only, second_only, comparison.count)
    if comparison.count < MIN_SAMPLES:
        return Decision(INCONCLUSIVE, comparison, upper)
    if -comparison.gap >= MIN_EFFECT and comparison.p_value < SIGNIFICANCE:
        return Decision(FLAGGED, comparison, upper)
    return Decision(PASSED if upper < EQUIVALENCE else INCONCLUSIVE, comparison, upper)


def below(a: Result, b: Result, a_values: np.ndarray | None = None,
          b_values: np.ndarray | None = None) -> Decision | None:
    """Whether ``a`` leaves significantly less accuracy than ``b`` on their shared samples; None if none is shared."""
    first, second = shared(a, b, a_values, b_values)
    if len(first) == 0:
        return None
    return decide(first.astype(bool), second.astype(bool))


def cell_verdicts(results: Sequence[Result], suspects: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Each result's word: the word its flags give (``suspects``: setting → worst word), else ``weak attack``
    when another attack at its bound leaves significantly less accuracy (``below``), else ``reliable``."""
    cells: dict[str, dict[str, Any]] = {}
    attacks = [r for r in results if r.kind != NOISE]
    for result in attacks:
        rivals = [(rival, decision) for rival in attacks if rival is not result and rival.same_bound(result)
                  if (decision := below(rival, result)) is not None and decision.outcome == FLAGGED]
        if result.setting in suspects:
            word, reason = suspects[result.setting], "a flag of the checks"
        elif rivals:
            rival, decision = min(rivals, key=lambda item: item[1].comparison.first)
            word, reason = WEAK_ATTACK, decision.describe(rival.setting, result.setting)
        else:
            word, reason = RELIABLE, None
        cells[result.setting] = {"verdict": word, "reason": reason}
    return cells


def verdict_text(word: str, passed: int) -> str:
    """The model's word as shown: ``no masking found (N checks)`` with the N checks that passed; else the word."""
    return f"{NO_MASKING_FOUND} ({passed} checks)" if word == NO_MASKING_FOUND else word


def combined_verdict(reports: Sequence["ChecksEntry | None"]) -> str:
    """The words of a model's seeds' ``checks.json`` (None: missing) combined: the worst; ``incomplete`` if one is
    missing; ``no masking found (N checks)`` with N the fewest checks any seed passed."""
    present = [report for report in reports if report is not None]
    if not present or len(present) < len(reports):
        return INCOMPLETE
    word = min((report.verdict for report in present), key=VERDICTS.index)
    passed = min(report.passed for report in present)
    return verdict_text(word, passed)
