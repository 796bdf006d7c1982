"""Ablation tables in the paper's layout (SPEC §7): CSV, Markdown and LaTeX (booktabs).

Rows are the ablation's models in config order (their labels); columns the clean accuracy, the
worst-case robust accuracy per threat model and ε (``newlogic.report.worst_case``: the images that
survive every attack of the table at that ε; the number to lead with), then each attack setting,
the noise-rejection rates and the model's verdict from its checks (``robust``, ``suspect``, ``not
evaluated``; ``suspect`` when any seed's is, ``not evaluated`` when any seed's is or is missing).
A cell is the mean accuracy (%) over the training seeds, with ± std when there are several.
``*`` marks a cell that differs from the row above at p < 0.05 by the config's ``stats`` test
(``STATS``): ``seeds`` (default) is Welch's t-test on the per-seed accuracies when both cells have
≥ 2 seeds, else McNemar's exact test on the per-sample correctness of one common seed's images;
``paper`` is the paper's Welch's t-test on per-batch accuracies. ``⊂`` marks a result computed on
a subset of the test set, ``△`` a model whose ReLog or curvature ramp had not finished (its
``metrics.json`` flags); gradient-masking markers come from each run's ``checks.json``
(``newlogic.report.checks.CHECKS``, legend under the table). Results are read through
``newlogic.store.results`` (complete, this schema, matching ``.npz``, this model): a missing or
refused file is shown as ``—`` and listed on stderr with the reason, never as a number. No torch.
"""

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from newlogic.errors import UserError
from newlogic.report import checks
from newlogic.report.checks import CHECKS
from newlogic.report.samples import Result, load_result
from newlogic.report.stats import mcnemar_exact_p, sample_std, welch_p
from newlogic.report.worst_case import COLUMN_PREFIX, worst_case
from newlogic.store import paths
from newlogic.store.atomic import atomic_write_text
from newlogic.store.json_file import read_json_object
from newlogic.study import Ablation, get_ablation, load_config

CLEAN = "clean"
VERDICT = "verdict"
# noise.json input set → column (SPEC §6 / issue 5: rejected fraction of noise images, higher is better)
NOISE_COLUMNS = {"uniform_noise": ("noise_rejected", "Noise rejected"), "scrambled": ("scrambled_rejected",
                                                                                    "Scrambled rejected")}
SIGNIFICANCE_LEVEL = 0.05
SIGNIFICANT_MARK = "*"
SUBSET_MARK = "⊂"
SUBSET_LATEX = r"\subset"
RAMP_MARK = "△"
RAMP_LATEX = r"\triangle"
RAMP_FLAGS = ("relog_ramp_unfinished", "curvature_ramp_unfinished")
MISSING = "—"
CONFIG_FILE = "config.json"  # the model directory's record (newlogic.store.model_dir), for its config_hash
DEFAULT_STATS = "seeds"


@dataclass
class Cell:
    """One table cell: accuracy (fraction) per seed found, and what the tests between rows use.

    ``per_batch``: the per-batch accuracies of every seed (``stats: paper``); ``per_sample``: per
    seed, the test-set indices and the per-sample correctness (McNemar's test).
    """

    values: dict[int, float] = field(default_factory=dict)
    per_batch: list[float] = field(default_factory=list)
    per_sample: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    subset: bool = False
    markers: set[str] = field(default_factory=set)
    significant: bool = False

    @property
    def mean(self) -> float:
        return sum(self.values.values()) / len(self.values) if self.values else math.nan

    @property
    def std(self) -> float:
        std = sample_std(list(self.values.values()))
        return math.nan if std is None else std


def _welch_on_seeds(above: Cell, below: Cell) -> float | None:
    return welch_p(list(above.values.values()), list(below.values.values()))


def _mcnemar_on_samples(above: Cell, below: Cell) -> float | None:
    """McNemar's exact test on the first seed both cells have per-sample correctness for, on their common images."""
    common = sorted(set(above.per_sample) & set(below.per_sample))
    if not common:
        return None
    (index_a, right_a), (index_b, right_b) = above.per_sample[common[0]], below.per_sample[common[0]]
    shared = np.intersect1d(index_a, index_b)
    order_a, order_b = np.argsort(index_a), np.argsort(index_b)
    pick_a = order_a[np.searchsorted(index_a, shared, sorter=order_a)]
    pick_b = order_b[np.searchsorted(index_b, shared, sorter=order_b)]
    return mcnemar_exact_p(right_a[pick_a].tolist(), right_b[pick_b].tolist()) if len(shared) else None


