"""Ablation tables from hand-made result files: layout, statistics, worst case, verdicts, markers, refusals."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from result_fixtures import fake_result

from newlogic.errors import UserError
from newlogic.report import checks
from newlogic.report.checks import CHECKS
from newlogic.report.stats import mcnemar_exact_p, welch_p
from newlogic.report.tables import aggregate
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


def write_run(results: Path, model: str, seed: int, clean: float, adv: dict[str, list[float]],
              flags: list[dict] | None = None, subset: bool = False, verdict: str = "robust",
              metric_flags: list[str] | None = None, clean_batches: list[float] | None = None) -> None:
    model_dir = paths.model_dir(results, "digits", model, seed)
    write_json(model_dir / "metrics.json", {"final": {"test_accuracy": clean}, "flags": metric_flags or []})
    write_json(model_dir / "config.json", {"provenance": {"config_hash": model}})
    for setting, batches in adv.items():
        attack = {"zeta": "fgsm", "alpha": "bim"}[setting.split("_")[0]]
        clean_correct = per_sample(clean_batches) if clean_batches else None
        fake_result(paths.result_json(results, "digits", model, seed, setting), per_sample(batches), attack=attack,
                    eps=0.3, model=model, seed=seed, subset=subset, clean=clean_correct, batch_size=BATCH)
    write_json(paths.checks_json(results, "digits", model, seed),
               {"schema_version": checks.SCHEMA_VERSION, "flags": flags or [], "verdict": verdict})
    write_json(paths.noise_json(results, "digits", model, seed),
               {"inputs": {"uniform_noise": {"rejection_rate": 0.5}, "scrambled": {"rejection_rate": 0.25}}})


@pytest.fixture
def results(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    for seed, clean in ((0, 0.90), (1, 0.94)):
        write_run(root, "relu", seed, clean, {"zeta_0.3": [0.1, 0.1, 0.2, 0.2], "alpha_0.3": [0.0, 0.0, 0.0, 0.0]})
    flag = {"check": "one_step_above_iterative", "marker": "‡", "message": "m", "settings": ["zeta_0.3", "alpha_0.3"]}
    write_run(root, "relog", 0, 0.92, {"zeta_0.3": [0.8, 0.9, 0.8, 0.9], "alpha_0.3": [0.0, 0.0, 0.0, 0.1]},
              flags=[flag], subset=True, verdict="suspect", metric_flags=["relog_ramp_unfinished"])
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
    assert list(table["verdict"]) == ["robust", "suspect"]
    assert list(table["ramp_unfinished"]) == [False, True]

    markdown = (tmp_path / "tables/demo.md").read_text()
    assert "| Model | Clean | Worst-case L∞ ε=0.3 | FGSM ε=0.3 | alpha_0.3 | Noise rejected |" in markdown
    relog = row_of(markdown, "+ ReLog")
    assert relog[0] == "+ ReLog△"  # the ramp had not finished
    assert relog[3] == "85.00*⊂‡"  # McNemar (one seed) against the row above, subset, masking flag
    assert "—" not in relog  # one of two seeds present: a mean of one run, not missing
    assert CHECKS["one_step_above_iterative"].description in markdown
    assert "McNemar's exact test" in markdown and "△ the ReLog or curvature ramp" in markdown

    latex = (tmp_path / "tables/demo.tex").read_text()
    assert r"\textbf{85.00}" in latex and r"\toprule" in latex and r"\bottomrule" in latex
    assert r"\ddag" in latex and r"\triangle" in latex

    err = capsys.readouterr().err
    assert "relog/seed1/metrics.json (not found)" in err and "missing" in err


def test_the_verdict_combines_the_seeds(results: Path, tmp_path: Path) -> None:
    write_run(results, "relog", 1, 0.92, {"zeta_0.3": [0.8, 0.9, 0.8, 0.9], "alpha_0.3": [0.0] * 4})
    aggregate(json.dumps(CONFIG), "demo", results_dir=results, out_dir=tmp_path / "tables")
    assert row_of((tmp_path / "tables/demo.md").read_text(), "+ ReLog")[-1] == "suspect"  # seed 0 is suspect
    write_run(results, "relog", 0, 0.92, {"zeta_0.3": [0.8, 0.9, 0.8, 0.9], "alpha_0.3": [0.0] * 4})
    aggregate(json.dumps(CONFIG), "demo", results_dir=results, out_dir=tmp_path / "tables")
    assert row_of((tmp_path / "tables/demo.md").read_text(), "+ ReLog")[-1] == "robust"
    paths.checks_json(results, "digits", "relog", 0).unlink()
    aggregate(json.dumps(CONFIG), "demo", results_dir=results, out_dir=tmp_path / "tables")
    assert row_of((tmp_path / "tables/demo.md").read_text(), "+ ReLog")[-1] == "not evaluated"


def test_seeds_use_welch_per_seed_and_the_paper_option_welch_per_batch(tmp_path: Path) -> None:
    # per-seed accuracies 0.50, 0.60 against 0.55, 0.65: no difference between seeds; 20 constant batches each
    # pooled: a "significant" difference only when every batch counts as independent (the paper's test)
    root = tmp_path / "results"
    for model, accuracies in (("relu", (0.5, 0.6)), ("relog", (0.55, 0.65))):
        for seed, accuracy in enumerate(accuracies):
            write_run(root, model, seed, accuracy, {"zeta_0.3": [accuracy] * 10})
    config = {**CONFIG, "attacks": {"zeta_0.3": CONFIG["attacks"]["zeta_0.3"]}}
    for stats, starred in (("seeds", False), ("paper", True)):
        aggregate(json.dumps({**config, "stats": stats}), "demo", results_dir=root, out_dir=tmp_path / stats)
        frame = pd.read_csv(tmp_path / stats / "demo.csv")
        assert bool(frame.loc[1, "zeta_0.3_significant"]) is starred, stats
        assert bool(frame.loc[1, "clean_significant"]) is False
    assert "the paper's test" in (tmp_path / "paper/demo.md").read_text()
    with pytest.raises(UserError, match="stats 'batches' is not valid; valid: seeds, paper"):
        aggregate(json.dumps({**config, "stats": "batches"}), "demo", results_dir=root, out_dir=tmp_path / "x")


def test_the_clean_column_is_tested_too(tmp_path: Path) -> None:
    root = tmp_path / "results"
    write_run(root, "relu", 0, 0.5, {"zeta_0.3": [0.1] * 4}, clean_batches=[0.5] * 4)
    write_run(root, "relog", 0, 0.95, {"zeta_0.3": [0.1] * 4}, clean_batches=[1.0, 0.9, 1.0, 0.9])
    config = {**CONFIG, "seeds": [0], "attacks": {"zeta_0.3": CONFIG["attacks"]["zeta_0.3"]}}
    aggregate(json.dumps(config), "demo", results_dir=root, out_dir=tmp_path / "tables")
    frame = pd.read_csv(tmp_path / "tables/demo.csv")
    assert bool(frame.loc[1, "clean_significant"]) is True  # McNemar on the clean per-sample correctness
    assert bool(frame.loc[1, "zeta_0.3_significant"]) is False  # the same images right: b = c = 0


def test_refused_results_are_listed_as_missing_never_as_numbers(results: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    relu0 = paths.result_json(results, "digits", "relu", 0, "zeta_0.3")
    incomplete = json.loads(relu0.read_text()) | {"complete": False}
    relu0.write_text(json.dumps(incomplete))
    relu1 = paths.result_json(results, "digits", "relu", 1, "zeta_0.3")
    relu1.write_text(relu1.read_text().replace('"adv_accuracy": 0.15', '"adv_accuracy": NaN'))
    alien = paths.result_json(results, "digits", "relu", 0, "alpha_0.3")
    fake_result(alien, [0] * 40, attack="bim", eps=0.3, model="relog", seed=0)  # another model's result at its path
    relog = paths.result_json(results, "digits", "relog", 0, "zeta_0.3")
    np.savez(relog.with_suffix(".npz"), index=np.arange(40))  # the .npz of another request
    write_json(paths.model_dir(results, "digits", "relog", 0) / "metrics.json", {"final": {"test_accuracy": math.nan}})
    aggregate(json.dumps(CONFIG), "demo", results_dir=results, out_dir=tmp_path / "tables")
    markdown = (tmp_path / "tables/demo.md").read_text()
    assert "Worst-case" not in markdown  # no run has every attack of the table
    assert row_of(markdown, "Baseline")[2:4] == ["—", "0.00"]  # FGSM refused twice; BIM: seed 1 only
    assert row_of(markdown, "+ ReLog")[1:3] == ["—", "—"]  # NaN clean accuracy, mismatched .npz
    err = capsys.readouterr().err
    assert "relu/seed0/zeta_0.3.json (result" in err and "is incomplete" in err
    assert "adv_accuracy nan is not a finite accuracy" in err
    assert "belongs to another model: model_ref name 'relog', expected 'relu'" in err
    assert "zeta_0.3.npz does not match its JSON" in err and "test_accuracy nan is not a finite accuracy" in err
    assert "nan" not in markdown.lower()


def test_a_model_without_any_result_is_shown_as_missing(results: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    config = {**CONFIG, "ablations": {"demo": {"models": ["relu", "relog-maxout_4"]}}}
    aggregate(json.dumps(config), "demo", results_dir=results, out_dir=tmp_path / "tables")
    markdown = (tmp_path / "tables/demo.md").read_text()
    row = row_of(markdown, "relog-maxout_4")
    assert row.count("—") == 6 and row[-1] == "not evaluated"  # clean, worst case, 2 settings, 2 noise columns
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
