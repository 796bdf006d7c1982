"""Training keeps the Slurm job's deadline (end time minus a margin) and shows its progress in a log."""

import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from test_resume import assert_same_training

from newlogic.errors import UserError
from newlogic.progress_log import ProgressLines
from newlogic.training import checkpoint
from newlogic.training.checkpoint import job_deadline, slurm_end_time, stop_margin
from newlogic.training.run import RESUMABLE_EXIT_CODE, TrainingInterrupted, run_training

REPO = Path(__file__).resolve().parents[1]
PROGRESS_LINE = re.compile(r"^epoch \d+: batch \d+/\d+ \(\d+\.\d%\), \d+ img/s, ETA \d+:\d\d:\d\d$", re.MULTILINE)


class CountingClock:
    """A ``time`` module whose ``time()`` advances 1 s per call: the deadline passes after a set number of checks."""

    def __init__(self, start: float) -> None:
        self.now = start

    def time(self) -> float:
        self.now += 1.0
        return self.now


def _train(out: Path, margin: float | None = None) -> dict:
    return run_training("relu", "digits", out, data_dir=Path("data"), seed=0, device="cpu",
                        training={"augment": "none", "epochs": 2}, architecture={}, margin=margin)


def test_the_deadline_stops_inside_an_epoch_and_the_rerun_ends_bit_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = CountingClock(1_000_000.0)
    monkeypatch.setattr(checkpoint, "time", clock)
    monkeypatch.setenv("SLURM_JOB_END_TIME", str(1_000_000 + 7 + 100))  # 7 batch checks, then the margin of 100 s
    with pytest.raises(TrainingInterrupted, match=r"stopped by the job's deadline .* at epoch 0, batch 6"):
        _train(tmp_path / "cut", margin=100)
    assert (tmp_path / "cut" / "checkpoint.pt").exists() and not (tmp_path / "cut" / "metrics.json").exists()
    monkeypatch.delenv("SLURM_JOB_END_TIME")
    _train(tmp_path / "cut")
    _train(tmp_path / "uninterrupted")
    assert_same_training(tmp_path / "cut", tmp_path / "uninterrupted")


def test_the_end_time_comes_from_the_environment_or_squeue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "squeue"
    fake.write_text('#!/bin/sh\n[ "$*" = "-h -j 42 -o %e" ] && echo "$SQUEUE_ANSWER"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SQUEUE_ANSWER", "2030-01-02T03:04:05")
    expected = datetime(2030, 1, 2, 3, 4, 5).timestamp()  # squeue prints local time
    assert slurm_end_time({"SLURM_JOB_ID": "42"}) == expected
    assert job_deadline(300, {"SLURM_JOB_ID": "42"}) == expected - 300
    assert slurm_end_time({"SLURM_JOB_ID": "42", "SLURM_JOB_END_TIME": "1900000000"}) == 1_900_000_000
    assert slurm_end_time({"SLURM_JOB_ID": "41"}) is None  # squeue answered nothing
    monkeypatch.setenv("SQUEUE_ANSWER", "Unknown")  # a job without a time limit
    assert slurm_end_time({"SLURM_JOB_ID": "42"}) is None
    assert slurm_end_time({}) is None  # not in a Slurm job


def test_the_margin_comes_from_the_option_the_environment_or_the_default() -> None:
    assert stop_margin(None, {}) == checkpoint.DEFAULT_STOP_MARGIN
    assert stop_margin(None, {"NEWLOGIC_STOP_MARGIN": "45"}) == 45.0
    assert stop_margin(12.5, {"NEWLOGIC_STOP_MARGIN": "45"}) == 12.5
    with pytest.raises(UserError, match=r"^\$NEWLOGIC_STOP_MARGIN='soon': expected seconds, a number >= 0$"):
        stop_margin(None, {"NEWLOGIC_STOP_MARGIN": "soon"})
    with pytest.raises(UserError, match=r"^--stop-margin=-1.0: expected seconds"):
        stop_margin(-1.0, {})


def test_progress_lines_come_at_most_every_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr("newlogic.progress_log.time.monotonic", lambda: now[0])

    class Sink:
        lines: list[str] = []

        def write(self, text: str) -> None:
            self.lines += [line for line in text.splitlines() if line]

        def flush(self) -> None:
            return None

    sink = Sink()
    lines = ProgressLines(100, initial=10, items_per_unit=64, desc="epoch 1", stream=sink, interval=30)  # type: ignore[arg-type]
    for step in range(1, 41):
        now[0] = step  # one batch per second
        lines.update()
    assert sink.lines == [
        "epoch 1: batch 40/100 (40.0%), 64 img/s, ETA 0:01:00",  # after 30 s, 30 batches: 60 left at 1 per second
    ]


def test_a_piped_training_writes_progress_lines_and_a_bad_margin_is_one_line(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "newlogic.cli", "train", "--dataset", "digits", "--model", "relu",
               "--out", str(tmp_path / "run"), "--device", "cpu", "--training", json.dumps({"epochs": 1})]
    env = {**os.environ, "NEWLOGIC_PROGRESS_SECONDS": "0.05"}
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert PROGRESS_LINE.search(done.stderr), done.stderr
    assert "\r" not in done.stderr  # no tqdm bar in a log

    bad = subprocess.run([*command, "--stop-margin", "-5"], cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**env, "SLURM_JOB_END_TIME": "1900000000"})
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "newlogic train: error: --stop-margin=-5.0: expected seconds, a number >= 0"
    ], bad.stderr


def test_a_deadline_already_passed_exits_resumable(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "newlogic.cli", "train", "--dataset", "digits", "--model", "relu",
               "--out", str(tmp_path), "--device", "cpu", "--training", json.dumps({"epochs": 1})]
    env = {**os.environ, "SLURM_JOB_END_TIME": "1000000000", "NEWLOGIC_STOP_MARGIN": "0"}
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == RESUMABLE_EXIT_CODE, done.stderr
    assert "stopped by the job's deadline (2001-09-09 01:46:40 UTC" in done.stderr
    assert (tmp_path / "checkpoint.pt").exists()
