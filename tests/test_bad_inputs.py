"""Issue 11: bad input never becomes a result (the campaign of ``bad_inputs_campaign.py``, locks, NaN, dry run)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from bad_inputs_campaign import (
    BASE_CONFIG,
    CASES,
    DEMO_CONFIG,
    ROOT,
    Case,
    Workspace,
    make_workspace,
    release_locks,
    run_case,
)

from newlogic.cli import main
from newlogic.store.paths import DIVERGED_FILE, METRICS_FILE
from newlogic.store.results import read_result
from newlogic.study_loader import study_from_config

NEWLOGIC = str(Path(sys.executable).with_name("newlogic"))
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The campaign's model: relog-maxout_4 trained for 1 epoch on digits."""
    return make_workspace(tmp_path_factory.mktemp("campaign"))


@pytest.fixture(autouse=True)
def _release_locks() -> None:
    yield
    release_locks()


def test_the_campaign_covers_names_flags_configs_and_files() -> None:
    kinds = {case.kind for case in CASES}
    assert len(CASES) >= 60 and kinds == {"names", "flags", "configs", "files"}
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_one_line_and_exit_2(case: Case, workspace: Workspace, tmp_path: Path) -> None:
    outcome = run_case(case, workspace, tmp_path)
    assert outcome.problems(case) == [], outcome.stderr


def test_the_demo_config_and_a_good_attack_pass(workspace: Workspace, tmp_path: Path, capsys) -> None:
    """The counter-check: what the campaign changes is what fails."""
    study_from_config(yaml.safe_load(DEMO_CONFIG.read_text()))
    study_from_config(yaml.safe_load(BASE_CONFIG))
    out = tmp_path / "bim.json"
    assert main(["attack", "--model-dir", str(workspace.model), "--attack", "bim", "--eps", "unbounded",
                 "--limit", "20", "--device", "cpu", "--out", str(out)]) == 0
    result = read_result(out).data
    assert result["complete"] is True and result["eps"] == 1.0 and result["unbounded"] is True


def test_diverging_training_is_flagged_never_finished(workspace: Workspace, tmp_path: Path) -> None:
    case = next(case for case in CASES if case.name == "diverging training")
    assert run_case(case, workspace, tmp_path).problems(case) == []
    flag = json.loads((tmp_path / "train_out" / DIVERGED_FILE).read_text())
    assert flag["diverged"] is True and flag["epoch"] == 0 and "train_loss" in flag["non_finite"]
    assert not (tmp_path / "train_out" / METRICS_FILE).exists()
    again = run_case(case, workspace, tmp_path)  # a rerun is refused, never resumed into a "finished" model
    assert again.code == 2 and "diverged" in again.stderr


def test_a_mixed_pair_after_a_kill_is_recomputed(workspace: Workspace, tmp_path: Path, capsys) -> None:
    """A new request's .npz beside an old request's JSON (a kill between the writes): a rerun notices."""
    def attack(eps: str, out: Path) -> None:
        assert main(["attack", "--model-dir", str(workspace.model), "--attack", "fgsm", "--eps", eps, "--limit", "20",
                     "--device", "cpu", "--out", str(out)]) == 0

    old, new = tmp_path / "old.json", tmp_path / "new.json"
    attack("0.1", old)
    attack("0.3", new)
    shutil.copy(new.with_suffix(".npz"), old.with_suffix(".npz"))
    (tmp_path / ".old.json.4242.tmp").write_text("left by a killed write")
    capsys.readouterr()
    attack("0.1", old)
    assert "up to date" not in capsys.readouterr().err
    assert read_result(old).data["eps"] == 0.1  # the JSON and its .npz match again
    assert not (tmp_path / ".old.json.4242.tmp").exists()


def _start_training(out: Path, seed: int, epochs: int) -> subprocess.Popen:
    return subprocess.Popen([NEWLOGIC, "train", "--dataset", "digits", "--model", "relu", "--epochs", str(epochs),
                             "--seed", str(seed), "--device", "cpu", "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)


def test_a_second_train_on_one_out_fails_at_once_naming_the_first(tmp_path: Path) -> None:
    out = tmp_path / "D"
    first = _start_training(out, seed=0, epochs=50)
    try:
        deadline = time.monotonic() + 240
        while not (out / ".lock").is_file() or not (out / ".lock").read_text().startswith(f"{first.pid}@"):
            assert first.poll() is None and time.monotonic() < deadline, "the first run never took the lock"
            time.sleep(0.5)
        second = subprocess.run([NEWLOGIC, "train", "--dataset", "digits", "--model", "relu", "--epochs", "50",
                                 "--seed", "1", "--device", "cpu", "--out", str(out)],
                                capture_output=True, text=True, env=ENV, timeout=240)
        assert second.returncode == 2 and "Traceback" not in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1 and f"pid@host {first.pid}@" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=240) == 75  # it saved a checkpoint and can resume
    assert not (out / METRICS_FILE).exists()


def test_sigterm_during_the_imports_still_exits_75(tmp_path: Path) -> None:
    run = _start_training(tmp_path / "E", seed=0, epochs=50)
    time.sleep(3.0)  # the interpreter is up (about 1 s); torch and the data are still loading
    run.send_signal(signal.SIGTERM)
    assert run.wait(timeout=240) == 75, run.stderr.read()
    assert (tmp_path / "E" / "checkpoint.pt").is_file()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda c: c.setdefault("training", {}).update(epochz=1), "epochz"),
        (lambda c: c["attacks"].update({"fgsm_0.1": {"attack": "fgsmm"}}), "fgsmm"),
        (lambda c: c["attacks"].update({"fgsm_0.1": {"attack": "fgsm", "eps": -0.1}}), "-0.1"),
    ],
    ids=["training-typo", "unknown-attack", "negative-eps"],
)
def test_the_dry_run_names_a_bad_nested_value(change, named: str, tmp_path: Path) -> None:
    config = yaml.safe_load(DEMO_CONFIG.read_text())
    change(config)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    run = subprocess.run([SNAKEMAKE, "-n", "--nolock", "--configfile", str(path)], cwd=ROOT, capture_output=True,
                         text=True, env=ENV, timeout=300)
    errors = [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("config error:")]
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert len(errors) == 1 and named in errors[0], run.stderr


def test_non_finite_adversarial_images_are_an_error_never_a_result() -> None:
    import torch

    from newlogic.attacks import resolve_setting
    from newlogic.errors import UserError
    from newlogic.evaluation.batches import NORMS, _check_bounds

    attack = resolve_setting({"attack": "fgsm", "eps": 0.3}, "digits")
    adv = torch.full((2, 1, 8, 8), 0.5)
    _check_bounds(attack, adv, {name: norm((adv - 0.5).flatten(1)) for name, norm in NORMS.items()})
    adv[1, 0, 3, 3] = float("nan")
    with pytest.raises(UserError, match="non-finite pixels"):
        _check_bounds(attack, adv, {name: norm((adv - 0.5).flatten(1)) for name, norm in NORMS.items()})
