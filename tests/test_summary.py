"""The study summary (results/tables/{ablation}.summary.json): validates against its schema, numbers, verdicts."""

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from result_fixtures import fake_model_dir, fake_setting_result

from newlogic.cli import main
from newlogic.repo_files import SUMMARY_SCHEMA
from newlogic.report.checks import write_checks
from newlogic.report.summary import summarize
from newlogic.report.vocabulary import (
    INCOMPLETE,
    MASKING_SUSPECTED,
    MEANINGS,
    MIN_OVER_ATTACKS,
    PER_SAMPLE_WORST_CASE,
)
from newlogic.store import paths

SCHEMA = yaml.safe_load(SUMMARY_SCHEMA.read_text())
CONFIG = {
    "dataset": "digits", "seeds": [0, 1],
    "attacks": {"fgsm_0.3": {"attack": "fgsm", "eps": 0.3}, "bim_0.3": {"attack": "bim", "eps": 0.3},
                "noise_0.3": {"attack": "uniform_noise", "eps": 0.3}},
    "ablations": {"demo": {"caption": "Demo", "models": [{"name": "relu", "label": "Baseline"},
                                                         {"name": "relog", "label": "+ ReLog"}]}},
}
# per model and seed: per-sample correctness under each attack (10 test images, all correct when clean), each
# pattern written REPEAT times: the checks compare no fewer than newlogic.report.verdicts.MIN_SAMPLES images
REPEAT = 4
CORRECT = {
    ("relu", 0): {"fgsm_0.3": [0, 1, 1, 0, 1, 1, 1, 1, 1, 1], "bim_0.3": [1, 0, 0, 0, 1, 1, 0, 1, 1, 1]},
    ("relu", 1): {"fgsm_0.3": [1, 1, 1, 0, 1, 1, 1, 1, 1, 1], "bim_0.3": [0, 1, 1, 0, 1, 1, 1, 1, 1, 1]},
    # FGSM (one step) far below BIM (iterative): the masking check one_step_beats_iterative flags it
    ("relog", 0): {"fgsm_0.3": [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], "bim_0.3": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]},
}


def _write_run(root: Path, model: str, seed: int, checks: bool = True) -> dict:
    reference = fake_model_dir(root, model, seed, test_accuracy=0.9 + seed / 100)
    files = [fake_setting_result(root, reference, setting, CONFIG["attacks"][setting], correct * REPEAT)
             for setting, correct in CORRECT[(model, seed)].items()]
    files.append(fake_setting_result(root, reference, "noise_0.3", CONFIG["attacks"]["noise_0.3"], [1] * 10 * REPEAT))
    if checks:
        write_checks(files, paths.checks_json(root, "digits", model, seed))
    return reference


