"""Gradient-masking checks over one model's results → ``checks.json`` (Carlini et al. 2019 §4–5; Athalye et al. 2018;
Tramèr et al. 2020).

Each check compares adversarial accuracies of the model's results on the test samples they share
(the per-sample ``.npz`` beside each result, read through ``newlogic.store.results``) and raises a
flag when an evaluation is not trustworthy: a stronger attack does worse than a weaker one, the
strongest attack with twice its budget still lowers the accuracy, the adaptive attack beats the
standard ones, an attack does no better than random noise, gradients vanish, or an unbounded
attack leaves the model accurate. Two results are compared by McNemar's exact test plus a minimum
effect (``newlogic.report.verdicts.below``); proportions by their Clopper–Pearson interval; a
comparison on too few shared samples is inconclusive, neither flag nor pass. A check with nothing
to compare is reported as not evaluated, with what it needs, never as passed. ``CHECKS`` gives each
its table marker, a one-line description, and whether a flag on a known-weak setting only marks
that cell (``downgrade``).

Each flag names its ``suspect`` setting and its ``severity``: ``weak attack`` when the check
allows it, the suspect is known weak and a sound white-box attack ran at its bound; else
``masking suspected``. The model's ``verdict`` (``VERDICTS``, from ``newlogic.report.verdicts``):
``masking suspected`` when a flag has that severity, else ``incomplete`` when a check could not be
evaluated, else ``no masking found`` (``verdict_text``: with the number of checks that passed).
Each result gets a cell word (``cells``), and each (norm, ε) its worst case with n and a 95 %
interval (``worst_case``). No torch: only the result files are read.
"""

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from newlogic.attacks.catalog import ADAPTIVE, CATALOG, TRANSFER
from newlogic.errors import UserError
from newlogic.report.samples import Result, load_result, robust_within
from newlogic.report.verdicts import (
    CELL_VERDICTS,
    FLAGGED,
    GRADIENT_KINDS,
    INCOMPLETE,
    INCONCLUSIVE,
    MASKING_SUSPECTED,
    MIN_SAMPLES,
    NO_MASKING_FOUND,
    PASSED,
    VERDICTS,
    WEAK_ATTACK,
    Decision,
    below,
    budget,
    cell_verdicts,
    known_weak,
    sound_at,
    verdict_text,
)
from newlogic.report.worst_case import worst_case
from newlogic.stats import clopper_pearson
from newlogic.store.atomic import atomic_write_json
from newlogic.store.provenance import collect_provenance

# 2: the checklist of issue 10, worst-case accuracy, verdict; 3: model_ref (issue 22); 4: paired exact tests,
# flag suspect and severity, cell verdicts, verdict words without "robust", worst case kind, n and interval (issue 21)
SCHEMA_VERSION = 4
ZERO_GRADIENT_TOLERANCE = 0.05  # flagged when the interval of the zero-gradient fraction lies above 5 % [project]
UNBOUNDED_MAX_ACCURACY = 0.02  # "≈0 %" for an unbounded attack: flagged when its interval lies above [project]
CHECKS_FILE = "checks.json"
STATUSES = (PASSED, FLAGGED, INCONCLUSIVE, "not_evaluated")
__all__ = ["CELL_VERDICTS", "CHECKS", "VERDICTS", "run_checks", "verdict", "write_checks"]


@dataclass(frozen=True)
class Flag:
    """One raised flag: what was seen, the setting whose figure is suspect, and the settings involved."""

    message: str
    suspect: str
    settings: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """A check's comparisons: flags raised, comparisons decided, comparisons inconclusive, and what it needs."""

    flags: list[Flag]
    comparisons: int
    inconclusive: int
    needs: str


Found = Iterator[Flag | str]  # a flag, or PASSED / INCONCLUSIVE for a comparison that raised none


def _outcome(found: Found, needs: str) -> Outcome:
    seen = list(found)
    flags = [item for item in seen if isinstance(item, Flag)]
    inconclusive = sum(item == INCONCLUSIVE for item in seen)
    return Outcome(flags, len(seen) - inconclusive, inconclusive, needs)


def _decided(decision: Decision | None, flag: Callable[[Decision], Flag]) -> Found:
    """Nothing when nothing is shared; the flag when ``decision`` flagged; else its outcome (passed, inconclusive)."""
    if decision is not None:
        yield flag(decision) if decision.outcome == FLAGGED else decision.outcome


