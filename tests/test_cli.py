"""The command line: user errors are one line and exit code 2, never a traceback."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from newlogic.cli import USER_ERROR_EXIT, main
from newlogic.store.provenance import collect_provenance, config_hash

NEWLOGIC = Path(sys.executable).parent / "newlogic"


def run_newlogic(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(NEWLOGIC), *args], capture_output=True, text=True, timeout=120)


def test_a_bad_model_name_is_one_line_naming_the_token(tmp_path: Path) -> None:
    done = run_newlogic("train", "--dataset", "digits", "--model", "relog-nonsense_3", "--epochs", "1",
                        "--out", str(tmp_path / "x"))
    assert done.returncode == USER_ERROR_EXIT
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "nonsense_3" in lines[0] and "valid tokens" in lines[0]
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(("args", "named"), [
    (["train", "--dataset", "imagenet", "--model", "relu", "--out", "x"], "imagenet"),
    (["train", "--dataset", "digits", "--model", "relu", "--out", "x", "--training", '{"epoch": 1}'], "epoch"),
    (["train", "--dataset", "digits", "--model", "relu", "--out", "x", "--device", "tpu"], "tpu"),
    (["attack", "--model-dir", "no/such/dir", "--attack", "fgsm", "--out", "x.json"], "no/such/dir"),
    (["aggregate", "--config", "no-such-config.yaml", "--ablation", "a"], "no-such-config.yaml"),
    (["download", "--dataset", "svhn"], "svhn"),
])
def test_user_errors_name_the_bad_value(args: list[str], named: str, capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(args) == USER_ERROR_EXIT
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and named in err, err


def test_an_unknown_attack_lists_the_registered_ones(digits_model_dir: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["attack", "--model-dir", str(digits_model_dir), "--attack", "fgsn", "--out", str(tmp_path / "r.json")])
    assert code == USER_ERROR_EXIT
    err = capsys.readouterr().err
    assert "fgsn" in err and "fgsm" in err and "cw_l2" in err


def test_provenance_names_commit_packages_host_and_slurm_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    provenance = collect_provenance({"a": 1})
    assert len(provenance["git"]["commit"]) == 40 and isinstance(provenance["git"]["dirty"], bool)
    assert provenance["packages"]["torch"] and provenance["packages"]["cleverhans"] == "4.0.0"
    assert provenance["slurm"]["SLURM_JOB_ID"] == "4242"
    assert provenance["host"]
    assert provenance["config_hash"] == config_hash({"a": 1}) != config_hash({"a": 2})
    json.dumps(provenance)