@pytest.fixture
def results(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    _write_run(root, "relu", 0)
    _write_run(root, "relu", 1)
    _write_run(root, "relog", 0)
    return root


def test_summary_validates_against_its_schema_and_holds_the_numbers(results: Path) -> None:
    summary = summarize(CONFIG, "demo", results)
    jsonschema.validate(summary, SCHEMA)
    relu, relog = summary["models"]
    assert (relu["name"], relu["label"], relog["label"]) == ("relu", "Baseline", "+ ReLog")
    assert relu["clean_acc"]["per_seed"] == {"0": 0.9, "1": 0.91}
    assert relu["clean_acc"]["mean"] == pytest.approx(0.905)
    fgsm = relu["attacks"][0]
    assert (fgsm["setting"], fgsm["attack"], fgsm["threat_model"], fgsm["eps"]) == ("fgsm_0.3", "fgsm", "Linf", 0.3)
    assert fgsm["accuracy"]["per_seed"] == {"0": 0.8, "1": 0.9} and fgsm["n_samples"] == {"0": 40, "1": 40}
    assert relu["attacks_used"] == ["bim", "fgsm", "uniform_noise"] and relu["n_evaluated_samples"] == 40
    (robust,) = relu["robust_acc"]  # the noise baseline is no attack: one entry, L∞ 0.3
    # FGSM and the paper's 5-step BIM are known weak: the per-sample minimum is not called a worst case
    assert (robust["threat_model"], robust["eps"], robust["method"]) == ("Linf", 0.3, "weak_attacks_only")
    assert robust["n_samples"] == {"0": 40, "1": 40} and robust["incomplete_seeds"] == []
    assert robust["interval"]["0"] == pytest.approx([0.338, 0.662], abs=1e-3)  # Clopper–Pearson 20/40
    assert fgsm["interval"]["1"][0] < 0.9 < fgsm["interval"]["1"][1]
    # per sample: survived FGSM and BIM; seed 0: 5 of 10 (below either attack alone), seed 1: 8 of 10 (× REPEAT)
    assert robust["accuracy"]["per_seed"] == {"0": 0.5, "1": 0.8}
    # pooled over the seeds' 80 images, with the interval the tables print (not covering training variance)
    pooled = robust["pooled"]
    assert (pooled["accuracy"], pooled["n_samples"], pooled["survived"]) == (0.65, 80, 52)
    assert pooled["interval"] == pytest.approx([0.5352, 0.7533], abs=1e-3)  # Clopper–Pearson 52/80
    assert fgsm["pooled"]["n_samples"] == 80 and fgsm["pooled"]["accuracy"] == pytest.approx(0.85)
    # seed 1's FGSM is not significantly below uniform noise, with no sound attack beside it: masking suspected
    assert relu["masking"]["verdict"] == MASKING_SUSPECTED and robust["upper_bound"] is True
    assert summary["vocabulary"] == MEANINGS
    assert sorted(robust["attacks"]) == ["bim_0.3", "fgsm_0.3"]
    reference = json.loads((paths.model_dir(results, "digits", "relu", 0) / "config.json").read_text())
    assert relu["runs"][0]["config_hash"] == reference["provenance"]["config_hash"]
    assert relu["runs"][0]["weights_sha256"] == reference["weights_sha256"]  # the weights the results were made on
    assert relu["runs"][0]["git_commit"] == "abc"


def test_masking_verdicts_and_missing_runs(results: Path) -> None:
    summary = summarize(CONFIG, "demo", results)
    relu, relog = summary["models"]
    assert relog["masking"]["verdict"] == MASKING_SUSPECTED and "one_step_beats_iterative" in relog["masking"]["flags"]
    assert relog["masking"]["per_seed"]["1"] == INCOMPLETE  # seed 1 was never run
    assert "one_step_beats_iterative" not in relu["masking"]["flags"]  # FGSM above BIM for relu: no such flag
    assert str(paths.model_dir(results, "digits", "relog", 1) / paths.METRICS_FILE) in summary["missing"]
    assert relog["clean_acc"]["std"] is None and list(relog["clean_acc"]["per_seed"]) == ["0"]
    # a flagged model's worst case is an upper bound
    assert [entry["upper_bound"] for entry in relog["robust_acc"]] == [True]


def test_without_a_worst_case_the_lowest_attack_stands_in(tmp_path: Path) -> None:
    root = tmp_path / "results"
    _write_run(root, "relu", 0, checks=False)
    config = {**CONFIG, "seeds": [0], "ablations": {"demo": {"models": ["relu"]}}}
    summary = summarize(config, "demo", root)
    jsonschema.validate(summary, SCHEMA)
    (robust,) = summary["models"][0]["robust_acc"]
    assert robust["method"] == MIN_OVER_ATTACKS and robust["accuracy"]["per_seed"] == {"0": 0.6}  # BIM's
    assert robust["upper_bound"] is True  # the lowest single attack bounds the worst case from above
    assert summary["models"][0]["masking"]["verdict"] == INCOMPLETE


def test_a_summary_breaking_the_schema_is_caught(results: Path) -> None:
    summary = summarize(CONFIG, "demo", results)
    summary["models"][0]["robust_acc"][0]["threat_model"] = "linf"  # RobustBench spells it Linf
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(summary, SCHEMA)


def test_aggregate_writes_the_summary_beside_the_tables_without_torch(results: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    out_dir = tmp_path / "tables"
    assert main(["aggregate", "--config", str(config), "--ablation", "demo", "--results-dir", str(results),
                 "--out-dir", str(out_dir)]) == 0
    jsonschema.validate(json.loads((out_dir / f"demo.{paths.SUMMARY_EXT}").read_text()), SCHEMA)
    code = ("import sys; from pathlib import Path; from newlogic.report.summary import write_summary; "
            "from newlogic.study_loader import load_study; "
            f"write_summary(load_study({str(config)!r}), 'demo', results_dir=Path({str(results)!r}), "
            "out_dir=Path('.')); "
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_worst_case_needs_a_sound_attack_on_every_seed_and_marks_a_seed_lacking_one(tmp_path: Path) -> None:
    config = {**CONFIG, "attacks": {**CONFIG["attacks"], "pgd_0.3": {"attack": "pgd", "preset": "strong", "eps": 0.3}},
              "ablations": {"demo": {"models": [{"name": "relu", "label": "Baseline"}]}}}
    root = tmp_path / "results"
    for seed, with_pgd in ((0, True), (1, False)):
        reference = fake_model_dir(root, "relu", seed)
        settings = {"fgsm_0.3": [1] * 30 + [0] * 10, "bim_0.3": [1] * 25 + [0] * 15}
        settings |= {"pgd_0.3": [1] * 20 + [0] * 20} if with_pgd else {}
        files = [fake_setting_result(root, reference, setting, config["attacks"][setting], correct)
                 for setting, correct in settings.items()]
        write_checks(files, paths.checks_json(root, "digits", "relu", seed))
    (robust,) = summarize(config, "demo", root)["models"][0]["robust_acc"]
    assert robust["incomplete_seeds"] == [1] and robust["method"] == "weak_attacks_only"  # seed 1 lacks PGD
    assert robust["accuracy"]["per_seed"] == {"0": 0.5, "1": 0.625}
    reference = fake_model_dir(root, "relu", 1)
    files = [fake_setting_result(root, reference, setting, config["attacks"][setting], [1] * 20 + [0] * 20)
             for setting in ("fgsm_0.3", "bim_0.3", "pgd_0.3")]
    write_checks(files, paths.checks_json(root, "digits", "relu", 1))
    summary = summarize(config, "demo", root)
    jsonschema.validate(summary, SCHEMA)
    (robust,) = summary["models"][0]["robust_acc"]
    assert robust["incomplete_seeds"] == [] and robust["method"] == PER_SAMPLE_WORST_CASE


def test_n_evaluated_samples_is_the_n_the_worst_case_used(tmp_path: Path) -> None:
    """FGSM on 200 images, the sound PGD on 50 (the strong suite's limit): every worst case rests on 50."""
    config = {**CONFIG, "seeds": [0], "attacks": {**CONFIG["attacks"],
                                                  "pgd_0.3": {"attack": "pgd", "preset": "strong", "eps": 0.3}},
              "ablations": {"demo": {"models": [{"name": "relu", "label": "Baseline"}]}}}
    root = tmp_path / "results"
    reference = fake_model_dir(root, "relu", 0)
    files = [fake_setting_result(root, reference, "fgsm_0.3", config["attacks"]["fgsm_0.3"], [1] * 150 + [0] * 50),
             fake_setting_result(root, reference, "pgd_0.3", config["attacks"]["pgd_0.3"], [1] * 20 + [0] * 30)]
    write_checks(files, paths.checks_json(root, "digits", "relu", 0))
    (model,) = summarize(config, "demo", root)["models"]
    assert model["n_evaluated_samples"] == 50 and model["robust_acc"][0]["pooled"]["n_samples"] == 50
    assert model["masking"]["verdict"] == INCOMPLETE and model["robust_acc"][0]["upper_bound"] is False
    assert [attack["pooled"]["n_samples"] for attack in model["attacks"]] == [200, 50]
