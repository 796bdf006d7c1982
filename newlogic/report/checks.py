"""Gradient-masking checks over one model's attack results → ``checks.json`` (Carlini et al. 2019; Athalye et al. 2018).

Each check compares adversarial accuracies of the model's results on the test samples they share
(the per-sample ``.npz`` beside each result) and raises a flag when a stronger attack does
worse than a weaker one by more than the check's tolerance, or when an unbounded attack leaves
the model accurate. A check with nothing to compare (a missing result) is reported as not
evaluated, never as passed. ``CHECKS`` gives each its table marker and a one-line description;
the tables print the markers of the flags next to the settings involved, with a legend.
"""

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from newlogic.attacks.base import WHITE_BOX_KINDS
from newlogic.errors import UserError
from newlogic.store.atomic import atomic_write_json
from newlogic.store.provenance import collect_provenance

SCHEMA_VERSION = 1
ACCURACY_TOLERANCE = 0.01  # one point: smaller differences are not flagged [project]
PROBS_GAP_TOLERANCE = 0.05  # attacking the probabilities is a different loss: five points [project]
UNBOUNDED_MAX_ACCURACY = 0.02  # "≈0 %" for an unbounded attack [project]


@dataclass(frozen=True)
class Result:
    """One result JSON with its per-sample correctness: ``adv_correct`` by test-set ``index``."""

    path: Path
    data: dict[str, Any]
    index: np.ndarray
    adv_correct: np.ndarray

    @property
    def setting(self) -> str:
        return self.data["setting"]

    @property
    def eps(self) -> float | None:
        return self.data["eps"]

    def same_threat(self, other: "Result") -> bool:
        """Same norm, same ε (both bounded) and same ``attack_on``."""
        return (self.data["norm"] == other.data["norm"] and self.eps is not None and other.eps is not None
                and math.isclose(self.eps, other.eps) and self.data["attack_on"] == other.data["attack_on"])


def paired_accuracies(a: Result, b: Result) -> tuple[float, float, int] | None:
    """Adversarial accuracies of ``a`` and ``b`` on the samples both attacked, and their number (None: none)."""
    common = np.intersect1d(a.index, b.index)
    if len(common) == 0:
        return None
    return (float(a.adv_correct[np.isin(a.index, common)].mean()),
            float(b.adv_correct[np.isin(b.index, common)].mean()), len(common))


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


def _beats(check: str, a: Result, b: Result, tolerance: float, what: str) -> Iterator[Flag | None]:
    """A flag if ``a`` (the attack that should be weaker) leaves less accuracy than ``b`` by more than ``tolerance``.

    Yields None when the comparison was made and passed (so it counts), nothing when no sample is shared.
    """
    pair = paired_accuracies(a, b)
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


def _settings_key(result: Result, *drop: str) -> str:
    """The attack, preset, ``attack_on`` and overrides of a result, without the keys in ``drop``, as a string."""
    setting = {"attack": result.data["attack"], "preset": result.data["preset"], **result.data["overrides"],
               "attack_on": result.data["attack_on"]}
    return json.dumps({key: value for key, value in setting.items() if key not in drop}, sort_keys=True)


def check_eps_monotonic(results: list[Result]) -> Outcome:
    """Same attack and parameters but ε: accuracy must not rise with ε."""
    def found() -> Iterator[Flag | None]:
        groups: dict[str, list[Result]] = {}
        for result in results:
            if result.eps is not None:
                groups.setdefault(_settings_key(result, "eps"), []).append(result)
        for group in groups.values():
            group.sort(key=lambda r: r.eps)
            for small, large in zip(group, group[1:], strict=False):
                if not math.isclose(small.eps, large.eps):
                    yield from _beats("eps_monotonic", small, large, ACCURACY_TOLERANCE,
                                      "accuracy rises as ε grows")
    return _outcome(found(), "one attack at two or more ε")


def _cross(results: list[Result], check: str, kinds: tuple[str, ...], what: str, needs: str) -> Outcome:
    """Flag a result of ``kinds`` that leaves less accuracy than every white-box result of its threat model."""
    def found() -> Iterator[Flag | None]:
        for candidate in (r for r in results if r.data["attack_kind"] in kinds):
            rivals = [r for r in results if r.data["attack_kind"] in WHITE_BOX_KINDS and candidate.same_threat(r)]
            compared = [(rival, pair) for rival in rivals if (pair := paired_accuracies(candidate, rival))]
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


