"""Gradient-masking checks: a deliberately masked model is flagged, the plain model is not; each check by hand;
the acceptance profiles of issue 21 (the FGSM cell of a masked-looking profile is a weak attack; no word reads
"robust"; a 10-image setting alone raises no flag)."""

import json
from pathlib import Path

import pytest
from result_fixtures import fake_result

from newlogic.cli import main
from newlogic.errors import UserError
from newlogic.evaluation.evaluate import run_attack_setting
from newlogic.report.checks import CHECKS, SCHEMA_VERSION, VERDICTS, verdict, write_checks
from newlogic.report.verdicts import MIN_SAMPLES

# Every check's inputs on 30 digits images (MIN_SAMPLES: fewer is inconclusive): gradient attacks at two ε, BIM
# against PGD (stronger: more steps and restarts) and PGD with twice the budget, an unbounded BIM (ε = 1), a small
# SPSA with a large step so that it can move in 10 iterations, uniform noise at each ε, FGM-L2 against C&W, FGSM
# through the probabilities, and a transfer from a surrogate.
SETTINGS = {
    "fgsm_0.1": {"attack": "fgsm", "eps": 0.1},
    "fgsm_0.3": {"attack": "fgsm", "eps": 0.3},
    "fgsm_0.3_probs": {"attack": "fgsm", "eps": 0.3, "attack_on": "probs"},
    "bim_0.1": {"attack": "bim", "eps": 0.1},
    "bim_0.3": {"attack": "bim", "eps": 0.3},
    "pgd_0.3": {"attack": "pgd", "preset": "strong", "eps": 0.3, "nb_iter": 5, "restarts": 2},
    "pgd_0.3_x2": {"attack": "pgd", "preset": "strong", "eps": 0.3, "nb_iter": 10, "restarts": 2},
    "bim_1": {"attack": "bim", "eps": 1.0},
    "spsa_0.3": {"attack": "spsa", "eps": 0.3, "nb_iter": 10, "spsa_samples": 32, "learning_rate": 0.1},
    "noise_0.1": {"attack": "uniform_noise", "eps": 0.1},
    "noise_0.3": {"attack": "uniform_noise", "eps": 0.3},
    "fgm_l2": {"attack": "fgm_l2", "eps": 2.0},
    "cw_l2": {"attack": "cw_l2"},
    "transfer_0.3": {"attack": "transfer", "eps": 0.3},
}
ROBUST_WORDS = ("robust",)  # no verdict, cell word or evidence may read as a claim about the model


def _checks_of(model_dir: Path, out_dir: Path, surrogate_dir: Path) -> dict:
    for name, setting in SETTINGS.items():
        surrogate = surrogate_dir if setting["attack"] == "transfer" else None
        run_attack_setting(model_dir, setting, out_dir / f"{name}.json", data_dir=out_dir, device="cpu",
                           limit=MIN_SAMPLES, batch_size=None, seed=0, surrogate_dir=surrogate)
    assert main(["checks", "--results", str(out_dir)]) == 0  # the folder: every result in it
    report = json.loads((out_dir / "checks.json").read_text())
    assert sorted(report["results"]) == sorted(SETTINGS) and report["schema_version"] == SCHEMA_VERSION
    return report


def _words(report: dict) -> list[str]:
    """Every word the report says about the model or a cell."""
    return [report["verdict"], report["verdict_text"], *report["evidence"],
            *(cell["verdict"] for cell in report["cells"].values())]


