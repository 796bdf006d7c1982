"""The gradient-masking checks, one function each, over one model's results (Carlini et al. 2019 §4–5; Athalye
et al. 2018; Tramèr et al. 2020); ``newlogic.report.checks`` registers them, runs them and words the verdict.

Each check compares adversarial accuracies on the test samples two results share (``verdicts.below``:
McNemar's exact test, flagged, passed or inconclusive) or a proportion by its Clopper–Pearson
interval, and yields, per comparison, a ``Flag`` (what was seen, the suspect setting, the settings
involved), ``PASSED``, or an ``Undecided`` naming what was too small and the setting a flag would
have named. No torch.
"""

import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from newlogic.attacks.catalog import ADAPTIVE, BLACK_BOX, CATALOG, NOISE, ONE_STEP, TRANSFER
from newlogic.report.samples import Result, robust_within
from newlogic.report.verdicts import (
    FLAGGED,
    GRADIENT_KINDS,
    INCONCLUSIVE,
    MIN_SAMPLES,
    PASSED,
    Decision,
    below,
    budget,
    decide,
)
from newlogic.report.vocabulary import LANDSCAPE
from newlogic.report.worst_case import worst_case
from newlogic.stats import clopper_pearson

ZERO_GRADIENT_TOLERANCE = 0.05  # flagged when the interval of the zero-gradient fraction lies above 5 % [project]
UNBOUNDED_MAX_ACCURACY = 0.02  # "≈0 %" for an unbounded attack: flagged when its interval lies above [project]
SCORES = "scores"


@dataclass(frozen=True)
class Flag:
    """One raised flag: what was seen, the setting whose figure is suspect, and the settings involved."""

    message: str
    suspect: str
    settings: tuple[str, ...]


@dataclass(frozen=True)
class Undecided:
    """A comparison that could not be decided: what was too small, and the setting a flag would have named."""

    reason: str
    suspect: str


@dataclass(frozen=True)
class Outcome:
    """A check's comparisons: flags raised, comparisons decided, comparisons undecided, and what it needs."""

    flags: list[Flag]
    comparisons: int
    undecided: list[Undecided]
    needs: str


Found = Iterator[Flag | Undecided | str]  # a flag, an undecided comparison, or PASSED


def _outcome(found: Found, needs: str) -> Outcome:
    seen = list(found)
    undecided = [item for item in seen if isinstance(item, Undecided)]
    return Outcome([item for item in seen if isinstance(item, Flag)], len(seen) - len(undecided), undecided, needs)


def _decided(decision: Decision | None, a: str, b: str, suspect: str, flag: Callable[[Decision], Flag]) -> Found:
    """Nothing when nothing is shared; the flag when ``decision`` flagged; PASSED; or what kept it undecided."""
    if decision is None:
        return
    if decision.outcome == FLAGGED:
        yield flag(decision)
    elif decision.outcome == INCONCLUSIVE:
        yield Undecided(decision.too_small(a, b), suspect)
    else:
        yield PASSED


def _below(a: Result, b: Result, suspect: Result, what: str, **values: Any) -> Found:
    """A flag when ``a`` (should be the weaker) leaves significantly less accuracy than ``b`` (``verdicts.below``)."""
    yield from _decided(below(a, b, **values), a.setting, b.setting, suspect.setting,
                        lambda d: Flag(f"{d.describe(a.setting, b.setting)}: {what}", suspect.setting,
                                       (a.setting, b.setting)))


def _attacks(results: list[Result]) -> list[Result]:
    """The results of real attacks (not the uniform-noise baseline)."""
    return [r for r in results if r.kind != NOISE]


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
                    yield from _below(small, large, large, "accuracy rises as ε grows")
    return _outcome(found(), "one attack at two or more ε")


def _iterative(results: list[Result], like: Result) -> list[Result]:
    """The multi-step gradient results (iterative, ensemble, adaptive) at ``like``'s norm, ε and ``attack_on``."""
    return [r for r in results if r.kind in GRADIENT_KINDS and r.kind != ONE_STEP and like.same_threat(r)]


