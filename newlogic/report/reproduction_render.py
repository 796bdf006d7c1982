"""The reproduction table as Markdown, LaTeX and CSV, with its caption (``newlogic.report.reproduction``).

One table: a row per compared model (published → regenerated per column, the strong worst case
last), a ``Δ`` row per pair of consecutive rows (published change → regenerated change in points,
its 95 % interval and label), then the per-column ``labels`` row (count of each label) and ``τ`` row
(Kendall's τ-b and its exact permutation p-value). The caption under it says what each interval
covers. The one renderer, ``newlogic.report.render``, draws it and escapes every text.
"""

from pathlib import Path
from typing import Any

import pandas as pd

from newlogic.report.render import LEFT, RIGHT, TextTable, rendered, write_rendered
from newlogic.report.reproduction import (
    AGREES,
    BOOTSTRAP,
    INCONCLUSIVE,
    LABELS,
    NOT_COMPARABLE,
    OPPOSITE,
    CellComparison,
    ColumnAgreement,
    PairChange,
    Reproduction,
    require_reproduction,
)
from newlogic.stats import MIN_SEEDS_TO_RESAMPLE
from newlogic.store import paths

MISSING = "—"
POINTS = 100  # fractions are printed in points (%)
LABEL_TEXT = {AGREES: "agrees", INCONCLUSIVE: "inconclusive", OPPOSITE: "opposite", NOT_COMPARABLE: MISSING}


def _percent(value: float | None) -> str:
    return MISSING if value is None else f"{POINTS * value:.1f}"


def _points(value: float, decimals: int = 1) -> str:
    """A change in points with its sign (never ``-0.0``)."""
    return f"{round(POINTS * value, decimals) + 0.0:+.{decimals}f}"


def _interval(bounds: tuple[float, float] | None, signed: bool = False) -> str:
    if bounds is None:
        return ""
    low, high = (_points(b) for b in bounds) if signed else (_percent(b) for b in bounds)
    return f" [{low}, {high}]"


def cell_text(comparison: CellComparison) -> str:
    """``published* → regenerated [low, high] (±diff) ✓/✗`` in %, the parts that exist."""
    star = "*" if comparison.published.star else ""
    text = f"{_percent(comparison.published.value)}{star} → {_percent(comparison.regenerated.mean)}"
    text += _interval(comparison.interval)
    if comparison.difference is not None:
        text += f" ({_points(comparison.difference)})"
    if comparison.inside is not None:
        text += " ✓" if comparison.inside else " ✗"
    return text


def change_text(pair: PairChange, decimals: int) -> str:
    """``+23* → +8.0 [+2.0, +14.0] agrees``: the published change (its star when the rows are adjacent), the
    regenerated one with its interval, and the label (``inconclusive, same sign``, ``other sign``, or ``no change``
    when the regenerated change is exactly 0, which has no sign); ``—`` when not comparable."""
    if pair.published is None or pair.label == NOT_COMPARABLE:
        return MISSING
    published = _points(pair.published, max(decimals - 2, 0)) + ("*" if pair.star else "")
    if pair.regenerated is None:
        return f"{published} → {MISSING}"
    label = LABEL_TEXT[pair.label]
    if pair.label == INCONCLUSIVE:
        label += ", no change" if pair.regenerated == 0 else ", same sign" if pair.same_sign else ", other sign"
    return f"{published} → {_points(pair.regenerated)}{_interval(pair.interval, signed=True)} {label}"


def labels_text(agreement: ColumnAgreement) -> str:
    """``agrees 1 · inconclusive 2 (2 same sign) · opposite 0 · — 0``."""
    return " · ".join(f"{LABEL_TEXT[label]} {agreement.count(label)}"
                      + (f" ({agreement.inconclusive_same_sign} same sign)" if label == INCONCLUSIVE else "")
                      for label in LABELS)


def tau_text(agreement: ColumnAgreement) -> str:
    """``τ +1.00 (p = 0.042)``, or ``τ —`` when τ-b is undefined (a constant side)."""
    if agreement.tau is None:
        return f"τ {MISSING}"
    return f"τ {agreement.tau:+.2f} (p = {agreement.tau_p:.3g})"


