"""Decisions behind the checks and the verdicts: paired exact tests, known-weak settings, cell and model words.

Every comparison of two results is made on the test samples both attacked, with McNemar's exact
test (``newlogic.stats.mcnemar_exact_p``). "``a`` leaves less accuracy than ``b``" is
decided only when ``a`` is at least ``MIN_EFFECT`` below ``b`` and ``p < SIGNIFICANCE``; a comparison on
fewer than ``MIN_SAMPLES`` shared samples is *inconclusive*: it can neither raise nor clear a flag,
so a 10-image setting cannot move a verdict on noise.

Known-weak settings (``known_weak``): a one-step attack, an attack through the probabilities (the
``attack_on: probs`` twins), and an attack whose catalog ``budget`` (gradient steps × restarts) is
under ``WEAK_BUDGET`` (the paper's 5-step BIM). A flag whose suspect setting is known weak, at a
bound where a sound white-box attack also ran (``sound_at``), marks that cell ``weak attack``
rather than the model.

Words (the evaluation, never the model):

- a cell (one result): ``reliable``; ``weak attack`` (significantly above another attack at its
  bound, or the suspect of a downgraded flag); ``masking suspected`` (the suspect of a flag that
  points at the model);
- the model (``VERDICTS``, worst first): ``masking suspected`` (a flag points at the model),
  ``incomplete`` (a check lacked its inputs), ``no masking found`` (shown with the number of checks
  that passed: ``no masking found (9 checks)``).

No torch, no scipy at import.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from newlogic.attacks.catalog import CATALOG, WHITE_BOX_KINDS
from newlogic.report.samples import Result
from newlogic.stats import PairedComparison, compare_paired

SIGNIFICANCE = 0.05  # exact McNemar, two-sided [project]
MIN_EFFECT = 0.05  # five points: smaller gaps never flag [project]
MIN_SAMPLES = 30  # fewer shared samples: inconclusive, neither flag nor pass [project]
WEAK_BUDGET = 10  # a gradient attack with fewer steps × restarts is known weak (5-step BIM) [project]
GRADIENT_KINDS = WHITE_BOX_KINDS  # attacks on the model's own gradients (the adaptive one among them)
PROBS = "probs"

RELIABLE, WEAK_ATTACK, MASKING_SUSPECTED = "reliable", "weak attack", "masking suspected"
CELL_VERDICTS = (MASKING_SUSPECTED, WEAK_ATTACK, RELIABLE)  # worst first
# a flag's severity: what it marks (its suspect cell only, or the model)
SEVERITIES = {WEAK_ATTACK: "the suspect cell is a weak attack", MASKING_SUSPECTED: "the model's figures are suspect"}
INCOMPLETE, NO_MASKING_FOUND = "incomplete", "no masking found"
VERDICTS = (MASKING_SUSPECTED, INCOMPLETE, NO_MASKING_FOUND)  # the model's words, worst first
FLAGGED, PASSED, INCONCLUSIVE = "flagged", "passed", "inconclusive"


def budget(result: Result) -> float | None:
    """The catalog ``budget`` of a result's resolved parameters (None: the attack is not in the strength order)."""
    entry = CATALOG[result.data["attack"]]
    return None if entry.budget is None else float(entry.budget(result.data["parameters"]))


def known_weak(result: Result) -> bool:
    """A one-step attack, an attack through the probabilities, or a budget under ``WEAK_BUDGET``."""
    steps = budget(result)
    return (result.kind == "one_step" or result.data["attack_on"] == PROBS
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
    pick_a = np.argsort(a.index)[np.searchsorted(np.sort(a.index), common)]
    pick_b = np.argsort(b.index)[np.searchsorted(np.sort(b.index), common)]
    return a_values[pick_a], b_values[pick_b]


@dataclass(frozen=True)
class Decision:
    """Is ``a`` below ``b``: ``flagged`` (≥ ``MIN_EFFECT``, p < ``SIGNIFICANCE``), ``passed``, ``inconclusive``."""

    outcome: str
    comparison: PairedComparison

    def describe(self, a: str, b: str) -> str:
        c = self.comparison
        return (f"{a} leaves {c.first:.1%} accuracy, {b} {c.second:.1%} ({100 * -c.gap:+.1f} points, "
                f"McNemar p = {c.p_value:.2g}, on {c.count} common samples)")


def below(a: Result, b: Result, a_values: np.ndarray | None = None,
          b_values: np.ndarray | None = None) -> Decision | None:
    """Whether ``a`` leaves significantly less accuracy than ``b`` on their shared samples; None if none is shared."""
    first, second = shared(a, b, a_values, b_values)
    if len(first) == 0:
        return None
    comparison = compare_paired(first.tolist(), second.tolist())
    if comparison.count < MIN_SAMPLES:
        return Decision(INCONCLUSIVE, comparison)
    significant = -comparison.gap >= MIN_EFFECT and comparison.p_value < SIGNIFICANCE
    return Decision(FLAGGED if significant else PASSED, comparison)


def cell_verdicts(results: Sequence[Result], suspects: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Each result's word: the severity its flags give (``suspects``: setting → worst severity), else ``weak attack``
    when another attack at its bound leaves significantly less accuracy (``below``), else ``reliable``."""
    cells: dict[str, dict[str, Any]] = {}
    attacks = [r for r in results if r.kind != "noise"]
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


def combined_verdict(reports: Sequence[Mapping[str, Any] | None]) -> str:
    """The words of a model's seeds' ``checks.json`` (None: missing) combined: the worst; ``incomplete`` if one is
    missing; ``no masking found (N checks)`` with N the fewest checks any seed passed."""
    present = [report for report in reports if report is not None]
    if not present or len(present) < len(reports):
        return INCOMPLETE
    word = min((report["verdict"] for report in present), key=VERDICTS.index)
    passed = min(sum(s["status"] == PASSED for s in report["checks"]) for report in present)
    return verdict_text(word, passed)