def _seed_test(above: Cell, below: Cell) -> float | None:
    """Welch on per-seed accuracies with ≥ 2 seeds in both cells, else McNemar's exact test on one seed's images."""
    if len(above.values) >= 2 and len(below.values) >= 2:
        return _welch_on_seeds(above, below)
    return _mcnemar_on_samples(above, below)


@dataclass(frozen=True)
class StatsTest:
    """A test between a cell and the one above it, and the legend sentence that names it."""

    p_value: Callable[[Cell, Cell], float | None]
    legend: str


STATS: dict[str, StatsTest] = {
    "seeds": StatsTest(_seed_test, "Welch's t-test on per-seed accuracies (both cells ≥ 2 seeds), else McNemar's "
                                   "exact test on the per-sample correctness of one seed's images"),
    "paper": StatsTest(lambda above, below: welch_p(above.per_batch, below.per_batch),
                       "Welch's t-test on per-batch accuracies, the paper's test"),
}


@dataclass
class AblationTable:
    """Cells by (row label, column), the column headers, verdicts and ramp marks by row, and what was missing."""

    ablation: Ablation
    headers: dict[str, str]
    cells: dict[tuple[str, str], Cell]
    legend: set[str]
    missing: list[tuple[Path, str]]
    verdicts: dict[str, str] = field(default_factory=dict)
    ramp_unfinished: set[str] = field(default_factory=set)
    stats: str = DEFAULT_STATS


def _read_json(path: Path, missing: list[tuple[Path, str]]) -> dict[str, Any] | None:
    """A JSON object file, or None with ``path`` and the reason added to ``missing``."""
    if not path.is_file():
        missing.append((path, "not found"))
        return None
    try:
        return read_json_object(path, "write it again")
    except UserError as error:
        missing.append((path, str(error)))
        return None


def column_header(setting_id: str, setting: dict[str, Any]) -> str:
    """A setting's header: its ``label`` in the config, else its id."""
    return str(setting.get("label", setting_id))


def _add_masking_flags(cells: dict[tuple[str, str], Cell], label: str, report: dict[str, Any], legend: set) -> None:
    for flag in report["flags"]:
        legend.add(flag["check"])
        for setting in flag["settings"]:
            if (label, setting) in cells:
                cells[(label, setting)].markers.add(flag["check"])


def _expected_model(model_dir: Path, name: str, seed: int) -> dict[str, Any]:
    """The ``model_ref`` fields a result of this run must have: name, seed, and the directory's ``config_hash``."""
    expected: dict[str, Any] = {"name": name, "seed": seed}
    record_path = model_dir / CONFIG_FILE
    if record_path.is_file():
        provenance = read_json_object(record_path, "retrain the model").get("provenance")
        expected["config_hash"] = provenance.get("config_hash") if isinstance(provenance, dict) else None
    return expected


def _combined_verdict(words: list[str | None]) -> str:
    """``suspect`` if any seed's verdict is, else ``not evaluated`` if any is or is missing, else ``robust``."""
    if "suspect" in words:
        return "suspect"
    return "robust" if words and all(word == "robust" for word in words) else "not evaluated"