def _worst_text(reproduction: Reproduction, model: str) -> str:
    row = next(row for row in reproduction.rows if row.model == model)
    return _percent(row.worst_case.mean) + _interval(row.worst_case.pooled_interval)


def _covers(seeds: int, paired: bool) -> str:
    """What an interval over ``seeds`` seeds covers (its resampling), for the caption."""
    if seeds >= MIN_SEEDS_TO_RESAMPLE:
        return ("a bootstrap over seeds and images: it covers training variance and the choice of test images")
    what = "a bootstrap over images within each seed" if paired else "Clopper–Pearson on the seeds' pooled images"
    return (f"{what}: it covers the choice of test images for these {seeds} seed(s)' trained networks, not "
            f"training variance (that needs ≥ {MIN_SEEDS_TO_RESAMPLE} seeds)")


def caption_lines(reproduction: Reproduction) -> list[str]:
    """The caption and the closing note: what is compared, what each interval covers, the labels per column."""
    table = reproduction.table
    seeds = reproduction.seeds
    lines = [f"Published ({table.source}, {table.title}) against regenerated ({reproduction.ablation}).",
             *([reproduction.caption] if reproduction.caption else [])]
    if reproduction.shape_mode:
        lines.append("Shape only (values not compared): the run differs from the published setting: "
                     + "; ".join(reproduction.differences) + ".")
    cell = ("Cell: published value (* the paper's test against the row above) → regenerated mean over seeds "
            f"[95% interval, {_covers(seeds, paired=False)}]")
    lines.append(cell + ("." if reproduction.shape_mode else
                         ", difference, ✓ when the published value (± half its last digit) lies inside the interval."))
    lines.append("Δ row: published change → regenerated change in points, per seed on the images both rows attacked, "
                 f"[95% interval, {_covers(seeds, paired=True)}]; agrees: the interval excludes 0 on the published "
                 "side; inconclusive: it contains 0 (same sign: the point estimate has the published sign; no "
                 "change: it is exactly 0); opposite: it excludes 0 on the other side; — not comparable (equal "
                 "published values or no shared images), never counted.")
    lines.append("τ: Kendall's τ-b between the published values and the regenerated means, p: its exact one-sided "
                 "permutation p-value (all orderings of the rows).")
    norm, eps = table.worst_case
    lines.append(f"Strong worst case: the worst-case robust accuracy ({norm} ε={eps:g}) under every attack of the "
                 "ablation and the strong suite (checks.json), mean over seeds [95% Clopper–Pearson interval on the "
                 "seeds' pooled images].")
    summary = "; ".join(f"{table.headers[c]}: {labels_text(a)}, {tau_text(a)}"
                        for c, a in reproduction.agreement.items())
    lines.append(f"Per column: {summary}.")
    return lines


def _rows(reproduction: Reproduction) -> list[list[str]]:
    """Every table row as text: the models, the Δ rows, then the labels and τ rows."""
    rows = []
    for row in reproduction.rows:
        label = row.label if row.label == row.published_label else f"{row.label} [published: {row.published_label}]"
        rows.append([label, *(cell_text(reproduction.cells[(row.model, c)]) for c in reproduction.columns),
                     _worst_text(reproduction, row.model)])
    agreements = [reproduction.agreement[c] for c in reproduction.columns]
    for position in range(len(reproduction.rows) - 1):
        first = agreements[0].pairs[position] if agreements else None
        name = f"Δ {first.above} → {first.below}" if first else "Δ"
        rows.append([name, *(change_text(a.pairs[position], reproduction.table.decimals) for a in agreements),
                     MISSING])
    rows.append(["Labels", *(labels_text(a) for a in agreements), MISSING])
    rows.append(["τ", *(tau_text(a) for a in agreements), MISSING])
    return rows


def _headers(reproduction: Reproduction) -> list[str]:
    return ["Model", *(reproduction.table.headers[c] for c in reproduction.columns), "Strong worst case"]


