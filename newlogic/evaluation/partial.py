"""The finished batches of a running attack, beside its result: what a killed attack resumes from (issue 14).

``{setting}.partial.npz`` holds every finished batch's per-sample arrays (concatenated), the
sample position where each batch stopped (``_stops``), each batch's attack seconds
(``_seconds``), the batch size in use (``_batch_size``: smaller after an out-of-memory halving)
and the ``request_hash`` it was made for (``_request_hash``). It is rewritten atomically after
every batch and deleted once the result is written. A partial file of another request, or an
unreadable one, is ignored (with a warning) and the attack starts from its first batch.

Each batch draws its random numbers from the global RNG seeded with ``batch_seed(seed, start)``
(``start``: the position of its first sample), so a batch's result does not depend on the batches
before it, and a resumed attack equals an uninterrupted one.
"""

import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from newlogic.store.atomic import atomic_write

SUFFIX = ".partial.npz"
META = ("_request_hash", "_stops", "_seconds", "_batch_size")


def batch_seed(seed: int, start: int) -> int:
    """The seed of the batch whose first sample is at ``start``: ``SeedSequence([seed, start])``'s first word."""
    return int(np.random.SeedSequence([seed, start]).generate_state(1)[0])


def partial_path(out_path: Path) -> Path:
    """``{setting}.partial.npz`` beside the result ``{setting}.json``."""
    return Path(out_path).with_suffix(SUFFIX)


def _consistent(data: dict[str, np.ndarray]) -> bool:
    """Whether a partial file's batches add up: increasing integer stops, one time per batch, arrays that long."""
    stops, seconds, batch_size = data["_stops"], data["_seconds"], data["_batch_size"]
    if stops.ndim != 1 or stops.dtype.kind not in "iu" or seconds.shape != stops.shape or len(stops) == 0:
        return False
    if batch_size.ndim != 0 or batch_size.dtype.kind not in "iu" or int(batch_size) < 1:
        return False
    if seconds.dtype.kind not in "fiu" or not np.all(np.isfinite(seconds)):
        return False
    if np.any(np.diff(np.concatenate([[0], stops])) <= 0):
        return False
    return all(values.ndim >= 1 and len(values) == int(stops[-1]) for name, values in data.items() if name not in META)


@dataclass(frozen=True)
class PartialResult:
    """The partial file of one request: ``load`` what a previous run finished, ``save`` after every batch."""

    path: Path
    request_hash: str

    def load(self) -> tuple[list[dict[str, Any]], int | None]:
        """The finished batches' records (arrays and ``seconds``) and the batch size in use (None: none finished)."""
        if not self.path.is_file():
            return [], None
        try:
            with np.load(self.path) as stored:
                data = {name: np.asarray(stored[name]) for name in stored.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
            warnings.warn(f"{self.path} is unreadable ({error}); starting the attack from its first batch",
                          stacklevel=2)
            return [], None
        if any(name not in data for name in META) or str(data["_request_hash"]) != self.request_hash:
            warnings.warn(f"{self.path} was made for another request; starting the attack from its first batch",
                          stacklevel=2)
            return [], None
        if not _consistent(data):
            warnings.warn(f"{self.path} is inconsistent (its batches do not add up); starting the attack from its "
                          "first batch", stacklevel=2)
            return [], None
        stops = data["_stops"]
        starts = np.concatenate([[0], stops[:-1]])
        records = [
            {**{name: values[start:stop] for name, values in data.items() if name not in META}, "seconds": float(sec)}
            for start, stop, sec in zip(starts, stops, data["_seconds"], strict=True)
        ]
        return records, int(data["_batch_size"])

    def save(self, records: list[dict[str, Any]], batch_size: int) -> None:
        """Write every finished batch (atomically: a kill mid-write leaves the previous partial file)."""
        arrays = {key: np.concatenate([record[key] for record in records]) for key in records[0] if key != "seconds"}
        arrays.update(
            _request_hash=np.array(self.request_hash),
            _stops=np.cumsum([len(record["label"]) for record in records]),
            _seconds=np.array([record["seconds"] for record in records], dtype=np.float64),
            _batch_size=np.array(batch_size),
        )

        def write(tmp: Path) -> None:
            with tmp.open("wb") as file:
                np.savez(file, allow_pickle=True, **arrays)  # the default, named: else mypy matches **arrays to it

        atomic_write(self.path, write)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
