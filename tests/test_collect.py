"""The verified collector (newlogic.report.collect): every reader of an ablation's files gets the same verified
numbers, and a corrupt, edited, foreign or misplaced file is one line (exit 2 from ``newlogic aggregate``)."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from result_fixtures import fake_model_dir, fake_noise, fake_setting_result

from newlogic.cli import main
from newlogic.errors import UserError
from newlogic.report import checks
from newlogic.report import collect as collect_module
from newlogic.report.checks import write_checks
from newlogic.report.collect import collect_ablation
from newlogic.report.summary import summarize
from newlogic.report.tables import RENDERERS, check_columns, table_of, write_tables
from newlogic.report.verdicts import MASKING_SUSPECTED, NO_MASKING_FOUND
from newlogic.store import paths
from newlogic.store.results import sha256_file
from newlogic.study_loader import load_study

ATTACKS = {"fgsm_0.1": {"attack": "fgsm", "eps": 0.1}, "fgsm_0.3": {"attack": "fgsm", "eps": 0.3},
           "bim_0.3": {"attack": "bim", "eps": 0.3}, "noise_0.1": {"attack": "uniform_noise", "eps": 0.1}}
CONFIG = {"dataset": "digits", "seeds": [0, 1], "attacks": ATTACKS,
          "ablations": {"demo": {"models": [{"name": "relu", "label": "Baseline"},
                                            {"name": "relog", "label": "+ ReLog"}]}}}
CORRECT = {"fgsm_0.1": [1, 1, 1, 1, 0], "fgsm_0.3": [1, 1, 0, 0, 0], "bim_0.3": [1, 0, 0, 0, 0],
           "noise_0.1": [1, 1, 1, 1, 1]}


def _files(root: Path, model: str, seed: int) -> None:
    epochs = [{"epoch": 0, "train_loss": 1.0, "test_loss": 1.1, "train_accuracy": 0.7,
               "test_accuracy": 0.8 + seed / 10}]
    reference = fake_model_dir(root, model, seed, test_accuracy=0.8 + seed / 10, epochs=epochs)
    written = [fake_setting_result(root, reference, setting, ATTACKS[setting], correct)
               for setting, correct in CORRECT.items()]
    write_checks(written, paths.checks_json(root, "digits", model, seed))
    fake_noise(root, reference)


def _tables(config: dict, results: Path, out_dir: Path) -> None:
    """The tables as ``newlogic aggregate`` writes them: the study loaded, its files collected, then drawn."""
    study = load_study(json.dumps(config))
    write_tables(table_of(collect_ablation(study.config, "demo", results), study.stats), out_dir)


@pytest.fixture
def results(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    for model in ("relu", "relog"):
        for seed in (0, 1):
            _files(root, model, seed)
    return root


def _result(root: Path, setting: str, model: str = "relu", seed: int = 0) -> Path:
    return paths.result_json(root, "digits", model, seed, setting)


def _copy_result(source: Path, target: Path) -> None:
    shutil.copy(source, target)
    shutil.copy(source.with_suffix(".npz"), target.with_suffix(".npz"))


def another_models_result(root: Path) -> Path:
    target = _result(root, "fgsm_0.3")
    _copy_result(_result(root, "fgsm_0.3", model="relog"), target)
    return target


def another_seeds_weights(root: Path) -> Path:
    target = paths.model_dir(root, "digits", "relu", 0) / paths.WEIGHTS_FILE
    shutil.copy(paths.model_dir(root, "digits", "relu", 1) / paths.WEIGHTS_FILE, target)
    return target


def edited_clean_accuracy(root: Path) -> Path:
    path = paths.model_dir(root, "digits", "relu", 0) / paths.METRICS_FILE
    metrics = json.loads(path.read_text())
    path.write_text(json.dumps({**metrics, "final": {"test_accuracy": 7.0}}))
    return path


def noise_over_fgsm(root: Path) -> Path:
    target = _result(root, "fgsm_0.1")
    _copy_result(_result(root, "noise_0.1"), target)
    return target


def result_of_another_eps(root: Path) -> Path:
    target = _result(root, "fgsm_0.3")
    _copy_result(_result(root, "fgsm_0.1"), target)
    data = json.loads(target.read_text())
    target.write_text(json.dumps({**data, "setting": "fgsm_0.3", "samples_file": "fgsm_0.3.npz"}))  # its ε is 0.1
    return target


def result_of_another_limit(root: Path) -> Path:
    path = _result(root, "bim_0.3")
    path.write_text(json.dumps({**json.loads(path.read_text()), "limit": 3}))  # 'newlogic attack --limit 3' by hand
    return path


def float_correctness(root: Path) -> Path:
    path = _result(root, "fgsm_0.3")
    npz = path.with_suffix(".npz")
    with np.load(npz) as arrays:
        samples = {name: arrays[name] for name in arrays.files}
    samples["adv_correct"] = samples["adv_correct"].astype(float)
    np.savez(npz, **samples)
    path.write_text(json.dumps({**json.loads(path.read_text()), "samples_sha256": sha256_file(npz)}))
    return path


def edited_verdict(root: Path) -> Path:
    path = paths.checks_json(root, "digits", "relu", 0)
    report = json.loads(path.read_text())
    report["verdict"] = NO_MASKING_FOUND if report["verdict"] != NO_MASKING_FOUND else MASKING_SUSPECTED
    path.write_text(json.dumps(report))
    return path


def edited_cell_word(root: Path) -> Path:
    path = paths.checks_json(root, "digits", "relu", 0)
    report = json.loads(path.read_text())
    report["cells"]["fgsm_0.3"]["verdict"] = "robust"
    path.write_text(json.dumps(report))
    return path


def _edit_checks(root: Path, change: Callable[[dict], None]) -> Path:
    path = paths.checks_json(root, "digits", "relu", 0)
    report = json.loads(path.read_text())
    change(report)
    path.write_text(json.dumps(report))
    return path


def raised_worst_case(root: Path) -> Path:
    """The issue's forgery: a worst case printed above the attack cells it is the minimum of."""
    def change(report: dict) -> None:
        assert report["worst_case"][1]["accuracy"] == 0.2  # ε 0.3: the minimum of fgsm_0.3 (0.4), bim_0.3 (0.2)
        report["worst_case"][1]["accuracy"] = 0.95

    return _edit_checks(root, change)


