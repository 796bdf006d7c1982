"""Resumable training: killed or signalled runs resume to bit-identical weights; bad checkpoints are refused."""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from newlogic.errors import UserError
from newlogic.training.checkpoint import load_checkpoint, save_checkpoint
from newlogic.training.loop import prepare_run
from newlogic.training.run import RESUMABLE_EXIT_CODE, TrainingInterrupted, run_training

REPO = Path(__file__).resolve().parents[1]
# every source of randomness of the loop: augmentation, scrambling (host and device generators), a ramp, max-fit
MODEL = "relog-sigmoid_out-max_fit_l2-scrambling"
TRAINING = {"epochs": 4, "negatives_start_epoch": 0, "regularization_start_epoch": 1, "relog_ramp_epochs": 2}


def start(out: Path) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "newlogic.cli", "train", "--dataset", "digits", "--model", MODEL, "--seed", "3",
        "--out", str(out), "--device", "cpu", "--training", json.dumps(TRAINING),
    ]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(out: Path) -> None:
    process = start(out)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.01)


def assert_same_training(resumed: Path, reference: Path) -> None:
    first = torch.load(resumed / "model.pt", weights_only=True)
    second = torch.load(reference / "model.pt", weights_only=True)
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key
    assert (resumed / "log.txt").read_text() == (reference / "log.txt").read_text()
    untimed = [
        [{k: v for k, v in epoch.items() if k != "seconds"} for epoch in json.loads((d / "metrics.json").read_text())[
            "epochs"]]
        for d in (resumed, reference)
    ]
    assert untimed[0] == untimed[1]
    assert not (resumed / "checkpoint.pt").exists()


@pytest.fixture(scope="module")  # the two subprocess tests take about 10 s each on 2 idle cores
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("uninterrupted")
    finish(out)
    return out


def test_sigkill_at_a_random_step_then_resume_is_bit_identical(tmp_path: Path, reference: Path) -> None:
    delay = random.Random().uniform(0.0, 0.6)
    process = start(tmp_path)
    wait_for(tmp_path / "checkpoint.pt", process)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "metrics.json").exists(), f"finished before the kill (delay {delay:.3f} s)"
    finish(tmp_path)
    assert_same_training(tmp_path, reference)


def test_sigterm_saves_exits_resumable_and_resumes_identically(tmp_path: Path, reference: Path) -> None:
    process = start(tmp_path)
    wait_for(tmp_path / "checkpoint.pt", process)
    time.sleep(0.2)  # into the next epoch: the checkpoint records a position inside it
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == RESUMABLE_EXIT_CODE, stderr
    assert "stopped by SIGTERM" in stderr and "resume" in stderr
    assert (tmp_path / "checkpoint.pt").exists() and not (tmp_path / "metrics.json").exists()
    finish(tmp_path)
    assert_same_training(tmp_path, reference)


def _train(out: Path, **training: object) -> dict:
    return run_training("relu", "digits", out, data_dir=Path("data"), seed=0, device="cpu",
                        training={"augment": "none", **training}, architecture={})


def test_sigusr1_saves_inside_the_epoch_refuses_a_foreign_config_and_resumes_identically(tmp_path: Path) -> None:
    timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGUSR1))  # lands while the run is being prepared
    timer.start()
    with pytest.raises(TrainingInterrupted, match="stopped by SIGUSR1"):
        _train(tmp_path / "stopped", epochs=2)
    timer.join()
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL  # handlers restored
    run = prepare_run("relu", "digits", data_dir=Path("data"), seed=0, device="cpu",
                      training={"augment": "none", "epochs": 2}, architecture={})
    state = load_checkpoint(tmp_path / "stopped" / "checkpoint.pt", run.fingerprint, run.device)
    assert state["epoch"] == 0 and state["permutation"] is not None  # a position inside epoch 0
    for other in ({"epochs": 2, "lr": 0.01}, {"epochs": 3}):
        with pytest.raises(UserError, match="written for another config"):
            _train(tmp_path / "stopped", **other)
    with pytest.raises(UserError, match="written for another config"):
        run_training("relu", "digits", tmp_path / "stopped", data_dir=Path("data"), seed=1, device="cpu",
                     training={"augment": "none", "epochs": 2}, architecture={})
    _train(tmp_path / "stopped", epochs=2)
    _train(tmp_path / "uninterrupted", epochs=2)
    assert_same_training(tmp_path / "stopped", tmp_path / "uninterrupted")


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04truncated zip"])
def test_corrupt_checkpoint_is_a_user_error(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "checkpoint.pt").write_bytes(content)
    with pytest.raises(UserError, match="corrupt or unreadable.*delete it"):
        _train(tmp_path, epochs=1)
    assert not (tmp_path / "metrics.json").exists()


def test_a_torch_file_that_is_no_checkpoint_is_a_user_error(tmp_path: Path) -> None:
    torch.save({"weights": torch.zeros(2)}, tmp_path / "checkpoint.pt")
    with pytest.raises(UserError, match="not a newlogic training checkpoint"):
        _train(tmp_path, epochs=1)


def test_checkpoint_of_another_fingerprint_is_refused(tmp_path: Path) -> None:
    run = prepare_run("relu", "digits", data_dir=Path("data"), seed=0, device="cpu",
                      training={"augment": "none", "epochs": 1}, architecture={})
    save_checkpoint(tmp_path / "checkpoint.pt", "0" * 64, run.device, run.random, model=run.model.state_dict())
    with pytest.raises(UserError, match="another config"):
        _train(tmp_path, epochs=1)
    assert (tmp_path / "checkpoint.pt").exists()  # never removed behind the user's back
