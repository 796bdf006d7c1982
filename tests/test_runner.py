"""One evaluation process per model (issue 13), resumable attacks and progress lines (issue 14), torch-free reports."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from newlogic.attacks.request import attack_request
from newlogic.cli import main
from newlogic.evaluation import evaluate
from newlogic.runner import evaluate_model

SETTINGS = {
    "fgsm_0.1": {"attack": "fgsm", "eps": 0.1, "limit": 30, "label": "FGSM ε=0.1"},
    "bim_0.3": {"attack": "bim", "eps": 0.3, "nb_iter": 3, "limit": 20, "batch_size": 8, "label": "BIM"},
}
# timing and provenance differ between two runs of the same request; everything else must not
RUN_FIELDS = ("seconds_total", "seconds_per_batch", "images_per_second", "provenance", "samples_sha256")
SLOW_SPSA = {"attack": "spsa", "eps": 0.3, "nb_iter": 30, "spsa_samples": 32, "limit": 24, "batch_size": 2}


def test_a_setting_splits_into_attack_run_options_and_labels() -> None:
    request = attack_request("t", {"attack": "transfer", "eps": 0.3, "limit": 5, "batch_size": 7, "label": "T",
                                   "surrogate": "relu"}, "digits")
    assert request.attack == {"attack": "transfer", "eps": 0.3}
    assert (request.name, request.limit, request.batch_size, request.surrogate) == ("t", 5, 7, "relu")


def test_one_process_evaluates_a_model_and_recomputes_only_a_deleted_result(
        digits_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_dir = tmp_path / "attacks"
    options = {"out_dir": seed_dir, "seed": 0, "data_dir": tmp_path, "device": "cpu", "noise_samples": 20,
               "noise_out": tmp_path / "noise.json", "checks_out": seed_dir / "checks.json"}
    outputs = evaluate_model(digits_model_dir, SETTINGS, **options)
    assert outputs["fgsm_0.1"] == seed_dir / "fgsm_0.1.json" and outputs["noise"].is_file()
    first = {name: json.loads(outputs[name].read_text()) for name in SETTINGS}
    assert first["bim_0.3"]["batch_size"] == 8 and first["bim_0.3"]["sample_count"] == 20
    assert first["fgsm_0.1"]["limit"] == 30 and "label" not in first["fgsm_0.1"]["overrides"]
    checks = json.loads(outputs["checks"].read_text())
    assert sorted(checks["results"]) == sorted(SETTINGS)
    assert not list(seed_dir.glob("*.partial.npz"))

    outputs["bim_0.3"].unlink()
    recomputed = []
    original = evaluate.evaluate_attack

    def counting(*args, **kwargs):
        recomputed.append(kwargs["desc"])
        return original(*args, **kwargs)

    monkeypatch.setattr(evaluate, "evaluate_attack", counting)
    monkeypatch.setattr("newlogic.runner.noise_rejection", lambda *a, **k: pytest.fail("noise recomputed"))
    evaluate_model(digits_model_dir, SETTINGS, **options)
    assert recomputed == ["bim_0.3"]
    assert json.loads(outputs["fgsm_0.1"].read_text()) == first["fgsm_0.1"]
    again = json.loads(outputs["bim_0.3"].read_text())
    assert {k: v for k, v in again.items() if k not in RUN_FIELDS} == \
        {k: v for k, v in first["bim_0.3"].items() if k not in RUN_FIELDS}


def test_a_bad_setting_of_evaluate_is_one_line_naming_it(digits_model_dir: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    def evaluate(settings: dict) -> str:
        code = main(["evaluate", "--model-dir", str(digits_model_dir), "--out-dir", str(tmp_path),
                     "--settings", json.dumps(settings), "--device", "cpu"])
        error = capsys.readouterr().err
        assert code == 2 and len(error.strip().splitlines()) == 1, error
        return error

    assert "'fgsmm'" in evaluate({"x": {"attack": "fgsmm"}}) and "fgsm, " in evaluate({"x": {"attack": "fgsmm"}})
    assert "'relu'" in evaluate({"t": {"attack": "transfer", "surrogate": "relu"}})
    assert not list(tmp_path.glob("*.json"))


def attack_command(model_dir: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "newlogic.cli", "attack", "--model-dir", str(model_dir), "--out", str(out),
            "--setting", json.dumps(SLOW_SPSA), "--device", "cpu", "--data-dir", str(out.parent)]


def run_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", **extra}


def test_a_killed_attack_resumes_from_its_last_batch_and_equals_an_uninterrupted_run(digits_model_dir: Path,
                                                                                      tmp_path: Path) -> None:
    whole = tmp_path / "whole" / "spsa.json"
    whole.parent.mkdir()
    done = subprocess.run(attack_command(digits_model_dir, whole), env=run_env(NEWLOGIC_PROGRESS_SECONDS="0.001"),
                          capture_output=True, text=True, timeout=600, check=True)
    progress = [line for line in done.stderr.splitlines() if line.startswith("spsa: batch ")]
    assert progress and "img/s, ETA" in progress[-1], done.stderr  # stderr is a pipe: lines, not a bar

    killed = tmp_path / "killed" / "spsa.json"
    killed.parent.mkdir()
    partial = killed.with_suffix(".partial.npz")
    process = subprocess.Popen(attack_command(digits_model_dir, killed), env=run_env(), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not partial.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert partial.exists() and not killed.exists(), "the attack finished before it could be killed mid-run"
    with np.load(partial) as stored:
        finished = len(stored["_stops"])
    assert 0 < finished < 12

    resumed = subprocess.run(attack_command(digits_model_dir, killed), env=run_env(), capture_output=True, text=True,
                             timeout=600, check=True)
    assert "resuming after" in resumed.stderr and not partial.exists()
    a, b = json.loads(whole.read_text()), json.loads(killed.read_text())
    assert {k: v for k, v in a.items() if k not in RUN_FIELDS} == {k: v for k, v in b.items() if k not in RUN_FIELDS}
    with np.load(whole.with_suffix(".npz")) as x, np.load(killed.with_suffix(".npz")) as y:
        assert x.files == y.files
        for name in x.files:
            np.testing.assert_array_equal(x[name], y[name], err_msg=name)


def test_reading_results_imports_neither_torch_nor_the_networks() -> None:
    code = ("import sys, newlogic.report.tables, newlogic.report.checks, newlogic.store.results, "
            "newlogic.attacks.request, newlogic.figures.ablation, newlogic.figures, newlogic.cli; "
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('newlogic.nn')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stdout