def text_table(reproduction: Reproduction, ext: str = "") -> TextTable:
    """The table for Markdown and LaTeX (every text escaped by ``newlogic.report.render``): a rule before the Δ
    rows, the caption under it. The same texts in both formats (``ext`` is unused)."""
    headers = _headers(reproduction)
    return TextTable(headers, _rows(reproduction), LEFT + RIGHT * (len(headers) - 1), caption_lines(reproduction),
                     breaks=(len(reproduction.rows),))


def _records(reproduction: Reproduction) -> list[dict[str, Any]]:
    """One record per cell (``kind`` = ``cell``), per change (``change``) and per column (``column``); fractions."""
    table, shape = reproduction.table, reproduction.shape_mode
    records: list[dict[str, Any]] = []
    for row in reproduction.rows:
        worst_low, worst_high = row.worst_case.pooled_interval or (None, None)
        for column in reproduction.columns:
            comparison = reproduction.cells[(row.model, column)]
            low, high = comparison.interval or (None, None)
            records.append({"kind": "cell", "row": row.label, "model": row.model, "published_row": row.published_label,
                            "column": column, "setting": table.settings[column],
                            "published": comparison.published.value, "published_star": comparison.published.star,
                            "regenerated": comparison.regenerated.mean, "seeds": len(comparison.regenerated.per_seed),
                            "images": sum(len(o.correct) for o in comparison.regenerated.per_seed.values()),
                            "interval_low": low, "interval_high": high, "interval_method": comparison.method,
                            "difference": comparison.difference, "inside": comparison.inside,
                            "worst_case": row.worst_case.mean, "worst_case_low": worst_low,
                            "worst_case_high": worst_high, "shape_mode": shape})
    for column, agreement in reproduction.agreement.items():
        resampled = BOOTSTRAP + (" over seeds and images" if reproduction.seeds >= MIN_SEEDS_TO_RESAMPLE
                                 else " over images within seeds")
        for pair in agreement.pairs:
            low, high = pair.interval or (None, None)
            records.append({"kind": "change", "row": f"{pair.above} → {pair.below}", "column": column,
                            "setting": table.settings[column], "published": pair.published,
                            "published_star": pair.star, "regenerated": pair.regenerated, "interval_low": low,
                            "interval_high": high, "interval_method": resampled, "label": pair.label,
                            "same_sign": pair.same_sign, "shape_mode": shape})
        records.append({"kind": "column", "row": "agreement", "column": column, "setting": table.settings[column],
                        **{label.replace(" ", "_"): agreement.count(label) for label in LABELS},
                        "inconclusive_same_sign": agreement.inconclusive_same_sign,
                        "kendall_tau_b": agreement.tau, "kendall_p": agreement.tau_p, "shape_mode": shape})
    return records


def reproduction_frame(reproduction: Reproduction) -> pd.DataFrame:
    """The CSV's rows (``_records``) as a frame; counts stay integers where other kinds leave them empty."""
    frame = pd.DataFrame(_records(reproduction))
    counts = ["seeds", "images", "inconclusive_same_sign", *(label.replace(" ", "_") for label in LABELS)]
    return frame.astype({column: "Int64" for column in counts if column in frame})


def reproduction_texts(reproduction: Reproduction) -> dict[str, str]:
    """The table as CSV, Markdown and LaTeX text by extension (``newlogic.report.render.rendered``)."""
    return rendered(lambda: reproduction_frame(reproduction), lambda ext: text_table(reproduction, ext))


def write_reproduction(config: dict[str, Any], ablation_name: str, *, results_dir: Path | str,
                       out_dir: Path | str) -> Reproduction:
    """Write ``out_dir/{ablation}.reproduction.{csv,md,tex}`` of a prepared config (``newlogic.study_loader``);
    the figure is ``figures.ablation``'s."""
    reproduction = require_reproduction(config, ablation_name, results_dir)
    write_rendered(Path(out_dir) / f"{ablation_name}.{paths.REPRODUCTION_EXT}", reproduction_texts(reproduction))
    return reproduction
