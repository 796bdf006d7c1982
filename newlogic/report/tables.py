"""Ablation tables in the paper's layout (SPEC §7): CSV, Markdown and LaTeX (booktabs).

Rows are the ablation's models in config order (their labels), columns the clean accuracy
then each attack setting. A cell is the mean accuracy (%) over the training seeds, with
± std when there are several. ``*`` marks a cell whose per-batch accuracies differ from the
row above by Welch's t-test at p < 0.05; ``⊂`` a result computed on a subset of the test
set; gradient-masking markers come from each run's ``checks.json`` (``newlogic.report.checks.CHECKS``,
legend under the table). A missing result is shown as ``—`` and listed on stderr, never dropped.
"""

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from scipy import stats

from newlogic.report.checks import CHECKS
from newlogic.report.stats import sample_std
from newlogic.store import paths
from newlogic.store.atomic import atomic_write_text
from newlogic.store.model_dir import METRICS_FILE
from newlogic.study import Ablation, get_ablation, load_config

CLEAN = "clean"
# noise.json input set → column (SPEC §6 / issue 5: rejected fraction of noise images, higher is better)
NOISE_COLUMNS = {"uniform_noise": ("noise_rejected", "Noise rejected"), "scrambled": ("scrambled_rejected",
                                                                                    "Scrambled rejected")}
SIGNIFICANCE_LEVEL = 0.05
SIGNIFICANT_MARK = "*"
SUBSET_MARK = "⊂"
SUBSET_LATEX = r"\subset"
MISSING = "—"


@dataclass
class Cell:
    """One table cell: accuracies (fractions) of the runs found, per-batch values for the t-test."""

    values: list[float] = field(default_factory=list)
    per_batch: list[float] = field(default_factory=list)
    subset: bool = False
    markers: set[str] = field(default_factory=set)
    significant: bool = False

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values) if self.values else math.nan

    @property
    def std(self) -> float:
        std = sample_std(self.values)
        return math.nan if std is None else std


@dataclass
class AblationTable:
    """Cells by (row label, column), the column headers, and what was missing."""

    ablation: Ablation
    headers: dict[str, str]
    cells: dict[tuple[str, str], Cell]
    legend: set[str]
    missing: list[Path]


def _read_json(path: Path, missing: list[Path]) -> dict[str, Any] | None:
    if not path.is_file():
        missing.append(path)
        return None
    return json.loads(path.read_text())


def column_header(setting_id: str, setting: dict[str, Any]) -> str:
    """A setting's header: its ``label`` in the config, else its id."""
    return str(setting.get("label", setting_id))


def _add_masking_flags(cells: dict[tuple[str, str], Cell], label: str, checks: dict[str, Any], legend: set) -> None:
    for flag in checks["flags"]:
        legend.add(flag["check"])
        for setting in flag["settings"]:
            if (label, setting) in cells:
                cells[(label, setting)].markers.add(flag["check"])


def collect(ablation: Ablation, attacks: dict[str, dict[str, Any]], results_dir: Path) -> AblationTable:
    """Read every model directory, result and checks file the ablation needs."""
    headers = {CLEAN: "Clean", **{s: column_header(s, attacks.get(s, {})) for s in ablation.settings}}
    headers.update(dict(NOISE_COLUMNS.values()))
    cells: dict[tuple[str, str], Cell] = {}
    legend: set[str] = set()
    missing: list[Path] = []
    for entry in ablation.models:
        for column in headers:
            cells[(entry.label, column)] = Cell()
        for seed in ablation.seeds:
            model_dir = paths.model_dir(results_dir, ablation.dataset, entry.name, seed)
            metrics = _read_json(model_dir / METRICS_FILE, missing)
            if metrics is not None:
                cells[(entry.label, CLEAN)].values.append(metrics["final"]["test_accuracy"])
            for setting in ablation.settings:
                path = paths.result_json(results_dir, ablation.dataset, entry.name, seed, setting)
                result = _read_json(path, missing)
                if result is not None:
                    cell = cells[(entry.label, setting)]
                    cell.values.append(result["adv_accuracy"])
                    cell.per_batch.extend(result["batch_adv_accuracies"])
                    cell.subset |= bool(result["subset"])
            noise = _read_json(paths.noise_json(results_dir, ablation.dataset, entry.name, seed), missing)
            if noise is not None:
                for input_set, (column, _header) in NOISE_COLUMNS.items():
                    cells[(entry.label, column)].values.append(noise["inputs"][input_set]["rejection_rate"])
            checks = _read_json(paths.checks_json(results_dir, ablation.dataset, entry.name, seed), missing)
            if checks is not None:
                _add_masking_flags(cells, entry.label, checks, legend)
    _mark_significance(ablation, list(headers), cells)
    return AblationTable(ablation, headers, cells, legend, missing)


def _mark_significance(ablation: Ablation, columns: list[str], cells: dict[tuple[str, str], Cell]) -> None:
    """Welch's t-test of each cell's per-batch accuracies against the row above (SPEC §7)."""
    labels = [entry.label for entry in ablation.models]
    for above, below in zip(labels, labels[1:], strict=False):
        for column in columns:
            first, second = cells[(above, column)].per_batch, cells[(below, column)].per_batch
            # pandas, not stats.sample_std: for constant lists it gives exactly 0 where the pure-Python sum can
            # leave ~1e-16, which would run the t-test on zero variance (p = 0, a spurious mark)
            if len(first) >= 2 and len(second) >= 2 and (pd.Series(first).std() > 0 or pd.Series(second).std() > 0):
                p_value = stats.ttest_ind(first, second, equal_var=False).pvalue
                cells[(below, column)].significant = bool(p_value < SIGNIFICANCE_LEVEL)


