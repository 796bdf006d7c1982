"""bench/faults.py in small: one trial of each kind of kill, each resumed to an identical result."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_every_kind_of_kill_resumes_identically() -> None:
    done = subprocess.run([sys.executable, "bench/faults.py", "--trials", "4", "--attack-trials", "2"], cwd=REPO,
                          capture_output=True, text=True, timeout=1200, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "train_resumed_identical 4/4", "attack_resumed_identical 2/2", "resumed_identical 6/6",
    ], done.stdout + done.stderr
    exits = dict(re.findall(r"^train trial \d+: (\w+), exit (-?\d+)", done.stderr, re.MULTILINE))
    assert exits["checkpoint_write"] == "-9", done.stderr  # killed inside the write, not finished
    assert exits["sigkill"] == "-9", done.stderr
