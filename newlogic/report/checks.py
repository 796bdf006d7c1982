"""Gradient-masking checks over one model's results → ``checks.json`` (Carlini et al. 2019 §4–5; Athalye et al. 2018).

Each check compares adversarial accuracies of the model's results on the test samples they share
(the per-sample ``.npz`` beside each result, read through ``newlogic.store.results``) and raises a
flag when an evaluation is not trustworthy: a stronger attack does worse than a weaker one, a
stronger configuration of the same threat still lowers the accuracy, an attack does no better
than random noise, gradients vanish, or an unbounded attack leaves the model accurate. Each
check has a named tolerance constant ([project] choices, docs/results.md). A check with nothing
to compare (a missing setting) is reported as not evaluated, with what it needs, never as
passed. ``CHECKS`` gives each its table marker and a one-line description. The model's verdict
(``verdict``): ``suspect`` when any check is flagged, else ``not evaluated`` when any check could
not be evaluated, else ``robust`` (every check passed: the accuracies are robustness figures).
No torch: only the result files are read.
"""

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from newlogic.attacks.catalog import WHITE_BOX_KINDS
from newlogic.errors import UserError
from newlogic.report.samples import Result, load_result, paired, robust_within
from newlogic.report.worst_case import worst_case
from newlogic.store.atomic import atomic_write_json
from newlogic.store.provenance import collect_provenance

SCHEMA_VERSION = 2  # 2: the checklist of issue 10, worst-case accuracy, verdict
ACCURACY_TOLERANCE = 0.01  # one point: smaller differences are not flagged [project]
ONE_STEP_GAP_TOLERANCE = 0.30  # FGSM may stay this far above the strongest iterative attack [project]
CONVERGENCE_TOLERANCE = 0.05  # a stronger configuration of the same threat may lower accuracy this much [project]
NOISE_TOLERANCE = 0.01  # an attack must leave at least one point less accuracy than uniform noise at its ε [project]
ZERO_GRADIENT_TOLERANCE = 0.05  # at most 5 % of the samples may have a zero or non-finite input gradient [project]
PROBS_GAP_TOLERANCE = 0.05  # attacking the probabilities is a different loss: five points [project]
UNBOUNDED_MAX_ACCURACY = 0.02  # "≈0 %" for an unbounded attack [project]
CHECKS_FILE = "checks.json"
VERDICTS = ("robust", "suspect", "not evaluated")
# iterative configurations of one L∞ threat, by strength: gradient steps (nb_iter × restarts); AutoAttack is strongest
CONVERGENCE_ATTACKS: dict[str, Callable[[dict[str, Any]], float]] = {
    "bim": lambda p: p["nb_iter"],
    "pgd": lambda p: p["nb_iter"] * p["restarts"],
    "autoattack": lambda _p: math.inf,
}


@dataclass(frozen=True)
class Flag:
    """One raised flag: which check, its marker, what was seen, and the settings involved."""

    check: str
    message: str
    settings: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """A check's verdict: the flags raised and how many comparisons it could make (0: not evaluated)."""

    flags: list[Flag]
    comparisons: int
    needs: str


def _beats(check: str, a: Result, b: Result, tolerance: float, what: str,
           b_values: np.ndarray | None = None) -> Iterator[Flag | None]:
    """A flag if ``a`` (the attack that should be weaker) leaves less accuracy than ``b`` by more than ``tolerance``.

    ``b_values`` replaces ``b``'s per-sample correctness (C&W within an ε). Yields None when the
    comparison was made and passed (so it counts), nothing when no sample is shared.
    """
    pair = paired(a, b, b_values=b_values)
    if pair is None:
        return
    acc_a, acc_b, count = pair
    if acc_a < acc_b - tolerance:
        yield Flag(check, f"{a.setting} leaves {acc_a:.1%} accuracy, {b.setting} {acc_b:.1%} "
                          f"(on {count} common samples): {what}", (a.setting, b.setting))
    else:
        yield None