def _against_best(candidate: Result, rivals: list[Result], what: str, *, candidate_lower: bool,
                  suspect_is_candidate: bool) -> Found:
    """Compare ``candidate`` with the rival leaving the least accuracy on their shared samples (the best attack;
    among the rivals sharing at least ``MIN_SAMPLES`` samples with it, where there are any).

    ``candidate_lower``: flag when the candidate is significantly below that rival (it beats the best);
    else when that rival is significantly below the candidate.
    """
    decisions = [(rival, decision) for rival in rivals if (decision := below(candidate, rival)) is not None]
    enough = [(rival, decision) for rival, decision in decisions if not decision.too_few]
    if not decisions:
        return
    best, decision = min(enough or decisions, key=lambda item: item[1].comparison.second)
    suspect = candidate if suspect_is_candidate else best
    if not candidate_lower:
        yield from _below(best, candidate, suspect, what)
        return
    yield from _decided(decision, candidate.setting, best.setting, suspect.setting,
                        lambda d: Flag(f"{d.describe(candidate.setting, best.setting)}: {what}", suspect.setting,
                                       (candidate.setting, best.setting)))


def check_one_step_above_iterative(results: list[Result]) -> Outcome:
    """A one-step attack must not leave significantly more accuracy than the strongest iterative attack at its ε.

    The journal's "FGSM 90 %" case: the one-step number is not a robustness figure (suspect: the one-step cell).
    """
    def found() -> Found:
        for one in (r for r in results if r.kind == ONE_STEP):
            yield from _against_best(one, _iterative(results, one), "the one-step attack is not a robustness figure",
                                     candidate_lower=False, suspect_is_candidate=True)
    return _outcome(found(), "a one-step attack and an iterative one at its ε")


def check_one_step_beats_iterative(results: list[Result]) -> Outcome:
    """A one-step attack must not leave significantly less accuracy than an iterative one at the same ε."""
    def found() -> Found:
        for one in (r for r in results if r.kind == ONE_STEP):
            for iterative in _iterative(results, one):
                yield from _below(one, iterative, iterative, "the one-step attack beats the iterative one")
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
                yield from _below(strong, weak, weak,
                                  f"{weak.setting} has not converged; the stronger configuration lowers the accuracy")
    return _outcome(found(), "two configurations of one threat with different budgets (catalog budget)")


def check_budget_doubled(results: list[Result]) -> Outcome:
    """The same attack with twice the ``budget`` (restarts and steps) must not lower the accuracy.

    For results ``x`` and ``y`` of one attack at one threat with ``budget(y) = 2·budget(x)``, on the
    images both attacked, paired (``verdicts.below``, exact McNemar): flagged when ``y`` is
    significantly below ``x`` by ``MIN_EFFECT`` or more (suspect: ``x``, the strong suite has not
    converged, so no worst case from it is trusted); passed when the drop is ruled out; else
    inconclusive.
    """
    def found() -> Found:
        for (x, budget_x), (y, budget_y) in ((p, q) for a, b in combinations(_ranked(results), 2)
                                             for p, q in ((a, b), (b, a))):
            if x.data["attack"] == y.data["attack"] and x.same_threat(y) and math.isclose(budget_y, 2 * budget_x):
                yield from _below(y, x, x, "twice the budget lowers the accuracy: not converged")
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
            yield from _against_best(adaptive, standard,
                                     "the adaptive attack beats the standard ones: their gradients are masked",
                                     candidate_lower=True, suspect_is_candidate=False)
    return _outcome(found(), "the adaptive attack and a standard white-box attack at the same ε")


def _cross(results: list[Result], kinds: tuple[str, ...], what: str, needs: str) -> Outcome:
    """Flag a result of ``kinds`` leaving significantly less accuracy than the best white-box attack of its threat."""
    def found() -> Found:
        for candidate in (r for r in results if r.kind in kinds):
            rivals = [r for r in results if r.kind in GRADIENT_KINDS and candidate.same_threat(r)]
            yield from _against_best(candidate, rivals, what, candidate_lower=True, suspect_is_candidate=False)
    return _outcome(found(), needs)