def test_the_masked_model_is_flagged_and_the_plain_model_is_not(digits_model_dir: Path, masked_model_dir: Path,
                                                                tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    plain = _checks_of(digits_model_dir, tmp_path / "plain", digits_model_dir)
    assert [f for f in plain["flags"] if f["severity"] == "masking suspected"] == [], plain["flags"]
    assert plain["verdict"] != "masking suspected"
    assert "budget_doubled" not in plain["not_evaluated"]  # pgd_0.3_x2 has twice pgd_0.3's budget
    assert {case["column"] for case in plain["worst_case"]} == {"worst_linf_0.1", "worst_linf_0.3", "worst_linf_1",
                                                                "worst_l2_2"}
    assert capsys.readouterr().out.splitlines()[0] == f"relu: {plain['verdict']}"
    assert not any(word in text for text in _words(plain) for word in ROBUST_WORDS)

    masked = _checks_of(masked_model_dir, tmp_path / "masked", digits_model_dir)
    flagged = {flag["check"]: flag for flag in masked["flags"]}
    # the paper preset's cross-entropy attacks see zero gradients; the strong PGD (DLR loss, scale-free) does not,
    # so SPSA does not beat the best white-box attack
    assert {"zero_gradients", "noise_not_beaten", "unbounded_not_zero"} <= set(flagged)
    assert "black_box_beats_white_box" not in flagged
    assert flagged["unbounded_not_zero"]["settings"] == ["bim_1"]
    assert flagged["zero_gradients"]["marker"] == CHECKS["zero_gradients"].marker
    assert masked["verdict"] == "masking suspected"
    assert masked["cells"]["bim_1"]["verdict"] == "masking suspected"
    out = capsys.readouterr().out
    assert out.startswith("relu: masking suspected") and "zero_gradients" in out and "noise_not_beaten" in out


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


def correct(accuracy: float, count: int = 100) -> list[int]:
    """Per-sample correctness with the first ``accuracy · count`` samples right (so results are nested)."""
    right = round(accuracy * count)
    return [1] * right + [0] * (count - right)


AUTOATTACK = {"apgd_steps": 100, "fab_steps": 100, "square_queries": 5000, "restarts": 1,
              "components": ["apgd-ce", "apgd-t", "fab-t", "square"]}


def test_accuracy_rising_with_eps_is_flagged_when_significant(tmp_path: Path) -> None:
    paths = [write_result(tmp_path, "fgsm_0.1", correct(0.50), attack="fgsm", kind="one_step", eps=0.1),
             write_result(tmp_path, "fgsm_0.2", correct(0.53), attack="fgsm", kind="one_step", eps=0.2),
             write_result(tmp_path, "fgsm_0.3", correct(0.60), attack="fgsm", kind="one_step", eps=0.3)]
    assert flags_of(paths, tmp_path) == {"eps_monotonic": [["fgsm_0.2", "fgsm_0.3"]]}  # 3 points: not flagged


def test_one_step_beating_iterative_at_the_same_eps_is_flagged(tmp_path: Path) -> None:
    paths = [write_result(tmp_path, "fgsm_0.3", correct(0.10), attack="fgsm", kind="one_step", eps=0.3),
             write_result(tmp_path, "bim_0.3", correct(0.40), attack="bim", kind="iterative", eps=0.3),
             write_result(tmp_path, "bim_0.1", correct(0.80), attack="bim", kind="iterative", eps=0.1)]
    assert flags_of(paths, tmp_path) == {"one_step_beats_iterative": [["fgsm_0.3", "bim_0.3"]]}
    report = write_checks(paths, tmp_path / "checks.json")
    assert report["flags"][0]["suspect"] == "bim_0.3" and report["verdict"] == "masking suspected"  # no sound attack
    # 5-step BIM is known weak: beside a sound PGD its flag marks its cell, not the model
    pgd = write_result(tmp_path, "pgd_0.3", correct(0.05), attack="pgd", eps=0.3)
    report = write_checks([*paths, pgd], tmp_path / "checks.json")
    assert {f["severity"] for f in report["flags"] if f["suspect"] == "bim_0.3"} == {"weak attack"}
    assert report["cells"]["bim_0.3"]["verdict"] == "weak attack" and report["verdict"] != "masking suspected"


def test_black_box_and_transfer_are_flagged_when_significantly_beating_the_best_white_box_attack(
        tmp_path: Path) -> None:
    white = [write_result(tmp_path, "fgsm", correct(0.23), attack="fgsm", kind="one_step", eps=0.3),
             write_result(tmp_path, "bim", correct(0.20), attack="bim", kind="iterative", eps=0.3)]
    close_spsa = write_result(tmp_path, "spsa", correct(0.16), attack="spsa", kind="black_box", eps=0.3)
    assert flags_of([*white, close_spsa], tmp_path) == {}  # 4 points below the best: not significant
    strong_spsa = write_result(tmp_path, "spsa", correct(0.05), attack="spsa", kind="black_box", eps=0.3)
    transfer = write_result(tmp_path, "transfer", correct(0.10), attack="transfer", kind="transfer", eps=0.3)
    assert flags_of([*white, strong_spsa, transfer], tmp_path) == {
        "black_box_beats_white_box": [["spsa", "bim"]],
        "transfer_beats_white_box": [["transfer", "bim"]],
    }
    report = write_checks([*white, strong_spsa], tmp_path / "checks.json")
    assert report["flags"][0]["suspect"] == "bim" and report["cells"]["bim"]["verdict"] == "masking suspected"


def test_comparisons_use_the_samples_both_results_attacked(tmp_path: Path) -> None:
    # SPSA on samples 0–39 (all fooled); BIM on 0–79, fooled on 0–39, not on 40–79: equal on the common samples.
    spsa = write_result(tmp_path, "spsa", [0] * 40, attack="spsa", kind="black_box", eps=0.3)
    bim = write_result(tmp_path, "bim", [0] * 40 + [1] * 40, attack="bim", kind="iterative", eps=0.3)
    report = write_checks([spsa, bim], tmp_path / "checks.json")
    assert report["flags"] == []
    assert {c["check"]: c["comparisons"] for c in report["checks"]}["black_box_beats_white_box"] == 1
    disjoint = write_result(tmp_path, "fgsm", [1] * 40, attack="fgsm", kind="one_step", eps=0.3,
                            index=list(range(50, 90)))
    report = write_checks([spsa, disjoint], tmp_path / "checks.json")
    assert "black_box_beats_white_box" in report["not_evaluated"]


def test_unbounded_attacks_must_reach_about_zero_and_probs_must_not_mask(tmp_path: Path) -> None:
    paths = [write_result(tmp_path, "bim_1", correct(0.10), attack="bim", kind="iterative", eps=1.0, unbounded=True),
             write_result(tmp_path, "cw", correct(0.03), attack="cw_l2", kind="iterative", eps=None,
                          unbounded=True, norm="l2"),  # 3 %: within the interval of ≈0
             write_result(tmp_path, "bim_scores", correct(0.20), attack="bim", kind="iterative", eps=0.3),
             write_result(tmp_path, "bim_probs", correct(0.26), attack="bim", kind="iterative", eps=0.3,
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
    assert report["verdict"] == "incomplete"


def test_every_check_has_its_own_marker_and_a_description() -> None:
    assert len({check.marker for check in CHECKS.values()}) == len(CHECKS)
    assert all(check.description and check.latex for check in CHECKS.values())


def test_the_papers_minout_row_is_flagged(tmp_path: Path) -> None:
    # the paper's MNIST "+ MinOut" row: FGM-L∞ 0.66, BIM 0.16, SPSA 0.52 (all at ε = 0.3); it passed every old check
    paths = [write_result(tmp_path, "fgsm_0.3", correct(0.66), attack="fgsm", eps=0.3),
             write_result(tmp_path, "bim_0.3", correct(0.16), attack="bim", eps=0.3),
             write_result(tmp_path, "spsa_0.3", correct(0.52), attack="spsa", eps=0.3)]
    report = write_checks(paths, tmp_path / "checks.json")
    assert [flag["check"] for flag in report["flags"]] == ["one_step_above_iterative"]
    assert report["flags"][0]["settings"] == ["bim_0.3", "fgsm_0.3"] and report["flags"][0]["suspect"] == "fgsm_0.3"
    assert "bim_0.3 leaves 16.0% accuracy, fgsm_0.3 66.0% (+50.0 points" in report["flags"][0]["message"]
    # only 5-step BIM ran: no sound attack, so the gap flags the model, and the figure is no worst case
    assert report["verdict"] == "masking suspected" and report["evidence"][0].startswith("‡ one_step_above_iterative")
    assert report["worst_case"][0]["kind"] == "weak_attacks_only"


def test_one_step_above_the_strongest_iterative_attack_marks_the_one_step_cell(tmp_path: Path) -> None:
    fgsm = write_result(tmp_path, "fgsm_0.3", correct(0.50), attack="fgsm", eps=0.3)
    bim = write_result(tmp_path, "bim_0.3", correct(0.46), attack="bim", eps=0.3)
    assert flags_of([fgsm, bim], tmp_path) == {}  # 4 points: below the minimum effect
    pgd = write_result(tmp_path, "pgd_0.3", correct(0.15), attack="pgd", eps=0.3)
    assert flags_of([fgsm, bim, pgd], tmp_path) == {"one_step_above_iterative": [["pgd_0.3", "fgsm_0.3"]],
                                                    "not_converged": [["pgd_0.3", "bim_0.3"]]}
    report = write_checks([fgsm, bim, pgd], tmp_path / "checks.json")
    assert {flag["severity"] for flag in report["flags"]} == {"weak attack"}
    assert {s: c["verdict"] for s, c in report["cells"].items()} == {
        "fgsm_0.3": "weak attack", "bim_0.3": "weak attack", "pgd_0.3": "reliable"}
    other_eps = write_result(tmp_path, "pgd_0.1", correct(0.0), attack="pgd", eps=0.1)
    assert "one_step_above_iterative" not in flags_of([fgsm, bim, other_eps], tmp_path)


def test_a_stronger_configuration_lowering_accuracy_means_not_converged(tmp_path: Path) -> None:
    bim = write_result(tmp_path, "bim_0.3", correct(0.30), attack="bim", eps=0.3)
    close = write_result(tmp_path, "pgd_0.3", correct(0.27), attack="pgd", eps=0.3)
    assert flags_of([bim, close], tmp_path) == {}  # 3 points: below the minimum effect
    auto = write_result(tmp_path, "aa_0.3", correct(0.20), attack="autoattack", eps=0.3, parameters=AUTOATTACK)
    assert flags_of([bim, close, auto], tmp_path) == {"not_converged": [["aa_0.3", "bim_0.3"], ["aa_0.3", "pgd_0.3"]]}
    report = write_checks([bim, close, auto], tmp_path / "checks.json")
    assert {f["suspect"]: f["severity"] for f in report["flags"]} == {"bim_0.3": "weak attack",
                                                                       "pgd_0.3": "masking suspected"}
    report = write_checks([bim], tmp_path / "checks.json")
    assert "not_converged" in report["not_evaluated"] and report["verdict"] == "incomplete"


def test_twice_the_budget_must_stay_within_the_interval(tmp_path: Path) -> None:
    pgd = write_result(tmp_path, "pgd", correct(0.60), attack="pgd", eps=0.3, parameters={"nb_iter": 40, "restarts": 3})
    close = write_result(tmp_path, "pgd_x2", correct(0.57), attack="pgd", eps=0.3,
                         parameters={"nb_iter": 80, "restarts": 3})
    report = write_checks([pgd, close], tmp_path / "checks.json")
    assert {c["check"]: c["status"] for c in report["checks"]}["budget_doubled"] == "passed"  # inside [49.7, 69.6]
    lower = write_result(tmp_path, "pgd_x2", correct(0.45), attack="pgd", eps=0.3,
                         parameters={"nb_iter": 80, "restarts": 3})
    report = write_checks([pgd, lower], tmp_path / "checks.json")
    (flag,) = [f for f in report["flags"] if f["check"] == "budget_doubled"]
    assert flag["suspect"] == "pgd" and flag["severity"] == "masking suspected"
    assert report["verdict"] == "masking suspected"


def test_a_doubled_budget_below_the_interval_but_not_significantly_lower_is_no_flag(tmp_path: Path) -> None:
    """2 % → 0 % on 50 images lies below the Clopper–Pearson interval [0.05 %, 10.6 %] but is one image."""
    single = write_result(tmp_path, "pgd", correct(0.02, 50), attack="pgd", eps=0.3,
                          parameters={"nb_iter": 40, "restarts": 1})
    double = write_result(tmp_path, "pgd_x2", correct(0.0, 50), attack="pgd", eps=0.3,
                          parameters={"nb_iter": 40, "restarts": 2})
    report = write_checks([single, double], tmp_path / "checks.json")
    assert {c["check"]: c["status"] for c in report["checks"]}["budget_doubled"] == "passed"


def test_a_black_box_attack_as_weak_as_noise_is_no_sign_of_masking(tmp_path: Path) -> None:
    noise = write_result(tmp_path, "noise_0.1", correct(0.94, 50), attack="uniform_noise", eps=0.1)
    square = write_result(tmp_path, "square_0.1", correct(0.86, 50), attack="square", eps=0.1,
                          parameters={"norm": "Linf", "square_queries": 100, "restarts": 1})
    assert flags_of([noise, square], tmp_path) == {}
    fgsm = write_result(tmp_path, "fgsm_0.1", correct(0.86, 50), attack="fgsm", eps=0.1)
    assert flags_of([noise, fgsm], tmp_path) == {"noise_not_beaten": [["noise_0.1", "fgsm_0.1"]]}


def test_an_adaptive_attack_beating_the_best_standard_attack_flags_the_model(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pgd = write_result(tmp_path, "pgd", correct(0.60), attack="pgd", eps=0.3)
    adaptive = write_result(tmp_path, "adaptive", correct(0.40), attack="pgd", eps=0.3, attack_kind="adaptive")
    assert flags_of([pgd, adaptive], tmp_path) == {"adaptive_beats_standard": [["adaptive", "pgd"]]}
    close = write_result(tmp_path, "adaptive", correct(0.58), attack="pgd", eps=0.3, attack_kind="adaptive")
    assert flags_of([pgd, close], tmp_path) == {}


def test_an_attack_no_better_than_random_noise_is_flagged(tmp_path: Path) -> None:
    noise = write_result(tmp_path, "noise_0.3", correct(0.80), attack="uniform_noise", eps=0.3)
    good = write_result(tmp_path, "bim_0.3", correct(0.55), attack="bim", eps=0.3)
    assert flags_of([noise, good], tmp_path) == {}
    weak = write_result(tmp_path, "fgsm_0.3", correct(0.78), attack="fgsm", eps=0.3)  # 2 points: not significant
    zero = write_result(tmp_path, "bim_1", correct(0.0), attack="bim", eps=1.0)
    noise_1 = write_result(tmp_path, "noise_1", correct(0.0), attack="uniform_noise", eps=1.0)
    assert flags_of([noise, good, weak, zero, noise_1], tmp_path) == {
        "noise_not_beaten": [["noise_0.3", "fgsm_0.3"]], "one_step_above_iterative": [["bim_0.3", "fgsm_0.3"]]}


def test_zero_gradients_significantly_above_the_tolerance_are_flagged(tmp_path: Path) -> None:
    few = write_result(tmp_path, "fgsm_0.3", correct(0.1), attack="fgsm", eps=0.3, zero_gradient=0.08)
    assert flags_of([few], tmp_path) == {}  # 8 of 100: the interval [3.5 %, 15 %] reaches below 5 %
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
    (case,) = report["worst_case"]
    interval = case.pop("interval")
    assert case == {"norm": "l2", "eps": 2.0, "threat_model": None, "column": "worst_l2_2", "kind": "worst_case",
                    "accuracy": 0.3, "sample_count": 100, "survived": 30, "confidence": 0.95,
                    "settings": ["fgm_l2", "cw"]}
    assert interval == pytest.approx([0.2124, 0.3998], abs=1e-4)  # Clopper–Pearson 30/100


def test_worst_case_is_per_sample_over_every_attack_at_an_eps(tmp_path: Path) -> None:
    # FGSM fools samples 0-49, BIM 25-74: 75-99 survive both, but 99 was wrong when clean; noise is no attack
    fgsm = write_result(tmp_path, "fgsm", [0] * 50 + [1] * 50, attack="fgsm", eps=0.3, clean=[1] * 99 + [0])
    bim = write_result(tmp_path, "bim", [1] * 25 + [0] * 50 + [1] * 25, attack="bim", eps=0.3, clean=[1] * 99 + [0])
    noise = write_result(tmp_path, "noise", [0] * 100, attack="uniform_noise", eps=0.3)
    (case,) = write_checks([fgsm, bim, noise], tmp_path / "checks.json")["worst_case"]
    assert (case["accuracy"], case["sample_count"], case["survived"]) == (0.24, 100, 24)
    assert case["settings"] == ["fgsm", "bim"] and case["kind"] == "weak_attacks_only"  # 5-step BIM is known weak
    (case,) = write_checks([fgsm], tmp_path / "checks.json")["worst_case"]
    assert case["kind"] == "one_step_only"


def test_checks_on_a_result_folder_mark_a_far_higher_fgsm_than_pgd_as_a_weak_attack(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_result(tmp_path, "fgsm_0.3", correct(0.90), attack="fgsm", eps=0.3)
    write_result(tmp_path, "pgd_0.3", correct(0.05), attack="pgd", eps=0.3)
    assert main(["checks", "--results", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "relu: incomplete"  # no noise, no twice-the-budget run: the evaluation is incomplete
    (gap,) = [line for line in lines if "fgsm_0.3" in line and "pgd_0.3" in line]
    assert "pgd_0.3 leaves 5.0% accuracy, fgsm_0.3 90.0% (+85.0 points" in gap and "weak attack" in gap
    report = json.loads((tmp_path / "checks.json").read_text())
    assert report["cells"]["fgsm_0.3"]["verdict"] == "weak attack"


def test_the_verdict_words_never_read_as_robust() -> None:
    assert VERDICTS == ("masking suspected", "incomplete", "inconclusive", "no masking found")
    statuses = [{"check": name, "status": "passed"} for name in CHECKS]
    word, evidence = verdict(statuses, [])
    assert word == "no masking found" and evidence[0] == f"{len(CHECKS)} of {len(CHECKS)} checks passed"


# issue 21's acceptance profiles, as result fixtures
def _profile(tmp_path: Path, accuracies: dict[str, float], count: int = 150, zero_gradient: float = 0.04) -> list:
    attacks = {"fgsm": ("fgsm", {}), "bim5": ("bim", {"nb_iter": 5}), "pgd": ("pgd", {"nb_iter": 40, "restarts": 3}),
               "autoattack": ("autoattack", AUTOATTACK), "spsa": ("spsa", {})}
    return [write_result(tmp_path, setting, correct(accuracies[setting], count), attack=attack, eps=0.3,
                         parameters=parameters,
                         zero_gradient=None if attack == "spsa" else zero_gradient)
            for setting, (attack, parameters) in attacks.items()]


def test_a_masked_looking_profile_marks_the_fgsm_cell_weak_attack(tmp_path: Path) -> None:
    paths = _profile(tmp_path, {"fgsm": 0.90, "bim5": 0.65, "pgd": 0.62, "autoattack": 0.61, "spsa": 0.63})
    report = write_checks(paths, tmp_path / "checks.json")
    assert report["cells"]["fgsm"]["verdict"] == "weak attack"
    # BIM-5 65 against AutoAttack 61 on 150 images: 4 points, McNemar p = 0.03, once hidden by a 5-point minimum
    assert report["cells"]["bim5"]["verdict"] == "weak attack"
    assert {s: c["verdict"] for s, c in report["cells"].items() if s not in ("fgsm", "bim5")} == dict.fromkeys(
        ("pgd", "autoattack", "spsa"), "reliable")
    assert report["verdict"] != "masking suspected"
    (case,) = report["worst_case"]
    assert (case["kind"], case["sample_count"], case["survived"]) == ("worst_case", 150, 92)
    assert case["interval"][0] < case["accuracy"] < case["interval"][1]


def test_a_relu_baseline_at_zero_worst_case_carries_no_robust_word(tmp_path: Path) -> None:
    zero = [0] * 150
    paths = _profile(tmp_path, dict.fromkeys(("fgsm", "bim5", "pgd", "autoattack", "spsa"), 0.0), zero_gradient=0.0)
    paths += [write_result(tmp_path, "noise", correct(0.8, 150), attack="uniform_noise", eps=0.3),
              write_result(tmp_path, "fgsm_0.1", zero, attack="fgsm", eps=0.1),
              write_result(tmp_path, "pgd_x2", zero, attack="pgd", eps=0.3, parameters={"nb_iter": 80, "restarts": 3}),
              write_result(tmp_path, "pgd_probs", zero, attack="pgd", eps=0.3, attack_on="probs"),
              write_result(tmp_path, "adaptive", zero, attack="pgd", eps=0.3, attack_kind="adaptive"),
              write_result(tmp_path, "transfer", zero, attack="transfer", eps=0.3),
              write_result(tmp_path, "pgd_1", zero, attack="pgd", eps=1.0, unbounded=True),
              write_result(tmp_path, "fgm_l2", zero, attack="fgm_l2", eps=2.0),
              write_result(tmp_path, "cw_l2", zero, attack="cw_l2", eps=None, l2=[0.5] * 150)]
    report = write_checks(paths, tmp_path / "checks.json")
    assert {case["accuracy"] for case in report["worst_case"]} == {0.0}
    assert report["verdict_text"] == f"no masking found ({len(CHECKS)} checks)"  # every check passed
    assert not any(word in text for text in _words(report) for word in ROBUST_WORDS), _words(report)


def test_a_ten_image_setting_alone_raises_no_flag(tmp_path: Path) -> None:
    bim = write_result(tmp_path, "pgd", correct(0.60, 150), attack="pgd", eps=0.3)
    # SPSA fools all of its 10 images, which PGD left right: 100 points, but on 10 images
    spsa = write_result(tmp_path, "spsa", [0] * 10, attack="spsa", eps=0.3)
    noise = write_result(tmp_path, "noise", [1] * 10, attack="uniform_noise", eps=0.3)
    unbounded = write_result(tmp_path, "pgd_1", [1] * 5 + [0] * 5, attack="pgd", eps=1.0, unbounded=True)
    report = write_checks([bim, spsa, noise, unbounded], tmp_path / "checks.json")
    assert report["flags"] == []
    statuses = {c["check"]: c["status"] for c in report["checks"]}
    assert statuses["black_box_beats_white_box"] == statuses["unbounded_not_zero"] == "inconclusive"
    assert report["cells"]["pgd"]["verdict"] == "reliable"


def test_the_best_rival_is_taken_among_those_sharing_enough_samples(tmp_path: Path) -> None:
    fgsm = write_result(tmp_path, "fgsm", correct(0.90, 150), attack="fgsm", eps=0.3)
    tiny_pgd = write_result(tmp_path, "pgd_10", [0] * 10, attack="pgd", eps=0.3)  # lowest, but on 10 images
    auto = write_result(tmp_path, "aa", correct(0.60, 150), attack="autoattack", eps=0.3, parameters=AUTOATTACK)
    found = flags_of([fgsm, tiny_pgd, auto], tmp_path)
    assert found["one_step_above_iterative"] == [["aa", "fgsm"]]


# issue 28's synthetic result sets: none of them may read "no masking found"
def _complete(tmp_path: Path, same: list[int], **overrides: list[int]) -> list[Path]:
    """Every check's inputs on ``len(same)`` images, each attack right on ``same`` (``overrides``: setting →
    per-sample correctness); noise well above, the unbounded attack at 0."""
    count = len(same)
    attacks = {"fgsm": ("fgsm", 0.3, {}), "fgsm_0.1": ("fgsm", 0.1, {}), "bim5": ("bim", 0.3, {}),
               "pgd": ("pgd", 0.3, {"nb_iter": 40, "restarts": 3}),
               "pgd_x2": ("pgd", 0.3, {"nb_iter": 80, "restarts": 3}), "autoattack": ("autoattack", 0.3, AUTOATTACK),
               "spsa": ("spsa", 0.3, {}), "transfer": ("transfer", 0.3, {}), "fgm_l2": ("fgm_l2", 2.0, {})}
    paths = [write_result(tmp_path, setting, overrides.get(setting, same), attack=attack, eps=eps,
                          parameters=parameters, zero_gradient=0.0) for setting, (attack, eps, parameters)
             in attacks.items()]
    return [*paths,
            write_result(tmp_path, "adaptive", overrides.get("adaptive", same), attack="pgd", eps=0.3,
                         attack_kind="adaptive"),
            write_result(tmp_path, "pgd_probs", same, attack="pgd", eps=0.3, attack_on="probs"),
            write_result(tmp_path, "noise", [1] * count, attack="uniform_noise", eps=0.3),
            write_result(tmp_path, "noise_0.1", [1] * count, attack="uniform_noise", eps=0.1),
            write_result(tmp_path, "pgd_1", [0] * count, attack="pgd", eps=1.0, unbounded=True),
            write_result(tmp_path, "cw_l2", [0] * count, attack="cw_l2", eps=None, l2=[0.5] * count)]


def test_the_complete_set_at_a_decisive_n_reads_no_masking_found(tmp_path: Path) -> None:
    report = write_checks(_complete(tmp_path, correct(0.5)), tmp_path / "checks.json")
    assert report["verdict_text"] == f"no masking found ({len(CHECKS)} checks)", report["evidence"]


def test_every_check_inconclusive_on_29_images_reads_inconclusive(tmp_path: Path) -> None:
    report = write_checks(_complete(tmp_path, correct(0.5, 29)), tmp_path / "checks.json")
    assert {c["status"] for c in report["checks"]} == {"inconclusive"}
    assert report["verdict"] == report["verdict_text"] == "inconclusive"
    assert any("n = 29 < 30 shared images" in line for line in report["evidence"]), report["evidence"]


def test_a_ten_point_drop_at_twice_the_budget_on_50_images_is_inconclusive(tmp_path: Path) -> None:
    # 60 % → 50 %: McNemar p = 0.06 on the 5 discordant images; the old rule (below the single run's
    # Clopper–Pearson bound 45.2 %) called it converged
    paths = _complete(tmp_path, correct(0.5, 50), pgd=correct(0.6, 50))
    report = write_checks(paths, tmp_path / "checks.json")
    (budget,) = [c for c in report["checks"] if c["check"] == "budget_doubled"]
    assert budget["status"] == "inconclusive" and "10.0-point drop" in budget["reason"] and "n = 50" in budget["reason"]
    assert report["verdict"] == "inconclusive"


def test_a_four_point_drop_at_twice_the_budget_on_1000_images_is_flagged(tmp_path: Path) -> None:
    paths = _complete(tmp_path, correct(0.56, 1000), pgd=correct(0.60, 1000))  # 40 discordant images: p ≈ 2·10⁻¹²
    report = write_checks(paths, tmp_path / "checks.json")
    (flag,) = [f for f in report["flags"] if f["check"] == "budget_doubled"]
    assert flag["suspect"] == "pgd" and flag["severity"] == "masking suspected"
    assert report["verdict"] == "masking suspected"


def test_attacks_that_plateau_on_disjoint_images_are_weak_attacks_and_flag_the_model(tmp_path: Path) -> None:
    # each attack leaves 61 of 100 images, but each fools other images: only 35 survive all three
    def fooling(start: int) -> list[int]:
        return [0 if start <= i < start + 39 else 1 for i in range(100)]
    paths = _complete(tmp_path, fooling(0), autoattack=fooling(13), adaptive=fooling(26))
    report = write_checks(paths, tmp_path / "checks.json")
    case = next(c for c in report["worst_case"] if c["column"] == "worst_linf_0.3")
    assert case["accuracy"] == 0.35
    disjoint = {f["suspect"] for f in report["flags"] if f["check"] == "disjoint_attacks"}
    assert {"pgd", "autoattack", "adaptive"} <= disjoint
    assert {report["cells"][s]["verdict"] for s in ("pgd", "autoattack", "adaptive")} == {"weak attack"}
    assert report["verdict"] == "masking suspected"
    assert sum(line.startswith("≠ disjoint_attacks") for line in report["evidence"]) == 1  # one line, several cells


def test_the_verdict_needs_every_check_decided() -> None:
    statuses = [{"check": name, "status": "passed"} for name in CHECKS]
    statuses[0] = {"check": "budget_doubled", "status": "inconclusive", "reason": "n = 29 < 30 shared images"}
    word, evidence = verdict(statuses, [])
    assert word == "inconclusive" and evidence == ["budget_doubled: inconclusive, n = 29 < 30 shared images"]