def _outcome(found: Iterator[Flag | None], needs: str) -> Outcome:
    results = list(found)
    return Outcome([flag for flag in results if flag is not None], len(results), needs)


def _attacks(results: list[Result]) -> list[Result]:
    """The results of real attacks (not the uniform-noise baseline)."""
    return [r for r in results if r.kind != "noise"]


def _settings_key(result: Result, *drop: str) -> str:
    """The attack, preset, ``attack_on`` and overrides of a result, without the keys in ``drop``, as a string."""
    setting = {"attack": result.data["attack"], "preset": result.data["preset"], **result.data["overrides"],
               "attack_on": result.data["attack_on"]}
    return json.dumps({key: value for key, value in setting.items() if key not in drop}, sort_keys=True)


def check_eps_monotonic(results: list[Result]) -> Outcome:
    """Same attack and parameters but ε: accuracy must not rise with ε."""
    def found() -> Iterator[Flag | None]:
        groups: dict[str, list[Result]] = {}
        for result in _attacks(results):
            if result.eps is not None:
                groups.setdefault(_settings_key(result, "eps"), []).append(result)
        for group in groups.values():
            group.sort(key=lambda r: r.eps)
            for small, large in zip(group, group[1:], strict=False):
                if not math.isclose(small.eps, large.eps):
                    yield from _beats("eps_monotonic", small, large, ACCURACY_TOLERANCE,
                                      "accuracy rises as ε grows")
    return _outcome(found(), "one attack at two or more ε")


def _iterative(results: list[Result], like: Result) -> list[Result]:
    """The iterative and ensemble (AutoAttack) results at ``like``'s norm, ε and ``attack_on``."""
    return [r for r in results if r.kind in ("iterative", "ensemble") and like.same_threat(r)]


def check_one_step_above_iterative(results: list[Result]) -> Outcome:
    """FGSM/FGM must not leave far more accuracy than the strongest iterative attack (BIM, PGD, AutoAttack) at its ε.

    Flags when ``acc(one-step) − min acc(iterative) > ONE_STEP_GAP_TOLERANCE`` on the common samples:
    the journal's "FGSM 90 %" case, where the one-step number is not a robustness figure.
    """
    def found() -> Iterator[Flag | None]:
        for one in (r for r in results if r.kind == "one_step"):
            compared = [(rival, pair) for rival in _iterative(results, one) if (pair := paired(one, rival))]
            if not compared:
                continue
            strongest, (mine, theirs, count) = min(compared, key=lambda item: item[1][1])
            if mine - theirs > ONE_STEP_GAP_TOLERANCE:
                yield Flag("one_step_above_iterative",
                           f"{one.setting} leaves {mine:.1%} accuracy, {100 * (mine - theirs):.1f} points above "
                           f"{strongest.setting} ({theirs:.1%}, on {count} common samples): the one-step attack is "
                           "not a robustness figure", (one.setting, strongest.setting))
            else:
                yield None
    return _outcome(found(), "a one-step attack (fgsm, fgm_l2) and an iterative one (bim, pgd, autoattack) at its ε")


def check_one_step_beats_iterative(results: list[Result]) -> Outcome:
    """A one-step attack (FGSM) must not beat an iterative one (BIM, PGD) at the same ε."""
    def found() -> Iterator[Flag | None]:
        for one in (r for r in results if r.kind == "one_step"):
            for iterative in (r for r in results if r.kind == "iterative" and one.same_threat(r)):
                yield from _beats("one_step_beats_iterative", one, iterative, ACCURACY_TOLERANCE,
                                  "the one-step attack beats the iterative one")
    return _outcome(found(), "a one-step and an iterative attack at the same ε")


