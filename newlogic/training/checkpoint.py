"""Resumable training state (docs/architecture.md: ``checkpoint.pt``).

Training checks a ``StopRequest`` between batches: SIGTERM or SIGUSR1 sets it, and so does
the job's own deadline (``job_deadline``: the Slurm job's end time minus a margin), and the loop
saves a checkpoint of its exact position and stops (cluster/README.md says why both).

A checkpoint is one ``torch.save`` file, written atomically (temp file + rename), loaded with
``weights_only=True``. It holds what the training loop puts in it (model, optimizer and
scheduler state, epoch, batch, history, …) plus the states of every random number
generator, the device type, and the *fingerprint* of the run's config. Loading checks the
format and the fingerprint: a corrupt file, or one written for another model, dataset, seed
or option set, raises ``UserError``; training never silently restarts from scratch.
"""

import math
import os
import pickle
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from newlogic.errors import UserError
from newlogic.numbers import parse_decimal, parse_int
from newlogic.training.torch_save import atomic_torch_save

CHECKPOINT_FORMAT = "newlogic-checkpoint"
CHECKPOINT_VERSION = 1
STOP_SIGNALS = ("SIGTERM", "SIGUSR1")  # what Slurm sends at the time limit, on preemption and with --signal
STOP_MARGIN_ENV = "NEWLOGIC_STOP_MARGIN"  # seconds before the job's end at which training checkpoints and stops
DEFAULT_STOP_MARGIN = 300.0  # covers a batch, the epoch's test evaluation and the checkpoint write on the paper configs
SQUEUE_TIMEOUT = 10  # seconds
MAX_END_TIME = 253402300799  # 9999-12-31 23:59:59 UTC: the last second datetime can show (utc_clock)


@dataclass(frozen=True)
class RandomSource:
    """The generators of the training loop.

    ``host`` (CPU) draws the per-epoch permutation and small per-batch choices (which
    scrambling, its permutations); ``device`` (on the training device) draws per-image
    randomness (augmentation, overlay partners and scales) without host round-trips.
    """

    host: torch.Generator
    device: torch.Generator

    @classmethod
    def seeded(cls, seed: int, device: torch.device) -> "RandomSource":
        """Two independent generators derived from ``seed`` (``numpy.random.SeedSequence``)."""
        host_seed, device_seed = (int(s.generate_state(1, np.uint64)[0]) for s in np.random.SeedSequence(seed).spawn(2))
        return cls(torch.Generator().manual_seed(host_seed), torch.Generator(device=device).manual_seed(device_seed))


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and every CUDA device), numpy's global generator and Python's ``random``."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def capture_rng(source: RandomSource) -> dict[str, Any]:
    """Every generator state as tensors and plain values (loadable with ``weights_only=True``)."""
    key, keys, position, has_gauss, cached_gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "key": key, "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "position": int(position), "has_gauss": int(has_gauss), "cached_gauss": float(cached_gauss),
        },
        "python": random.getstate(),
        "host": source.host.get_state(),
        "device": source.device.get_state(),
    }