def _below(check: str, a: Result, b: Result, suspect: Result, what: str, **values: Any) -> Found:
    """A flag when ``a`` (should be the weaker) leaves significantly less accuracy than ``b`` (``verdicts.below``)."""
    yield from _decided(below(a, b, **values), lambda d: Flag(f"{d.describe(a.setting, b.setting)}: {what}",
                                                              suspect.setting, (a.setting, b.setting)))


def _attacks(results: list[Result]) -> list[Result]:
    """The results of real attacks (not the uniform-noise baseline)."""
    return [r for r in results if r.kind != "noise"]


def _settings_key(result: Result, *drop: str) -> str:
    """The attack, preset, ``attack_on`` and overrides of a result, without the keys in ``drop``, as a string."""
    setting = {"attack": result.data["attack"], "preset": result.data["preset"], **result.data["overrides"],
               "attack_on": result.data["attack_on"]}
    return json.dumps({key: value for key, value in setting.items() if key not in drop}, sort_keys=True)


def check_eps_monotonic(results: list[Result]) -> Outcome:
    """Same attack and parameters but ε: accuracy must not rise significantly with ε (suspect: the larger ε)."""
    def found() -> Found:
        groups: dict[str, list[tuple[float, Result]]] = {}  # (ε, result)
        for result in _attacks(results):
            if result.eps is not None:
                groups.setdefault(_settings_key(result, "eps"), []).append((result.eps, result))
        for group in groups.values():
            group.sort(key=lambda pair: pair[0])
            for (small_eps, small), (large_eps, large) in zip(group, group[1:], strict=False):
                if not math.isclose(small_eps, large_eps):
                    yield from _below("eps_monotonic", small, large, large, "accuracy rises as ε grows")
    return _outcome(found(), "one attack at two or more ε")


def _iterative(results: list[Result], like: Result) -> list[Result]:
    """The multi-step gradient results (iterative, ensemble, adaptive) at ``like``'s norm, ε and ``attack_on``."""
    return [r for r in results if r.kind in GRADIENT_KINDS and r.kind != "one_step" and like.same_threat(r)]


def _against_best(check: str, candidate: Result, rivals: list[Result], what: str, *, candidate_lower: bool,
                  suspect_is_candidate: bool) -> Found:
    """Compare ``candidate`` with the rival leaving the least accuracy on their shared samples (the best attack;
    among the rivals sharing at least ``MIN_SAMPLES`` samples with it, where there are any).

    ``candidate_lower``: flag when the candidate is significantly below that rival (it beats the best);
    else when that rival is significantly below the candidate.
    """
    decisions = [(rival, decision) for rival in rivals if (decision := below(candidate, rival)) is not None]
    decisive = [(rival, decision) for rival, decision in decisions if decision.outcome != INCONCLUSIVE]
    if not decisions:
        return
    best, decision = min(decisive or decisions, key=lambda item: item[1].comparison.second)
    if not candidate_lower:
        yield from _below(check, best, candidate, candidate if suspect_is_candidate else best, what)
        return
    suspect = candidate if suspect_is_candidate else best
    yield from _decided(decision, lambda d: Flag(f"{d.describe(candidate.setting, best.setting)}: {what}",
                                                 suspect.setting, (candidate.setting, best.setting)))


def check_one_step_above_iterative(results: list[Result]) -> Outcome:
    """A one-step attack must not leave significantly more accuracy than the strongest iterative attack at its ε.

    The journal's "FGSM 90 %" case: the one-step number is not a robustness figure (suspect: the one-step cell).
    """
    def found() -> Found:
        for one in (r for r in results if r.kind == "one_step"):
            yield from _against_best("one_step_above_iterative", one, _iterative(results, one),
                                     "the one-step attack is not a robustness figure", candidate_lower=False,
                                     suspect_is_candidate=True)
    return _outcome(found(), "a one-step attack and an iterative one at its ε")


def check_one_step_beats_iterative(results: list[Result]) -> Outcome:
    """A one-step attack must not leave significantly less accuracy than an iterative one at the same ε."""
    def found() -> Found:
        for one in (r for r in results if r.kind == "one_step"):
            for iterative in _iterative(results, one):
                yield from _below("one_step_beats_iterative", one, iterative, iterative,
                                  "the one-step attack beats the iterative one")
    return _outcome(found(), "a one-step and an iterative attack at the same ε")