def check_black_box_beats_white_box(results: list[Result]) -> Outcome:
    """The black-box attack (SPSA) must not beat the best white-box attack at the same ε significantly."""
    return _cross(results, (BLACK_BOX,), "the gradient-free attack beats the gradient attacks",
                  "a black-box and a white-box attack at one ε")


def check_transfer_beats_white_box(results: list[Result]) -> Outcome:
    """Examples transferred from a surrogate must not beat the best white-box attack on the model itself."""
    return _cross(results, (TRANSFER,), "examples crafted on another model beat the model's own gradients",
                  "a transfer and a white-box attack at the same ε")


def check_disjoint_attacks(results: list[Result]) -> Outcome:
    """The worst case must not lie significantly below every single attack at its (norm, ε).

    At each (norm, ε) with two or more attacks (``newlogic.report.worst_case``), the images that
    survive all of them are compared, paired (``verdicts.decide``), with the images each attack
    alone leaves: flagged, once per attack, when the worst case is significantly below each one
    (the attacks stop on different images: none converged, and more attacks may lower the worst case
    further); passed when some attack comes within the rule of the worst case; else inconclusive.
    """
    def found() -> Found:
        for case in worst_case(results):
            if len(case.settings) < 2:
                continue
            decisions = [decide(case.survived, alone) for alone in case.member_survived]
            best = min(range(len(decisions)), key=lambda i: decisions[i].comparison.second)
            if all(d.outcome == FLAGGED for d in decisions):
                what = (f"the worst case {case.accuracy:.1%} at {case.column} is significantly below every single "
                        f"attack (the closest: {decisions[best].describe('it', case.settings[best])}): they stop "
                        "on different images")
                yield from (Flag(what, setting, case.settings) for setting in case.settings)
            elif any(d.outcome == PASSED for d in decisions):
                yield PASSED
            else:
                yield Undecided(decisions[best].too_small(case.column, case.settings[best]), case.settings[best])
    return _outcome(found(), "two attacks at one norm and ε")


def _lower_bound(fraction: float, count: int) -> float:
    """The low end of the 95 % Clopper–Pearson interval of ``fraction`` on ``count`` samples (0 for none)."""
    interval = clopper_pearson(round(fraction * count), count)
    return 0.0 if interval is None else interval[0]


def _proportion_above(result: Result, fraction: float, limit: float, flag: Flag) -> Flag | Undecided | str:
    """``flag`` when the 95 % interval of ``fraction`` (on the result's samples) lies above ``limit``."""
    count = len(result.index)
    if count < MIN_SAMPLES:
        return Undecided(f"n = {count} < {MIN_SAMPLES} images ({result.setting})", result.setting)
    return flag if _lower_bound(fraction, count) > limit else PASSED


def check_unbounded(results: list[Result]) -> Outcome:
    """An unbounded attack (L∞ ε = 1, ``eps: unbounded``; C&W with an open binary search) must reach ≈0 accuracy:
    flagged when the 95 % interval of its accuracy lies above ``UNBOUNDED_MAX_ACCURACY``."""
    def found() -> Found:
        for result in (r for r in _attacks(results) if r.data["unbounded"]):
            accuracy = result.data["adv_accuracy"]
            yield _proportion_above(result, accuracy, UNBOUNDED_MAX_ACCURACY, Flag(
                f"{result.setting} is unbounded but leaves {accuracy:.1%} accuracy on {len(result.index)} samples "
                f"(significantly > {UNBOUNDED_MAX_ACCURACY:.0%})", result.setting, (result.setting,)))
    return _outcome(found(), "an unbounded attack (L∞ ε = 1, or C&W whose search reaches c ≥ 10)")