def everything_passed(root: Path) -> Path:
    """Every status set to passed and the verdict recomputed from them (checks.verdict), consistently."""
    def change(report: dict) -> None:
        assert report["verdict"] == "incomplete"
        for status in report["checks"]:
            status.update(status="passed", reason=None)
        report["not_evaluated"] = []
        report["verdict"], report["evidence"] = checks.verdict(report["checks"], report["flags"])
        report["verdict_text"] = f"{report['verdict']} ({len(report['checks'])} checks)"

    return _edit_checks(root, change)


def flagged_without_a_flag(root: Path) -> Path:
    def change(report: dict) -> None:
        report["flagged"] = True

    return _edit_checks(root, change)


def another_models_checks(root: Path) -> Path:
    target = paths.checks_json(root, "digits", "relu", 0)
    shutil.copy(paths.checks_json(root, "digits", "relog", 0), target)
    return target


def noise_rejection_above_one(root: Path) -> Path:
    path = paths.noise_json(root, "digits", "relu", 0)
    path.write_text(path.read_text().replace('"rejection_rate": 0.5', '"rejection_rate": 1.5'))
    return path


def another_seeds_noise(root: Path) -> Path:
    target = paths.noise_json(root, "digits", "relu", 0)
    shutil.copy(paths.noise_json(root, "digits", "relu", 1), target)
    return target


def edited_config(root: Path) -> Path:
    path = paths.model_dir(root, "digits", "relu", 0) / "config.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "seed": 1}))
    return path


def config_before_weights_were_recorded(root: Path) -> Path:
    path = paths.model_dir(root, "digits", "relu", 0) / "config.json"
    record = json.loads(path.read_text())
    del record["weights_sha256"]
    path.write_text(json.dumps(record))
    return path


def misplaced_model_directory(root: Path) -> Path:
    target = paths.model_dir(root, "digits", "relu", 0)
    shutil.rmtree(target)
    shutil.copytree(paths.model_dir(root, "digits", "relog", 0), target)
    return target / "config.json"


def accuracy_not_its_samples(root: Path) -> Path:
    path = _result(root, "bim_0.3")
    path.write_text(path.read_text().replace('"adv_accuracy": 0.2', '"adv_accuracy": 0.9'))
    return path


