"""Gradient-masking checks over one model's results → ``checks.json`` (Carlini et al. 2019 §4–5; Athalye et al. 2018;
Tramèr et al. 2020).

The checks themselves are ``newlogic.report.check_rules``: each compares the adversarial accuracies
of results on the test samples they share (the per-sample ``.npz`` beside each result) and yields,
per comparison, a flag, a pass, or an undecided comparison naming what was too small. ``CHECKS``
registers them with their table marker, a one-line description, whether a flag on a known-weak
setting only marks that cell (``downgrade``), and the word a flag gives its suspect cell when it is
not the flag's severity (``cell_word``).

Each flag names its ``suspect`` setting and its ``severity`` (``newlogic.report.vocabulary``):
``weak attack`` when the check allows it, the suspect is known weak and a sound white-box attack ran
at its bound; else ``masking suspected``. A check's status: ``flagged``; ``inconclusive`` when a
comparison whose flag would point at the model was undecided, or no comparison was decided;
``passed``; ``not_evaluated`` (nothing to compare, with what it needs). The model's ``verdict``
(``verdict``): ``masking suspected`` when a flag has that severity, else ``incomplete`` when a check
could not be evaluated, else ``inconclusive`` when a check was, else ``no masking found``
(``verdict_text``: with the number of checks that passed). Each result gets a cell word
(``cells``), and each (norm, ε) its worst case with n and a 95 % interval (``worst_case``). No
torch: only the result files are read.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newlogic.errors import UserError
from newlogic.report import check_rules as rules
from newlogic.report.samples import Result, load_result
from newlogic.report.verdicts import cell_verdicts, known_weak, sound_at, verdict_text
from newlogic.report.vocabulary import (
    CELL_VERDICTS,
    FLAGGED,
    INCOMPLETE,
    INCONCLUSIVE,
    LANDSCAPE,
    MASKING_SUSPECTED,
    NO_MASKING_FOUND,
    NOT_EVALUATED,
    PASSED,
    STATUSES,
    VERDICTS,
    WEAK_ATTACK,
)
from newlogic.report.worst_case import worst_case
from newlogic.store.atomic import atomic_write_json
from newlogic.store.provenance import collect_provenance
from newlogic.store.results import LANDSCAPE_FILE

# 2: the checklist of issue 10, worst-case accuracy, verdict; 3: model_ref (issue 22); 4: paired exact tests,
# flag suspect and severity, cell verdicts, verdict words without "robust", worst case kind, n and interval (issue 21);
# 5: the inconclusive verdict and status reasons, the disjoint_attacks check, the paired budget_doubled (issue 28)
SCHEMA_VERSION = 5
CHECKS_FILE = "checks.json"
REASONS_SHOWN = 3  # an inconclusive check's reason names this many undecided comparisons, then a count
__all__ = ["CELL_VERDICTS", "CHECKS", "LANDSCAPE_CHECKS", "STATUSES", "VERDICTS", "run_checks", "verdict",
           "write_checks"]


@dataclass(frozen=True)
class Check:
    """A registered check: table marker (Unicode and LaTeX math), one-line description, its function, whether a flag
    on a known-weak suspect only marks that cell (``downgrade``), and the word its flags give their suspect cells
    when it is not their severity (``cell_word``)."""

    marker: str
    latex: str
    description: str
    run: Callable[[list[Result]], rules.Outcome]
    downgrade: bool = True
    cell_word: str | None = None


CHECKS: dict[str, Check] = {
    "one_step_above_iterative": Check("‡", r"\ddag", "a one-step attack (FGSM) leaves significantly more accuracy "
                                                     "than the strongest iterative one at its ε",
                                      rules.check_one_step_above_iterative),
    "not_converged": Check("♯", r"\sharp", "a configuration with a larger budget lowers accuracy significantly",
                           rules.check_not_converged),
    "budget_doubled": Check("≈", r"\approx", "the attack with twice the budget lowers accuracy significantly (paired "
                                             "exact McNemar): not converged", rules.check_budget_doubled,
                            downgrade=False),
    "adaptive_beats_standard": Check("⊘", r"\oslash", "the adaptive attack leaves significantly less accuracy than "
                                                      "the best standard attack", rules.check_adaptive,
                                     downgrade=False),
    "disjoint_attacks": Check("≠", r"\neq", "the worst case is significantly below every single attack at its ε: "
                                            "the attacks stop on different images, none converged",
                              rules.check_disjoint_attacks, downgrade=False, cell_word=WEAK_ATTACK),
    "eps_monotonic": Check("†", r"\dag", "accuracy rises significantly as ε grows (same attack)",
                           rules.check_eps_monotonic),
    "one_step_beats_iterative": Check("♭", r"\flat", "a one-step attack (FGSM) beats an iterative one at the same ε",
                                      rules.check_one_step_beats_iterative),
    "black_box_beats_white_box": Check("§", r"\S", "the black-box attack (SPSA) beats the best white-box attack",
                                       rules.check_black_box_beats_white_box),
    "transfer_beats_white_box": Check("‖", r"\|", "transfer from a surrogate beats the best white-box attack",
                                      rules.check_transfer_beats_white_box),
    "unbounded_not_zero": Check("¶", r"\P", f"an unbounded attack leaves significantly more than "
                                            f"{rules.UNBOUNDED_MAX_ACCURACY:.0%} accuracy", rules.check_unbounded,
                                downgrade=False),
    "noise_not_beaten": Check("◊", r"\diamond", "the attack does not do significantly better than uniform random "
                                                "noise at its ε", rules.check_noise),
    "zero_gradients": Check("∅", r"\emptyset", f"significantly more than {rules.ZERO_GRADIENT_TOLERANCE:.0%} of the "
                                               "samples have a zero or non-finite input gradient",
                            rules.check_zero_gradients, downgrade=False),
    "l2_threat": Check("♮", r"\natural", "a one-step L2 attack leaves less accuracy than C&W within the same L2 ε",
                       rules.check_l2_threat),
    "probs_gap": Check("°", r"\circ", "attacking the probabilities leaves significantly more accuracy than the "
                                      "scores (saturated outputs)", rules.check_probs_gap),
}


@dataclass(frozen=True)
class LandscapeCheck:
    """A check of the run's ``landscape.json`` (``newlogic.evaluation.landscape``): marker, description, function.
    Its flags name the model's landscape (``LANDSCAPE``), not a cell, with severity ``masking suspected``."""

    marker: str
    latex: str
    description: str
    run: Callable[[Mapping[str, Any]], rules.Outcome]


