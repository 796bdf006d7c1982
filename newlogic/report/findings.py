"""What an ablation concludes, computed from its ``summary.json``: the headline table and the findings sentences.

The report's landing view (``newlogic.report.html_page``) prints these; nothing here is written by
hand. Every number is a field of the summary (``docs/results.md`` "Study summary"), which
``newlogic aggregate`` writes from the verified files (``newlogic.report.collect``):

- a headline cell is a model's ``robust_acc`` entry at one (threat model, ε): its pooled accuracy
  (``pooled.accuracy`` = Σ survived / Σ n over the seeds), the pooled 95 % Clopper–Pearson interval
  and its n; ``upper_bound`` marks a figure that only bounds the worst case from above;
- an attack is *weaker than the worst case* for a model when the lower end of its pooled 95 %
  interval lies above the upper end of the worst case's at the same (threat model, ε): the two
  intervals do not overlap, so the attack left significantly more accuracy;
- a model is *flagged* when its ``masking.verdict`` is not ``no masking found``; the checks named
  are its ``masking.flags``;
- against the ablation's first row (its baseline), at each (threat model, ε), a row's worst case is
  *higher* or *lower* when the two pooled 95 % intervals do not overlap, and *within the intervals*
  when they do. An upper bound (``upper_bound``: masking suspected; the true worst case may lie
  anywhere below it) is compared one way only: a row whose interval lies wholly above a bounded
  baseline's is *higher*, and a bounded row whose interval lies wholly below the baseline's is *lower*;
  any other pair with a bound is not compared, nor is a figure that is not a per-sample worst case.

No torch.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from newlogic.attacks.catalog import NOISE
from newlogic.report.vocabulary import (
    INCONCLUSIVE,
    MASKING_SUSPECTED,
    NO_MASKING_FOUND,
    NORMS,
    PER_SAMPLE_WORST_CASE,
    UPPER_BOUND_MARK,
    VERDICTS,
    WEAK_ATTACK,
)

# the summary's threat-model spelling (RobustBench's) → as tables and figures print it (vocabulary.NORMS)
THREAT_LABELS = {name.robustbench: name.shown for name in NORMS.values()}
# summary.json `method` → how a headline column is headed: only a per-sample worst case is called one
METHOD_HEADINGS = {
    "per_sample_worst_case": "Worst case",
    "one_step_only": "One-step only",
    "weak_attacks_only": "Weak attacks only",
    "min_over_attacks": "Lowest single attack",
}
REPRODUCTION_PAIRS = ("agrees", "inconclusive", "opposite", "not_comparable")  # summary.json reproduction pairs


def percent(fraction: float) -> str:
    """A fraction as the landing view prints it: ``0.1234`` → ``12.3``."""
    return f"{100 * fraction:.1f}"


def threat_label(threat_model: str, eps: float) -> str:
    """``L∞ ε=0.3``: a (threat model, ε) as column headings and sentences name it."""
    return f"{THREAT_LABELS.get(threat_model, threat_model)} ε={eps:g}"


@dataclass(frozen=True)
class Cell:
    """One model's figure at one (threat model, ε): pooled accuracy, its 95 % interval and n (fractions)."""

    accuracy: float
    low: float
    high: float
    n: int
    upper_bound: bool
    method: str

    @property
    def text(self) -> str:
        """``≤ 12.3 [8.1, 17.0] n=200``: the mark, the accuracy and interval in %, the pooled n."""
        mark = f"{UPPER_BOUND_MARK} " if self.upper_bound else ""
        return f"{mark}{percent(self.accuracy)} [{percent(self.low)}, {percent(self.high)}] n={self.n}"


@dataclass(frozen=True)
class HeadlineRow:
    """A model's row: its label, clean accuracy (mean over seeds), its cells per threat key, its verdict."""

    name: str
    label: str
    clean: float | None
    cells: Mapping[tuple[str, float], Cell]
    verdict: str
    flags: tuple[str, ...]


def _cell(entry: Mapping[str, Any]) -> Cell:
    pooled = entry["pooled"]
    low, high = pooled["interval"]
    return Cell(accuracy=float(pooled["accuracy"]), low=float(low), high=float(high), n=int(pooled["n_samples"]),
                upper_bound=bool(entry.get("upper_bound")), method=str(entry["method"]))


def threat_keys(summary: Mapping[str, Any]) -> list[tuple[str, float]]:
    """Every (threat model, ε) of any model's ``robust_acc``, in first-seen order."""
    keys: dict[tuple[str, float], None] = {}
    for model in summary["models"]:
        for entry in model["robust_acc"]:
            keys[(entry["threat_model"], float(entry["eps"]))] = None
    return list(keys)


