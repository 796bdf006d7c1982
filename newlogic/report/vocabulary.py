"""The report's words, once: cell and model verdicts with their meanings, check statuses, worst-case kinds, norms.

Every place that explains a verdict word (the tables' legend, ``summary.json``'s ``vocabulary``,
``docs/results.md`` and the report captions under ``workflow/report/``) prints ``MEANINGS``, so a
word means one thing everywhere; ``tests/test_vocabulary.py`` reads all four. The words describe
the evaluation, never the model: no word says "robust". No torch.
"""

from dataclasses import dataclass

# a cell (one attack setting's figure) and a flag's severity
RELIABLE = "reliable"
WEAK_ATTACK = "weak attack"
MASKING_SUSPECTED = "masking suspected"
CELL_VERDICTS = (MASKING_SUSPECTED, WEAK_ATTACK, RELIABLE)  # worst first
SEVERITIES = (MASKING_SUSPECTED, WEAK_ATTACK)  # what a flag marks: the model, or its suspect cell only

# the model (the evaluation of it), worst first
INCOMPLETE = "incomplete"
INCONCLUSIVE = "inconclusive"
NO_MASKING_FOUND = "no masking found"
VERDICTS = (MASKING_SUSPECTED, INCOMPLETE, INCONCLUSIVE, NO_MASKING_FOUND)

# a check's status in checks.json (INCONCLUSIVE is also one: a comparison that could flag the model was undecided)
FLAGGED, PASSED, NOT_EVALUATED = "flagged", "passed", "not_evaluated"
STATUSES = (FLAGGED, PASSED, INCONCLUSIVE, NOT_EVALUATED)

# what a worst case at one (norm, ε) is (newlogic.report.worst_case)
WORST_CASE, ONE_STEP_ONLY, WEAK_ATTACKS_ONLY = "worst_case", "one_step_only", "weak_attacks_only"
CASE_KINDS = (WORST_CASE, ONE_STEP_ONLY, WEAK_ATTACKS_ONLY)
# how summary.json's robust accuracy at one (threat model, ε) was found (newlogic.report.summary): the per-sample
# worst case of every seed, or the lowest single attack where no run has a worst case (an upper bound)
PER_SAMPLE_WORST_CASE, MIN_OVER_ATTACKS = "per_sample_worst_case", "min_over_attacks"

# norms as results spell them; each norm's one pair of names: as tables and figures print it, as summary.json
# (RobustBench) spells it
LINF, L2, L0 = "linf", "l2", "l0"


@dataclass(frozen=True)
class NormName:
    """A norm as tables and figures print it (``shown``) and as ``summary.json`` spells it (``robustbench``)."""

    shown: str
    robustbench: str


NORMS = {LINF: NormName("L∞", "Linf"), L2: NormName("L2", "L2"), L0: NormName("L0", "L0")}
WORST_CASE_NORMS = (LINF, L2)  # the norms a worst case is computed at (newlogic.report.worst_case)


def shown_norm(norm: str) -> str:
    """``norm`` as tables and figures print it (``NORMS``: ``L∞``), or as it is when it is none of them."""
    return NORMS[norm].shown if norm in NORMS else norm


def threat_name(norm: str) -> str:
    """``norm`` as ``summary.json`` spells it (``NORMS``' RobustBench name), or as it is when it is none of them."""
    return NORMS[norm].robustbench if norm in NORMS else norm


LANDSCAPE = "landscape"  # the suspect a loss-landscape check's flag names: the model's landscape.json, not a cell
UPPER_BOUND_MARK = "≤"  # before a worst case of a model whose verdict is masking suspected

# each word's one meaning: the legend, summary.json, docs/results.md and the captions print these sentences
MEANINGS = {
    RELIABLE: "no check doubts this cell's figure",
    WEAK_ATTACK: "another attack at its bound, or the worst case over all of them, leaves significantly less "
                 "accuracy: not a robustness figure",
    MASKING_SUSPECTED: "a check points at the model (masked gradients, or attacks that have not converged): its "
                       f"figures, the worst case included, are upper bounds (printed {UPPER_BOUND_MARK})",
    INCOMPLETE: "a check lacked its inputs",
    INCONCLUSIVE: "a check that could flag the model ran but could not decide (too few shared images, or a drop "
                  "neither significant nor ruled out on them), as its evidence says",
    NO_MASKING_FOUND: "every check ran and was decided, and none flagged the model (N: the checks that passed)",
}


def meaning_line(word: str) -> str:
    """``word = its meaning``, the form every place prints."""
    return f"{word} = {MEANINGS[word]}"
