"""Typed entries of the verified files' content: a run's ``checks.json`` read once, as dataclasses. No torch.

The collector (``newlogic.report.collect``) verifies a ``checks.json`` by recomputing it, so every field
read here is the checks' own output (``newlogic.report.checks``, docs/results.md). ``read_checks`` is
the one parser of it: the tables, ``summary.json`` and the reproduction table read its worst cases
(``WorstCaseEntry``: threat model, ε, kind, accuracy, n, survivors and the 95 % Clopper–Pearson
interval ``newlogic.report.worst_case`` wrote), its cell words and flags from here, never from the dict.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from newlogic.report.vocabulary import PASSED, threat_name
from newlogic.report.worst_case import PIXEL_UNITS


@dataclass(frozen=True)
class WorstCaseEntry:
    """One (norm, ε) of a run's worst cases: ``survivors`` of ``n`` images survived every attack in ``settings``.

    ``accuracy = survivors / n``; ``interval``: its 95 % Clopper–Pearson interval; ``kind``: ``worst_case``,
    ``one_step_only`` or ``weak_attacks_only`` (``newlogic.report.vocabulary.CASE_KINDS``); ``column``: its
    table column id; ``threat_model``: the units of ε (None or ``pixels``: pixel units).
    """

    norm: str
    eps: float
    threat_model: str | None
    column: str
    kind: str
    accuracy: float
    n: int
    survivors: int
    interval: tuple[float, float] | None
    settings: tuple[str, ...]

    @property
    def counts(self) -> tuple[int, int]:
        """``(survivors, n)``, what pooling over seeds adds up (``newlogic.report.worst_case.pooled``)."""
        return self.survivors, self.n

    @property
    def threat(self) -> str:
        """The norm as ``summary.json`` spells it (RobustBench's ``Linf``, ``L2``, ``L0``)."""
        return threat_name(self.norm)

    def at_pixel_bound(self, norm: str, eps: float) -> bool:
        """Whether it is the worst case at ``norm`` and ``eps`` (within float rounding) with ε in pixel units."""
        return self.norm == norm and math.isclose(self.eps, eps) and self.threat_model in PIXEL_UNITS


@dataclass(frozen=True)
class FlagEntry:
    """One raised flag: the ``check`` that raised it, its ``severity`` and the ``suspect`` setting."""

    check: str
    severity: str
    suspect: str


@dataclass(frozen=True)
class ChecksEntry:
    """A run's ``checks.json``: its verdict, worst cases, each setting's cell word, the flags raised, and how many
    checks passed (``passed``: status ``passed``)."""

    verdict: str
    worst_cases: tuple[WorstCaseEntry, ...]
    cell_words: dict[str, str]
    flags: tuple[FlagEntry, ...]
    passed: int


def _worst_case(case: Mapping[str, Any]) -> WorstCaseEntry:
    interval = case["interval"]
    return WorstCaseEntry(norm=case["norm"], eps=float(case["eps"]), threat_model=case["threat_model"],
                          column=case["column"], kind=case["kind"], accuracy=float(case["accuracy"]),
                          n=int(case["sample_count"]), survivors=int(case["survived"]),
                          interval=(float(interval[0]), float(interval[1])) if interval else None,
                          settings=tuple(case["settings"]))


def read_checks(report: Mapping[str, Any]) -> ChecksEntry:
    """The typed entry of a verified ``checks.json`` (the collector's ``RunFiles.checks``)."""
    return ChecksEntry(verdict=report["verdict"],
                       worst_cases=tuple(_worst_case(case) for case in report["worst_case"]),
                       cell_words={setting: cell["verdict"] for setting, cell in report["cells"].items()},
                       flags=tuple(FlagEntry(flag["check"], flag["severity"], flag["suspect"])
                                   for flag in report["flags"]),
                       passed=sum(status["status"] == PASSED for status in report["checks"]))