def _cell_text(cell: Cell, bold: bool = False, latex: bool = False) -> str:
    if not cell.values:
        return "--" if latex else MISSING
    text = f"{100 * cell.mean:.2f}"
    if len(cell.values) > 1:
        text += (r" $\pm$ " if latex else " ± ") + f"{100 * cell.std:.2f}"
    if bold:
        text = rf"\textbf{{{text}}}"
    marks = [SIGNIFICANT_MARK] if cell.significant else []
    marks += [(SUBSET_LATEX if latex else SUBSET_MARK)] if cell.subset else []
    marks += [CHECKS[name].latex if latex else CHECKS[name].marker for name in sorted(cell.markers)]
    if marks and latex:
        text += "$^{" + "".join(marks) + "}$"
    elif marks:
        text += "".join(marks)
    return text


def _legend_lines(table: AblationTable) -> list[str]:
    lines = [f"Accuracy (%) on {table.ablation.dataset}, mean over {len(table.ablation.seeds)} seed(s)."]
    lines.append("Noise/Scrambled rejected (%): uniform-noise and pixel-scrambled images rejected (sigmoid models: "
                 "every output < 0.5; softmax models: max probability ≤ 0.5).")
    lines.append(f"{SIGNIFICANT_MARK} differs from the row above (Welch's t-test on per-batch accuracies, p < 0.05).")
    if any(cell.subset for cell in table.cells.values()):
        lines.append(f"{SUBSET_MARK} computed on a subset of the test set.")
    for name in sorted(table.legend):
        lines.append(f"{CHECKS[name].marker} possible gradient masking: {CHECKS[name].description}")
    return lines


def to_frame(table: AblationTable) -> pd.DataFrame:
    """Numbers for the CSV: mean and std (%) per column, one row per model."""
    rows = []
    for entry in table.ablation.models:
        row: dict[str, Any] = {"model": entry.name, "label": entry.label}
        for column in table.headers:
            cell = table.cells[(entry.label, column)]
            row[column] = round(100 * cell.mean, 4)
            row[f"{column}_std"] = round(100 * cell.std, 4)
            row[f"{column}_runs"] = len(cell.values)
        rows.append(row)
    return pd.DataFrame(rows)


def to_markdown(table: AblationTable) -> str:
    """A Markdown table with the legend under it."""
    columns = list(table.headers)
    lines = ["| Model | " + " | ".join(table.headers[c] for c in columns) + " |"]
    lines.append("|---|" + "---:|" * len(columns))
    for entry in table.ablation.models:
        texts = [_cell_text(table.cells[(entry.label, c)]) for c in columns]
        lines.append(f"| {entry.label} | " + " | ".join(texts) + " |")
    return "\n".join(lines) + "\n\n" + "\n".join(f"{line}  " for line in _legend_lines(table)) + "\n"


def _latex_escape(text: str) -> str:
    for char, escaped in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#")):
        text = text.replace(char, escaped)
    return text.replace("ε", r"$\varepsilon$")


def to_latex(table: AblationTable) -> str:
    """A booktabs tabular, best mean per column in bold, ready to ``\\input``."""
    columns = list(table.headers)
    best = {}
    for column in columns:
        means = [table.cells[(e.label, column)].mean for e in table.ablation.models]
        finite = [m for m in means if not math.isnan(m)]
        best[column] = max(finite) if finite else None
    lines = [r"\begin{tabular}{l" + "r" * len(columns) + "}", r"\toprule"]
    lines.append("Model & " + " & ".join(_latex_escape(table.headers[c]) for c in columns) + r" \\")
    lines.append(r"\midrule")
    for entry in table.ablation.models:
        texts = []
        for column in columns:
            cell = table.cells[(entry.label, column)]
            texts.append(_cell_text(cell, bold=cell.values and cell.mean == best[column], latex=True))
        lines.append(_latex_escape(entry.label) + " & " + " & ".join(texts) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    notes = " ".join(_latex_escape(line) for line in _legend_lines(table))
    return "\n".join(lines) + "\n" + f"% {notes}\n"


def aggregate(config_source: Path | str, ablation_name: str, *, results_dir: Path, out_dir: Path) -> pd.DataFrame:
    """Write ``<ablation>.csv``, ``.md`` and ``.tex`` under ``out_dir``; list missing results on stderr."""
    config = load_config(config_source)
    ablation = get_ablation(config, ablation_name)
    table = collect(ablation, config.get("attacks", {}), Path(results_dir))
    frame = to_frame(table)
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / f"{ablation_name}.csv", frame.to_csv(index=False))
    atomic_write_text(out_dir / f"{ablation_name}.md", to_markdown(table))
    atomic_write_text(out_dir / f"{ablation_name}.tex", to_latex(table))
    for path in table.missing:
        print(f"missing: {path}", file=sys.stderr)
    if table.missing:
        print(f"{len(table.missing)} result file(s) missing; shown as {MISSING}", file=sys.stderr)
    return frame
