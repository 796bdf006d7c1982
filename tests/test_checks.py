"""Gradient-masking checks: a deliberately masked model is flagged, the plain model is not; each check by hand."""

import json
from pathlib import Path

import pytest
from result_fixtures import fake_result

from newlogic.cli import main
from newlogic.errors import UserError
from newlogic.evaluation.evaluate import run_attack_setting
from newlogic.report.checks import CHECKS, write_checks

# Every check's inputs on 20 digits images: gradient attacks at two ε, BIM against PGD (stronger: more steps and
# restarts), an unbounded BIM (ε = 1), a small SPSA with a large step so that it can move in 10 iterations,
# uniform noise at each ε, FGM-L2 against C&W, FGSM through the probabilities, and a transfer from a surrogate.
SETTINGS = {
    "fgsm_0.1": {"attack": "fgsm", "eps": 0.1},
    "fgsm_0.3": {"attack": "fgsm", "eps": 0.3},
    "fgsm_0.3_probs": {"attack": "fgsm", "eps": 0.3, "attack_on": "probs"},
    "bim_0.1": {"attack": "bim", "eps": 0.1},
    "bim_0.3": {"attack": "bim", "eps": 0.3},
    "pgd_0.3": {"attack": "pgd", "preset": "strong", "eps": 0.3, "nb_iter": 10, "restarts": 2},
    "bim_1": {"attack": "bim", "eps": 1.0},
    "spsa_0.3": {"attack": "spsa", "eps": 0.3, "nb_iter": 10, "spsa_samples": 32, "learning_rate": 0.1},
    "noise_0.1": {"attack": "uniform_noise", "eps": 0.1},
    "noise_0.3": {"attack": "uniform_noise", "eps": 0.3},
    "fgm_l2": {"attack": "fgm_l2", "eps": 2.0},
    "cw_l2": {"attack": "cw_l2"},
    "transfer_0.3": {"attack": "transfer", "eps": 0.3},
}


def _checks_of(model_dir: Path, out_dir: Path, surrogate_dir: Path) -> dict:
    for name, setting in SETTINGS.items():
        surrogate = surrogate_dir if setting["attack"] == "transfer" else None
        run_attack_setting(model_dir, setting, out_dir / f"{name}.json", data_dir=out_dir, device="cpu", limit=20,
                           batch_size=None, seed=0, surrogate_dir=surrogate)
    assert main(["checks", "--results", str(out_dir)]) == 0  # the folder: every result in it
    report = json.loads((out_dir / "checks.json").read_text())
    assert sorted(report["results"]) == sorted(SETTINGS)
    return report


