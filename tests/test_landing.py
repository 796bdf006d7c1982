"""The report's landing view (newlogic.report.findings, html_page; newlogic landing): numbers from summary.json."""

import json
import re
from pathlib import Path

import pytest
from jinja2 import Environment
from result_fixtures import fake_model_dir, fake_setting_result

from newlogic.cli import main
from newlogic.report.checks import write_checks
from newlogic.report.findings import baseline_comparison, findings, headline_rows, weaker_attacks
from newlogic.report.html_page import landing_fragment, landing_rst, text
from newlogic.report.summary import summarize, write_summary_json
from newlogic.report.vocabulary import INCONCLUSIVE, MASKING_SUSPECTED, NO_MASKING_FOUND, WEAK_ATTACK
from newlogic.store import paths

INTERVALS = {0.05: (0.02, 0.10), 0.4: (0.3, 0.5), 0.9: (0.85, 0.95)}


def _pooled(accuracy: float, n: int = 200) -> dict:
    return {"accuracy": accuracy, "n_samples": n, "survived": round(accuracy * n),
            "interval": list(INTERVALS[accuracy])}


def _attack(setting: str, accuracy: float, kind: str = "iterative") -> dict:
    return {"setting": setting, "attack": setting.split("_")[0], "kind": kind, "threat_model": "Linf", "eps": 0.3,
            "pooled": _pooled(accuracy)}


def _model(name: str, label: str, worst: float, verdict: str, flags: list[str], fgsm: float) -> dict:
    return {"name": name, "label": label, "clean_acc": {"mean": 0.98},
            "robust_acc": [{"threat_model": "Linf", "eps": 0.3, "method": "per_sample_worst_case",
                            "pooled": _pooled(worst), "upper_bound": verdict == MASKING_SUSPECTED}],
            "attacks": [_attack("fgsm_0.3", fgsm, "one_step"), _attack("pgd_0.3", worst),
                        _attack("noise_0.3", 0.9, "noise")],
            "masking": {"verdict": verdict, "per_seed": {"0": verdict}, "flags": flags}}


SUMMARY = {
    "ablation": "demo", "caption": "Demo <b>ablation</b>", "dataset": "digits",
    "settings": ["fgsm_0.3", "pgd_0.3", "noise_0.3"], "missing": [], "reproduction": None,
    "models": [_model("relu", "Baseline C&W <td>", 0.05, NO_MASKING_FOUND, [], fgsm=0.4),
               _model("relog", "+ ReLog {% endraw %}", 0.4, MASKING_SUSPECTED, ["one_step_beats_iterative"],
                      fgsm=0.4)],
}


def test_headline_rows_read_the_pooled_worst_case_and_the_verdict() -> None:
    rows = headline_rows(SUMMARY)
    assert [row.label for row in rows] == ["Baseline C&W <td>", "+ ReLog {% endraw %}"]
    assert rows[0].cells["Linf", 0.3].text == "5.0 [2.0, 10.0] n=200"
    assert rows[1].cells["Linf", 0.3].text == "≤ 40.0 [30.0, 50.0] n=200"  # masking suspected: an upper bound
    assert [row.verdict for row in rows] == [NO_MASKING_FOUND, MASKING_SUSPECTED]


def test_findings_name_the_range_the_weaker_attacks_and_the_flags() -> None:
    sentences = findings(SUMMARY)
    assert sentences[0].startswith("Worst case L∞ ε=0.3: from 5.0 % (Baseline C&W <td>) to 40.0 % (+ ReLog")
    # FGSM's interval [30, 50] lies above the baseline's worst case [2, 10], not above + ReLog's [30, 50]
    assert weaker_attacks(SUMMARY) == {"fgsm_0.3": ["Baseline C&W <td>"]}
    assert "fgsm_0.3 was weaker than the worst case (intervals apart) for Baseline C&W <td>." in sentences
    assert f"{MASKING_SUSPECTED}: + ReLog {{% endraw %}} (flagged: one_step_beats_iterative)." in sentences


def test_an_inconclusive_model_names_the_checks_that_could_not_decide() -> None:
    """The verdict's sentence names what held it back (a check's status in the runs' checks.json), not only flags."""
    model = _model("relu", "Baseline", 0.05, INCONCLUSIVE, ["probs_gap"], fgsm=0.4)
    record = {"checks": [{"check": "adaptive_beats_standard", "status": INCONCLUSIVE},
                         {"check": "budget_doubled", "status": "passed"}]}
    sentences = findings({**SUMMARY, "models": [model]}, {"relu": {0: record, 1: record}})
    assert f"{INCONCLUSIVE}: Baseline (flagged: probs_gap; undecided: adaptive_beats_standard)." in sentences
    assert "noise_0.3" not in " ".join(sentences)  # noise is not an attack