# run only for a model whose config asks for a landscape (then checks.json names LANDSCAPE_FILE)
LANDSCAPE_CHECKS: dict[str, LandscapeCheck] = {
    "landscape_converged": LandscapeCheck("⟳", r"\circlearrowright", "on the landscape's images the adaptive attack "
                                          "with its largest step count lowers accuracy significantly below the next "
                                          "smaller count (paired exact McNemar): not converged",
                                          rules.check_landscape_converged),
    "landscape_reaches_zero": LandscapeCheck("⊥", r"\bot", "at the landscape's largest ε (≥ 0.5: the mid-grey image "
                                             "is within reach) the adaptive attack leaves significantly more than "
                                             f"{rules.UNBOUNDED_MAX_ACCURACY:.0%} accuracy",
                                             rules.check_landscape_reaches_zero),
    "landscape_gradients": LandscapeCheck("∇", r"\nabla", "along the adaptive attack's path the exact gradient is "
                                          "(near) zero on most steps for significantly more than "
                                          f"{rules.ZERO_GRADIENT_TOLERANCE:.0%} of the images",
                                          rules.check_landscape_gradients),
}


def _landscape_status(outcome: rules.Outcome) -> tuple[str, str | None]:
    """``flagged``; ``inconclusive`` when undecided (a landscape flag always points at the model); ``passed``."""
    if outcome.flags:
        return FLAGGED, None
    if outcome.undecided:
        return INCONCLUSIVE, _reasons(outcome.undecided)
    if outcome.comparisons:
        return PASSED, None
    return NOT_EVALUATED, f"needs {outcome.needs}"