def check_not_converged(results: list[Result]) -> Outcome:
    """A stronger configuration of the same threat must not lower the accuracy by more than ``CONVERGENCE_TOLERANCE``.

    Configurations of ``CONVERGENCE_ATTACKS`` at one norm, ε and ``attack_on`` are ordered by
    their gradient steps (``nb_iter × restarts``; AutoAttack strongest); the weaker one is flagged
    when ``acc(weaker) − acc(stronger) > CONVERGENCE_TOLERANCE``: its number is not converged.
    """
    def found() -> Iterator[Flag | None]:
        ranked = [(r, CONVERGENCE_ATTACKS[r.data["attack"]](r.data["parameters"])) for r in results
                  if r.data["attack"] in CONVERGENCE_ATTACKS]
        for (a, budget_a), (b, budget_b) in combinations(ranked, 2):
            if a.same_threat(b) and budget_a != budget_b:
                (weak, _), (strong, _) = sorted(((a, budget_a), (b, budget_b)), key=lambda item: item[1])
                yield from _beats("not_converged", strong, weak, CONVERGENCE_TOLERANCE,
                                  f"{weak.setting} has not converged; the stronger configuration lowers the accuracy")
    return _outcome(found(), "two configurations of one iterative threat at the same ε (bim and pgd strong, "
                             "or autoattack)")


def _cross(results: list[Result], check: str, kinds: tuple[str, ...], what: str, needs: str) -> Outcome:
    """Flag a result of ``kinds`` that leaves less accuracy than every white-box result of its threat model."""
    def found() -> Iterator[Flag | None]:
        for candidate in (r for r in results if r.kind in kinds):
            rivals = [r for r in results if r.kind in WHITE_BOX_KINDS and candidate.same_threat(r)]
            compared = [(rival, pair) for rival in rivals if (pair := paired(candidate, rival))]
            if not compared:
                continue
            if all(mine < theirs - ACCURACY_TOLERANCE for _, (mine, theirs, _) in compared):
                others = ", ".join(f"{rival.setting} {theirs:.1%}" for rival, (_, theirs, _) in compared)
                yield Flag(check, f"{candidate.setting} leaves {compared[0][1][0]:.1%} accuracy, less than every "
                                  f"white-box attack at its bound ({others}): {what}",
                           (candidate.setting, *(rival.setting for rival, _ in compared)))
            else:
                yield None
    return _outcome(found(), needs)


def check_black_box_beats_white_box(results: list[Result]) -> Outcome:
    """The black-box attack (SPSA) must not beat every white-box attack at the same ε."""
    return _cross(results, "black_box_beats_white_box", ("black_box",),
                  "the gradient-free attack beats the gradient attacks", "SPSA and a white-box attack at the same ε")


def check_transfer_beats_white_box(results: list[Result]) -> Outcome:
    """Examples transferred from a surrogate must not beat every white-box attack on the model itself."""
    return _cross(results, "transfer_beats_white_box", ("transfer",),
                  "examples crafted on another model beat the model's own gradients",
                  "a transfer and a white-box attack at the same ε")


def check_unbounded(results: list[Result]) -> Outcome:
    """An unbounded attack (L∞ ε = 1, ``eps: unbounded``; C&W with an open binary search) must reach ≈0 accuracy."""
    def found() -> Iterator[Flag | None]:
        for result in (r for r in _attacks(results) if r.data["unbounded"]):
            accuracy = result.data["adv_accuracy"]
            yield Flag("unbounded_not_zero", f"{result.setting} is unbounded but leaves {accuracy:.1%} accuracy "
                                             f"(> {UNBOUNDED_MAX_ACCURACY:.0%})",
                       (result.setting,)) if accuracy > UNBOUNDED_MAX_ACCURACY else None
    return _outcome(found(), "an unbounded attack (L∞ ε = 1, or C&W whose search reaches c ≥ 10)")


