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
from newlogic.report.collect import collect_ablation
from newlogic.report.entries import ChecksEntry, read_checks
from newlogic.report.render import LEFT, RIGHT, Markup, TextTable, latex, markdown, rendered
from newlogic.report.samples import load_result, values_at
from newlogic.report.tables import DERIVED_SUFFIXES, table_of, write_tables
from newlogic.report.verdicts import combined_verdict, verdict_text
from newlogic.report.vocabulary import INCOMPLETE, INCONCLUSIVE, MASKING_SUSPECTED, NO_MASKING_FOUND, PASSED
from newlogic.stats import mcnemar_exact_p, welch_p
from newlogic.store import paths
from newlogic.study_loader import load_study

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


def checks_report(reference: dict, results: list[Path]) -> dict:
    """The ``checks.json`` of ``results``, as ``newlogic checks`` writes it (the collector recomputes it)."""
    return {**checks.run_checks([load_result(path) for path in results]), "model_ref": reference}


def write_run(results: Path, model: str, seed: int, clean: float, adv: dict[str, list[float]],
              subset: bool = False, metric_flags: list[str] | None = None, clean_batches: list[float] | None = None,
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
    write_json(paths.checks_json(results, "digits", model, seed), checks_report(reference, written))
    fake_noise(results, reference)
    return reference


def tabulate(config: dict | Path, results: Path, out_dir: Path) -> None:
    """The tables as ``newlogic aggregate`` writes them: the config loaded, its files collected once, then drawn."""
    study = load_study(config if isinstance(config, Path) else json.dumps(config))
    write_tables(table_of(collect_ablation(study.config, "demo", results), study.stats), out_dir)


@pytest.fixture
def results(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    for seed, clean in ((0, 0.90), (1, 0.94)):
        write_run(root, "relu", seed, clean, {"zeta_0.3": [0.1, 0.1, 0.2, 0.2], "alpha_0.3": [0.0, 0.0, 0.0, 0.0]})
    # FGSM 85 % against 5-step BIM 2.5 %: one_step_above_iterative flags the model (no sound attack ran)
    write_run(root, "relog", 0, 0.92, {"zeta_0.3": [0.8, 0.9, 0.8, 0.9], "alpha_0.3": [0.0, 0.0, 0.0, 0.1]},
              subset=True, metric_flags=["relog_ramp_unfinished"])
    return root


def row_of(markdown: str, label: str) -> list[str]:
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {label}"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_rows_columns_and_numbers(results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_path = tmp_path / "config.yaml"
    config_path.write_text(json.dumps(CONFIG))
    tabulate(config_path, results, tmp_path / "tables")
    table = pd.read_csv(tmp_path / "tables/demo.csv")
    assert list(table["label"]) == ["Baseline", "'+ ReLog"]  # config order; a leading + quoted (escape.csv_cell)
    assert [c for c in table.columns if not c.endswith(DERIVED_SUFFIXES)][:6] == [
        "model", "label", "clean", "worst_linf_0.3", "zeta_0.3", "alpha_0.3"]  # clean, worst case, then settings
    assert table.loc[0, "clean"] == pytest.approx(92.0)
    assert table.loc[0, "clean_std"] == pytest.approx(100 * 0.02828427, rel=1e-4)  # std of 0.90, 0.94 (n - 1)
    assert table.loc[0, "zeta_0.3"] == pytest.approx(15.0)
    assert table.loc[1, "zeta_0.3_runs"] == 1  # seed 1 of relog is missing
    assert table.loc[1, "worst_linf_0.3"] == pytest.approx(2.5)  # per sample: right under FGSM and BIM
    # relu: FGSM 15 % against BIM-5 0 % flags the model; relog: seed 0 suspect, seed 1 missing (combined_verdict)
    assert list(table["verdict"]) == [MASKING_SUSPECTED, INCOMPLETE]
    assert list(table["ramp_unfinished"]) == [False, True]
    assert list(table["worst_case_upper_bound"]) == [True, False]
    # every cell: its pooled Clopper–Pearson interval, n and whether it was tested against the row above
    assert (table.loc[1, "worst_linf_0.3_n"], table.loc[1, "zeta_0.3_n"], table.loc[0, "zeta_0.3_n"]) == (40, 40, 80)
    assert table.loc[1, "worst_linf_0.3_low"] == pytest.approx(0.0633, abs=1e-3)
    assert table.loc[1, "worst_linf_0.3_high"] == pytest.approx(13.16, abs=1e-2)
    assert table.loc[0, "zeta_0.3_low"] < 15.0 < table.loc[0, "zeta_0.3_high"]
    assert list(table["zeta_0.3_tested"]) == [False, False]  # the first row has no row above; one seed below
    assert table.loc[0, "noise_rejected_n"] == 200 and table.loc[0, "clean_n"] == 80

    markdown = (tmp_path / "tables/demo.md").read_text()
    # the worst-case column's header names its kind (newlogic.report.worst_case.CASE_HEADERS)
    assert re.search(r"\| Model \| Clean \| [^|]+ L∞ ε=0\.3 \| FGSM ε=0\.3 \| alpha_0\.3 \| Noise rejected \|",
                     markdown)
    relog = row_of(markdown, "+ ReLog")
    assert relog[0] == "+ ReLog△"  # the ramp had not finished
    # one seed: not tested (Welch needs 3 per cell, never a switch to McNemar); subset; a seed lacks it; the checks
    # call the FGSM cell masking suspected (only 5-step BIM ran beside it) and flag it
    assert relog[3] == "85.00?⊂⊖!‡"
    # relu's verdict is masking suspected: its worst case is an upper bound
    assert row_of(markdown, "Baseline")[2].startswith("≤ 0.00 ± 0.00 [0.0, 4.5]")
    # the worst case, from checks.json, with the Clopper–Pearson interval of 1 survivor in 40 images:
    # [1 − 0.975^(1/40), B⁻¹(0.975; 2, 39)] = [0.06 %, 13.2 %]
    assert relog[2] == "2.50 [0.1, 13.2]?⊂⊖"
    assert "—" not in relog  # one of two seeds present: a mean of one run, marked, not missing
    # the marker's legend says the severity it shows
    assert f"‡ one_step_above_iterative ({MASKING_SUSPECTED}): {CHECKS['one_step_above_iterative'].description}" \
        in markdown
    assert "≤ an upper bound" in markdown and "not training variance" in markdown
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
    tabulate(CONFIG, results, tmp_path / "tables")
    relog = row_of((tmp_path / "tables/demo.md").read_text(), "+ ReLog")
    assert relog[-1] == MASKING_SUSPECTED and relog[2].startswith("≤ ")  # both seeds flagged: a bound
    paths.checks_json(results, "digits", "relog", 0).unlink()
    tabulate(CONFIG, results, tmp_path / "tables")
    relog = row_of((tmp_path / "tables/demo.md").read_text(), "+ ReLog")
    assert relog[-1] == INCOMPLETE and not relog[2].startswith("≤")


def test_combined_verdict_is_the_worst_seed_and_the_fewest_checks_passed() -> None:
    def report(word: str, passed: int) -> ChecksEntry:
        return read_checks({"verdict": word, "worst_case": [], "cells": {}, "flags": [],
                            "checks": [{"status": PASSED}] * passed + [{"status": INCONCLUSIVE}]})
    assert combined_verdict([report(NO_MASKING_FOUND, 12), report(NO_MASKING_FOUND, 10)]) == verdict_text(
        NO_MASKING_FOUND, 10)
    assert combined_verdict([report(NO_MASKING_FOUND, 12), report(INCONCLUSIVE, 9)]) == INCONCLUSIVE
    assert combined_verdict([report(INCONCLUSIVE, 12), report(INCOMPLETE, 9)]) == INCOMPLETE
    assert combined_verdict([report(NO_MASKING_FOUND, 12), None]) == INCOMPLETE


def test_seeds_use_welch_per_seed_and_the_paper_option_welch_per_batch(tmp_path: Path) -> None:
    # per-seed accuracies 0.50, 0.60, 0.55 against 0.55, 0.65, 0.60: no difference between seeds; 30 constant
    # batches each pooled: a "significant" difference only when every batch counts as independent (the paper's test)
    root = tmp_path / "results"
    for model, accuracies in (("relu", (0.5, 0.6, 0.55)), ("relog", (0.55, 0.65, 0.6))):
        for seed, accuracy in enumerate(accuracies):
            write_run(root, model, seed, accuracy, {"zeta_0.3": [accuracy] * 10})
    config = {**CONFIG, "seeds": [0, 1, 2], "attacks": {"zeta_0.3": CONFIG["attacks"]["zeta_0.3"]}}
    for stats, starred in (("seeds", False), ("paper", True)):
        tabulate({**config, "stats": stats}, root, tmp_path / stats)
        frame = pd.read_csv(tmp_path / stats / "demo.csv")
        assert bool(frame.loc[1, "zeta_0.3_significant"]) is starred, stats
        assert bool(frame.loc[1, "clean_significant"]) is False
    assert "the paper's test" in (tmp_path / "paper/demo.md").read_text()
    with pytest.raises(UserError, match="stats.*'batches'"):  # the study loader's schema refuses it first
        tabulate({**config, "stats": "batches"}, root, tmp_path / "x")
    with pytest.raises(UserError, match="stats 'batches' is not valid; valid: seeds, paper"):  # so does the table
        table_of(collect_ablation(load_study(json.dumps(config)).config, "demo", root), "batches")


def test_the_clean_column_is_tested_on_the_samples_its_cell_shows(tmp_path: Path) -> None:
    config = {**CONFIG, "seeds": [0], "stats": "paper", "attacks": {"zeta_0.3": CONFIG["attacks"]["zeta_0.3"]}}
    for subset, tested in ((False, True), (True, False)):
        root = tmp_path / f"results-{subset}"
        write_run(root, "relu", 0, 0.5, {"zeta_0.3": [0.1] * 4}, clean_batches=[0.5] * 4, subset=subset)
        write_run(root, "relog", 0, 0.95, {"zeta_0.3": [0.1] * 4}, clean_batches=[1.0, 0.9, 1.0, 0.9], subset=subset)
        tabulate(config, root, tmp_path / "tables")
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
    (_nan_accuracy, "NaN is not a finite number"),
    (_alien, "model_ref name 'relog' is not the model directory's 'relu'"),
    (_foreign_npz, "zeta_0.3.npz does not match its JSON"),
    (_nan_clean, "NaN is not a finite number"),
])
def test_a_refused_file_stops_the_table_with_one_line_naming_it(damage, message: str, results: Path,
                                                                 tmp_path: Path) -> None:
    damaged = damage(results)
    with pytest.raises(UserError, match=message) as error:
        tabulate(CONFIG, results, tmp_path / "tables")
    assert str(damaged) in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "tables").exists()  # never a table with the file left out