def _ranked(results: list[Result]) -> list[tuple[Result, float]]:
    """The results whose catalog entry has a ``budget`` (the strength order), with it."""
    return [(r, steps) for r in results if (steps := budget(r)) is not None]


def check_not_converged(results: list[Result]) -> Outcome:
    """A configuration with a larger catalog ``budget`` at the same threat must not leave significantly less accuracy.

    Configurations at one norm, ε and ``attack_on`` are ordered by ``budget`` (gradient steps ×
    restarts; an ensemble's iterations); the weaker one is the suspect: its number is not converged.
    """
    def found() -> Found:
        for (a, budget_a), (b, budget_b) in combinations(_ranked(results), 2):
            if a.same_threat(b) and budget_a != budget_b:
                (weak, _), (strong, _) = sorted(((a, budget_a), (b, budget_b)), key=lambda item: item[1])
                yield from _below("not_converged", strong, weak, weak,
                                  f"{weak.setting} has not converged; the stronger configuration lowers the accuracy")
    return _outcome(found(), "two configurations of one threat with different budgets (catalog budget)")


def _lower_bound(fraction: float, count: int) -> float:
    """The low end of the 95 % Clopper–Pearson interval of ``fraction`` on ``count`` samples (0 for none)."""
    interval = clopper_pearson(round(fraction * count), count)
    return 0.0 if interval is None else interval[0]


def check_budget_doubled(results: list[Result]) -> Outcome:
    """The same attack with twice the ``budget`` (restarts and steps) must not lower the accuracy beyond its interval.

    For results ``x`` and ``y`` of one attack at one threat with ``budget(y) = 2·budget(x)``, on
    their shared samples: flagged when ``acc(y)`` is below the 95 % Clopper–Pearson interval of
    ``acc(x)`` and significantly below it (``below``: McNemar plus the minimum effect, so that 2 %
    → 0 % on 50 images is no flag); the strong suite has not converged, so no worst case from it is
    trusted.
    """
    def found() -> Found:
        for (x, budget_x), (y, budget_y) in ((p, q) for a, b in combinations(_ranked(results), 2)
                                             for p, q in ((a, b), (b, a))):
            if x.data["attack"] == y.data["attack"] and x.same_threat(y) and math.isclose(budget_y, 2 * budget_x):
                decision = below(y, x)
                if decision is None:
                    continue
                comparison = decision.comparison
                if comparison.count < MIN_SAMPLES:
                    yield INCONCLUSIVE
                    continue
                low = _lower_bound(comparison.second, comparison.count)
                yield Flag(f"{decision.describe(y.setting, x.setting)}: twice the budget lowers the accuracy below "
                           f"the 95 % interval [{low:.1%}, …] of {x.setting}: not converged", x.setting,
                           (x.setting, y.setting)) if decision.outcome == FLAGGED and comparison.first < low else PASSED
    return _outcome(found(), "the strong suite's attack again with twice the budget (steps and restarts) at an ε")


def check_adaptive(results: list[Result]) -> Outcome:
    """The adaptive attack (catalog kind ``adaptive``) must not leave significantly less than the best standard attack.

    Flagged (suspect: the best standard white-box attack) when it does: the standard gradients are
    masked, so their figures overstate robustness (Tramèr et al. 2020).
    """
    def found() -> Found:
        for adaptive in (r for r in results if r.kind == ADAPTIVE):
            standard = [r for r in results if r.kind in GRADIENT_KINDS and r.kind != ADAPTIVE
                        and adaptive.same_threat(r)]
            yield from _against_best("adaptive_beats_standard", adaptive, standard,
                                     "the adaptive attack beats the standard ones: their gradients are masked",
                                     candidate_lower=True, suspect_is_candidate=False)
    return _outcome(found(), "the adaptive attack and a standard white-box attack at the same ε")


def _cross(results: list[Result], check: str, kinds: tuple[str, ...], what: str, needs: str) -> Outcome:
    """Flag a result of ``kinds`` leaving significantly less accuracy than the best white-box attack of its threat."""
    def found() -> Found:
        for candidate in (r for r in results if r.kind in kinds):
            rivals = [r for r in results if r.kind in GRADIENT_KINDS and candidate.same_threat(r)]
            yield from _against_best(check, candidate, rivals, what, candidate_lower=True, suspect_is_candidate=False)
    return _outcome(found(), needs)