class _Collector:
    """Reads one ablation's files into cells (``collect``)."""

    def __init__(self, ablation: Ablation, results_dir: Path) -> None:
        self.ablation, self.results_dir = ablation, results_dir
        self.cells: dict[tuple[str, str], Cell] = {}
        self.legend: set[str] = set()
        self.missing: list[tuple[Path, str]] = []
        self.worst_headers: dict[str, str] = {}
        self.verdicts: dict[str, str] = {}
        self.ramp_unfinished: set[str] = set()

    def cell(self, label: str, column: str) -> Cell:
        return self.cells.setdefault((label, column), Cell())

    def results(self, label: str, name: str, seed: int, expected: dict[str, Any]) -> list[Result]:
        """The run's valid results, added to their cells; refused ones are listed as missing."""
        found = []
        for setting in self.ablation.settings:
            path = paths.result_json(self.results_dir, self.ablation.dataset, name, seed, setting)
            try:
                result = load_result(path, expected)
            except UserError as error:
                self.missing.append((path, str(error)))
                continue
            cell = self.cell(label, setting)
            cell.values[seed] = result.data["adv_accuracy"]
            cell.per_batch.extend(result.data["batch_adv_accuracies"])
            cell.per_sample[seed] = (result.index, result.adv_correct)
            cell.subset |= bool(result.data["subset"])
            found.append(result)
        return found

    def clean(self, label: str, seed: int, metrics_path: Path, results: list[Result]) -> None:
        """Clean accuracy from ``metrics.json``; per batch and per sample from the run's largest result."""
        cell = self.cell(label, CLEAN)
        metrics = _read_json(metrics_path, self.missing)
        if metrics is not None:
            accuracy = (metrics.get("final") or {}).get("test_accuracy")
            if isinstance(accuracy, int | float) and math.isfinite(accuracy):
                cell.values[seed] = accuracy
            else:
                self.missing.append((metrics_path, f"test_accuracy {accuracy!r} is not a finite accuracy"))
            if any(flag in RAMP_FLAGS for flag in metrics.get("flags", [])):
                self.ramp_unfinished.add(label)
        if results:
            largest = max(results, key=lambda r: len(r.index))
            cell.per_batch.extend(largest.data["batch_clean_accuracies"])
            cell.per_sample[seed] = (largest.index, largest.clean_correct)

    def worst(self, label: str, seed: int, results: list[Result]) -> None:
        for case in worst_case(results):
            self.worst_headers[case.column] = case.header
            cell = self.cell(label, case.column)
            cell.values[seed] = case.accuracy
            cell.per_sample[seed] = (case.index, case.survived)
            cell.subset |= len(case.index) < results[0].data["test_size"]

    def run(self, label: str, name: str, seed: int) -> str | None:
        """Every file of one (model, seed); returns its checks' verdict (None: no valid checks.json)."""
        dataset = self.ablation.dataset
        model_dir = paths.model_dir(self.results_dir, dataset, name, seed)
        results = self.results(label, name, seed, _expected_model(model_dir, name, seed))
        self.clean(label, seed, model_dir / paths.METRICS_FILE, results)
        if len(results) == len(self.ablation.settings):  # the worst case needs every attack of the table
            self.worst(label, seed, results)
        noise = _read_json(paths.noise_json(self.results_dir, dataset, name, seed), self.missing)
        if noise is not None:
            for input_set, (column, _header) in NOISE_COLUMNS.items():
                self.cell(label, column).values[seed] = noise["inputs"][input_set]["rejection_rate"]
        checks_path = paths.checks_json(self.results_dir, dataset, name, seed)
        report = _read_json(checks_path, self.missing)
        if report is not None and report.get("schema_version") != checks.SCHEMA_VERSION:
            self.missing.append((checks_path, f"schema_version {report.get('schema_version')!r}, expected "
                                              f"{checks.SCHEMA_VERSION}; run 'newlogic checks' again"))
            report = None
        if report is None:
            return None
        _add_masking_flags(self.cells, label, report, self.legend)
        return report["verdict"]


def collect(ablation: Ablation, attacks: dict[str, dict[str, Any]], results_dir: Path,
            stats: str = DEFAULT_STATS) -> AblationTable:
    """Read every model directory, result and checks file the ablation needs; test each cell against the row above."""
    if stats not in STATS:
        raise UserError(f"stats {stats!r} is not valid; valid: {', '.join(STATS)}")
    collector = _Collector(ablation, Path(results_dir))
    for entry in ablation.models:
        for column in (CLEAN, *ablation.settings, *(column for column, _ in NOISE_COLUMNS.values())):
            collector.cell(entry.label, column)
        words = [collector.run(entry.label, entry.name, seed) for seed in ablation.seeds]
        collector.verdicts[entry.label] = _combined_verdict(words)
    worst = dict(sorted(collector.worst_headers.items(), key=lambda item: item[0]))
    headers = {CLEAN: "Clean", **worst, **{s: column_header(s, attacks.get(s, {})) for s in ablation.settings}}
    headers.update(dict(NOISE_COLUMNS.values()))
    for entry in ablation.models:
        for column in worst:
            collector.cell(entry.label, column)
    _mark_significance(ablation, list(headers), collector.cells, STATS[stats])
    return AblationTable(ablation, headers, collector.cells, collector.legend, collector.missing,
                         collector.verdicts, collector.ramp_unfinished, stats)


