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
  are its ``masking.flags``.

No torch.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from newlogic.attacks.catalog import NOISE
from newlogic.report.vocabulary import INCONCLUSIVE, NO_MASKING_FOUND, NORMS, UPPER_BOUND_MARK, VERDICTS

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


def weaker_attacks(summary: Mapping[str, Any]) -> dict[str, list[str]]:
    """Attack setting → the labels of the models for which it is weaker than the worst case (module docstring)."""
    weaker: dict[str, list[str]] = {}
    for model in summary["models"]:
        cases = {(entry["threat_model"], float(entry["eps"])): entry for entry in model["robust_acc"]
                 if entry["method"] == "per_sample_worst_case"}
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


def undecided_checks(records: Mapping[int, Mapping[str, Any] | None]) -> list[str]:
    """The checks that ran on a model's seeds but could not decide (status ``inconclusive``), each named once."""
    names: list[str] = []
    for record in records.values():
        for check in (record or {}).get("checks", []):
            if check.get("status") == INCONCLUSIVE and check.get("check") not in names:
                names.append(check["check"])
    return names


def _why(row: "HeadlineRow", checks: CheckRecords) -> str:
    """``(flagged: …; undecided: …)`` for a row whose verdict is not ``no masking found``; empty when neither."""
    parts = [f"flagged: {', '.join(row.flags)}"] if row.flags else []
    undecided = undecided_checks(checks.get(row.name, {}))
    if undecided:
        parts.append(f"undecided: {', '.join(undecided)}")
    return f" ({'; '.join(parts)})" if parts else ""


def findings(summary: Mapping[str, Any], checks: CheckRecords | None = None) -> list[str]:
    """The ablation's findings as sentences: worst cases per (threat, ε), weak attacks, the verdicts with the
    checks that flagged or could not decide them (from ``checks``, the runs' verified checks.json), the
    reproduction."""
    rows = headline_rows(summary)
    sentences = [_worst_case_sentence(rows, key) for key in threat_keys(summary)]
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