def check_noise(results: list[Result]) -> Outcome:
    """An attack must leave less accuracy than uniform ±ε noise (Carlini et al. 2019 §5).

    For every white-box or black-box result and a ``uniform_noise`` result at the same norm and ε:
    flagged when ``acc(attack) > acc(noise) − NOISE_TOLERANCE`` on the common samples, unless the
    attack leaves at most ``UNBOUNDED_MAX_ACCURACY`` (nothing left to fool: passed).
    """
    def found() -> Iterator[Flag | None]:
        noises = [r for r in results if r.kind == "noise"]
        for attack in (r for r in results if r.kind in (*WHITE_BOX_KINDS, "black_box")):
            for noise in (n for n in noises if attack.same_bound(n)):
                if attack.data["adv_accuracy"] <= UNBOUNDED_MAX_ACCURACY:
                    yield None  # nothing left to fool: passed
                    continue
                # acc(attack) > acc(noise) − tolerance  ⟺  acc(noise) < acc(attack) − (−tolerance)
                yield from _beats("noise_not_beaten", noise, attack, -NOISE_TOLERANCE,
                                  f"{attack.setting} does no better than random noise")
    return _outcome(found(), "uniform_noise at the ε of an attack")


def check_zero_gradients(results: list[Result]) -> Outcome:
    """At most ``ZERO_GRADIENT_TOLERANCE`` of the samples may have a zero or non-finite input gradient of the loss."""
    def found() -> Iterator[Flag | None]:
        for result in results:
            fraction = result.data.get("zero_gradient_fraction")
            if fraction is None:
                continue
            yield Flag("zero_gradients", f"{result.setting}: {fraction:.1%} of the samples have a zero or non-finite "
                                         f"input gradient (> {ZERO_GRADIENT_TOLERANCE:.0%}): gradients are masked",
                       (result.setting,)) if fraction > ZERO_GRADIENT_TOLERANCE else None
    return _outcome(found(), "a white-box attack result with its zero_gradient_fraction")


def check_l2_threat(results: list[Result]) -> Outcome:
    """FGM-L2 must not leave less accuracy than C&W at FGM-L2's ε (C&W's per-sample L2 norms, ``robust_within``)."""
    def found() -> Iterator[Flag | None]:
        carlini = [r for r in results if r.data["attack"] == "cw_l2"]
        for fgm in (r for r in results if r.data["attack"] == "fgm_l2"):
            for cw in (c for c in carlini if c.data["attack_on"] == fgm.data["attack_on"]):
                yield from _beats("l2_threat", fgm, cw, ACCURACY_TOLERANCE,
                                  f"C&W within L2 ε={fgm.eps:g} is weaker than one gradient step",
                                  b_values=robust_within(cw, fgm.eps))
    return _outcome(found(), "fgm_l2 and cw_l2 through the same attack_on")


def check_probs_gap(results: list[Result]) -> Outcome:
    """Attacking the probabilities must not leave clearly higher accuracy than attacking the scores (SPEC §2)."""
    def found() -> Iterator[Flag | None]:
        for a, b in combinations(_attacks(results), 2):
            if a.data["attack_on"] != b.data["attack_on"] and _settings_key(a, "attack_on") == _settings_key(
                    b, "attack_on"):
                scores, probs = (a, b) if a.data["attack_on"] == "scores" else (b, a)
                yield from _beats("probs_gap", scores, probs, PROBS_GAP_TOLERANCE,
                                  "the attack through the probabilities is much weaker (saturated outputs)")
    return _outcome(found(), "one attack through the scores and through the probabilities")


@dataclass(frozen=True)
class Check:
    """A registered check: table marker (Unicode and LaTeX math), one-line description, and its function."""

    marker: str
    latex: str
    description: str
    run: Callable[[list[Result]], Outcome]