def test_a_flag_that_only_marks_a_weak_cell_is_named_apart_from_masking() -> None:
    """An FGSM cell weaker than PGD (severity weak attack) is no sign of masking: the sentence says which is which."""
    model = _model("relu", "Baseline", 0.05, INCONCLUSIVE, ["one_step_above_iterative", "probs_gap"], fgsm=0.4)
    record = {"flags": [{"check": "one_step_above_iterative", "severity": WEAK_ATTACK},
                        {"check": "probs_gap", "severity": MASKING_SUSPECTED}],
              "checks": [{"check": "zero_gradients", "status": INCONCLUSIVE}]}
    sentences = findings({**SUMMARY, "models": [model]}, {"relu": {0: record}})
    assert (f"{INCONCLUSIVE}: Baseline (flagged: probs_gap; cells marked {WEAK_ATTACK}: one_step_above_iterative; "
            "undecided: zero_gradients).") in sentences


def test_findings_count_the_reproduction_labels_of_every_column() -> None:
    """summary.json's reproduction columns are an object keyed by column (docs/results.md), as the demo writes."""
    pairs = {"fgsm": {"agrees": 2, "inconclusive": 1, "opposite": 0, "not_comparable": 0},
             "clean": {"agrees": 0, "inconclusive": 0, "opposite": 0, "not_comparable": 3}}
    reproduction = {"mode": "shape", "columns": {column: {"setting": column, "pairs": counts}
                                                 for column, counts in pairs.items()}}
    sentences = findings({**SUMMARY, "reproduction": reproduction})
    assert sentences[-1] == ("Against the published table (shape): changes between rows 2 agrees, 1 inconclusive, "
                             "3 not comparable.")


def test_the_fragment_escapes_html_and_jinja_and_renders_through_snakemakes_template() -> None:
    fragment = landing_fragment([(SUMMARY, b"\x89PNG", None)])
    assert "Baseline C&amp;W &lt;td&gt;" in fragment and "Baseline C&W <td>" not in fragment
    assert "&#123;% endraw %&#125;" in fragment and "{% endraw %}" not in fragment
    assert "Demo &lt;b&gt;ablation&lt;/b&gt;" in fragment
    assert 'src="data:image/png;base64,\niVBORw=="' in fragment and "http" not in fragment
    assert re.search(r'<a href="#nl-demo-relog" class="nl-flagged">masking suspected</a>', fragment)
    assert '<div id="nl-demo-relog">' in fragment  # the verdict's link target, inside its <details>
    rendered = Environment().from_string(landing_rst(fragment)).render()  # as Snakemake renders the description
    assert rendered.strip().startswith(".. raw:: html") and "{% raw %}" not in rendered
    assert "&#123;% endraw %&#125;" in rendered


def test_text_escapes_markup_and_template_braces() -> None:
    assert text("<script>{{ x }}</script> & ") == "&lt;script&gt;&#123;&#123; x &#125;&#125;&lt;/script&gt; &amp; "


CONFIG = {"dataset": "digits", "seeds": [0],
              "attacks": {"fgsm_0.3": {"attack": "fgsm", "eps": 0.3}, "bim_0.3": {"attack": "bim", "eps": 0.3}},
          "ablations": {"demo": {"models": [{"name": "relu", "label": "Baseline"}]}}}


def _summary_file(root: Path) -> Path:
    reference = fake_model_dir(root, "relu", 0)
    files = [fake_setting_result(root, reference, setting, CONFIG["attacks"][setting], correct * 4)
             for setting, correct in (("fgsm_0.3", [0, 1, 1, 0, 1, 1, 1, 1, 1, 1]),
                                      ("bim_0.3", [0, 0, 1, 0, 1, 1, 0, 1, 1, 1]))]
    write_checks(files, paths.checks_json(root, "digits", "relu", 0))
    return write_summary_json(summarize(CONFIG, "demo", root), root / "tables")