def headline_rows(summary: Mapping[str, Any]) -> list[HeadlineRow]:
    """One row per model, in table order: clean accuracy, the pooled worst case per (threat, ε), the verdict."""
    rows = []
    for model in summary["models"]:
        clean = model.get("clean_acc") or {}
        rows.append(HeadlineRow(
            name=model["name"], label=model["label"],
            clean=None if clean.get("mean") is None else float(clean["mean"]),
            cells={(entry["threat_model"], float(entry["eps"])): _cell(entry) for entry in model["robust_acc"]},
            verdict=model["masking"]["verdict"], flags=tuple(model["masking"].get("flags") or ()),
        ))
    return rows


def column_heading(rows: Sequence[HeadlineRow], key: tuple[str, float]) -> str:
    """A column's heading: the least sound method of its cells (``METHOD_HEADINGS``), then its threat."""
    methods = [row.cells[key].method for row in rows if key in row.cells]
    order = list(METHOD_HEADINGS)
    method = max(methods, key=order.index) if methods else "min_over_attacks"
    return f"{METHOD_HEADINGS.get(method, method)} {threat_label(*key)}"


def _worst_case_sentence(rows: Sequence[HeadlineRow], key: tuple[str, float]) -> str:
    present = [row for row in rows if key in row.cells]
    lowest = min(present, key=lambda row: row.cells[key].accuracy)
    highest = max(present, key=lambda row: row.cells[key].accuracy)
    heading = column_heading(rows, key)
    if len(present) == 1:
        return f"{heading}: {lowest.label} {lowest.cells[key].text}."
    if lowest.cells[key].accuracy == highest.cells[key].accuracy:
        return (f"{heading}: {percent(lowest.cells[key].accuracy)} % for all {len(present)} models; "
                f"{lowest.label} {lowest.cells[key].text}.")
    return (f"{heading}: from {percent(lowest.cells[key].accuracy)} % ({lowest.label}) to "
            f"{percent(highest.cells[key].accuracy)} % ({highest.label}) over {len(present)} models; "
            f"lowest {lowest.cells[key].text}.")


ROW_NOT_COMPARED = "an upper bound only, not compared"
REFERENCE_NOT_COMPARED = "not compared with the baseline's upper bound"


def _worst_case_cell(row: HeadlineRow, key: tuple[str, float]) -> Cell | None:
    """The row's cell at ``key`` when it is a per-sample worst case (an upper bound or not)."""
    cell = row.cells.get(key)
    return cell if cell is not None and cell.method == PER_SAMPLE_WORST_CASE else None


def comparison_with(reference: Cell, cell: Cell | None) -> str:
    """The group of ``cell`` against the baseline's ``reference`` (module docstring): an upper bound lets
    only the conclusion it cannot overturn through (the true value of a bound lies at or below it)."""
    if cell is None:
        return ROW_NOT_COMPARED
    if cell.low > reference.high and not cell.upper_bound:
        return "higher, intervals apart"
    if cell.high < reference.low and not reference.upper_bound:
        return "lower, intervals apart"
    if cell.upper_bound:
        return ROW_NOT_COMPARED
    return REFERENCE_NOT_COMPARED if reference.upper_bound else "within the intervals"


def baseline_comparison(rows: Sequence[HeadlineRow], key: tuple[str, float]) -> str | None:
    """Each later row against the first (module docstring) at ``key``; None without two rows or a first
    row with a per-sample worst case there.

    ``L∞ ε=0.1 against Baseline (34.0 [27.5, 41.0] n=200): higher, intervals apart: + Elliptical (+45.0 points);
    within the intervals: + BCE.``
    """
    if len(rows) < 2 or (reference := _worst_case_cell(rows[0], key)) is None:
        return None
    groups: dict[str, list[str]] = {"higher, intervals apart": [], "lower, intervals apart": [],
                                    "within the intervals": [], REFERENCE_NOT_COMPARED: [], ROW_NOT_COMPARED: []}
    for row in rows[1:]:
        if key not in row.cells:
            continue
        cell = _worst_case_cell(row, key)
        group = comparison_with(reference, cell)
        points = (f" ({100 * (cell.accuracy - reference.accuracy):+.1f} points)"
                  if cell is not None and group != ROW_NOT_COMPARED else "")
        groups[group].append(f"{row.label}{points}")
    described = "; ".join(f"{name}: {', '.join(labels)}" for name, labels in groups.items() if labels)
    return f"{threat_label(*key)} against {rows[0].label} ({reference.text}): {described}." if described else None