def check_one_step_beats_iterative(results: list[Result]) -> Outcome:
    """A one-step attack (FGSM) must not beat an iterative one (BIM, PGD) at the same ε."""
    def found() -> Iterator[Flag | None]:
        for one in (r for r in results if r.data["attack_kind"] == "one_step"):
            for iterative in (r for r in results if r.data["attack_kind"] == "iterative" and one.same_threat(r)):
                yield from _beats("one_step_beats_iterative", one, iterative, ACCURACY_TOLERANCE,
                                  "the one-step attack beats the iterative one")
    return _outcome(found(), "a one-step and an iterative attack at the same ε")


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
    """An unbounded attack (L∞ ε ≥ 1, C&W with an open binary search) must bring the accuracy to ≈0."""
    def found() -> Iterator[Flag | None]:
        for result in (r for r in results if r.data["unbounded"]):
            accuracy = result.data["adv_accuracy"]
            yield Flag("unbounded_not_zero", f"{result.setting} is unbounded but leaves {accuracy:.1%} accuracy "
                                             f"(> {UNBOUNDED_MAX_ACCURACY:.0%})",
                       (result.setting,)) if accuracy > UNBOUNDED_MAX_ACCURACY else None
    return _outcome(found(), "an unbounded attack (L∞ ε ≥ 1, or C&W whose search reaches c ≥ 10)")


def check_probs_gap(results: list[Result]) -> Outcome:
    """Attacking the probabilities must not leave clearly higher accuracy than attacking the scores (SPEC §2)."""
    def found() -> Iterator[Flag | None]:
        for a, b in combinations(results, 2):
            if a.data["attack_on"] != b.data["attack_on"] and _settings_key(a, "attack_on") == _settings_key(
                    b, "attack_on"):
                scores, probs = (a, b) if a.data["attack_on"] == "scores" else (b, a)
                yield from _beats("probs_gap", scores, probs, PROBS_GAP_TOLERANCE,
                                  "the attack through the probabilities is much weaker (saturated outputs)")
    return _outcome(found(), "one attack through the scores and through the probabilities")


@dataclass(frozen=True)
class Check:
    """A registered check: table marker (Unicode and LaTeX), one-line description, and its function."""

    marker: str
    latex: str
    description: str
    run: Callable[[list[Result]], Outcome]


CHECKS: dict[str, Check] = {
    "eps_monotonic": Check("†", r"\dag", "accuracy rises as ε grows (same attack)", check_eps_monotonic),
    "one_step_beats_iterative": Check("‡", r"\ddag", "a one-step attack (FGSM) beats an iterative one at the same ε",
                                      check_one_step_beats_iterative),
    "black_box_beats_white_box": Check("§", r"\S", "the black-box attack (SPSA) beats the white-box attacks",
                                       check_black_box_beats_white_box),
    "unbounded_not_zero": Check("¶", r"\P", "an unbounded attack leaves accuracy above ≈0", check_unbounded),
    "transfer_beats_white_box": Check("‖", r"\|", "transfer from a surrogate beats the white-box attacks",
                                      check_transfer_beats_white_box),
    "probs_gap": Check("°", r"\textdegree", "attacking the probabilities leaves clearly higher accuracy than the "
                                            "scores (saturated outputs)", check_probs_gap),
}


def load_result(path: Path) -> Result:
    """A result JSON and the ``index`` and ``adv_correct`` arrays of its ``.npz``."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"result file {path} not found; run 'newlogic attack' for it first")
    data = json.loads(path.read_text())
    if data.get("schema_version") != SCHEMA_VERSION or not data.get("complete"):
        raise UserError(f"{path} is not a complete result of schema_version {SCHEMA_VERSION}")
    samples_path = path.with_name(data["samples_file"])
    if not samples_path.is_file():
        raise UserError(f"{path}: its per-sample file {samples_path} is missing; rerun the attack")
    with np.load(samples_path) as samples:
        return Result(path, data, samples["index"], samples["adv_correct"])


def run_checks(results: list[Result]) -> dict[str, Any]:
    """Every check of ``CHECKS`` over one model's results: its status, the flags, what was not evaluated."""
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
    return {
        "schema_version": SCHEMA_VERSION,
        "model": model,
        "dataset": dataset,
        "results": [r.setting for r in results],
        "flagged": bool(flags),
        "flags": flags,
        "checks": statuses,
        "not_evaluated": [s["check"] for s in statuses if s["status"] == "not_evaluated"],
    }


def write_checks(result_paths: list[Path], out_path: Path) -> dict[str, Any]:
    """Run the checks over the results of one model and write ``checks.json`` atomically; returns its content."""
    if not result_paths:
        raise UserError("checks need at least one result file")
    report = run_checks([load_result(Path(path)) for path in result_paths])
    report["provenance"] = collect_provenance({"results": [str(path) for path in result_paths]})
    atomic_write_json(Path(out_path), report)
    return report
