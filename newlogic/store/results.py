"""The one reader and writer of attack results: a result JSON and its per-sample ``.npz`` (docs/results.md).

``write_result`` writes the ``.npz`` first, then the JSON with the ``.npz``'s SHA-256
(``samples_sha256``), both atomically; the JSON's presence with ``complete: true`` means done.
``read_result`` refuses, with one-line ``UserError``s, anything that is not a result to tabulate:
a missing, unreadable or non-object JSON (read strictly: no key twice, finite numbers), another
``schema_version``, ``complete`` not true, an accuracy that is not a finite number in [0, 1], a
``sample_count`` that is not a positive integer, per-batch accuracies that are not a non-empty list
of them, a ``setting`` that is not a string, a ``samples_file`` other than the ``.npz`` beside the
JSON (never a file in another folder), a missing ``.npz`` or one whose hash differs from the JSON's
(a kill between the two writes, a hand edit), an array that is not one-dimensional numbers (a
scalar, a 0-d or 2-d array, text, objects), arrays whose length is not ``sample_count``, and, when
``expected`` is given, a ``model_ref`` that names another model.
No torch: tables, checks and figures read results through this module.
"""

import hashlib
import math
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from newlogic.errors import UserError
from newlogic.store.atomic import atomic_write, atomic_write_json
from newlogic.store.json_file import read_json_object

SCHEMA_VERSION = 3  # 2: attacks run guarded in eval mode, zero-gradient fraction, samples_sha256 (issue 10);
# 3: adv_accuracy_ci95 is the Clopper–Pearson interval the tables use, no longer Wilson's (issue 28)
NOISE_SCHEMA_VERSION = 2  # noise.json (newlogic.evaluation.noise); 2: model_ref.weights_sha256 (issue 22)
LANDSCAPE_SCHEMA_VERSION = 1  # landscape.json (newlogic.evaluation.landscape, issue 32)
LANDSCAPE_FILE = "landscape.json"  # a run's loss landscape, beside its checks.json
ACCURACY_FIELDS = ("clean_accuracy", "adv_accuracy")
BATCH_FIELDS = ("batch_clean_accuracies", "batch_adv_accuracies")  # per-batch accuracies (the paper's t-test)
ARRAY_KINDS = "biuf"  # dtype kinds of a per-sample array: bool, integer, float (never objects or text)
MAX_SHOWN = 80  # characters of a bad value shown in an error line


@dataclass(frozen=True)
class StoredResult:
    """One validated result: its JSON ``data`` and the per-sample arrays asked for (by ``.npz`` name)."""

    path: Path
    data: dict[str, Any]
    samples: dict[str, np.ndarray]

    @property
    def setting(self) -> str:
        return self.data["setting"]


def sha256_file(path: Path) -> str:
    """The SHA-256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_result(out_path: Path, result: dict[str, Any], samples: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Write ``out_path``'s ``.npz`` then the JSON (with ``samples_sha256``) atomically; returns the JSON written."""
    out_path = Path(out_path)
    samples_path = out_path.with_suffix(".npz")

    def save(tmp: Path) -> None:
        with tmp.open("wb") as file:
            np.savez_compressed(file, allow_pickle=False, **samples)

    atomic_write(samples_path, save)
    result = {**result, "samples_file": samples_path.name, "samples_sha256": sha256_file(samples_path)}
    atomic_write_json(out_path, result)
    return result


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"result {path} not found; run its attack first ('newlogic attack ... --out {path}')")
    return read_json_object(path, "run its attack again")