def weaker_attacks(summary: Mapping[str, Any]) -> dict[str, list[str]]:
    """Attack setting → the labels of the models for which it is weaker than the worst case (module docstring)."""
    weaker: dict[str, list[str]] = {}
    for model in summary["models"]:
        cases = {(entry["threat_model"], float(entry["eps"])): entry for entry in model["robust_acc"]
                 if entry["method"] == PER_SAMPLE_WORST_CASE}
        for attack in model["attacks"]:
            if attack.get("eps") is None or attack.get("kind") == NOISE:
                continue
            case = cases.get((attack["threat_model"], float(attack["eps"])))
            if case is not None and attack["pooled"]["interval"][0] > case["pooled"]["interval"][1]:
                weaker.setdefault(attack["setting"], []).append(model["label"])
    return weaker


def _reproduction_sentence(reproduction: Mapping[str, Any]) -> str:
    counts = dict.fromkeys(REPRODUCTION_PAIRS, 0)
    for column in (reproduction.get("columns") or {}).values():
        for label, count in (column.get("pairs") or {}).items():
            counts[label] = counts.get(label, 0) + int(count)
    described = ", ".join(f"{count} {label.replace('_', ' ')}" for label, count in counts.items() if count)
    return (f"Against the published table ({reproduction.get('mode', 'shape')}): changes between rows "
            f"{described or 'none compared'}.")


CheckRecords = Mapping[str, Mapping[int, Mapping[str, Any] | None]]  # model name → seed → its checks.json (None: none)


def _named_checks(records: Mapping[int, Mapping[str, Any] | None], entries: str, field: str, value: str) -> list[str]:
    """The ``check`` of every entry of each seed's ``entries`` list (``checks``, ``flags``) whose ``field`` is
    ``value``, each named once, in first-seen order."""
    names: list[str] = []
    for record in records.values():
        for entry in (record or {}).get(entries, []):
            if entry.get(field) == value and entry.get("check") not in names:
                names.append(entry["check"])
    return names


def undecided_checks(records: Mapping[int, Mapping[str, Any] | None]) -> list[str]:
    """The checks that ran on a model's seeds but could not decide (status ``inconclusive``), each named once."""
    return _named_checks(records, "checks", "status", INCONCLUSIVE)


def flagging_checks(records: Mapping[int, Mapping[str, Any] | None], severity: str) -> list[str]:
    """The checks that raised a flag of ``severity`` on any of a model's seeds, each named once."""
    return _named_checks(records, "flags", "severity", severity)


def _why(row: "HeadlineRow", checks: CheckRecords) -> str:
    """``(flagged: …; cells marked weak attack: …; undecided: …)`` for a row whose verdict is not ``no masking
    found``; empty when none. With the runs' checks.json, a flag that only marks its cell a weak attack is named
    apart from one that suspects masking (a weaker FGSM cell says nothing about the model)."""
    records = checks.get(row.name, {})
    recorded = any((record or {}).get("flags") for record in records.values())
    masking = flagging_checks(records, MASKING_SUSPECTED) if recorded else list(row.flags)
    weak = flagging_checks(records, WEAK_ATTACK)
    parts = [f"flagged: {', '.join(masking)}"] if masking else []
    if weak:
        parts.append(f"cells marked {WEAK_ATTACK}: {', '.join(weak)}")
    undecided = undecided_checks(records)
    if undecided:
        parts.append(f"undecided: {', '.join(undecided)}")
    return f" ({'; '.join(parts)})" if parts else ""


def findings(summary: Mapping[str, Any], checks: CheckRecords | None = None) -> list[str]:
    """The ablation's findings as sentences: worst cases per (threat, ε), each row against the first, weak attacks,
    the verdicts with the checks that flagged or could not decide them (from ``checks``, the runs' verified
    checks.json), the reproduction."""
    rows = headline_rows(summary)
    keys = threat_keys(summary)
    sentences = [_worst_case_sentence(rows, key) for key in keys]
    sentences += [sentence for key in keys if (sentence := baseline_comparison(rows, key)) is not None]
    weaker = weaker_attacks(summary)
    everyone = len(rows)
    for setting, labels in weaker.items():
        who = "every model" if len(labels) == everyone else ", ".join(labels)
        sentences.append(f"{setting} was weaker than the worst case (intervals apart) for {who}.")
    by_verdict: dict[str, list[HeadlineRow]] = {}
    for row in rows:
        by_verdict.setdefault(row.verdict, []).append(row)
    for verdict in VERDICTS:
        flagged = by_verdict.get(verdict, [])
        if not flagged:
            continue
        if verdict == NO_MASKING_FOUND:
            sentences.append(f"{verdict}: {', '.join(row.label for row in flagged)}.")
            continue
        described = "; ".join(row.label + _why(row, checks or {}) for row in flagged)
        sentences.append(f"{verdict}: {described}.")
    if summary.get("reproduction"):
        sentences.append(_reproduction_sentence(summary["reproduction"]))
    if summary.get("missing"):
        sentences.append(f"{len(summary['missing'])} input files are missing (summary.json lists them).")
    return sentences