def _mark_significance(ablation: Ablation, columns: list[str], cells: dict[tuple[str, str], Cell],
                       test: StatsTest) -> None:
    """``test`` of each cell against the cell of the row above (SPEC §7); p < ``SIGNIFICANCE_LEVEL`` marks it."""
    labels = [entry.label for entry in ablation.models]
    for above, below in zip(labels, labels[1:], strict=False):
        for column in columns:
            p_value = test.p_value(cells[(above, column)], cells[(below, column)])
            cells[(below, column)].significant = p_value is not None and p_value < SIGNIFICANCE_LEVEL


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
    lines = [table.ablation.caption] if table.ablation.caption else []
    lines.append(f"Accuracy (%) on {table.ablation.dataset}, mean over {len(table.ablation.seeds)} seed(s).")
    lines.append("Noise/Scrambled rejected (%): uniform-noise and pixel-scrambled images rejected (sigmoid models: "
                 "every output < 0.5; softmax models: max probability ≤ 0.5).")
    if any(column.startswith(COLUMN_PREFIX) for column in table.headers):
        lines.append("Worst-case: images that survive every attack of the table at that threat model and ε "
                     "(per sample; lead with it).")
    lines.append(f"{SIGNIFICANT_MARK} differs from the row above (p < {SIGNIFICANCE_LEVEL}): "
                 f"{STATS[table.stats].legend}.")
    if any(cell.subset for cell in table.cells.values()):
        lines.append(f"{SUBSET_MARK} computed on a subset of the test set.")
    if table.ramp_unfinished:
        lines.append(f"{RAMP_MARK} the ReLog or curvature ramp had not finished when training ended.")
    lines.append("Verdict (from the gradient-masking checks): robust = every check passed; suspect = a check "
                 "flagged; not evaluated = a check lacked its inputs.")
    for name in sorted(table.legend):
        lines.append(f"{CHECKS[name].marker} possible gradient masking: {CHECKS[name].description}")
    return lines


def _row_label(table: AblationTable, label: str, latex: bool = False) -> str:
    if label not in table.ramp_unfinished:
        return _latex_escape(label) if latex else label
    return _latex_escape(label) + f"$^{{{RAMP_LATEX}}}$" if latex else label + RAMP_MARK


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
            row[f"{column}_significant"] = cell.significant
        row[VERDICT] = table.verdicts[entry.label]
        row["ramp_unfinished"] = entry.label in table.ramp_unfinished
        rows.append(row)
    return pd.DataFrame(rows)


def to_markdown(table: AblationTable) -> str:
    """A Markdown table with the legend under it."""
    columns = list(table.headers)
    lines = ["| Model | " + " | ".join(table.headers[c] for c in columns) + " | Verdict |"]
    lines.append("|---|" + "---:|" * len(columns) + "---|")
    for entry in table.ablation.models:
        texts = [_cell_text(table.cells[(entry.label, c)]) for c in columns]
        lines.append(f"| {_row_label(table, entry.label)} | " + " | ".join(texts)
                     + f" | {table.verdicts[entry.label]} |")
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
    lines = [r"\begin{tabular}{l" + "r" * len(columns) + "l}", r"\toprule"]
    lines.append("Model & " + " & ".join(_latex_escape(table.headers[c]) for c in columns) + r" & Verdict \\")
    lines.append(r"\midrule")
    for entry in table.ablation.models:
        texts = []
        for column in columns:
            cell = table.cells[(entry.label, column)]
            texts.append(_cell_text(cell, bold=cell.values and cell.mean == best[column], latex=True))
        lines.append(_row_label(table, entry.label, latex=True) + " & " + " & ".join(texts)
                     + f" & {table.verdicts[entry.label]}" + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    notes = " ".join(_latex_escape(line) for line in _legend_lines(table))
    return "\n".join(lines) + "\n" + f"% {notes}\n"


def aggregate(config_source: Path | str, ablation_name: str, *, results_dir: Path, out_dir: Path) -> pd.DataFrame:
    """Write ``<ablation>.csv``, ``.md`` and ``.tex`` under ``out_dir``; list missing and refused files on stderr.

    The config's ``stats`` (``seeds`` or ``paper``, ``STATS``) picks the test between rows.
    """
    config = load_config(config_source)
    ablation = get_ablation(config, ablation_name)
    table = collect(ablation, config.get("attacks", {}), Path(results_dir), config.get("stats", DEFAULT_STATS))
    frame = to_frame(table)
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / f"{ablation_name}.csv", frame.to_csv(index=False))
    atomic_write_text(out_dir / f"{ablation_name}.md", to_markdown(table))
    atomic_write_text(out_dir / f"{ablation_name}.tex", to_latex(table))
    for path, reason in table.missing:
        print(f"missing: {path} ({reason})", file=sys.stderr)
    if table.missing:
        print(f"{len(table.missing)} file(s) missing or refused; shown as {MISSING}", file=sys.stderr)
    return frame