def check_noise(results: list[Result]) -> Outcome:
    """An attack must leave significantly less accuracy than uniform ±ε noise (Carlini et al. 2019 §5).

    For every attack on the model's gradients (a black-box attack at a small budget may be as weak as
    noise without any masking) and a ``uniform_noise`` result at the same norm and ε: passed when
    the attack is significantly below the noise (``verdicts.below`` flags it), or leaves at most
    ``UNBOUNDED_MAX_ACCURACY`` (nothing left to fool); inconclusive on fewer than ``MIN_SAMPLES``
    common samples; else flagged (suspect: the attack).
    """
    def found() -> Found:
        noises = [r for r in results if r.kind == NOISE]
        for attack in (r for r in results if r.kind in GRADIENT_KINDS):
            for noise in (n for n in noises if attack.same_bound(n)):
                decision = below(attack, noise)
                if attack.data["adv_accuracy"] <= UNBOUNDED_MAX_ACCURACY or (
                        decision is not None and decision.outcome == FLAGGED):
                    yield PASSED  # nothing left to fool, or significantly below the noise
                elif decision is not None and decision.too_few:
                    yield Undecided(decision.too_small(attack.setting, noise.setting), attack.setting)
                elif decision is not None:
                    yield Flag(f"{decision.describe(attack.setting, noise.setting)}: the attack does no better than "
                               "random noise", attack.setting, (noise.setting, attack.setting))
    return _outcome(found(), "uniform_noise at the ε of an attack")


def check_zero_gradients(results: list[Result]) -> Outcome:
    """Flagged when the 95 % interval of the fraction of samples with a zero or non-finite input gradient lies above
    ``ZERO_GRADIENT_TOLERANCE``."""
    def found() -> Found:
        for result in results:
            fraction = result.data.get("zero_gradient_fraction")
            if fraction is not None:
                yield _proportion_above(result, fraction, ZERO_GRADIENT_TOLERANCE, Flag(
                    f"{result.setting}: {fraction:.1%} of {len(result.index)} samples have a zero or non-finite input "
                    f"gradient (significantly > {ZERO_GRADIENT_TOLERANCE:.0%}): gradients are masked", result.setting,
                    (result.setting,)))
    return _outcome(found(), "a white-box attack result with its zero_gradient_fraction")


def check_l2_threat(results: list[Result]) -> Outcome:
    """A one-step L2 attack must not leave significantly less accuracy than a minimal-perturbation attack of the
    same norm (catalog ``per_sample_norm``, C&W) within its ε (``robust_within``; suspect: the latter)."""
    def found() -> Found:
        minimal = [r for r in results if r.eps is None and CATALOG[r.data["attack"]].per_sample_norm is not None]
        for one in results:
            if one.kind != ONE_STEP or one.eps is None:
                continue
            for other in (m for m in minimal if CATALOG[m.data["attack"]].per_sample_norm == one.data["norm"]
                          and m.data["attack_on"] == one.data["attack_on"] and m.threat_model == one.threat_model):
                yield from _below(one, other, other, f"{other.setting} within ε={one.eps:g} is weaker than one "
                                  "gradient step", b_values=robust_within(other, one.eps))
    return _outcome(found(), "a one-step attack and a minimal-perturbation attack (C&W) of its norm")


def check_probs_gap(results: list[Result]) -> Outcome:
    """Attacking the probabilities must not leave significantly more accuracy than attacking the scores (SPEC §2)."""
    def found() -> Found:
        for a, b in combinations(_attacks(results), 2):
            if a.data["attack_on"] != b.data["attack_on"] and _settings_key(a, "attack_on") == _settings_key(
                    b, "attack_on"):
                scores, probs = (a, b) if a.data["attack_on"] == SCORES else (b, a)
                yield from _below(scores, probs, probs,
                                  "the attack through the probabilities is much weaker (saturated outputs)")
    return _outcome(found(), "one attack through the scores and through the probabilities")


def _landscape_sample(landscape: Mapping[str, Any]) -> str:
    """The landscape's settings, for a message: images, attack and its restarts."""
    attack = landscape["attack"]
    return (f"{landscape['n_images']} images, {attack['attack']} ({attack['loss']}, restarts {attack['restarts']}, "
            f"τ {attack['temperature']:g} → {attack['final_temperature']:g})")


