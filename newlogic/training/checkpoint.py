"""Resumable training state (docs/architecture.md: ``checkpoint.pt``).

Training checks a ``StopRequest`` between batches: SIGTERM or SIGUSR1 sets it, and the loop
saves a checkpoint of its exact position and stops.

A checkpoint is one ``torch.save`` file, written atomically (temp file + rename), loaded with
``weights_only=True``. It holds what the training loop puts in it (model, optimizer and
scheduler state, epoch, batch, history, …) plus the states of every random number
generator, the device type, and the *fingerprint* of the run's config. Loading checks the
format and the fingerprint: a corrupt file, or one written for another model, dataset, seed
or option set, raises ``UserError``; training never silently restarts from scratch.
"""

import pickle
import random
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from newlogic.errors import UserError
from newlogic.store.atomic import atomic_torch_save

CHECKPOINT_FORMAT = "newlogic-checkpoint"
CHECKPOINT_VERSION = 1
STOP_SIGNALS = ("SIGTERM", "SIGUSR1")  # what Slurm sends before the time limit (--signal)


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


def remove_stale_temporaries(directory: Path, names: tuple[str, ...]) -> None:
    """Delete temp files that a killed atomic write of one of ``names`` left in ``directory``."""
    for name in names:
        for stale in directory.glob(f".{name}.*.tmp"):
            stale.unlink(missing_ok=True)


class StopRequest:
    """Set by SIGTERM/SIGUSR1; the loop checks it between batches."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    def __call__(self, signum: int, _frame: Any) -> None:
        self.signal_name = signal.Signals(signum).name


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """Catch SIGTERM and SIGUSR1 while training (main thread only), restoring the old handlers after."""
    request = StopRequest()
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for name in STOP_SIGNALS:
            if hasattr(signal, name):
                number = getattr(signal, name)
                previous[number] = signal.signal(number, request)
    try:
        yield request
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