def check_black_box_beats_white_box(results: list[Result]) -> Outcome:
    """The black-box attack (SPSA) must not beat the best white-box attack at the same ε significantly."""
    return _cross(results, "black_box_beats_white_box", ("black_box",),
                  "the gradient-free attack beats the gradient attacks", "a black-box and a white-box attack at one ε")


def check_transfer_beats_white_box(results: list[Result]) -> Outcome:
    """Examples transferred from a surrogate must not beat the best white-box attack on the model itself."""
    return _cross(results, "transfer_beats_white_box", (TRANSFER,),
                  "examples crafted on another model beat the model's own gradients",
                  "a transfer and a white-box attack at the same ε")


def _proportion_above(count: int, fraction: float, limit: float) -> str:
    """``flagged`` when the 95 % interval of ``fraction`` (on ``count`` samples) lies above ``limit``."""
    if count < MIN_SAMPLES:
        return INCONCLUSIVE
    return FLAGGED if _lower_bound(fraction, count) > limit else PASSED


def check_unbounded(results: list[Result]) -> Outcome:
    """An unbounded attack (L∞ ε = 1, ``eps: unbounded``; C&W with an open binary search) must reach ≈0 accuracy:
    flagged when the 95 % interval of its accuracy lies above ``UNBOUNDED_MAX_ACCURACY``."""
    def found() -> Found:
        for result in (r for r in _attacks(results) if r.data["unbounded"]):
            accuracy = result.data["adv_accuracy"]
            outcome = _proportion_above(len(result.index), accuracy, UNBOUNDED_MAX_ACCURACY)
            yield Flag(f"{result.setting} is unbounded but leaves {accuracy:.1%} accuracy on {len(result.index)} "
                       f"samples (significantly > {UNBOUNDED_MAX_ACCURACY:.0%})", result.setting,
                       (result.setting,)) if outcome == FLAGGED else outcome
    return _outcome(found(), "an unbounded attack (L∞ ε = 1, or C&W whose search reaches c ≥ 10)")


def check_noise(results: list[Result]) -> Outcome:
    """An attack must leave significantly less accuracy than uniform ±ε noise (Carlini et al. 2019 §5).

    For every attack on the model's gradients (a black-box attack at a small budget may be as weak as
    noise without any masking) and a ``uniform_noise`` result at the same norm and ε:
    passed when the attack is ``MIN_EFFECT`` below the noise with McNemar's p < α on the common
    samples, or leaves at most ``UNBOUNDED_MAX_ACCURACY`` (nothing left to fool); else flagged
    (suspect: the attack); inconclusive on fewer than ``MIN_SAMPLES`` common samples.
    """
    def found() -> Found:
        noises = [r for r in results if r.kind == "noise"]
        for attack in (r for r in results if r.kind in GRADIENT_KINDS):
            for noise in (n for n in noises if attack.same_bound(n)):
                if attack.data["adv_accuracy"] <= UNBOUNDED_MAX_ACCURACY:
                    yield PASSED  # nothing left to fool
                    continue
                decision = below(attack, noise)
                if decision is None:
                    continue
                if decision.outcome == PASSED:
                    yield Flag(f"{decision.describe(attack.setting, noise.setting)}: the attack does no better than "
                               "random noise", attack.setting, (noise.setting, attack.setting))
                else:
                    yield PASSED if decision.outcome == FLAGGED else INCONCLUSIVE
    return _outcome(found(), "uniform_noise at the ε of an attack")


def check_zero_gradients(results: list[Result]) -> Outcome:
    """Flagged when the 95 % interval of the fraction of samples with a zero or non-finite input gradient lies above
    ``ZERO_GRADIENT_TOLERANCE``."""
    def found() -> Found:
        for result in results:
            fraction = result.data.get("zero_gradient_fraction")
            if fraction is None:
                continue
            outcome = _proportion_above(len(result.index), fraction, ZERO_GRADIENT_TOLERANCE)
            yield Flag(f"{result.setting}: {fraction:.1%} of {len(result.index)} samples have a zero or non-finite "
                       f"input gradient (significantly > {ZERO_GRADIENT_TOLERANCE:.0%}): gradients are masked",
                       result.setting, (result.setting,)) if outcome == FLAGGED else outcome
    return _outcome(found(), "a white-box attack result with its zero_gradient_fraction")


