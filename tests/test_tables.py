"""Ablation tables from hand-made result files: layout, statistics, markers, missing results."""

import json
from pathlib import Path

import pandas as pd
import pytest

from newlogic.report.checks import CHECKS
from newlogic.report.tables import aggregate
from newlogic.store import paths

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


def write_run(results: Path, model: str, seed: int, clean: float, adv: dict[str, list[float]],
              flags: list[dict] | None = None, subset: bool = False) -> None:
    write_json(paths.model_dir(results, "digits", model, seed) / "metrics.json", {"final": {"test_accuracy": clean}})
    for setting, batches in adv.items():
        write_json(paths.result_json(results, "digits", model, seed, setting),
                   {"adv_accuracy": sum(batches) / len(batches), "batch_adv_accuracies": batches, "subset": subset})
    write_json(paths.checks_json(results, "digits", model, seed), {"flags": flags or []})
    write_json(paths.noise_json(results, "digits", model, seed),
               {"inputs": {"uniform_noise": {"rejection_rate": 0.5}, "scrambled": {"rejection_rate": 0.25}}})


@pytest.fixture
def results(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    for seed, clean in ((0, 0.90), (1, 0.94)):
        write_run(root, "relu", seed, clean, {"zeta_0.3": [0.1, 0.1, 0.2, 0.2], "alpha_0.3": [0.0, 0.0, 0.0, 0.0]})
    flag = {"check": "one_step_beats_iterative", "marker": "‡", "message": "m", "settings": ["zeta_0.3", "alpha_0.3"]}
    write_run(root, "relog", 0, 0.92, {"zeta_0.3": [0.8, 0.9, 0.8, 0.9], "alpha_0.3": [0.0, 0.0, 0.0, 0.01]},
              flags=[flag], subset=True)
    return root


def test_rows_columns_and_numbers(results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_path = tmp_path / "config.yaml"
    config_path.write_text(json.dumps(CONFIG))
    aggregate(config_path, "demo", results_dir=results, out_dir=tmp_path / "tables")
    table = pd.read_csv(tmp_path / "tables/demo.csv")
    assert list(table["label"]) == ["Baseline", "+ ReLog"]  # config order
    assert [c for c in table.columns if not c.endswith(("_std", "_runs"))][:5] == [
        "model", "label", "clean", "zeta_0.3", "alpha_0.3"]  # clean, then settings in config order
    assert table.loc[0, "clean"] == pytest.approx(92.0)
    assert table.loc[0, "clean_std"] == pytest.approx(100 * 0.02828427, rel=1e-4)  # std of 0.90, 0.94 (n - 1)
    assert table.loc[0, "zeta_0.3"] == pytest.approx(15.0)
    assert table.loc[1, "zeta_0.3_runs"] == 1  # seed 1 of relog is missing

    markdown = (tmp_path / "tables/demo.md").read_text()
    assert "| Model | Clean | FGSM ε=0.3 | alpha_0.3 |" in markdown
    relog_row = next(line for line in markdown.splitlines() if line.startswith("| + ReLog"))
    assert "85.00*⊂‡" in relog_row  # Welch's t-test vs the row above, subset, masking flag
    assert "—" not in relog_row  # one of two seeds present: a mean of one run, not missing
    assert CHECKS["one_step_beats_iterative"].description in markdown

    latex = (tmp_path / "tables/demo.tex").read_text()
    assert r"\textbf{85.00}" in latex and r"\toprule" in latex and r"\bottomrule" in latex
    assert r"\ddag" in latex

    err = capsys.readouterr().err
    assert "relog/seed1/metrics.json" in err and "missing" in err


def test_a_model_without_any_result_is_shown_as_missing(results: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    config = {**CONFIG, "ablations": {"demo": {"models": ["relu", "relog-maxout_4"]}}}
    aggregate(json.dumps(config), "demo", results_dir=results, out_dir=tmp_path / "tables")
    markdown = (tmp_path / "tables/demo.md").read_text()
    row = next(line for line in markdown.splitlines() if line.startswith("| relog-maxout_4"))
    assert row.count("—") == 5
    assert "relog-maxout_4/seed0/zeta_0.3.json" in capsys.readouterr().err
