"""Worst-case robust accuracy per threat model and ε (the RobustBench / AutoAttack convention; issue 10).

For one model's results at norm ``p`` and bound ε, a test image *survives* when it is classified
right clean and by every attack run at that (p, ε): ``survived_i = clean_i ∧ ⋀_a adv_correct_{a,i}``,
over the images every one of those attacks attacked (the intersection of their ``index`` arrays).
The worst-case robust accuracy is the mean of ``survived``. C&W (unbounded by design) joins every
L2 group through its per-sample L2 norms (``robust_within``: fooled only if fooled within ε). The
uniform-noise baseline is not an attack and is left out; so are attacks without an ε (JSMA), and
a group whose attacks share no image.
"""

from dataclasses import dataclass
from functools import reduce

import numpy as np

from newlogic.report.samples import Result, robust_within

NORM_NAMES = {"linf": "L∞", "l2": "L2"}
PER_SAMPLE_ATTACKS = {"l2": ("cw_l2",)}  # attacks without an ε that join a norm's groups through robust_within
COLUMN_PREFIX = "worst_"
PIXEL_UNITS = (None, "pixels")  # ε in pixel units (newlogic.threat_model): no suffix on the column


@dataclass(frozen=True)
class WorstCase:
    """The images that survived every attack at one (norm, ε): their ``index`` and ``survived`` flags."""

    norm: str
    eps: float
    threat_model: str | None
    settings: tuple[str, ...]
    index: np.ndarray
    survived: np.ndarray

    @property
    def accuracy(self) -> float:
        return float(self.survived.mean())

    @property
    def column(self) -> str:
        """The table column id, e.g. ``worst_linf_0.3`` (``worst_linf_0.3_normalized`` in normalised units)."""
        units = "" if self.threat_model in PIXEL_UNITS else f"_{self.threat_model}"
        return f"{COLUMN_PREFIX}{self.norm}_{self.eps:g}{units}"

    @property
    def header(self) -> str:
        units = "" if self.threat_model in PIXEL_UNITS else f" ({self.threat_model})"
        return f"Worst-case {NORM_NAMES[self.norm]} ε={self.eps:g}{units}"

    def to_dict(self) -> dict[str, object]:
        return {"norm": self.norm, "eps": self.eps, "threat_model": self.threat_model, "column": self.column,
                "accuracy": self.accuracy,
                "sample_count": len(self.index), "settings": list(self.settings)}


def _on(result: Result, index: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` (one per sample of ``result``) at the test-set indices ``index`` (all attacked by ``result``)."""
    position = {int(i): k for k, i in enumerate(result.index)}
    return values[[position[int(i)] for i in index]]


def worst_case(results: list[Result]) -> list[WorstCase]:
    """One ``WorstCase`` per (norm, ε) that a bounded attack ran at, sorted by norm then ε."""
    groups: dict[tuple[str, float, str], list[Result]] = {}
    for result in results:
        if result.kind != "noise" and result.eps is not None and result.data["norm"] in NORM_NAMES:
            key = (result.data["norm"], float(f"{result.eps:.10g}"), str(result.threat_model))
            groups.setdefault(key, []).append(result)
    cases = []
    for (norm, eps, _units), bounded in sorted(groups.items()):
        units = bounded[0].threat_model
        per_sample = [r for r in results if r.data["attack"] in PER_SAMPLE_ATTACKS.get(norm, ()) and r.eps is None
                      and r.threat_model == units]
        members = [(r, r.adv_correct) for r in bounded] + [(r, robust_within(r, eps)) for r in per_sample]
        index = reduce(np.intersect1d, [r.index for r, _ in members])
        if len(index) == 0:
            continue
        survived = _on(bounded[0], index, bounded[0].clean_correct)
        for result, values in members:
            survived = survived & _on(result, index, values)
        cases.append(WorstCase(norm, eps, units, tuple(r.setting for r, _ in members), index, survived))
    return cases
