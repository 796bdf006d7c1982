"""Ablation tables from hand-made result files: layout, statistics, worst case, verdicts, markers, refusals."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from result_fixtures import fake_model_dir, fake_noise, fake_result, fake_setting_result

from newlogic.errors import UserError
from newlogic.report import checks
from newlogic.report.checks import CHECKS
from newlogic.report.samples import load_result
from newlogic.report.tables import aggregate
from newlogic.report.verdicts import INCOMPLETE, MASKING_SUSPECTED, NO_MASKING_FOUND, verdict_text
from newlogic.stats import mcnemar_exact_p, welch_p
from newlogic.store import paths

BATCH = 10
CONFIG = {
    "dataset": "digits",
    "seeds": [0, 1],
    "attacks": {
        "zeta_0.3": {"attack": "fgsm", "eps": 0.3, "label": "FGSM ε=0.3"},
        "alpha_0.3": {"attack": "bim", "eps": 0.3},
    },
    "ablations": {"demo": {"models": [{"name": "relu", "label": "Baseline"},
                                      {"name": "cnn-relog", "label": "+ ReLog"}]}},
}


def write_json(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))


def per_sample(batches: list[float]) -> list[int]:
    """Per-sample correctness with the given per-batch accuracies (``BATCH`` images a batch)."""
    return [int(k < round(acc * BATCH)) for acc in batches for k in range(BATCH)]


def checks_report(reference: dict, flags: list[dict], verdict: str, results: list[Path]) -> dict:
    """A ``checks.json`` of ``results`` (its worst case and cell words) whose check statuses give ``verdict``:
    the flagged checks, the others passed."""
    flagged = {flag["check"] for flag in flags}
    statuses = [{"check": name, "status": "flagged" if name in flagged else "passed", "reason": None}
                for name in CHECKS]
    assert checks.verdict(statuses, flags)[0] == verdict
    report = checks.run_checks([load_result(path) for path in results])
    return {**report, "model_ref": reference, "flags": flags, "checks": statuses, "verdict": verdict}


def write_run(results: Path, model: str, seed: int, clean: float, adv: dict[str, list[float]],
              flags: list[dict] | None = None, subset: bool = False, verdict: str = NO_MASKING_FOUND,
              metric_flags: list[str] | None = None, clean_batches: list[float] | None = None,
              config: dict | None = None) -> dict:
    """One run's verified files: model directory, a result per setting of ``adv``, checks.json, noise.json."""
    reference = fake_model_dir(results, model, seed, test_accuracy=clean, flags=metric_flags)
    attacks = (config or CONFIG)["attacks"]
    written = []
    for setting, batches in adv.items():
        clean_correct = per_sample(clean_batches) if clean_batches else None
        written.append(fake_setting_result(
            results, reference, setting, attacks[setting], per_sample(batches), subset=subset, clean=clean_correct,
            batch_size=BATCH, test_size=10 * BATCH * len(batches) if subset else BATCH * len(batches)))
    write_json(paths.checks_json(results, "digits", model, seed),
               checks_report(reference, flags or [], verdict, written))
    fake_noise(results, reference)
    return reference


