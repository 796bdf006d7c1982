"""Gradient-masking checks: a deliberately masked model is flagged, the plain model is not; each check by hand."""

import json
from pathlib import Path

import numpy as np
import pytest

from newlogic.errors import UserError
from newlogic.evaluation.evaluate import run_attack_setting
from newlogic.report.checks import CHECKS, write_checks

# Enough to tell masking from robustness on 20 digits images: gradient attacks at two ε, an
# unbounded BIM (ε = 1), and a small SPSA with a large step so that it can move in 10 iterations.
SETTINGS = {
    "fgsm_0.1": {"attack": "fgsm", "eps": 0.1},
    "fgsm_0.3": {"attack": "fgsm", "eps": 0.3},
    "bim_0.3": {"attack": "bim", "eps": 0.3},
    "bim_1": {"attack": "bim", "eps": 1.0},
    "spsa_0.3": {"attack": "spsa", "eps": 0.3, "nb_iter": 10, "spsa_samples": 32, "learning_rate": 0.1},
}


def _checks_of(model_dir: Path, out_dir: Path) -> dict:
    paths = []
    for name, setting in SETTINGS.items():
        path = out_dir / f"{name}.json"
        run_attack_setting(model_dir, setting, path, data_dir=out_dir, device="cpu", limit=20, batch_size=None,
                           seed=0, surrogate_dir=None)
        paths.append(path)
    report = write_checks(paths, out_dir / "checks.json")
    assert json.loads((out_dir / "checks.json").read_text()) == report
    return report


def test_the_masked_model_is_flagged_and_the_plain_model_is_not(digits_model_dir: Path, masked_model_dir: Path,
                                                                tmp_path: Path) -> None:
    plain = _checks_of(digits_model_dir, tmp_path / "plain")
    assert plain["flags"] == [] and plain["flagged"] is False
    status = {check["check"]: check["status"] for check in plain["checks"]}
    assert status == {"eps_monotonic": "passed", "one_step_beats_iterative": "passed",
                      "black_box_beats_white_box": "passed", "unbounded_not_zero": "passed",
                      "transfer_beats_white_box": "not_evaluated", "probs_gap": "not_evaluated"}
    assert plain["not_evaluated"] == ["transfer_beats_white_box", "probs_gap"]

    masked = _checks_of(masked_model_dir, tmp_path / "masked")
    flagged = {flag["check"]: flag for flag in masked["flags"]}
    assert set(flagged) == {"black_box_beats_white_box", "unbounded_not_zero"}
    assert flagged["unbounded_not_zero"]["settings"] == ["bim_1"]
    assert flagged["black_box_beats_white_box"]["settings"][0] == "spsa_0.3"
    assert flagged["black_box_beats_white_box"]["marker"] == CHECKS["black_box_beats_white_box"].marker


def write_result(folder: Path, setting: str, correct: list[int], *, attack: str, kind: str, eps: float | None,
                 index: list[int] | None = None, attack_on: str = "scores", unbounded: bool = False,
                 model: str = "relu", norm: str = "linf") -> Path:
    """A minimal result (the fields the checks read) with per-sample correctness ``correct`` at ``index``."""
    path = folder / f"{setting}.json"
    overrides = {"eps": eps} if eps is not None else {}
    if attack_on != "scores":
        overrides["attack_on"] = attack_on
    result = {"schema_version": 1, "complete": True, "setting": setting, "model": model, "dataset": "digits",
              "model_ref": {"weights_sha256": model}, "attack": attack, "attack_kind": kind, "norm": norm, "eps": eps,
              "unbounded": unbounded, "preset": "paper", "overrides": overrides, "attack_on": attack_on,
              "adv_accuracy": float(np.mean(correct)), "samples_file": f"{setting}.npz"}
    path.write_text(json.dumps(result))
    np.savez(path.with_suffix(".npz"), index=np.array(index if index is not None else range(len(correct))),
             adv_correct=np.array(correct, dtype=bool))
    return path


def flags_of(paths: list[Path], tmp_path: Path) -> dict[str, list[list[str]]]:
    report = write_checks(paths, tmp_path / "checks.json")
    found: dict[str, list[list[str]]] = {}
    for flag in report["flags"]:
        found.setdefault(flag["check"], []).append(flag["settings"])
    return found


def test_accuracy_rising_with_eps_is_flagged_beyond_one_point(tmp_path: Path) -> None:
    paths = [write_result(tmp_path, "fgsm_0.1", [1] * 50 + [0] * 50, attack="fgsm", kind="one_step", eps=0.1),
             write_result(tmp_path, "fgsm_0.2", [1] * 51 + [0] * 49, attack="fgsm", kind="one_step", eps=0.2),
             write_result(tmp_path, "fgsm_0.3", [1] * 60 + [0] * 40, attack="fgsm", kind="one_step", eps=0.3)]
    assert flags_of(paths, tmp_path) == {"eps_monotonic": [["fgsm_0.2", "fgsm_0.3"]]}