def old_checks_schema(root: Path) -> Path:
    path = paths.checks_json(root, "digits", "relu", 0)
    report = json.loads(path.read_text())
    path.write_text(json.dumps({**report, "schema_version": checks.SCHEMA_VERSION - 1}))
    return path


DAMAGES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "another model's result": (another_models_result, "model_ref name 'relog' is not the model directory's 'relu'"),
    "seed 1's model.pt in seed0": (another_seeds_weights, "SHA-256 is not config.json's weights_sha256"),
    "7.0 clean accuracy": (edited_clean_accuracy, r"final.test_accuracy 7.0 is not a fraction in \[0, 1\]"),
    "noise result over fgsm_0.1.json": (noise_over_fgsm, "noise_0.1"),  # its samples_file, or its setting
    "a result of another eps": (result_of_another_eps, "parameters .* is not the configured setting 'fgsm_0.3'"),
    "a result of another limit": (result_of_another_limit, "limit 3 is not the configured setting 'bim_0.3'"),
    "float adv_correct": (float_correctness, "array 'adv_correct' has dtype float64"),
    "hand-edited verdict": (edited_verdict, "verdict .* is not the .* the checks give on its results"),
    "edited cell word": (edited_cell_word, 'cells.fgsm_0.3.verdict "robust" is not the "'),
    "worst case 0.2 -> 0.95": (raised_worst_case, r"worst_case\[1\].accuracy 0.95 is not the 0.2 the checks give"),
    "statuses passed, verdict recomputed": (everything_passed, 'verdict "no masking found" is not the "incomplete"'),
    "flagged set without a flag": (flagged_without_a_flag, "flagged true is not the false"),
    "another model's checks.json": (another_models_checks, "model_ref name 'relog'"),
    "150% noise rejection": (noise_rejection_above_one, r"rejection_rate 1.5 is not a fraction"),
    "another seed's noise.json": (another_seeds_noise, "model_ref seed 1"),
    "edited config.json": (edited_config, "does not match its fingerprint"),
    "config.json of an older training": (config_before_weights_were_recorded, "has no weights_sha256 .* delete"),
    "another model's directory": (misplaced_model_directory, "records model 'relog'"),
    "accuracy unlike its samples": (accuracy_not_its_samples, "adv_accuracy 0.9 is not the mean"),
    "old checks.json": (old_checks_schema, f"schema_version {checks.SCHEMA_VERSION - 1}, expected "
                                           f"{checks.SCHEMA_VERSION}"),
}


def test_the_files_as_written_are_collected(results: Path) -> None:
    collected = collect_ablation(CONFIG, "demo", results)
    assert [model.name for model in collected.models] == ["relu", "relog"] and collected.missing == ()
    run = collected.model("relu").runs[1]
    assert run.metrics["final"]["test_accuracy"] == 0.9 and set(run.results) == set(ATTACKS)
    assert run.results["bim_0.3"].adv_correct.tolist() == [True, False, False, False, False]
    assert run.checks["model_ref"]["weights_sha256"] == run.reference["weights_sha256"]
    assert run.noise["inputs"]["uniform_noise"]["rejection_rate"] == 0.5


@pytest.mark.parametrize("case", list(DAMAGES))
def test_a_damaged_file_is_refused_by_tables_summary_and_collector_in_one_line(case: str, results: Path,
                                                                               tmp_path: Path) -> None:
    damage, message = DAMAGES[case]
    damaged = damage(results)
    for read in (lambda: collect_ablation(CONFIG, "demo", results), lambda: summarize(CONFIG, "demo", results),
                 lambda: _tables(CONFIG, results, tmp_path / "tables")):
        with pytest.raises(UserError, match=message) as error:
            read()
        assert str(damaged) in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "tables").exists()


def test_aggregate_exits_2_with_one_line(results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG))
    arguments = ["aggregate", "--config", str(config), "--ablation", "demo", "--results-dir", str(results),
                 "--out-dir", str(tmp_path / "tables")]
    assert main(arguments) == 0
    assert {path.suffix for path in (tmp_path / "tables").iterdir()} == {".csv", ".md", ".tex", ".json"}
    capsys.readouterr()
    another_models_result(results)
    assert main(arguments) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "fgsm_0.3.json" in err