@pytest.fixture
def results(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    for seed, clean in ((0, 0.90), (1, 0.94)):
        write_run(root, "relu", seed, clean, {"zeta_0.3": [0.1, 0.1, 0.2, 0.2], "alpha_0.3": [0.0, 0.0, 0.0, 0.0]})
    flag = {"check": "one_step_above_iterative", "marker": "‡", "message": "m", "settings": ["alpha_0.3", "zeta_0.3"],
            "suspect": "zeta_0.3", "severity": MASKING_SUSPECTED}
    write_run(root, "relog", 0, 0.92, {"zeta_0.3": [0.8, 0.9, 0.8, 0.9], "alpha_0.3": [0.0, 0.0, 0.0, 0.1]},
              flags=[flag], subset=True, verdict=MASKING_SUSPECTED, metric_flags=["relog_ramp_unfinished"])
    return root


def row_of(markdown: str, label: str) -> list[str]:
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {label}"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_rows_columns_and_numbers(results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_path = tmp_path / "config.yaml"
    config_path.write_text(json.dumps(CONFIG))
    aggregate(config_path, "demo", results_dir=results, out_dir=tmp_path / "tables")
    table = pd.read_csv(tmp_path / "tables/demo.csv")
    assert list(table["label"]) == ["Baseline", "+ ReLog"]  # config order
    assert [c for c in table.columns if not c.endswith(("_std", "_runs", "_significant"))][:6] == [
        "model", "label", "clean", "worst_linf_0.3", "zeta_0.3", "alpha_0.3"]  # clean, worst case, then settings
    assert table.loc[0, "clean"] == pytest.approx(92.0)
    assert table.loc[0, "clean_std"] == pytest.approx(100 * 0.02828427, rel=1e-4)  # std of 0.90, 0.94 (n - 1)
    assert table.loc[0, "zeta_0.3"] == pytest.approx(15.0)
    assert table.loc[1, "zeta_0.3_runs"] == 1  # seed 1 of relog is missing
    assert table.loc[1, "worst_linf_0.3"] == pytest.approx(2.5)  # per sample: right under FGSM and BIM
    # relog: seed 0 suspect, seed 1 missing (newlogic.report.verdicts.combined_verdict)
    assert list(table["verdict"]) == [verdict_text(NO_MASKING_FOUND, len(CHECKS)), INCOMPLETE]
    assert list(table["ramp_unfinished"]) == [False, True]

    markdown = (tmp_path / "tables/demo.md").read_text()
    # the worst-case column's header names its kind (newlogic.report.worst_case.CASE_HEADERS)
    assert re.search(r"\| Model \| Clean \| [^|]+ L∞ ε=0\.3 \| FGSM ε=0\.3 \| alpha_0\.3 \| Noise rejected \|",
                     markdown)
    relog = row_of(markdown, "+ ReLog")
    assert relog[0] == "+ ReLog△"  # the ramp had not finished
    # one seed: not tested (Welch needs 3 per cell, never a switch to McNemar); subset; a seed lacks it; the checks
    # call the FGSM cell masking suspected (only 5-step BIM ran beside it) and flag it
    assert relog[3] == "85.00?⊂⊖!‡"
    # the worst case, from checks.json, with the Clopper–Pearson interval of 1 survivor in 40 images:
    # [1 − 0.975^(1/40), B⁻¹(0.975; 2, 39)] = [0.06 %, 13.2 %]
    assert relog[2] == "2.50 [0.1, 13.2]?⊂⊖"
    assert "—" not in relog  # one of two seeds present: a mean of one run, marked, not missing
    assert CHECKS["one_step_above_iterative"].description in markdown
    assert "Welch's t-test on per-seed accuracies (both cells ≥ 3 seeds)" in markdown and "Holm" in markdown
    assert "△ the ReLog or curvature ramp" in markdown and "? not tested" in markdown
    assert "robust" not in markdown.replace("robustness figure", "")

    latex = (tmp_path / "tables/demo.tex").read_text()
    assert r"\textbf{85.00}" in latex and r"\toprule" in latex and r"\bottomrule" in latex
    assert r"\ddag" in latex and r"\triangle" in latex

    err = capsys.readouterr().err
    assert "relog/seed1/metrics.json (not found)" in err and "missing" in err


def test_the_verdict_combines_the_seeds(results: Path, tmp_path: Path) -> None:
    write_run(results, "relog", 1, 0.92, {"zeta_0.3": [0.8, 0.9, 0.8, 0.9], "alpha_0.3": [0.0] * 4})
    aggregate(json.dumps(CONFIG), "demo", results_dir=results, out_dir=tmp_path / "tables")
    assert row_of((tmp_path / "tables/demo.md").read_text(), "+ ReLog")[-1] == MASKING_SUSPECTED  # seed 0 is suspect
    write_run(results, "relog", 0, 0.92, {"zeta_0.3": [0.8, 0.9, 0.8, 0.9], "alpha_0.3": [0.0] * 4})
    aggregate(json.dumps(CONFIG), "demo", results_dir=results, out_dir=tmp_path / "tables")
    no_masking = verdict_text(NO_MASKING_FOUND, len(CHECKS))
    assert row_of((tmp_path / "tables/demo.md").read_text(), "+ ReLog")[-1] == no_masking
    paths.checks_json(results, "digits", "relog", 0).unlink()
    aggregate(json.dumps(CONFIG), "demo", results_dir=results, out_dir=tmp_path / "tables")
    assert row_of((tmp_path / "tables/demo.md").read_text(), "+ ReLog")[-1] == INCOMPLETE


def test_seeds_use_welch_per_seed_and_the_paper_option_welch_per_batch(tmp_path: Path) -> None:
    # per-seed accuracies 0.50, 0.60, 0.55 against 0.55, 0.65, 0.60: no difference between seeds; 30 constant
    # batches each pooled: a "significant" difference only when every batch counts as independent (the paper's test)
    root = tmp_path / "results"
    for model, accuracies in (("relu", (0.5, 0.6, 0.55)), ("relog", (0.55, 0.65, 0.6))):
        for seed, accuracy in enumerate(accuracies):
            write_run(root, model, seed, accuracy, {"zeta_0.3": [accuracy] * 10})
    config = {**CONFIG, "seeds": [0, 1, 2], "attacks": {"zeta_0.3": CONFIG["attacks"]["zeta_0.3"]}}
    for stats, starred in (("seeds", False), ("paper", True)):
        aggregate(json.dumps({**config, "stats": stats}), "demo", results_dir=root, out_dir=tmp_path / stats)
        frame = pd.read_csv(tmp_path / stats / "demo.csv")
        assert bool(frame.loc[1, "zeta_0.3_significant"]) is starred, stats
        assert bool(frame.loc[1, "clean_significant"]) is False
    assert "the paper's test" in (tmp_path / "paper/demo.md").read_text()
    with pytest.raises(UserError, match="stats 'batches' is not valid; valid: seeds, paper"):
        aggregate(json.dumps({**config, "stats": "batches"}), "demo", results_dir=root, out_dir=tmp_path / "x")


def test_the_clean_column_is_tested_on_the_samples_its_cell_shows(tmp_path: Path) -> None:
    config = {**CONFIG, "seeds": [0], "stats": "paper", "attacks": {"zeta_0.3": CONFIG["attacks"]["zeta_0.3"]}}
    for subset, tested in ((False, True), (True, False)):
        root = tmp_path / f"results-{subset}"
        write_run(root, "relu", 0, 0.5, {"zeta_0.3": [0.1] * 4}, clean_batches=[0.5] * 4, subset=subset)
        write_run(root, "relog", 0, 0.95, {"zeta_0.3": [0.1] * 4}, clean_batches=[1.0, 0.9, 1.0, 0.9], subset=subset)
        aggregate(json.dumps(config), "demo", results_dir=root, out_dir=tmp_path / "tables")
        frame = pd.read_csv(tmp_path / "tables/demo.csv")
        # per-batch clean accuracies only from a result on the whole test set (the cell's samples); else not tested
        assert bool(frame.loc[1, "clean_significant"]) is tested
        assert bool(frame.loc[1, "zeta_0.3_significant"]) is False  # equal constant batches: no test
        clean = row_of((tmp_path / "tables/demo.md").read_text(), "+ ReLog")[1]
        assert clean == ("95.00*" if tested else "95.00?")


def _incomplete(results: Path) -> Path:
    path = paths.result_json(results, "digits", "relu", 0, "zeta_0.3")
    path.write_text(json.dumps(json.loads(path.read_text()) | {"complete": False}))
    return path


def _nan_accuracy(results: Path) -> Path:
    path = paths.result_json(results, "digits", "relu", 1, "zeta_0.3")
    path.write_text(path.read_text().replace('"adv_accuracy": 0.15', '"adv_accuracy": NaN'))
    return path


def _alien(results: Path) -> Path:
    path = paths.result_json(results, "digits", "relu", 0, "alpha_0.3")
    fake_result(path, [0] * 40, attack="bim", eps=0.3, model="relog", seed=0)  # another model's result at its path
    return path


def _foreign_npz(results: Path) -> Path:
    path = paths.result_json(results, "digits", "relog", 0, "zeta_0.3")
    np.savez(path.with_suffix(".npz"), index=np.arange(40))  # the .npz of another request
    return path


def _nan_clean(results: Path) -> Path:
    path = paths.model_dir(results, "digits", "relog", 0) / "metrics.json"
    path.write_text(path.read_text().replace('"test_accuracy": 0.92', '"test_accuracy": NaN'))
    return path


@pytest.mark.parametrize(("damage", "message"), [
    (_incomplete, "is incomplete"),
    (_nan_accuracy, "adv_accuracy nan is not a finite accuracy"),
    (_alien, "model_ref name 'relog' is not the model directory's 'relu'"),
    (_foreign_npz, "zeta_0.3.npz does not match its JSON"),
    (_nan_clean, "final.test_accuracy nan is not a fraction"),
])
def test_a_refused_file_stops_the_table_with_one_line_naming_it(damage, message: str, results: Path,
                                                                 tmp_path: Path) -> None:
    damaged = damage(results)
    with pytest.raises(UserError, match=message) as error:
        aggregate(json.dumps(CONFIG), "demo", results_dir=results, out_dir=tmp_path / "tables")
    assert str(damaged) in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "tables").exists()  # never a table with the file left out