CHECKS: dict[str, Check] = {
    "one_step_above_iterative": Check(
        "‡", r"\ddag", f"a one-step attack (FGSM) leaves more than {100 * ONE_STEP_GAP_TOLERANCE:.0f} points more "
                       "accuracy than the strongest iterative one at its ε", check_one_step_above_iterative),
    "not_converged": Check("♯", r"\sharp", f"a stronger configuration of the same threat (PGD strong, AutoAttack) "
                                           f"lowers accuracy by more than {100 * CONVERGENCE_TOLERANCE:.0f} points",
                           check_not_converged),
    "eps_monotonic": Check("†", r"\dag", "accuracy rises as ε grows (same attack)", check_eps_monotonic),
    "one_step_beats_iterative": Check("♭", r"\flat", "a one-step attack (FGSM) beats an iterative one at the same ε",
                                      check_one_step_beats_iterative),
    "black_box_beats_white_box": Check("§", r"\S", "the black-box attack (SPSA) beats the white-box attacks",
                                       check_black_box_beats_white_box),
    "transfer_beats_white_box": Check("‖", r"\|", "transfer from a surrogate beats the white-box attacks",
                                      check_transfer_beats_white_box),
    "unbounded_not_zero": Check("¶", r"\P", f"an unbounded attack leaves more than {UNBOUNDED_MAX_ACCURACY:.0%} "
                                            "accuracy", check_unbounded),
    "noise_not_beaten": Check("◊", r"\diamond", "the attack does no better than uniform random noise at its ε",
                              check_noise),
    "zero_gradients": Check("∅", r"\emptyset", f"more than {ZERO_GRADIENT_TOLERANCE:.0%} of the samples have a zero "
                                               "or non-finite input gradient", check_zero_gradients),
    "l2_threat": Check("♮", r"\natural", "FGM-L2 leaves less accuracy than C&W within the same L2 ε",
                       check_l2_threat),
    "probs_gap": Check("°", r"\circ", "attacking the probabilities leaves clearly higher accuracy than the "
                                      "scores (saturated outputs)", check_probs_gap),
}


def verdict(statuses: list[dict[str, Any]], flags: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """``suspect`` (any flag), else ``not evaluated`` (any check without inputs), else ``robust``; and the evidence."""
    if flags:
        return "suspect", [f"{flag['marker']} {flag['check']}: {flag['message']}" for flag in flags]
    missing = [f"{s['check']}: not evaluated, {s['reason']}" for s in statuses if s["status"] == "not_evaluated"]
    if missing:
        return "not evaluated", missing
    return "robust", [f"all {len(statuses)} checks passed"]


def run_checks(results: list[Result]) -> dict[str, Any]:
    """Every check of ``CHECKS`` over one model's results: status, flags, worst case, verdict with its evidence."""
    models = {(r.data["model"], r.data["dataset"], r.data["model_ref"]["weights_sha256"]) for r in results}
    if len(models) > 1:
        raise UserError(f"checks need the results of one model; got {len(models)}: "
                        f"{', '.join(sorted(f'{m}/{d}' for m, d, _ in models))}")
    flags, statuses = [], []
    for name, check in CHECKS.items():
        outcome = check.run(results)
        status = "not_evaluated" if outcome.comparisons == 0 else "flagged" if outcome.flags else "passed"
        statuses.append({"check": name, "marker": check.marker, "description": check.description, "status": status,
                         "comparisons": outcome.comparisons,
                         "reason": f"needs {outcome.needs}" if status == "not_evaluated" else None})
        flags += [{"check": name, "marker": check.marker, "message": flag.message, "settings": list(flag.settings)}
                  for flag in outcome.flags]
    (model, dataset, _), = models
    word, evidence = verdict(statuses, flags)
    return {
        "schema_version": SCHEMA_VERSION,
        "model": model,
        "dataset": dataset,
        "results": [r.setting for r in results],
        "verdict": word,
        "evidence": evidence,
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
    report = run_checks([load_result(Path(path)) for path in result_paths])
    report["provenance"] = collect_provenance({"results": [str(path) for path in result_paths]})
    atomic_write_json(Path(out_path), report)
    return report