def _validate(path: Path, data: dict[str, Any], expected: Mapping[str, Any] | None) -> None:
    if data.get("schema_version") != SCHEMA_VERSION:
        raise UserError(f"result {path} has schema_version {data.get('schema_version')!r}, expected {SCHEMA_VERSION}; "
                        "run its attack again")
    if data.get("complete") is not True:
        raise UserError(f"result {path} is incomplete (complete: {data.get('complete')!r}); run its attack again")
    for key in ACCURACY_FIELDS:
        if not _is_fraction(data.get(key)):
            raise UserError(f"result {path}: {key} {data.get(key)!r} is not a finite accuracy in [0, 1]")
    count = data.get("sample_count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise UserError(f"result {path}: sample_count {count!r} is not a positive integer; run its attack again")
    for key in BATCH_FIELDS:
        values = data.get(key)
        if not isinstance(values, list) or not values or not all(map(_is_fraction, values)):
            raise UserError(f"result {path}: {key} is {_shown(values)}, not a non-empty list of accuracies in [0, 1]; "
                            "run its attack again")
    if not isinstance(data.get("setting"), str):
        raise UserError(f"result {path}: setting {_shown(data.get('setting'))} is not a setting id; "
                        "run its attack again")
    samples_file = data.get("samples_file", path.with_suffix(".npz").name)
    if samples_file != path.with_suffix(".npz").name:
        raise UserError(f"result {path}: samples_file {_shown(samples_file)} is not {path.with_suffix('.npz').name}, "
                        "the file beside it; run its attack again")
    found = data.get("model_ref")
    reference: dict[str, Any] = found if isinstance(found, dict) else {}
    for key, value in (expected or {}).items():
        if reference.get(key) != value:
            raise UserError(f"result {path} belongs to another model: model_ref {key} {reference.get(key)!r}, "
                            f"expected {value!r}")


def _is_fraction(value: Any) -> bool:
    """True for a finite number in [0, 1] (a bool is no number)."""
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= 1


def _shown(value: Any) -> str:
    """``repr(value)`` cut to ``MAX_SHOWN`` characters: a forged field must not flood the one error line."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


def _read_samples(path: Path, data: dict[str, Any], arrays: Iterable[str]) -> dict[str, np.ndarray]:
    samples_path = path.with_suffix(".npz")
    if not samples_path.is_file():
        raise UserError(f"result {path}: its per-sample file {samples_path} is missing; run its attack again")
    if sha256_file(samples_path) != data.get("samples_sha256"):
        raise UserError(f"result {path}: {samples_path.name} does not match its JSON (samples_sha256); "
                        "run its attack again")
    wanted = list(arrays)
    try:
        with np.load(samples_path) as npz:
            absent = [name for name in wanted if name not in npz.files]
            if absent:
                raise UserError(f"result {path}: {samples_path.name} has no array {absent[0]!r}; run its attack again")
            samples = {name: np.asarray(npz[name]) for name in wanted}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise UserError(f"result {path}: {samples_path.name} is unreadable ({error}); run its attack again") from None
    shapeless = [name for name, values in samples.items() if values.ndim != 1 or values.dtype.kind not in ARRAY_KINDS]
    if shapeless:
        values = samples[shapeless[0]]
        raise UserError(f"result {path}: array {shapeless[0]!r} of {samples_path.name} has shape {values.shape} and "
                        f"dtype {values.dtype}, not one number per sample; run its attack again")
    wrong = [name for name, values in samples.items() if len(values) != data.get("sample_count")]
    if wrong:
        raise UserError(f"result {path}: array {wrong[0]!r} has {len(samples[wrong[0]])} entries, "
                        f"sample_count is {data.get('sample_count')!r}; run its attack again")
    return samples


def read_result(path: Path | str, arrays: Iterable[str] = (), *,
                expected: Mapping[str, Any] | None = None) -> StoredResult:
    """The validated result at ``path`` with the ``.npz`` ``arrays`` asked for (none: the hash is still checked).

    ``expected`` maps ``model_ref`` keys (``name``, ``seed``, ``config_hash``, ``weights_sha256``) to
    the values the result must have.
    """
    path = Path(path)
    data = _read_json(path)
    _validate(path, data, expected)
    return StoredResult(path, data, _read_samples(path, data, arrays))