def test_a_model_without_any_result_is_shown_as_missing(results: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    config = {**CONFIG, "ablations": {"demo": {"models": ["relu", "relog-maxout_4"]}}}
    aggregate(json.dumps(config), "demo", results_dir=results, out_dir=tmp_path / "tables")
    markdown = (tmp_path / "tables/demo.md").read_text()
    row = row_of(markdown, "relog-maxout_4")
    assert row.count("—") == 6 and row[-1] == INCOMPLETE  # clean, worst case, 2 settings, 2 noise columns
    assert "relog-maxout_4/seed0/zeta_0.3.json" in capsys.readouterr().err


def test_welch_and_mcnemar_known_values() -> None:
    assert welch_p([1.0, 1.0], [1.0, 1.0]) is None and welch_p([0.5], [0.6, 0.7]) is None
    assert welch_p([0.1, 0.2, 0.3], [0.4, 0.5, 0.6]) == pytest.approx(0.0213, abs=1e-4)  # t = -3.674, df = 4
    assert mcnemar_exact_p([True] * 5, [True] * 5) == 1.0
    # b = 6 (first right only), c = 0: p = 2 · 0.5⁶ = 0.03125
    assert mcnemar_exact_p([True] * 6 + [False] * 2, [False] * 6 + [False] * 2) == pytest.approx(0.03125)


def test_welch_and_mcnemar_agree_with_scipy_stats() -> None:
    from scipy import stats

    rng = np.random.default_rng(0)
    for n, m in ((2, 2), (3, 5), (10, 4)):
        first, second = rng.normal(0.9, 0.02, n), rng.normal(0.88, 0.05, m)
        expected = stats.ttest_ind(first, second, equal_var=False).pvalue
        assert welch_p(list(first), list(second)) == pytest.approx(expected, rel=1e-9)
    for size in (7, 40, 300):
        first, second = rng.random(size) < 0.6, rng.random(size) < 0.5
        b, c = int((first & ~second).sum()), int((second & ~first).sum())
        expected = min(1.0, stats.binomtest(min(b, c), b + c, 0.5).pvalue)
        assert mcnemar_exact_p(list(first), list(second)) == pytest.approx(expected, rel=1e-9)


def test_reading_results_never_imports_torch() -> None:
    code = ("import sys, newlogic.report.tables, newlogic.report.checks, newlogic.store.results; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
