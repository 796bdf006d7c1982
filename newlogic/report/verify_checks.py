"""What the verified collector and ``newlogic checks`` share (docs/results.md "Verified files"), no torch.

- ``check_samples``: a result's per-sample arrays have the dtypes ``newlogic attack`` writes, its
  accuracies are the means of those arrays, its indices are distinct and inside the test split;
- ``verified_result``: a result read by ``newlogic.store.results`` and checked by ``check_samples``;
- ``check_recomputed``: a ``checks.json`` is trusted only when it equals what the checks give
  (``newlogic.report.checks.run_checks``) on the verified results it names, in its order: worst
  cases, flags, statuses, cells and verdict are recomputed, never read; the first field that
  differs is named in one line;
- ``write_verified_checks``: ``newlogic checks`` over results read through the same reader.
"""

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from newlogic.errors import UserError
from newlogic.report import checks
from newlogic.report.samples import Result, load_result

ACCURACY_SLACK = 1e-9  # a stored accuracy against the mean of its per-sample array
FLOAT_SLACK = 1e-9  # a number of checks.json against its recomputation (an interval from another scipy's last bits)
RECOMPUTED_AWAY = ("schema_version", "model_ref", "provenance")  # checks.json fields not produced by run_checks
SAMPLE_KINDS = {"index": ("i", "u"), "adv_correct": ("b",), "clean_correct": ("b",), "l2": ("f",)}  # dtype kinds
RERUN_CHECKS = "run 'newlogic checks' again"


def refuse(path: Path, reason: str, remedy: str = "write it again") -> UserError:
    """The one-line error for a file that is present but not to be trusted: the file, why, and what to do."""
    return UserError(f"{path}: {reason}; {remedy}")


def fraction(path: Path, key: str, value: Any) -> float:
    """``value`` if it is a finite number in [0, 1], else a UserError naming ``path`` and ``key``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not 0 <= value <= 1:
        raise refuse(path, f"{key} {value!r} is not a fraction in [0, 1]")
    return float(value)


def count(path: Path, key: str, value: Any) -> int:
    """``value`` if it is a positive integer, else a UserError naming ``path`` and ``key``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise refuse(path, f"{key} {value!r} is not a positive integer")
    return value


def check_samples(path: Path, result: Result) -> None:
    """The per-sample arrays have the dtypes written (bool correctness, integer indices, float norms); accuracies
    and counts agree with them; indices are distinct and inside the test split."""
    data = result.data
    test_size = count(path, "test_size", data.get("test_size"))
    sample_count = count(path, "sample_count", data.get("sample_count"))
    if sample_count > test_size or data.get("subset") is not (sample_count < test_size):
        raise refuse(path, f"sample_count {sample_count}, test_size {test_size} and subset {data.get('subset')!r} "
                           "disagree", "run its attack again")
    wrong = [name for name, kinds in SAMPLE_KINDS.items()
             if getattr(result, name).ndim != 1 or getattr(result, name).dtype.kind not in kinds]
    if wrong:
        array = getattr(result, wrong[0])
        raise refuse(path, f"its array {wrong[0]!r} has dtype {array.dtype} and {array.ndim} dimensions, not the "
                           "one-dimensional array 'newlogic attack' writes", "run its attack again")
    index = np.asarray(result.index)
    if len(np.unique(index)) != sample_count or index.min() < 0 or index.max() >= test_size:
        raise refuse(path, "its sample indices repeat or lie outside the test split", "run its attack again")
    for key, array in (("adv_accuracy", result.adv_correct), ("clean_accuracy", result.clean_correct)):
        if abs(float(np.mean(array)) - data[key]) > ACCURACY_SLACK:
            raise refuse(path, f"{key} {data[key]!r} is not the mean of its per-sample array "
                               f"({float(np.mean(array))!r})", "run its attack again")


def verified_result(path: Path | str, expected: Mapping[str, Any] | None = None) -> Result:
    """The result at ``path`` (``newlogic.report.samples.load_result``, ``model_ref`` as ``expected``), its
    samples checked by ``check_samples``."""
    result = load_result(Path(path), None if expected is None else dict(expected))
    check_samples(result.path, result)
    return result


def _plain(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists, floats keep their exact value)."""
    return json.loads(json.dumps(value))


def first_difference(stored: Any, recomputed: Any, where: str) -> tuple[str, Any, Any] | None:
    """The first place (``a.b[2]``) where two JSON values differ, with both values there; None when equal (numbers:
    equal within ``FLOAT_SLACK``, relative or absolute)."""
    if isinstance(stored, dict) and isinstance(recomputed, dict):
        for key in [*recomputed, *(key for key in stored if key not in recomputed)]:
            found = first_difference(stored.get(key), recomputed.get(key), f"{where}.{key}" if where else str(key))
            if found is not None:
                return found
        return None
    if isinstance(stored, list) and isinstance(recomputed, list) and len(stored) == len(recomputed):
        for position, (one, other) in enumerate(zip(stored, recomputed, strict=True)):
            found = first_difference(one, other, f"{where}[{position}]")
            if found is not None:
                return found
        return None
    if all(isinstance(value, int | float) and not isinstance(value, bool) for value in (stored, recomputed)):
        same = math.isclose(stored, recomputed, rel_tol=FLOAT_SLACK, abs_tol=FLOAT_SLACK)
    else:
        same = stored == recomputed and type(stored) is type(recomputed)
    return None if same else (where, stored, recomputed)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 80 else f"{text[:77]}..."


def check_recomputed(path: Path, report: Mapping[str, Any], results: Sequence[Result],
                     landscape: Mapping[str, Any] | None = None) -> None:
    """``report`` (a ``checks.json``) must equal ``run_checks(results, landscape)`` in every field the checks
    produce (``landscape``: the verified ``landscape.json`` it names, if any).

    Everything but ``RECOMPUTED_AWAY`` is compared after a JSON round trip; the first difference
    (e.g. ``worst_case[0].accuracy 0.95 stored, 0.15 recomputed``) is a UserError naming ``path``.
    """
    recomputed = _plain(checks.run_checks(list(results), landscape))
    stored = {key: value for key, value in report.items() if key not in RECOMPUTED_AWAY}
    difference = first_difference(stored, {key: value for key, value in recomputed.items()
                                           if key not in RECOMPUTED_AWAY}, "")
    if difference is not None:
        where, was, is_now = difference
        raise refuse(path, f"{where} {_shown(was)} is not the {_shown(is_now)} the checks give on its results "
                           "(edited, or written by other checks)", RERUN_CHECKS)


def write_verified_checks(result_paths: Sequence[Path], out_path: Path,
                          landscape: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``newlogic checks``: every result verified (``verified_result``), then ``checks.write_checks`` (with the
    model's ``landscape.json`` content, when given)."""
    for path in result_paths:
        verified_result(path)
    return checks.write_checks(list(result_paths), out_path, landscape)