def restore_rng(state: dict[str, Any], source: RandomSource) -> None:
    """Put every generator back in the state ``capture_rng`` recorded."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    numpy_state = state["numpy"]
    np.random.set_state((
        numpy_state["key"], numpy_state["keys"].numpy().astype(np.uint32),
        numpy_state["position"], numpy_state["has_gauss"], numpy_state["cached_gauss"],
    ))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    source.host.set_state(state["host"])
    source.device.set_state(state["device"])


def save_checkpoint(path: Path, fingerprint: str, device: torch.device, source: RandomSource, **state: Any) -> Path:
    """Write ``state`` with the format tag, ``fingerprint``, device type and RNG states, atomically."""
    payload = {
        "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "fingerprint": fingerprint,
        "device_type": device.type, "rng": capture_rng(source), **state,
    }
    return atomic_torch_save(payload, path)


def load_checkpoint(path: Path, fingerprint: str, device: torch.device) -> dict[str, Any]:
    """Read a checkpoint (tensors on the CPU) after checking it is intact and belongs to this run.

    Raises ``UserError`` when the file is unreadable, not a newlogic checkpoint, of another
    version, written for a different config (fingerprint) or on another device type.
    """
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError) as error:
        raise UserError(
            f"checkpoint {path} is corrupt or unreadable ({type(error).__name__}); delete it to train from scratch"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise UserError(f"{path} is not a newlogic training checkpoint; delete it to train from scratch")
    if payload.get("version") != CHECKPOINT_VERSION:
        raise UserError(
            f"checkpoint {path} has version {payload.get('version')!r}, this code reads {CHECKPOINT_VERSION}; "
            "delete it to train from scratch"
        )
    if payload.get("fingerprint") != fingerprint:
        raise UserError(
            f"checkpoint {path} was written for another config (fingerprint {str(payload.get('fingerprint'))[:12]}, "
            f"this run {fingerprint[:12]}): model, dataset, seed, training or architecture options differ; "
            "rerun with the original options, or delete it to train from scratch"
        )
    if payload.get("device_type") != device.type:
        raise UserError(
            f"checkpoint {path} was written on a {payload.get('device_type')} device, this run uses {device.type}; "
            f"resume with --device {payload.get('device_type')}, or delete it to train from scratch"
        )
    return payload


class StopRequest:
    """Why training must stop now: SIGTERM/SIGUSR1 arrived, or the ``deadline`` (Unix seconds) passed.

    The loop checks ``reason`` between batches.
    """

    def __init__(self, deadline: float | None = None) -> None:
        self.signal_name: str | None = None
        self.deadline = deadline

    def __call__(self, signum: int, _frame: Any) -> None:
        self.signal_name = signal.Signals(signum).name

    @property
    def reason(self) -> str | None:
        """The signal's name, ``the job's deadline (…)`` once it passed, else None."""
        if self.signal_name is not None:
            return self.signal_name
        if self.deadline is not None and time.time() >= self.deadline:
            return f"the job's deadline ({utc_clock(self.deadline)}, before its time limit)"
        return None


def utc_clock(seconds: float) -> str:
    """Unix seconds as ``YYYY-MM-DD HH:MM:SS UTC``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def stop_margin(value: float | None, environ: Mapping[str, str] = os.environ) -> float:
    """``value``, else ``$NEWLOGIC_STOP_MARGIN``, else ``DEFAULT_STOP_MARGIN``; UserError unless a finite number ≥ 0.

    The variable is read as ASCII decimal notation (``newlogic.numbers.parse_decimal``): ``inf``,
    ``nan`` and ``1e400`` are refused, since a margin of inf would stop training at its first batch.
    """
    text = environ.get(STOP_MARGIN_ENV) if value is None else value
    if text is None:
        return DEFAULT_STOP_MARGIN
    margin = parse_decimal(text.strip()) if isinstance(text, str) else float(text)
    if margin is None or not math.isfinite(margin) or not margin >= 0:
        source = "--stop-margin" if value is not None else f"${STOP_MARGIN_ENV}"
        raise UserError(f"{source}={text!r}: expected seconds, a number >= 0")
    return margin


def slurm_end_time(environ: Mapping[str, str] = os.environ) -> float | None:
    """The end of the Slurm job this process runs in (Unix seconds); None outside a job or without a limit.

    ``$SLURM_JOB_END_TIME`` (set by Slurm >= 23.02), else ``squeue -h -j $SLURM_JOB_ID -o %e``
    (ISO time in the local time zone), which also sees a limit changed while the job runs. Both
    variables are read as ASCII digits (``newlogic.numbers.parse_int``; ``'²'.isdigit()`` is True).
    An end time that is not Unix seconds before ``MAX_END_TIME`` is ignored with one warning line on
    stderr (squeue is asked instead): Slurm set it, so it is no reason to refuse training.
    """
    text = environ.get("SLURM_JOB_END_TIME")
    if text is not None:
        end = parse_int(text.strip())
        if end is not None and 0 < end <= MAX_END_TIME:
            return float(end)
        print(f"warning: ignoring $SLURM_JOB_END_TIME={text[:40]!r}: not Unix seconds; asking squeue for the "
              "job's end", file=sys.stderr)
    job = environ.get("SLURM_JOB_ID", "")
    if parse_int(job) is None or job.startswith(("+", "-")):
        return None
    try:
        answer = subprocess.run(["squeue", "-h", "-j", job, "-o", "%e"], capture_output=True, text=True,
                                timeout=SQUEUE_TIMEOUT, check=True)
        return datetime.fromisoformat(answer.stdout.strip()).timestamp()
    except (OSError, subprocess.SubprocessError, ValueError):
        return None  # no squeue, no answer, or "Unknown"/"N/A" (no time limit)


def job_deadline(margin: float, environ: Mapping[str, str] = os.environ) -> float | None:
    """``slurm_end_time() − margin``: when training must checkpoint and stop; None when the job has no end."""
    end = slurm_end_time(environ)
    return None if end is None else end - margin


@contextmanager
def stop_on_signals(deadline: float | None = None) -> Iterator[StopRequest]:
    """Catch SIGTERM and SIGUSR1 while training (main thread only), restoring the old handlers after.

    The request also stops training once ``deadline`` (Unix seconds, see ``job_deadline``) passed.
    A signal that a handler installed earlier recorded (its ``signal_name``: the CLI's
    ``EarlySignals``, which covers the imports) counts as received.
    """
    request = StopRequest(deadline)
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for name in STOP_SIGNALS:
            if hasattr(signal, name):
                number = getattr(signal, name)
                previous[number] = signal.signal(number, request)
    pending = [getattr(handler, "signal_name", None) for handler in previous.values()]
    request.signal_name = next((name for name in pending if name), None)  # caught early (``EarlySignals``)
    try:
        yield request
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