def _landscape_statuses(landscape: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``LANDSCAPE_CHECKS`` over ``landscape``: statuses (an undecided comparison makes a check inconclusive:
    its flag would point at the model) and flags."""
    statuses: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []
    for name, check in LANDSCAPE_CHECKS.items():
        outcome = check.run(landscape)
        status, reason = _landscape_status(outcome)
        statuses.append({"check": name, "marker": check.marker, "description": check.description, "status": status,
                         "comparisons": outcome.comparisons, "inconclusive": len(outcome.undecided),
                         "reason": reason})
        flags += [{"check": name, "marker": check.marker, "message": flag.message, "suspect": LANDSCAPE,
                   "severity": MASKING_SUSPECTED, "settings": []} for flag in outcome.flags]
    return statuses, flags


def severity(check: str, suspect: Result, results: list[Result]) -> str:
    """``weak attack`` when ``check`` allows it, ``suspect`` is known weak and a sound white-box attack ran at its
    bound (the worst case there is sound); else ``masking suspected``."""
    weak = CHECKS[check].downgrade and known_weak(suspect) and sound_at(results, suspect)
    return WEAK_ATTACK if weak else MASKING_SUSPECTED


def verdict(statuses: list[dict[str, Any]], flags: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """``masking suspected`` (a flag of that severity), else ``incomplete`` (a check without inputs), else
    ``inconclusive`` (a check undecided), else ``no masking found``; and the evidence."""
    masking = list(dict.fromkeys(f"{flag['marker']} {flag['check']}: {flag['message']}" for flag in flags
                                 if flag.get("severity") != WEAK_ATTACK))  # one line for a flag on several cells
    weak = [f"{flag['marker']} {flag['check']} ({WEAK_ATTACK}, {flag['suspect']}): {flag['message']}"
            for flag in flags if flag.get("severity") == WEAK_ATTACK]
    missing = [f"{s['check']}: not evaluated, {s['reason']}" for s in statuses if s["status"] == NOT_EVALUATED]
    undecided = [f"{s['check']}: {INCONCLUSIVE}, {s['reason']}" for s in statuses if s["status"] == INCONCLUSIVE]
    if masking:
        return MASKING_SUSPECTED, [*masking, *weak]
    if missing:
        return INCOMPLETE, [*missing, *undecided, *weak]
    if undecided:
        return INCONCLUSIVE, [*undecided, *weak]
    passed = sum(s["status"] == PASSED for s in statuses)
    return NO_MASKING_FOUND, [f"{passed} of {len(statuses)} checks passed", *weak]


def _reasons(undecided: list[rules.Undecided]) -> str:
    """The distinct reasons of undecided comparisons, the first ``REASONS_SHOWN`` of them and how many more."""
    distinct = list(dict.fromkeys(item.reason for item in undecided))
    more = f"; and {len(distinct) - REASONS_SHOWN} more" if len(distinct) > REASONS_SHOWN else ""
    return "; ".join(distinct[:REASONS_SHOWN]) + more


def _status(name: str, outcome: rules.Outcome, results: list[Result]) -> tuple[str, str | None]:
    """The check's status and its reason: ``inconclusive`` when a comparison whose flag would point at the model
    (``severity``) was undecided, or when none was decided."""
    by_setting = {r.setting: r for r in results}
    blocking = [u for u in outcome.undecided if severity(name, by_setting[u.suspect], results) == MASKING_SUSPECTED]
    if outcome.flags:
        return FLAGGED, None
    if blocking:
        return INCONCLUSIVE, _reasons(blocking)
    if outcome.comparisons:
        return PASSED, None
    if outcome.undecided:
        return INCONCLUSIVE, _reasons(outcome.undecided)
    return NOT_EVALUATED, f"needs {outcome.needs}"


def run_checks(results: list[Result], landscape: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every check of ``CHECKS`` over one model's results, and of ``LANDSCAPE_CHECKS`` over its ``landscape``
    (its ``landscape.json``) when given: status, flags, cell words, worst case, verdict."""
    models = {(r.data["model"], r.data["dataset"], r.data["model_ref"]["weights_sha256"]) for r in results}
    if len(models) > 1:
        raise UserError(f"checks need the results of one model; got {len(models)}: "
                        f"{', '.join(sorted(f'{m}/{d}' for m, d, _ in models))}")
    by_setting = {r.setting: r for r in results}
    flags: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []
    suspects: dict[str, str] = {}
    for name, check in CHECKS.items():
        outcome = check.run(results)
        status, reason = _status(name, outcome, results)
        statuses.append({"check": name, "marker": check.marker, "description": check.description, "status": status,
                         "comparisons": outcome.comparisons, "inconclusive": len(outcome.undecided),
                         "reason": reason})
        for flag in outcome.flags:
            word = severity(name, by_setting[flag.suspect], results)
            flags.append({"check": name, "marker": check.marker, "message": flag.message, "suspect": flag.suspect,
                          "severity": word, "settings": list(flag.settings)})
            cell = check.cell_word or word
            suspects[flag.suspect] = min(suspects.get(flag.suspect, cell), cell, key=CELL_VERDICTS.index)
    (model, dataset, _), = models
    if landscape is not None:
        landscape_statuses, landscape_flags = _landscape_statuses(landscape)
        statuses += landscape_statuses
        flags += landscape_flags
    word, evidence = verdict(statuses, flags)
    return {
        "schema_version": SCHEMA_VERSION,
        "model": model,
        "dataset": dataset,
        "results": [r.setting for r in results],
        "verdict": word,
        "verdict_text": verdict_text(word, sum(s["status"] == PASSED for s in statuses)),
        "evidence": evidence,
        "cells": cell_verdicts(results, suspects),
        "worst_case": [case.to_dict() for case in worst_case(results)],
        "flagged": bool(flags),
        "flags": flags,
        "checks": statuses,
        NOT_EVALUATED: [s["check"] for s in statuses if s["status"] == NOT_EVALUATED],  # the checks of that status
        **({} if landscape is None else {"landscape": LANDSCAPE_FILE}),
    }


def result_paths(paths: list[Path]) -> list[Path]:
    """The result JSONs named by ``paths``: files as given, and every ``*.json`` but ``checks.json`` and
    ``landscape.json`` in a folder."""
    found: list[Path] = []
    for path in map(Path, paths):
        found += sorted(p for p in path.glob("*.json") if p.name not in (CHECKS_FILE, LANDSCAPE_FILE)) \
            if path.is_dir() else [path]
    return found


def write_checks(result_paths: list[Path], out_path: Path,
                 landscape: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run the checks over the results of one model (and its ``landscape``, the ``landscape.json`` beside
    ``out_path``, when given) and write ``checks.json`` atomically; returns its content."""
    if not result_paths:
        raise UserError("checks need at least one result file")
    results = [load_result(Path(path)) for path in result_paths]
    report = {**run_checks(results, landscape), "model_ref": results[0].data["model_ref"]}  # the one model
    report["provenance"] = collect_provenance({"results": [str(path) for path in result_paths]})
    atomic_write_json(Path(out_path), report)
    return report