def test_the_ablation_figures_read_through_the_collector(results: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG))
    arguments = ["figures", "ablation", "--config", str(config), "--ablation", "demo", "--results-dir", str(results),
                 "--out-dir", str(tmp_path / "figures")]
    assert main(arguments) == 0
    assert sorted(path.name for path in (tmp_path / "figures").iterdir()) == [
        "accuracy_vs_eps.pdf", "accuracy_vs_eps.png", "training_curves.pdf", "training_curves.png"]
    another_seeds_weights(results)
    assert main(arguments) == 2  # the figures refuse what the tables refuse


def test_duplicate_labels_names_and_settings_are_refused(results: Path) -> None:
    same_label = {**CONFIG, "ablations": {"demo": {"models": [{"name": "relu", "label": "A"},
                                                              {"name": "relog", "label": "A"}]}}}
    with pytest.raises(UserError, match="'A'"):
        collect_ablation(same_label, "demo", results)
    with pytest.raises(UserError, match="'A'"):
        summarize(same_label, "demo", results)
    twice = {**CONFIG, "ablations": {"demo": {"models": ["relu"], "attacks": ["fgsm_0.3", "fgsm_0.3"]}}}
    with pytest.raises(UserError, match="twice"):
        collect_ablation(twice, "demo", results)


@pytest.mark.parametrize("setting", ["clean", "model", "verdict", "label", "worst_linf_0.3", "noise_rejected"])
def test_a_setting_id_that_is_a_column_is_refused(setting: str, results: Path, tmp_path: Path) -> None:
    config = {**CONFIG, "attacks": {**ATTACKS, setting: ATTACKS["fgsm_0.3"]},
              "ablations": {"demo": {"models": ["relu"], "attacks": ["fgsm_0.1", setting]}}}
    with pytest.raises(UserError, match=f"'{setting}'"):
        _tables(config, results, tmp_path / "tables")


@pytest.mark.parametrize(("settings", "message"), [
    (("fgsm_0.1", "clean"), "'clean' is a reserved table column"),
    (("worst_linf_0.3",), "'worst_linf_0.3' is a reserved table column"),
    (("fgsm_0.1", "fgsm_0.1_std"), "column 'fgsm_0.1_std' comes from both 'fgsm_0.1' and 'fgsm_0.1_std'"),
    (("noise", "noise_rejected"), "column 'noise_rejected' comes from both 'noise_rejected' and 'noise_rejected'"),
])
def test_the_table_refuses_a_setting_id_that_overwrites_a_column(settings: tuple[str, ...], message: str) -> None:
    """The table's own rule, whatever the config validation lets through."""
    with pytest.raises(UserError, match=message):
        check_columns(settings)
    check_columns(("fgsm_0.1", "fgsm_0.3", "bim_0.3"))


def test_rows_are_models_by_name_each_with_its_own_numbers(results: Path, tmp_path: Path) -> None:
    relog = paths.model_dir(results, "digits", "relog", 0) / paths.METRICS_FILE
    relog.write_text(relog.read_text().replace('"test_accuracy": 0.8', '"test_accuracy": 0.5'))
    _tables(CONFIG, results, tmp_path / "tables")
    csv = (tmp_path / "tables/demo.csv").read_text().splitlines()
    assert csv[1].startswith("relu,Baseline,85.0,") and csv[2].startswith("relog,'+ ReLog,70.0,")  # escape.csv_cell


def test_an_untrained_run_is_missing_and_its_files_are_never_shown(results: Path) -> None:
    shutil.rmtree(paths.model_dir(results, "digits", "relog", 1))
    collected = collect_ablation(CONFIG, "demo", results)
    assert collected.model("relog").runs[1].results == {}
    reasons = dict(collected.missing)
    assert reasons[_result(results, "fgsm_0.3", "relog", 1)].startswith("cannot be verified")
    summary = summarize(CONFIG, "demo", results)
    assert list(summary["models"][1]["clean_acc"]["per_seed"]) == ["0"]