def check_landscape_converged(landscape: Mapping[str, Any]) -> Outcome:
    """The landscape's attack with its largest step count must not leave significantly less accuracy than with the
    next smaller count (``landscape.json`` ``iterations``; paired per image, exact McNemar, ``verdicts.decide``).

    Flagged (the attack had not converged at the smaller count, so no figure of it is trusted) when the drop
    is significant and at least ``MIN_EFFECT``; passed when ruled out; else inconclusive (fewer than
    ``MIN_SAMPLES`` images among them).
    """
    def found() -> Found:
        sweep = landscape["iterations"]
        steps, rows = sweep["steps"], sweep["correct"]
        more, fewer = f"{steps[-1]} steps", f"{steps[-2]} steps"
        decision = decide(np.array(rows[-1], dtype=bool), np.array(rows[-2], dtype=bool))
        settings = f"at L∞ ε = {sweep['eps']:g}, {_landscape_sample(landscape)}"
        yield from _decided(decision, more, fewer, LANDSCAPE,
                            lambda d: Flag(f"{d.describe(more, fewer)} {settings}: the attack has not converged",
                                           LANDSCAPE, ()))
    return _outcome(found(), "a landscape block in the config (landscape.json: accuracy against steps)")


def check_landscape_reaches_zero(landscape: Mapping[str, Any]) -> Outcome:
    """At the ε sweep's largest ε (≥ 0.5, where the mid-grey image is within every image's reach) the accuracy must
    fall to ≈ 0: flagged when its 95 % interval lies above ``UNBOUNDED_MAX_ACCURACY`` (the unbounded check's rule);
    inconclusive on fewer than ``MIN_SAMPLES`` images."""
    def found() -> Found:
        sweep = landscape["eps_sweep"]
        row, eps = sweep["correct"][-1], sweep["eps"][-1]
        count, left = len(row), sum(row)
        if count < MIN_SAMPLES:
            yield Undecided(f"n = {count} < {MIN_SAMPLES} images (landscape at L∞ ε = {eps:g})", LANDSCAPE)
        elif _lower_bound(left / count, count) > UNBOUNDED_MAX_ACCURACY:
            yield Flag(f"at L∞ ε = {eps:g} ({sweep['steps']} steps, {_landscape_sample(landscape)}) {left} of "
                       f"{count} images stay classified right ({left / count:.1%}, significantly > "
                       f"{UNBOUNDED_MAX_ACCURACY:.0%}): the attack does not follow the model to the end", LANDSCAPE, ())
        else:
            yield PASSED
    return _outcome(found(), "a landscape block in the config (landscape.json: accuracy against ε)")


def check_landscape_gradients(landscape: Mapping[str, Any]) -> Outcome:
    """Along the adaptive attack's path the exact gradient must not vanish: an image is blind when more than half of
    its steps are (exact ‖∇‖ not finite or ≤ ``near_zero``·the surrogate's, ``newlogic.evaluation.landscape``);
    flagged when the 95 % interval of the blind images' fraction lies above ``ZERO_GRADIENT_TOLERANCE``;
    inconclusive on fewer than ``MIN_SAMPLES`` images."""
    def found() -> Found:
        path = landscape["gradients"]
        blind = [2 * b > s for b, s in zip(path["blind_steps"], path["path_steps"], strict=True)]
        count = len(blind)
        if count < MIN_SAMPLES:
            yield Undecided(f"n = {count} < {MIN_SAMPLES} images (landscape gradients)", LANDSCAPE)
        elif _lower_bound(sum(blind) / count, count) > ZERO_GRADIENT_TOLERANCE:
            yield Flag(f"on the adaptive path at L∞ ε = {path['eps']:g} ({path['steps']} steps, "
                       f"{_landscape_sample(landscape)}) {sum(blind)} of {count} images have a (near-)zero exact "
                       f"gradient on most steps ({path['blind_step_fraction']:.1%} of all steps; "
                       f"{sum(path['masked_steps'])} where the surrogate's is non-zero): significantly > "
                       f"{ZERO_GRADIENT_TOLERANCE:.0%}, gradients are masked", LANDSCAPE, ())
        else:
            yield PASSED
    return _outcome(found(), "a landscape block in the config (landscape.json: gradients on the attack path)")
