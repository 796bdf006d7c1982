"""One result as the report stage sees it: per-sample correctness and L2 norms by test-set index (no torch).

Results are read and validated by ``newlogic.store.results``; comparisons between two results use
the test samples both attacked (their ``index`` arrays).
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from newlogic.store.results import read_result

SAMPLE_ARRAYS = ("index", "clean_correct", "adv_correct", "l2")
NORM_BOUND_TOLERANCE = 1e-6  # relative slack when a C&W perturbation is compared with an ε (as the bound check)


@dataclass(frozen=True)
class Result:
    """One result JSON with its per-sample arrays: correctness and L2 norms by test-set ``index``."""

    path: Path
    data: dict[str, Any]
    index: np.ndarray
    adv_correct: np.ndarray
    clean_correct: np.ndarray
    l2: np.ndarray

    @property
    def setting(self) -> str:
        return self.data["setting"]

    @property
    def eps(self) -> float | None:
        return self.data["eps"]

    @property
    def kind(self) -> str:
        return self.data["attack_kind"]

    @property
    def threat_model(self) -> str | None:
        """The units of ε (``pixels``, or ``normalized`` for the paper's normalised inputs; None in older results)."""
        return (self.data.get("parameters") or {}).get("threat_model")

    def same_bound(self, other: "Result") -> bool:
        """Same norm, same ε (both bounded) in the same units (``threat_model``)."""
        return (self.data["norm"] == other.data["norm"] and self.eps is not None and other.eps is not None
                and math.isclose(self.eps, other.eps) and self.threat_model == other.threat_model)

    def same_threat(self, other: "Result") -> bool:
        """Same norm, same ε (both bounded) and same ``attack_on``."""
        return self.same_bound(other) and self.data["attack_on"] == other.data["attack_on"]


def values_at(index: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``values`` (one per test-set index in ``index``, which are distinct) at the indices ``wanted`` (all in
    ``index``), in ``wanted``'s order: the one alignment of per-sample arrays on shared images."""
    order = np.argsort(index)
    return values[order[np.searchsorted(index, wanted, sorter=order)]]


def robust_within(result: Result, eps: float) -> np.ndarray:
    """Per sample: still classified right by an attack that could only use perturbations of norm ≤ ``eps``.

    A sample is fooled within ε when the attack fooled it with a perturbation no larger than ε
    (C&W's per-sample L2 norms give its success rate at any ε).
    """
    return result.adv_correct | (result.l2 > eps * (1 + NORM_BOUND_TOLERANCE) + NORM_BOUND_TOLERANCE)


def load_result(path: Path | str, expected: dict[str, Any] | None = None) -> Result:
    """A validated result (``newlogic.store.results.read_result``) with the per-sample arrays of ``Result``."""
    stored = read_result(path, SAMPLE_ARRAYS, expected=expected)
    return Result(stored.path, stored.data, **stored.samples)