def test_the_landing_command_writes_the_figure_and_the_rst(tmp_path: Path) -> None:
    summary = _summary_file(tmp_path / "results")
    out = tmp_path / "results/report/landing.rst"
    assert main(["landing", "--summary", str(summary), "--figures-dir", str(tmp_path / "figures"),
                 "--out", str(out)]) == 0
    assert (tmp_path / "figures/demo" / f"{paths.ROBUSTNESS_FIGURE}.png").stat().st_size > 1000
    assert "Baseline" in out.read_text() and "n=40" in out.read_text()
    assert "one_step_beats_iterative" not in out.read_text()  # without --config: the summary's flags only
    checks = json.loads(paths.checks_json(tmp_path / "results", "digits", "relu", 0).read_text())
    assert main(["landing", "--summary", str(summary), "--figures-dir", str(tmp_path / "figures"), "--out", str(out),
                 "--config", json.dumps(CONFIG), "--results-dir", str(tmp_path / "results")]) == 0
    page = out.read_text()
    for check in checks["checks"]:  # each check with its status and evidence, behind the verdict's link
        assert re.search(rf"<td>{check['check']}</td>\s*<td>{check['status']}</td>", page), check
    assert "Settings compared: fgsm_0.3, bim_0.3" in page


def test_a_summary_that_is_not_one_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "x.summary.json"
    bad.write_text(json.dumps({"ablation": "demo"}))
    assert main(["landing", "--summary", str(bad), "--figures-dir", str(tmp_path), "--out",
                 str(tmp_path / "l.rst")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and str(bad) in error and "summary.json" in error


def _rows_around_a_baseline(baseline_failed: list[str], masked_failed: list[str]) -> list[dict]:
    """A Baseline at 0.4 (masking suspected when ``baseline_failed``), then rows far above, level, far below, and
    far above but masked (``masked_failed``)."""
    baseline_verdict = MASKING_SUSPECTED if baseline_failed else NO_MASKING_FOUND
    return [_model("relu", "Baseline", 0.4, baseline_verdict, baseline_failed, fgsm=0.4),
            _model("ellipse", "+ Elliptical", 0.9, NO_MASKING_FOUND, [], fgsm=0.9),
            _model("same", "+ Same", 0.4, NO_MASKING_FOUND, [], fgsm=0.4),
            _model("low", "Low", 0.05, NO_MASKING_FOUND, [], fgsm=0.4),
            _model("masked", "+ Masked", 0.9, MASKING_SUSPECTED, masked_failed, fgsm=0.9)]


def test_each_row_is_compared_with_the_first_and_an_upper_bound_is_not() -> None:
    models = _rows_around_a_baseline([], ["one_step_beats_iterative"])
    rows = headline_rows({**SUMMARY, "models": models})
    assert baseline_comparison(rows, ("Linf", 0.3)) == (
        "L∞ ε=0.3 against Baseline (40.0 [30.0, 50.0] n=200): higher, intervals apart: + Elliptical (+50.0 points); "
        "lower, intervals apart: Low (-35.0 points); within the intervals: + Same (+0.0 points); "
        "an upper bound only, not compared: + Masked.")
    assert baseline_comparison(rows, ("Linf", 0.3)) in findings({**SUMMARY, "models": models})
    assert baseline_comparison(rows, ("L2", 2.0)) is None  # no row has that column


def test_an_upper_bound_is_compared_only_the_way_it_cannot_overturn() -> None:
    """A bounded baseline: a row wholly above it is higher (the truth lies at or below the bound), nothing else."""
    rows = headline_rows({**SUMMARY, "models": _rows_around_a_baseline(["not_converged"], ["not_converged"])})
    assert baseline_comparison(rows, ("Linf", 0.3)) == (
        "L∞ ε=0.3 against Baseline (≤ 40.0 [30.0, 50.0] n=200): higher, intervals apart: + Elliptical (+50.0 points); "
        "not compared with the baseline's upper bound: + Same (+0.0 points), Low (-35.0 points); "
        "an upper bound only, not compared: + Masked.")
    low_masked = headline_rows({**SUMMARY, "models": [
        _model("relu", "Baseline", 0.4, NO_MASKING_FOUND, [], fgsm=0.4),
        _model("low", "Low", 0.05, MASKING_SUSPECTED, ["not_converged"], fgsm=0.4)]})
    assert baseline_comparison(low_masked, ("Linf", 0.3)) == (  # a bound wholly below the baseline is lower
        "L∞ ε=0.3 against Baseline (40.0 [30.0, 50.0] n=200): lower, intervals apart: Low (-35.0 points).")