def check_l2_threat(results: list[Result]) -> Outcome:
    """A one-step L2 attack must not leave significantly less accuracy than a minimal-perturbation attack of the
    same norm (catalog ``per_sample_norm``, C&W) within its ε (``robust_within``; suspect: the latter)."""
    def found() -> Found:
        minimal = [r for r in results if r.eps is None and CATALOG[r.data["attack"]].per_sample_norm is not None]
        for one in results:
            if one.kind != "one_step" or one.eps is None:
                continue
            for other in (m for m in minimal if CATALOG[m.data["attack"]].per_sample_norm == one.data["norm"]
                          and m.data["attack_on"] == one.data["attack_on"] and m.threat_model == one.threat_model):
                yield from _below("l2_threat", one, other, other,
                                  f"{other.setting} within ε={one.eps:g} is weaker than one gradient step",
                                  b_values=robust_within(other, one.eps))
    return _outcome(found(), "a one-step attack and a minimal-perturbation attack (C&W) of its norm")


def check_probs_gap(results: list[Result]) -> Outcome:
    """Attacking the probabilities must not leave significantly more accuracy than attacking the scores (SPEC §2)."""
    def found() -> Found:
        for a, b in combinations(_attacks(results), 2):
            if a.data["attack_on"] != b.data["attack_on"] and _settings_key(a, "attack_on") == _settings_key(
                    b, "attack_on"):
                scores, probs = (a, b) if a.data["attack_on"] == "scores" else (b, a)
                yield from _below("probs_gap", scores, probs, probs,
                                  "the attack through the probabilities is much weaker (saturated outputs)")
    return _outcome(found(), "one attack through the scores and through the probabilities")


@dataclass(frozen=True)
class Check:
    """A registered check: table marker (Unicode and LaTeX math), one-line description, its function, and whether
    a flag on a known-weak suspect only marks that cell (``downgrade``)."""

    marker: str
    latex: str
    description: str
    run: Callable[[list[Result]], Outcome]
    downgrade: bool = True


CHECKS: dict[str, Check] = {
    "one_step_above_iterative": Check("‡", r"\ddag", "a one-step attack (FGSM) leaves significantly more accuracy "
                                                     "than the strongest iterative one at its ε",
                                      check_one_step_above_iterative),
    "not_converged": Check("♯", r"\sharp", "a configuration with a larger budget lowers accuracy significantly",
                           check_not_converged),
    "budget_doubled": Check("≈", r"\approx", "the attack with twice the budget lowers accuracy beyond its 95 % "
                                             "interval: not converged", check_budget_doubled, downgrade=False),
    "adaptive_beats_standard": Check("⊘", r"\oslash", "the adaptive attack leaves significantly less accuracy than "
                                                      "the best standard attack", check_adaptive, downgrade=False),
    "eps_monotonic": Check("†", r"\dag", "accuracy rises significantly as ε grows (same attack)", check_eps_monotonic),
    "one_step_beats_iterative": Check("♭", r"\flat", "a one-step attack (FGSM) beats an iterative one at the same ε",
                                      check_one_step_beats_iterative),
    "black_box_beats_white_box": Check("§", r"\S", "the black-box attack (SPSA) beats the best white-box attack",
                                       check_black_box_beats_white_box),
    "transfer_beats_white_box": Check("‖", r"\|", "transfer from a surrogate beats the best white-box attack",
                                      check_transfer_beats_white_box),
    "unbounded_not_zero": Check("¶", r"\P", f"an unbounded attack leaves significantly more than "
                                            f"{UNBOUNDED_MAX_ACCURACY:.0%} accuracy", check_unbounded, downgrade=False),
    "noise_not_beaten": Check("◊", r"\diamond", "the attack does not do significantly better than uniform random "
                                                "noise at its ε", check_noise),
    "zero_gradients": Check("∅", r"\emptyset", f"significantly more than {ZERO_GRADIENT_TOLERANCE:.0%} of the samples "
                                               "have a zero or non-finite input gradient", check_zero_gradients,
                            downgrade=False),
    "l2_threat": Check("♮", r"\natural", "a one-step L2 attack leaves less accuracy than C&W within the same L2 ε",
                       check_l2_threat),
    "probs_gap": Check("°", r"\circ", "attacking the probabilities leaves significantly more accuracy than the "
                                      "scores (saturated outputs)", check_probs_gap),
}