def test_a_model_without_any_result_is_shown_as_missing(results: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    config = {**CONFIG, "ablations": {"demo": {"models": ["relu", "relog-maxout_4"]}}}
    tabulate(config, results, tmp_path / "tables")
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


def test_the_one_renderer_draws_each_format_and_escapes_every_text_but_markup() -> None:
    table = TextTable(["Model", "L∞ ε=0.3 | x"], [["A|b [c]", Markup("85.00$^{?}$")], ["+ ReLog", "—"]],
                      LEFT + RIGHT, ["C&W 50% ≤ 1"], breaks=(1,))
    assert markdown(table) == ("| Model | L∞ ε=0.3 \\| x |\n|---|---:|\n| A\\|b \\[c\\] | 85.00$^{?}$ |\n"
                               "| + ReLog | — |\n\nC&W 50% ≤ 1  \n")
    assert latex(table) == ("\\begin{tabular}{lr}\n\\toprule\n"
                            "Model & L$\\infty$ $\\varepsilon$=0.3 \\textbar{} x \\\\\n"
                            "\\midrule\nA\\textbar{}b [c] & 85.00$^{?}$ \\\\\n\\midrule\n+ ReLog & -- \\\\\n"
                            "\\bottomrule\n\\end{tabular}\n% C\\&W 50\\% $\\leq$ 1\n")
    texts = rendered(lambda: pd.DataFrame({"label": ["+ ReLog"], "value": [-0.5]}), lambda ext: table)
    assert list(texts) == list(paths.TABLE_FORMATS)
    assert texts["csv"] == "label,value\n'+ ReLog,-0.5\n"  # a formula start quoted, a number left a number


def test_checks_json_worst_cases_are_read_once_into_typed_entries(tmp_path: Path) -> None:
    reference = fake_model_dir(tmp_path, "relu", 0, test_accuracy=0.9)
    written = [fake_setting_result(tmp_path, reference, setting, CONFIG["attacks"][setting], per_sample(batches),
                                   batch_size=BATCH, test_size=BATCH * len(batches))
               for setting, batches in (("zeta_0.3", [0.5, 0.3]), ("alpha_0.3", [0.2, 0.4]))]
    report = json.loads(json.dumps(checks_report(reference, written)))  # as the file reads back
    entry = read_checks(report)
    (case,) = entry.worst_cases
    assert (case.norm, case.eps, case.column, case.threat) == ("linf", 0.3, "worst_linf_0.3", "Linf")
    stored = report["worst_case"][0]
    assert case.counts == (stored["survived"], 20) and case.accuracy == pytest.approx(case.counts[0] / 20)
    assert case.interval == tuple(stored["interval"]) and set(case.settings) == {"zeta_0.3", "alpha_0.3"}
    assert case.at_pixel_bound("linf", 0.30000000001) and not case.at_pixel_bound("l2", 0.3)
    assert entry.verdict == report["verdict"] and entry.cell_words["zeta_0.3"] == report["cells"]["zeta_0.3"]["verdict"]


def test_per_sample_values_are_aligned_on_shared_images_by_index() -> None:
    index, values = np.array([7, 2, 9, 4]), np.array([70, 20, 90, 40])
    assert list(values_at(index, values, np.array([2, 4, 9]))) == [20, 40, 90]
