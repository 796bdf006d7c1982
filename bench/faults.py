"""Faults survived, measured (issue 14, item 6): kill training and attacks at random points, resume, compare.

Trains a small digits model that uses every source of randomness of the loop (augmentation,
scrambling negatives, a ReLog ramp, max-fit) once without interruption, and attacks it once
(BIM, 23 batches of 16), as references. Then each trial starts the same command again in a fresh
directory and interrupts it:

- ``sigkill`` / ``sigterm`` / ``sigusr1``: that signal at a random moment of the run (uniform over
  the reference's training or attack seconds, counted from the moment training starts: the model
  directory's ``config.json`` appears; for an attack, its first finished batch);
- ``checkpoint_write`` (training): the run kills itself with SIGKILL in the middle of writing its
  k-th checkpoint (k random; half of the bytes are in the temporary file).

A run that finished before its kill is started again with a shorter delay (no trial without an
interruption). It then runs the same command until it finishes, and the trial counts as identical when the
weights, ``log.txt`` and the per-epoch metrics (except seconds) equal the reference, or, for an
attack, the ``.npz`` arrays and the result JSON (except timings and provenance). Runs are forked
from this process after it imported newlogic, so that a trial costs the run, not the start-up of
Python and torch; each is ``newlogic.cli.main`` with the arguments of the command line.

Prints ``train_resumed_identical``, ``attack_resumed_identical`` and ``resumed_identical N/M``.

    OMP_NUM_THREADS=1 .venv/bin/python bench/faults.py [--trials 20] [--attack-trials 4] [--seed 0]
"""

import argparse
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from newlogic.cli import main as newlogic_main
from newlogic.store import atomic

MODEL = "relog-sigmoid_out-max_fit_l2-scrambling"
TRAINING = {"epochs": 3, "negatives_start_epoch": 0, "regularization_start_epoch": 1, "relog_ramp_epochs": 2}
ATTACK = ["--attack", "bim", "--eps", "0.1", "--batch-size", "16", "--device", "cpu"]
TRAIN_KINDS = ("sigkill", "sigterm", "sigusr1", "checkpoint_write")
ATTACK_KINDS = ("sigkill", "sigterm")
SIGNALS = {"sigkill": signal.SIGKILL, "sigterm": signal.SIGTERM, "sigusr1": signal.SIGUSR1}
UNTIMED = ("seconds_total", "seconds_per_batch", "images_per_second", "provenance")


def train_argv(out: Path) -> list[str]:
    return ["train", "--dataset", "digits", "--model", MODEL, "--seed", "3", "--out", str(out), "--device", "cpu",
            "--training", json.dumps(TRAINING)]


def attack_argv(model_dir: Path, out: Path) -> list[str]:
    return ["attack", "--model-dir", str(model_dir), "--out", str(out), *ATTACK]


def crash_in_checkpoint_write(k: int) -> None:
    """Make this process SIGKILL itself half-way through writing its ``k``-th checkpoint's temporary file."""
    real_write = atomic.atomic_write
    count = 0

    def write(path: Path | str, write_tmp: Callable[[Path], None]) -> Path:
        nonlocal count
        count += Path(path).name == "checkpoint.pt"
        if Path(path).name != "checkpoint.pt" or count != k:
            return real_write(path, write_tmp)

        def write_half_then_die(tmp: Path) -> None:
            write_tmp(tmp)
            data = tmp.read_bytes()
            tmp.write_bytes(data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)

        return real_write(path, write_half_then_die)

    atomic.atomic_write = write


def fork(argv: list[str], log: Path, before: Callable[[], None] | None = None) -> int:
    """Run ``newlogic argv`` in a forked child (output to ``log``); its pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        with open(log, "a") as handle:
            os.dup2(handle.fileno(), 1)
            os.dup2(handle.fileno(), 2)
        if before is not None:
            before()
        code = newlogic_main(argv)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    finally:
        os._exit(code or 0)


def wait(pid: int) -> int:
    """The child's exit code, or ``-signal`` when a signal ended it."""
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def run(argv: list[str], log: Path) -> None:
    code = wait(fork(argv, log))
    if code != 0:
        sys.exit(f"faults: newlogic {' '.join(argv[:1])} failed ({code}); see {log}")