def test_one_step_beating_iterative_at_the_same_eps_is_flagged(tmp_path: Path) -> None:
    paths = [write_result(tmp_path, "fgsm_0.3", [1] * 10 + [0] * 90, attack="fgsm", kind="one_step", eps=0.3),
             write_result(tmp_path, "bim_0.3", [1] * 40 + [0] * 60, attack="bim", kind="iterative", eps=0.3),
             write_result(tmp_path, "bim_0.1", [1] * 80 + [0] * 20, attack="bim", kind="iterative", eps=0.1)]
    assert flags_of(paths, tmp_path) == {"one_step_beats_iterative": [["fgsm_0.3", "bim_0.3"]]}


def test_black_box_and_transfer_are_flagged_only_when_beating_every_white_box_attack(tmp_path: Path) -> None:
    white = [write_result(tmp_path, "fgsm", [1] * 60 + [0] * 40, attack="fgsm", kind="one_step", eps=0.3),
             write_result(tmp_path, "bim", [1] * 20 + [0] * 80, attack="bim", kind="iterative", eps=0.3)]
    weak_spsa = write_result(tmp_path, "spsa", [1] * 30 + [0] * 70, attack="spsa", kind="black_box", eps=0.3)
    assert flags_of([*white, weak_spsa], tmp_path) == {}
    strong_spsa = write_result(tmp_path, "spsa", [1] * 5 + [0] * 95, attack="spsa", kind="black_box", eps=0.3)
    transfer = write_result(tmp_path, "transfer", [1] * 10 + [0] * 90, attack="transfer", kind="transfer", eps=0.3)
    assert flags_of([*white, strong_spsa, transfer], tmp_path) == {
        "black_box_beats_white_box": [["spsa", "fgsm", "bim"]],
        "transfer_beats_white_box": [["transfer", "fgsm", "bim"]],
    }


def test_comparisons_use_the_samples_both_results_attacked(tmp_path: Path) -> None:
    # SPSA on samples 0–9 (all fooled); BIM on 0–19, fooled on 0–9, not on 10–19: equal on the common samples.
    spsa = write_result(tmp_path, "spsa", [0] * 10, attack="spsa", kind="black_box", eps=0.3)
    bim = write_result(tmp_path, "bim", [0] * 10 + [1] * 10, attack="bim", kind="iterative", eps=0.3)
    report = write_checks([spsa, bim], tmp_path / "checks.json")
    assert report["flags"] == []
    assert {c["check"]: c["comparisons"] for c in report["checks"]}["black_box_beats_white_box"] == 1
    disjoint = write_result(tmp_path, "fgsm", [1] * 10, attack="fgsm", kind="one_step", eps=0.3,
                            index=list(range(50, 60)))
    report = write_checks([spsa, disjoint], tmp_path / "checks.json")
    assert "black_box_beats_white_box" in report["not_evaluated"]


def test_unbounded_attacks_must_reach_about_zero_and_probs_must_not_mask(tmp_path: Path) -> None:
    paths = [write_result(tmp_path, "bim_1", [1] * 3 + [0] * 97, attack="bim", kind="iterative", eps=1.0,
                          unbounded=True),
             write_result(tmp_path, "cw", [1] * 2 + [0] * 98, attack="cw_l2", kind="iterative", eps=None,
                          unbounded=True, norm="l2"),
             write_result(tmp_path, "bim_scores", [1] * 20 + [0] * 80, attack="bim", kind="iterative", eps=0.3),
             write_result(tmp_path, "bim_probs", [1] * 26 + [0] * 74, attack="bim", kind="iterative", eps=0.3,
                          attack_on="probs")]
    assert flags_of(paths, tmp_path) == {"unbounded_not_zero": [["bim_1"]], "probs_gap": [["bim_scores", "bim_probs"]]}


def test_results_of_several_models_or_missing_files_are_user_errors(tmp_path: Path) -> None:
    one = write_result(tmp_path, "a", [1, 0], attack="fgsm", kind="one_step", eps=0.3)
    other = write_result(tmp_path, "b", [1, 0], attack="fgsm", kind="one_step", eps=0.1, model="relog")
    with pytest.raises(UserError, match="one model"):
        write_checks([one, other], tmp_path / "checks.json")
    with pytest.raises(UserError, match="not found"):
        write_checks([tmp_path / "missing.json"], tmp_path / "checks.json")
    report = write_checks([one], tmp_path / "checks.json")
    assert report["not_evaluated"] == list(CHECKS) and report["flagged"] is False


def test_every_check_has_its_own_marker_and_a_description() -> None:
    assert len({check.marker for check in CHECKS.values()}) == len(CHECKS)
    assert all(check.description and check.latex for check in CHECKS.values())