def test_the_masked_model_is_flagged_and_the_plain_model_is_not(digits_model_dir: Path, masked_model_dir: Path,
                                                                tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    plain = _checks_of(digits_model_dir, tmp_path / "plain", digits_model_dir)
    assert plain["flags"] == [] and plain["flagged"] is False, plain["flags"]
    assert plain["not_evaluated"] == [] and {c["status"] for c in plain["checks"]} == {"passed"}
    assert plain["verdict"] == "robust"
    assert {case["column"] for case in plain["worst_case"]} == {"worst_linf_0.1", "worst_linf_0.3", "worst_linf_1",
                                                                "worst_l2_2"}
    assert capsys.readouterr().out.splitlines()[0] == "relu: robust"

    masked = _checks_of(masked_model_dir, tmp_path / "masked", digits_model_dir)
    flagged = {flag["check"]: flag for flag in masked["flags"]}
    assert {"zero_gradients", "noise_not_beaten", "black_box_beats_white_box", "unbounded_not_zero"} <= set(flagged)
    assert flagged["unbounded_not_zero"]["settings"] == ["bim_1"]
    assert flagged["black_box_beats_white_box"]["settings"][0] == "spsa_0.3"
    assert flagged["black_box_beats_white_box"]["marker"] == CHECKS["black_box_beats_white_box"].marker
    assert masked["verdict"] == "suspect"
    out = capsys.readouterr().out
    assert out.startswith("relu: suspect") and "zero_gradients" in out and "noise_not_beaten" in out


def write_result(folder: Path, setting: str, correct: list[int], *, attack: str, kind: str | None = None,
                 eps: float | None, **options) -> Path:
    """A result at ``folder/setting.json`` (``kind`` is implied by ``attack``; kept for readability)."""
    path = fake_result(folder / f"{setting}.json", correct, attack=attack, eps=eps, **options)
    assert kind is None or json.loads(path.read_text())["attack_kind"] == kind
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
    white = [write_result(tmp_path, "fgsm", [1] * 40 + [0] * 60, attack="fgsm", kind="one_step", eps=0.3),
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


def correct(accuracy: float, count: int = 100) -> list[int]:
    """Per-sample correctness with the first ``accuracy · count`` samples right."""
    right = round(accuracy * count)
    return [1] * right + [0] * (count - right)


def test_the_papers_minout_row_is_flagged(tmp_path: Path) -> None:
    # the paper's MNIST "+ MinOut" row: FGM-L∞ 0.66, BIM 0.16, SPSA 0.52 (all at ε = 0.3); it passed every old check
    paths = [write_result(tmp_path, "fgsm_0.3", correct(0.66), attack="fgsm", eps=0.3),
             write_result(tmp_path, "bim_0.3", correct(0.16), attack="bim", eps=0.3),
             write_result(tmp_path, "spsa_0.3", correct(0.52), attack="spsa", eps=0.3)]
    report = write_checks(paths, tmp_path / "checks.json")
    assert [flag["check"] for flag in report["flags"]] == ["one_step_above_iterative"]
    assert report["flags"][0]["settings"] == ["fgsm_0.3", "bim_0.3"]
    assert "50.0 points above bim_0.3" in report["flags"][0]["message"]
    assert report["verdict"] == "suspect" and report["evidence"][0].startswith("‡ one_step_above_iterative")


def test_one_step_above_the_strongest_iterative_attack_is_flagged_beyond_its_tolerance(tmp_path: Path) -> None:
    fgsm = write_result(tmp_path, "fgsm_0.3", correct(0.50), attack="fgsm", eps=0.3)
    bim = write_result(tmp_path, "bim_0.3", correct(0.30), attack="bim", eps=0.3)
    assert flags_of([fgsm, bim], tmp_path) == {}  # 20 points: within ONE_STEP_GAP_TOLERANCE
    pgd = write_result(tmp_path, "pgd_0.3", correct(0.15), attack="pgd", eps=0.3)
    assert flags_of([fgsm, bim, pgd], tmp_path) == {"one_step_above_iterative": [["fgsm_0.3", "pgd_0.3"]],
                                                    "not_converged": [["pgd_0.3", "bim_0.3"]]}
    other_eps = write_result(tmp_path, "pgd_0.1", correct(0.0), attack="pgd", eps=0.1)
    assert "one_step_above_iterative" not in flags_of([fgsm, bim, other_eps], tmp_path)


def test_a_stronger_configuration_lowering_accuracy_means_not_converged(tmp_path: Path) -> None:
    bim = write_result(tmp_path, "bim_0.3", correct(0.30), attack="bim", eps=0.3)
    close = write_result(tmp_path, "pgd_0.3", correct(0.27), attack="pgd", eps=0.3)
    assert flags_of([bim, close], tmp_path) == {}  # 3 points: within CONVERGENCE_TOLERANCE
    auto = write_result(tmp_path, "aa_0.3", correct(0.20), attack="autoattack", eps=0.3)
    assert flags_of([bim, close, auto], tmp_path) == {"not_converged": [["aa_0.3", "bim_0.3"], ["aa_0.3", "pgd_0.3"]]}
    report = write_checks([bim], tmp_path / "checks.json")
    assert "not_converged" in report["not_evaluated"] and report["verdict"] == "not evaluated"


def test_an_attack_no_better_than_random_noise_is_flagged(tmp_path: Path) -> None:
    noise = write_result(tmp_path, "noise_0.3", correct(0.80), attack="uniform_noise", eps=0.3)
    good = write_result(tmp_path, "bim_0.3", correct(0.55), attack="bim", eps=0.3)
    assert flags_of([noise, good], tmp_path) == {}
    weak = write_result(tmp_path, "fgsm_0.3", correct(0.80), attack="fgsm", eps=0.3)
    zero = write_result(tmp_path, "bim_1", correct(0.0), attack="bim", eps=1.0)
    noise_1 = write_result(tmp_path, "noise_1", correct(0.0), attack="uniform_noise", eps=1.0)
    assert flags_of([noise, good, weak, zero, noise_1], tmp_path) == {"noise_not_beaten": [["noise_0.3", "fgsm_0.3"]]}


def test_zero_gradients_above_the_tolerance_are_flagged(tmp_path: Path) -> None:
    few = write_result(tmp_path, "fgsm_0.3", correct(0.1), attack="fgsm", eps=0.3, zero_gradient=0.05)
    assert flags_of([few], tmp_path) == {}
    many = write_result(tmp_path, "bim_0.3", correct(0.1), attack="bim", eps=0.3, zero_gradient=0.4)
    assert flags_of([few, many], tmp_path) == {"zero_gradients": [["bim_0.3"]]}
    spsa = write_result(tmp_path, "spsa_0.3", correct(0.1), attack="spsa", eps=0.3)
    assert "zero_gradients" in write_checks([spsa], tmp_path / "checks.json")["not_evaluated"]


def test_fgm_l2_below_cw_within_its_eps_is_flagged(tmp_path: Path) -> None:
    fgm = write_result(tmp_path, "fgm_l2", correct(0.40), attack="fgm_l2", eps=2.0)
    # C&W fools every sample, but 70 of them only with perturbations larger than ε = 2: 70 % survive within ε
    far = write_result(tmp_path, "cw", correct(0.0), attack="cw_l2", eps=None, l2=[3.0] * 70 + [1.0] * 30)
    assert flags_of([fgm, far], tmp_path) == {"l2_threat": [["fgm_l2", "cw"]]}
    near = write_result(tmp_path, "cw", correct(0.0), attack="cw_l2", eps=None, l2=[3.0] * 30 + [1.0] * 70)
    report = write_checks([fgm, near], tmp_path / "checks.json")
    assert report["flags"] == [] and {c["check"]: c["status"] for c in report["checks"]}["l2_threat"] == "passed"
    assert report["worst_case"] == [{"norm": "l2", "eps": 2.0, "threat_model": None, "column": "worst_l2_2",
                                     "accuracy": 0.3, "sample_count": 100, "settings": ["fgm_l2", "cw"]}]


def test_worst_case_is_per_sample_over_every_attack_at_an_eps(tmp_path: Path) -> None:
    # FGSM fools samples 0-49, BIM 25-74: 75-99 survive both, but 99 was wrong when clean; noise is no attack
    fgsm = write_result(tmp_path, "fgsm", [0] * 50 + [1] * 50, attack="fgsm", eps=0.3, clean=[1] * 99 + [0])
    bim = write_result(tmp_path, "bim", [1] * 25 + [0] * 50 + [1] * 25, attack="bim", eps=0.3, clean=[1] * 99 + [0])
    noise = write_result(tmp_path, "noise", [0] * 100, attack="uniform_noise", eps=0.3)
    (case,) = write_checks([fgsm, bim, noise], tmp_path / "checks.json")["worst_case"]
    assert case == {"norm": "linf", "eps": 0.3, "threat_model": None, "column": "worst_linf_0.3", "accuracy": 0.24,
                    "sample_count": 100, "settings": ["fgsm", "bim"]}


def test_checks_on_a_result_folder_name_a_far_higher_fgsm_than_pgd_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_result(tmp_path, "fgsm_0.3", correct(0.90), attack="fgsm", eps=0.3)
    write_result(tmp_path, "pgd_0.3", correct(0.05), attack="pgd", eps=0.3)
    assert main(["checks", "--results", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "relu: suspect"
    (gap,) = [line for line in lines if "fgsm_0.3" in line and "pgd_0.3" in line]
    assert "fgsm_0.3 leaves 90.0% accuracy, 85.0 points above pgd_0.3 (5.0%" in gap
    assert json.loads((tmp_path / "checks.json").read_text())["verdict"] == "suspect"