def interrupt(argv: list[str], log: Path, marker: Path, delay: float, kind: str) -> int:
    """Start ``argv``; ``kind``: a signal ``delay`` s after ``marker`` appears, or a crash in a checkpoint write."""
    if kind == "checkpoint_write":
        k = random.randint(1, TRAINING["epochs"] - 1)
        return wait(fork(argv, log, before=lambda: crash_in_checkpoint_write(k)))
    pid = fork(argv, log)
    while not marker.exists():
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.005)
    time.sleep(delay)
    os.kill(pid, SIGNALS[kind])
    return wait(pid)


def fresh(directory: Path) -> Path:
    """``directory``, emptied (a run that finished before its kill left files there)."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


def until_interrupted(start: Callable[[float], int], seconds: float) -> int:
    """``start(delay)`` with a random delay in ``[0, seconds)`` until the run was interrupted (exit ≠ 0).

    A run that finished before its kill is no trial: it is started again in an emptied directory
    with half the window, at most 8 times.
    """
    for miss in range(8):
        code = start(random.uniform(0, seconds / 2**miss))
        if code != 0:
            return code
    sys.exit("faults: every run finished before its kill")


def same_training(run_dir: Path, reference: Path) -> bool:
    first, second = (torch.load(d / "model.pt", weights_only=True) for d in (run_dir, reference))
    untimed = [[{k: v for k, v in epoch.items() if k != "seconds"}
                for epoch in json.loads((d / "metrics.json").read_text())["epochs"]] for d in (run_dir, reference)]
    return (first.keys() == second.keys() and all(torch.equal(first[key], second[key]) for key in first)
            and (run_dir / "log.txt").read_text() == (reference / "log.txt").read_text()
            and untimed[0] == untimed[1] and not (run_dir / "checkpoint.pt").exists())


def same_attack(result: Path, reference: Path) -> bool:
    first, second = ({k: v for k, v in json.loads(p.read_text()).items() if k not in UNTIMED}
                     for p in (result, reference))
    with np.load(result.with_suffix(".npz")) as a, np.load(reference.with_suffix(".npz")) as b:
        arrays = a.files == b.files and all(np.array_equal(a[name], b[name]) for name in a.files)
    return first == second and arrays and not result.with_suffix(".partial.npz").exists()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="training trials (kinds in turn)")
    parser.add_argument("--attack-trials", type=int, default=4, help="attack trials (kinds in turn)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    args = parser.parse_args()
    random.seed(args.seed)
    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="newlogic-faults-"))
    log = work / "runs.log"
    reference = work / "reference"
    run(train_argv(reference), log)
    train_seconds = json.loads((reference / "metrics.json").read_text())["training_seconds"]
    reference_result = fresh(work / "reference-attack") / "bim.json"  # results never go into a model directory
    run(attack_argv(reference, reference_result), log)
    attack_seconds = json.loads(reference_result.read_text())["seconds_total"]

    identical = {"train": 0, "attack": 0}
    for trial in range(args.trials):
        kind, out = TRAIN_KINDS[trial % len(TRAIN_KINDS)], work / f"train{trial}"
        code = until_interrupted(
            lambda delay, out=out, kind=kind: interrupt(train_argv(fresh(out)), log, out / "config.json", delay, kind),
            train_seconds)
        run(train_argv(out), log)
        identical["train"] += same_training(out, reference)
        print(f"train trial {trial}: {kind}, exit {code}, identical {same_training(out, reference)}", file=sys.stderr,
              flush=True)
    for trial in range(args.attack_trials):
        kind, out = ATTACK_KINDS[trial % len(ATTACK_KINDS)], work / f"attack{trial}" / "bim.json"
        code = until_interrupted(
            lambda delay, out=out, kind=kind: interrupt(attack_argv(reference, fresh(out.parent) / out.name), log,
                                                        out.with_suffix(".partial.npz"), delay, kind),
            attack_seconds)
        run(attack_argv(reference, out), log)
        identical["attack"] += same_attack(out, reference_result)
        print(f"attack trial {trial}: {kind}, exit {code}, identical {same_attack(out, reference_result)}",
              file=sys.stderr, flush=True)
    print(f"train_resumed_identical {identical['train']}/{args.trials}")
    print(f"attack_resumed_identical {identical['attack']}/{args.attack_trials}")
    print(f"resumed_identical {sum(identical.values())}/{args.trials + args.attack_trials}")


if __name__ == "__main__":
    main()