def severity(check: str, suspect: Result, results: list[Result]) -> str:
    """``weak attack`` when ``check`` allows it, ``suspect`` is known weak and a sound white-box attack ran at its
    bound (the worst case there is sound); else ``masking suspected``."""
    weak = CHECKS[check].downgrade and known_weak(suspect) and sound_at(results, suspect)
    return WEAK_ATTACK if weak else MASKING_SUSPECTED


def verdict(statuses: list[dict[str, Any]], flags: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """``masking suspected`` (a flag of that severity), else ``incomplete`` (a check without inputs), else
    ``no masking found``; and the evidence."""
    masking = [f"{flag['marker']} {flag['check']}: {flag['message']}" for flag in flags
               if flag.get("severity") != WEAK_ATTACK]
    weak = [f"{flag['marker']} {flag['check']} ({WEAK_ATTACK}, {flag['suspect']}): {flag['message']}"
            for flag in flags if flag.get("severity") == WEAK_ATTACK]
    missing = [f"{s['check']}: not evaluated, {s['reason']}" for s in statuses if s["status"] == "not_evaluated"]
    inconclusive = [f"{s['check']}: inconclusive, fewer than {MIN_SAMPLES} common samples" for s in statuses
                    if s["status"] == INCONCLUSIVE]
    if masking:
        return MASKING_SUSPECTED, [*masking, *weak]
    if missing:
        return INCOMPLETE, [*missing, *inconclusive, *weak]
    passed = sum(s["status"] == PASSED for s in statuses)
    return NO_MASKING_FOUND, [f"{passed} of {len(statuses)} checks passed", *inconclusive, *weak]


def _status(outcome: Outcome) -> str:
    if outcome.flags:
        return FLAGGED
    if outcome.comparisons:
        return PASSED
    return INCONCLUSIVE if outcome.inconclusive else "not_evaluated"


def run_checks(results: list[Result]) -> dict[str, Any]:
    """Every check of ``CHECKS`` over one model's results: status, flags, cell words, worst case, verdict."""
    models = {(r.data["model"], r.data["dataset"], r.data["model_ref"]["weights_sha256"]) for r in results}
    if len(models) > 1:
        raise UserError(f"checks need the results of one model; got {len(models)}: "
                        f"{', '.join(sorted(f'{m}/{d}' for m, d, _ in models))}")
    by_setting = {r.setting: r for r in results}
    flags: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []
    for name, check in CHECKS.items():
        outcome = check.run(results)
        status = _status(outcome)
        statuses.append({"check": name, "marker": check.marker, "description": check.description, "status": status,
                         "comparisons": outcome.comparisons, "inconclusive": outcome.inconclusive,
                         "reason": f"needs {outcome.needs}" if status == "not_evaluated" else None})
        flags += [{"check": name, "marker": check.marker, "message": flag.message, "suspect": flag.suspect,
                   "severity": severity(name, by_setting[flag.suspect], results), "settings": list(flag.settings)}
                  for flag in outcome.flags]
    suspects: dict[str, str] = {}
    for flag in flags:
        worse = min(suspects.get(flag["suspect"], flag["severity"]), flag["severity"], key=CELL_VERDICTS.index)
        suspects[flag["suspect"]] = worse
    (model, dataset, _), = models
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
        "not_evaluated": [s["check"] for s in statuses if s["status"] == "not_evaluated"],
    }


def result_paths(paths: list[Path]) -> list[Path]:
    """The result JSONs named by ``paths``: files as given, and every ``*.json`` but ``checks.json`` in a folder."""
    found: list[Path] = []
    for path in map(Path, paths):
        found += sorted(p for p in path.glob("*.json") if p.name != CHECKS_FILE) if path.is_dir() else [path]
    return found


def write_checks(result_paths: list[Path], out_path: Path) -> dict[str, Any]:
    """Run the checks over the results of one model and write ``checks.json`` atomically; returns its content."""
    if not result_paths:
        raise UserError("checks need at least one result file")
    results = [load_result(Path(path)) for path in result_paths]
    report = {**run_checks(results), "model_ref": results[0].data["model_ref"]}  # the one model (run_checks)
    report["provenance"] = collect_provenance({"results": [str(path) for path in result_paths]})
    atomic_write_json(Path(out_path), report)
    return report