def test_each_weights_file_is_hashed_once_per_collection(results: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hashed: list[Path] = []
    original = collect_module.sha256_file
    monkeypatch.setattr(collect_module, "sha256_file", lambda path: hashed.append(path) or original(path))
    collect_ablation(CONFIG, "demo", results)
    assert len(hashed) == len(set(hashed)) == 4 and all(path.name == paths.WEIGHTS_FILE for path in hashed)


def test_one_renderer_per_format() -> None:
    assert list(RENDERERS) == list(paths.TABLE_FORMATS)


def test_checks_over_settings_outside_the_ablation_are_recomputed_from_them(results: Path) -> None:
    """checks.json covers every setting of the run (the strong suite too); the columns may be fewer."""
    fewer = {**CONFIG, "ablations": {"demo": {"models": ["relu"], "attacks": ["fgsm_0.1"]}}}
    run = collect_ablation(fewer, "demo", results).model("relu").runs[0]
    assert set(run.results) == {"fgsm_0.1"} and run.checks is not None
    without_config = {**fewer, "attacks": {"fgsm_0.1": ATTACKS["fgsm_0.1"]}}  # bim_0.3 of another config: no place
    assert collect_ablation(without_config, "demo", results).model("relu").runs[0].checks == run.checks
    raised_worst_case(results)
    with pytest.raises(UserError, match="worst_case"):
        collect_ablation(fewer, "demo", results)


def test_checks_whose_result_is_gone_are_missing_not_shown(results: Path) -> None:
    gone = _result(results, "bim_0.3")
    gone.unlink()
    collected = collect_ablation(CONFIG, "demo", results)
    assert collected.model("relu").runs[0].checks is None
    assert dict(collected.missing)[paths.checks_json(results, "digits", "relu", 0)] == \
        f"cannot be verified: its result {gone} is missing"


def test_newlogic_checks_reads_through_the_verified_reader(results: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "checks.json"
    folder = paths.result_json(results, "digits", "relu", 0, "x").parent
    assert main(["checks", "--results", str(folder), "--out", str(out)]) == 0
    capsys.readouterr()
    forged = accuracy_not_its_samples(results)
    assert main(["checks", "--results", str(folder), "--out", str(tmp_path / "again.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(forged) in err and "adv_accuracy 0.9 is not the mean" in err
    assert not (tmp_path / "again.json").exists()


def test_first_difference_names_the_place_and_tolerates_only_last_bits() -> None:
    from newlogic.report.verify_checks import first_difference

    stored = {"worst_case": [{"accuracy": 0.2, "interval": [0.1, 0.3]}], "flagged": False}
    assert first_difference(stored, {"worst_case": [{"accuracy": 0.2, "interval": [0.1 + 1e-15, 0.3]}],
                                     "flagged": False}, "") is None
    assert first_difference(stored, {"worst_case": [{"accuracy": 0.15, "interval": [0.1, 0.3]}], "flagged": False},
                            "") == ("worst_case[0].accuracy", 0.2, 0.15)
    assert first_difference(stored, {**stored, "flagged": 0}, "") == ("flagged", False, 0)
    assert first_difference({**stored, "robust": True}, stored, "") == ("robust", True, None)


def test_a_config_copy_whose_name_is_not_its_hash_is_refused(results: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from newlogic.report.collect import load_ablation_results

    text = json.dumps(CONFIG)
    copy = paths.config_json(results, text)
    copy.parent.mkdir(parents=True)
    copy.write_text(text)
    assert load_ablation_results(load_study(copy), "demo", results).models[0].label == "Baseline"
    arguments = ["aggregate", "--config", str(copy), "--ablation", "demo", "--results-dir", str(results),
                 "--out-dir", str(tmp_path / "tables")]
    assert main(arguments) == 0
    capsys.readouterr()
    copy.write_text(text.replace('"Baseline"', '"+ ReLog2"'))  # rows relabelled, the name kept: a rerun would read it
    with pytest.raises(UserError, match=f"config {copy} is named by a hash its content does not have"):
        load_study(copy)
    with pytest.raises(SystemExit) as stop:  # refused while the arguments are parsed
        main(arguments)
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and len(err.splitlines()) == 1 and copy.name in err
    other = tmp_path / "config.json"  # any other name is a config like any other
    other.write_text(text.replace('"Baseline"', '"+ ReLog2"'))
    assert load_ablation_results(load_study(other), "demo", results).models[0].label == "+ ReLog2"
