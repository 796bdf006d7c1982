"""Ablation tables in the paper's layout (SPEC §7): CSV, Markdown and LaTeX (booktabs).

Rows are the ablation's models in config order (their labels); columns the clean accuracy, the
worst-case robust accuracy per threat model and ε (read from each run's ``checks.json``, computed
there once from all of the model's results: ``newlogic.report.worst_case``; the number to lead with;
headed "One-step only" or "Weak attacks only" where no sound attack ran), then each attack setting,
the noise-rejection rates and the model's verdict from its checks (``newlogic.report.verdicts``:
``masking suspected``, ``incomplete``, ``no masking found (N checks)``; the worst of its seeds').
A cell is the mean accuracy (%) over the training seeds, with ± std when there are several; ``⊖``
marks a cell some seed lacks (or, for a worst case, one of its attacks), never silently averaged.
``*`` marks a cell that differs from the row above by the config's ``stats`` test (``STATS``),
one test per table, Holm–Bonferroni-adjusted over the table's comparisons at ``SIGNIFICANCE_LEVEL``:
``seeds`` (default) is Welch's t-test on the per-seed accuracies, only when both cells have ≥
``MIN_SEEDS`` seeds; ``paper`` is the paper's Welch's t-test on per-batch accuracies; a cell that
cannot be tested is marked ``?`` (not tested). ``⊂`` marks a result computed on a subset of the test
set, ``△`` a model whose ReLog or curvature ramp had not finished (its ``metrics.json`` flags);
``↑`` a cell whose checks call it a weak attack, ``!`` one where masking is suspected; a
gradient-masking marker (``newlogic.report.checks.CHECKS``, legend under the table) marks the
suspect cell of each flag. Every file is read through the
verified collector ``newlogic.report.collect``: a missing file is shown as ``—`` and listed on
stderr; a corrupt, edited, foreign or misplaced one is a UserError, never a number. Rows are keyed
by the model's canonical name; setting ids that would overwrite another column are refused
(``check_columns``). Each format is one renderer object (``RENDERERS``: CSV, Markdown, LaTeX). No torch.
"""

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from newlogic.errors import UserError
from newlogic.report.checks import CHECKS
from newlogic.report.collect import AblationResults, RunFiles, collect_ablation
from newlogic.report.escape import latex, markdown_cell
from newlogic.report.samples import Result
from newlogic.report.verdicts import CELL_VERDICTS, MASKING_SUSPECTED, RELIABLE, WEAK_ATTACK, combined_verdict
from newlogic.report.worst_case import COLUMN_PREFIX, WORST_CASE, case_header
from newlogic.stats import clopper_pearson, holm, sample_std, welch_p
from newlogic.store.atomic import atomic_write_text
from newlogic.study import Ablation, get_ablation, load_config

CLEAN = "clean"
VERDICT = "verdict"
# noise.json input set → column (SPEC §6 / issue 5: rejected fraction of noise images, higher is better)
NOISE_COLUMNS = {"uniform_noise": ("noise_rejected", "Noise rejected"), "scrambled": ("scrambled_rejected",
                                                                                    "Scrambled rejected")}
SIGNIFICANCE_LEVEL = 0.05  # family-wise, Holm–Bonferroni over the table's comparisons
SIGNIFICANT_MARK = "*"
MIN_SEEDS = 3  # a seed-level test needs this many seeds in both cells [project]
UNTESTED_MARK = "?"
SEED_MISSING_MARK, SEED_MISSING_LATEX = "⊖", r"\ominus"
# a cell's word from its checks → its mark (Unicode, LaTeX); reliable cells carry none
CELL_MARKS = {WEAK_ATTACK: ("↑", r"\uparrow"), MASKING_SUSPECTED: ("!", "!")}
SUBSET_MARK = "⊂"
SUBSET_LATEX = r"\subset"
RAMP_MARK = "△"
RAMP_LATEX = r"\triangle"
RAMP_FLAGS = ("relog_ramp_unfinished", "curvature_ramp_unfinished")
MISSING = "—"
DEFAULT_STATS = "seeds"
RAMP_COLUMN = "ramp_unfinished"
RESERVED_COLUMNS = ("model", "label", CLEAN, VERDICT, RAMP_COLUMN)  # CSV columns no setting id may take
DERIVED_SUFFIXES = ("_std", "_runs", "_significant")  # the CSV's columns beside each column


@dataclass
class Cell:
    """One table cell: accuracy (fraction) per seed found, and what the tests between rows use.

    ``per_batch``: the per-batch accuracies of every seed (``stats: paper``); ``tested``: a test
    against the row above was made; ``word``: the worst cell word of its seeds' checks;
    ``attacks``: per seed, the settings its worst case covers; ``seed_missing``: a seed lacks it.
    """

    values: dict[int, float] = field(default_factory=dict)
    per_batch: list[float] = field(default_factory=list)
    subset: bool = False
    markers: set[str] = field(default_factory=set)
    significant: bool = False
    tested: bool = True
    word: str = RELIABLE
    attacks: dict[int, frozenset[str]] = field(default_factory=dict)
    seed_missing: bool = False
    survivors: dict[int, tuple[int, int]] = field(default_factory=dict)  # worst case: per seed (survived, n)

    @property
    def interval(self) -> tuple[float, float] | None:
        """A worst case's 95 % Clopper–Pearson interval over its seeds' pooled images; None for other cells."""
        survived, count = (sum(pair[i] for pair in self.survivors.values()) for i in (0, 1))
        return clopper_pearson(survived, count) if self.survivors else None

    @property
    def mean(self) -> float:
        return sum(self.values.values()) / len(self.values) if self.values else math.nan

    @property
    def std(self) -> float:
        std = sample_std(list(self.values.values()))
        return math.nan if std is None else std


def _welch_on_seeds(above: Cell, below: Cell) -> float | None:
    return welch_p(list(above.values.values()), list(below.values.values()))


def _seed_test(above: Cell, below: Cell) -> float | None:
    """Welch on per-seed accuracies when both cells have ≥ ``MIN_SEEDS`` seeds; else None (not tested)."""
    if len(above.values) < MIN_SEEDS or len(below.values) < MIN_SEEDS:
        return None
    return _welch_on_seeds(above, below)


@dataclass(frozen=True)
class StatsTest:
    """A test between a cell and the one above it, and the legend sentence that names it."""

    p_value: Callable[[Cell, Cell], float | None]
    legend: str


STATS: dict[str, StatsTest] = {
    "seeds": StatsTest(_seed_test, f"Welch's t-test on per-seed accuracies (both cells ≥ {MIN_SEEDS} seeds)"),
    "paper": StatsTest(lambda above, below: welch_p(above.per_batch, below.per_batch),
                       "Welch's t-test on per-batch accuracies, the paper's test"),
}


@dataclass
class AblationTable:
    """Cells by (row: canonical model name, column), headers, verdicts and ramp marks by row, and what was missing."""

    ablation: Ablation
    headers: dict[str, str]
    cells: dict[tuple[str, str], Cell]
    legend: set[str]
    missing: list[tuple[Path, str]]
    verdicts: dict[str, str] = field(default_factory=dict)
    ramp_unfinished: set[str] = field(default_factory=set)
    stats: str = DEFAULT_STATS


def column_header(setting_id: str, setting: dict[str, Any]) -> str:
    """A setting's header: its ``label`` in the config, else its id."""
    return str(setting.get("label", setting_id))


def check_columns(settings: tuple[str, ...]) -> None:
    """Setting ids become table and CSV columns: none may be a reserved column or make one another already has.

    Reserved: ``RESERVED_COLUMNS``, the worst-case columns (``COLUMN_PREFIX``), and every CSV column
    another column derives (``<column>_std``, ``_runs``, ``_significant``).
    """
    for setting in settings:
        if setting in RESERVED_COLUMNS or setting.startswith(COLUMN_PREFIX):
            raise UserError(f"attack setting id {setting!r} is a reserved table column; rename it (reserved: "
                            f"{', '.join(RESERVED_COLUMNS)} and {COLUMN_PREFIX}*)")
    seen: dict[str, int] = {}
    columns = (CLEAN, *settings, *(column for column, _ in NOISE_COLUMNS.values()))
    for position, column in enumerate(columns):
        for name in (column, *(f"{column}{suffix}" for suffix in DERIVED_SUFFIXES)):
            if seen.setdefault(name, position) != position:
                raise UserError(f"table column {name!r} comes from both {columns[seen[name]]!r} and {column!r}; "
                                "rename the attack setting")


class _Cells:
    """Fills one ablation's cells from its verified files (``newlogic.report.collect``)."""

    def __init__(self, ablation: Ablation) -> None:
        self.ablation = ablation
        self.cells: dict[tuple[str, str], Cell] = {}
        self.legend: set[str] = set()
        self.worst_headers: dict[str, str] = {}
        self.worst_kinds: dict[str, str] = {}
        self.ramp_unfinished: set[str] = set()

    def cell(self, row: str, column: str) -> Cell:
        return self.cells.setdefault((row, column), Cell())

    def results(self, row: str, seed: int, results: list[Result]) -> None:
        for result in results:
            cell = self.cell(row, result.setting)
            cell.values[seed] = result.data["adv_accuracy"]
            cell.per_batch.extend(result.data["batch_adv_accuracies"])
            cell.subset |= bool(result.data["subset"])

    def clean(self, row: str, seed: int, metrics: dict[str, Any] | None, results: list[Result]) -> None:
        """Clean accuracy from ``metrics.json``; per batch from the run's largest result when it covers the whole
        test set (the samples the cell shows), else none: not tested."""
        cell = self.cell(row, CLEAN)
        if metrics is not None:
            cell.values[seed] = metrics["final"]["test_accuracy"]
            if any(flag in RAMP_FLAGS for flag in metrics.get("flags", [])):
                self.ramp_unfinished.add(row)
        if results:
            largest = max(results, key=lambda r: len(r.index))
            if not largest.data["subset"]:
                cell.per_batch.extend(largest.data["batch_clean_accuracies"])

    def worst(self, row: str, seed: int, checks: dict[str, Any], test_size: int | None) -> None:
        """The run's worst cases from its ``checks.json``; a column is headed a worst case only if every row's is."""
        for case in checks["worst_case"]:
            kind = self.worst_kinds.get(case["column"], WORST_CASE)
            kind = case["kind"] if kind == WORST_CASE else kind
            self.worst_kinds[case["column"]] = kind
            self.worst_headers[case["column"]] = case_header(case["norm"], case["eps"], case["threat_model"], kind)
            cell = self.cell(row, case["column"])
            cell.values[seed] = case["accuracy"]
            cell.attacks[seed] = frozenset(case["settings"])
            cell.survivors[seed] = (case["survived"], case["sample_count"])
            cell.subset |= test_size is not None and case["sample_count"] < test_size

    def words(self, row: str, checks: dict[str, Any]) -> None:
        """Each setting's cell word from the run's checks (the worst over seeds) and each flag's marker."""
        for setting, cell_word in checks["cells"].items():
            if (row, setting) in self.cells:
                cell = self.cells[(row, setting)]
                cell.word = min(cell.word, cell_word["verdict"], key=CELL_VERDICTS.index)
        for flag in checks["flags"]:
            self.legend.add(flag["check"])
            if (row, flag["suspect"]) in self.cells:
                self.cells[(row, flag["suspect"])].markers.add(flag["check"])

    def run(self, row: str, run: RunFiles) -> None:
        """Every verified file of one (model, seed): its cells, and its checks' markers."""
        results = [run.results[setting] for setting in self.ablation.settings if setting in run.results]
        self.results(row, run.seed, results)
        self.clean(row, run.seed, run.metrics, results)
        if run.checks is not None:
            self.worst(row, run.seed, run.checks, results[0].data["test_size"] if results else None)
            self.words(row, run.checks)
        if run.noise is not None:
            for input_set, (column, _header) in NOISE_COLUMNS.items():
                self.cell(row, column).values[run.seed] = run.noise["inputs"][input_set]["rejection_rate"]


def table_of(collected: AblationResults, stats: str = DEFAULT_STATS) -> AblationTable:
    """The table of an ablation's verified files; each cell tested against the row above by ``STATS[stats]``."""
    if stats not in STATS:
        raise UserError(f"stats {stats!r} is not valid; valid: {', '.join(STATS)}")
    ablation = collected.ablation
    check_columns(ablation.settings)
    filler = _Cells(ablation)
    verdicts = {}
    for model in collected.models:
        for column in (CLEAN, *ablation.settings, *(column for column, _ in NOISE_COLUMNS.values())):
            filler.cell(model.name, column)
        for run in model.runs.values():
            filler.run(model.name, run)
        verdicts[model.name] = combined_verdict([run.checks for run in model.runs.values()])
    worst = dict(sorted(filler.worst_headers.items(), key=lambda item: item[0]))
    headers = {CLEAN: "Clean", **worst,
               **{s: column_header(s, collected.attacks.get(s, {})) for s in ablation.settings}}
    headers.update(dict(NOISE_COLUMNS.values()))
    for model in collected.models:
        for column in worst:
            filler.cell(model.name, column)
        for column in headers:
            _mark_missing_seeds(filler.cell(model.name, column), len(model.runs) or len(ablation.seeds),
                                column in worst)
    _mark_significance([model.name for model in collected.models], list(headers), filler.cells, STATS[stats])
    return AblationTable(ablation, headers, filler.cells, filler.legend, list(collected.missing), verdicts,
                         filler.ramp_unfinished, stats)


def collect(config: dict[str, Any], ablation_name: str, results_dir: Path,
            stats: str = DEFAULT_STATS) -> AblationTable:
    """The ablation's table from its files under ``results_dir``, read through ``collect_ablation``."""
    if stats not in STATS:
        raise UserError(f"stats {stats!r} is not valid; valid: {', '.join(STATS)}")
    ablation = get_ablation(config, ablation_name)
    check_columns(ablation.settings)
    return table_of(collect_ablation(config, ablation, Path(results_dir)), stats)


def _mark_missing_seeds(cell: Cell, seeds: int, worst: bool) -> None:
    """``seed_missing`` when a seed that ran lacks the cell, or (a worst case) one of the attacks another seed has."""
    lacking = bool(cell.values) and len(cell.values) < seeds
    if worst and cell.attacks:
        every = frozenset().union(*cell.attacks.values())
        lacking |= any(attacks != every for attacks in cell.attacks.values())
    cell.seed_missing = lacking


def _mark_significance(rows: list[str], columns: list[str], cells: dict[tuple[str, str], Cell],
                       test: StatsTest) -> None:
    """``test`` of each cell against the cell of the row above (SPEC §7), Holm–Bonferroni-adjusted over the table.

    A cell with a row above but no test (``test`` gives None) is ``tested = False``: not tested.
    """
    tested: list[tuple[Cell, float]] = []
    for above, below in zip(rows, rows[1:], strict=False):
        for column in columns:
            p_value = test.p_value(cells[(above, column)], cells[(below, column)])
            cells[(below, column)].tested = p_value is not None
            if p_value is not None:
                tested.append((cells[(below, column)], p_value))
    for (cell, _p), adjusted in zip(tested, holm([p for _cell, p in tested]), strict=True):
        cell.significant = adjusted < SIGNIFICANCE_LEVEL


def _legend_lines(table: AblationTable) -> list[str]:
    lines = [table.ablation.caption] if table.ablation.caption else []
    lines.append(f"Accuracy (%) on {table.ablation.dataset}, mean over {len(table.ablation.seeds)} seed(s).")
    lines.append("Noise/Scrambled rejected (%): uniform-noise and pixel-scrambled images rejected (sigmoid models: "
                 "every output < 0.5; softmax models: max probability ≤ 0.5).")
    if any(column.startswith(COLUMN_PREFIX) for column in table.headers):
        lines.append("Worst-case: images that survive every attack the model ran at that threat model and ε "
                     "(per sample, from checks.json; lead with it), with the 95 % Clopper–Pearson interval "
                     "[low, high] of its seeds' pooled images (n per seed in the summary). "
                     "One-step only / Weak attacks only: no sound attack ran there, so it is no worst case.")
    lines.append(f"{SIGNIFICANT_MARK} differs from the row above (Holm–Bonferroni over the table's comparisons, "
                 f"family-wise α = {SIGNIFICANCE_LEVEL}): {STATS[table.stats].legend}; "
                 f"{UNTESTED_MARK} not tested (too few seeds or batches).")
    if any(cell.seed_missing for cell in table.cells.values()):
        lines.append(f"{SEED_MISSING_MARK} a seed lacks this cell (or one of its worst case's attacks): the mean is "
                     "over the seeds that have it.")
    if any(cell.subset for cell in table.cells.values()):
        lines.append(f"{SUBSET_MARK} computed on a subset of the test set.")
    if table.ramp_unfinished:
        lines.append(f"{RAMP_MARK} the ReLog or curvature ramp had not finished when training ended.")
    lines.append("Verdict (of the evaluation, not the model; from the gradient-masking checks): masking suspected = "
                 "a check flagged the model; incomplete = a check lacked its inputs; no masking found (N checks) = "
                 "N checks passed, none flagged the model.")
    lines.append(f"{CELL_MARKS[WEAK_ATTACK][0]} weak attack: significantly above another attack at its ε (not a "
                 f"robustness figure); {CELL_MARKS[MASKING_SUSPECTED][0]} masking suspected in this cell.")
    for name in sorted(table.legend):
        lines.append(f"{CHECKS[name].marker} possible gradient masking: {CHECKS[name].description}")
    return lines


def to_frame(table: AblationTable) -> pd.DataFrame:
    """Numbers for the CSV: mean and std (%) per column, one row per model."""
    rows = []
    for entry in table.ablation.models:
        row: dict[str, Any] = {"model": entry.name, "label": entry.label}
        for column in table.headers:
            cell = table.cells[(entry.name, column)]
            row[column] = round(100 * cell.mean, 4)
            row[f"{column}_std"] = round(100 * cell.std, 4)
            row[f"{column}_runs"] = len(cell.values)
            row[f"{column}_significant"] = cell.significant
        row[VERDICT] = table.verdicts[entry.name]
        row[RAMP_COLUMN] = entry.name in table.ramp_unfinished
        rows.append(row)
    return pd.DataFrame(rows)


class CsvRenderer:
    """The CSV: ``to_frame``'s numbers, one row per model."""

    def render(self, table: AblationTable) -> str:
        return to_frame(table).to_csv(index=False)


class _TextRenderer:
    """What Markdown and LaTeX share: a cell's text (mean ± std, then its marks) and a row's label.

    A subclass says how its format writes each piece: ``missing``, ``plus_minus``, the marks
    (``subset``, ``ramp``, a check's ``check_mark``), ``bold`` and ``escape``.
    """

    missing = MISSING
    plus_minus = " ± "
    subset = SUBSET_MARK
    ramp = RAMP_MARK

    def escape(self, text: str) -> str:
        return text

    seed_missing = SEED_MISSING_MARK

    def check_mark(self, check: str) -> str:
        return CHECKS[check].marker

    def cell_mark(self, word: str) -> str:
        return CELL_MARKS[word][0]

    def marks(self, marks: list[str]) -> str:
        return "".join(marks)

    def bold(self, text: str) -> str:
        return text

    def cell_text(self, cell: Cell, bold: bool = False) -> str:
        if not cell.values:
            return self.missing
        text = f"{100 * cell.mean:.2f}"
        if len(cell.values) > 1:
            text += self.plus_minus + f"{100 * cell.std:.2f}"
        if cell.interval is not None:
            low, high = cell.interval
            text += f" [{100 * low:.1f}, {100 * high:.1f}]"
        if bold:
            text = self.bold(text)
        marks = [SIGNIFICANT_MARK] if cell.significant else [] if cell.tested else [UNTESTED_MARK]
        marks += [self.subset] if cell.subset else []
        marks += [self.seed_missing] if cell.seed_missing else []
        marks += [self.cell_mark(cell.word)] if cell.word in CELL_MARKS else []
        marks += [self.check_mark(name) for name in sorted(cell.markers)]
        return text + (self.marks(marks) if marks else "")

    def row_label(self, table: AblationTable, name: str, label: str) -> str:
        return self.escape(label) + (self.marks([self.ramp]) if name in table.ramp_unfinished else "")


class MarkdownRenderer(_TextRenderer):
    """A Markdown table with the legend under it."""

    def escape(self, text: str) -> str:
        return markdown_cell(text)

    def render(self, table: AblationTable) -> str:
        columns = list(table.headers)
        lines = ["| Model | " + " | ".join(self.escape(table.headers[c]) for c in columns) + " | Verdict |"]
        lines.append("|---|" + "---:|" * len(columns) + "---|")
        for entry in table.ablation.models:
            texts = [self.cell_text(table.cells[(entry.name, c)]) for c in columns]
            lines.append(f"| {self.row_label(table, entry.name, entry.label)} | " + " | ".join(texts)
                         + f" | {table.verdicts[entry.name]} |")
        return "\n".join(lines) + "\n\n" + "\n".join(f"{self.escape(line)}  " for line in _legend_lines(table)) + "\n"


class LatexRenderer(_TextRenderer):
    """A booktabs tabular, best mean per column in bold, ready to ``\\input``; the legend as a comment."""

    missing = "--"
    plus_minus = r" $\pm$ "
    subset = SUBSET_LATEX
    ramp = RAMP_LATEX

    def escape(self, text: str) -> str:
        return latex(text)

    seed_missing = SEED_MISSING_LATEX

    def check_mark(self, check: str) -> str:
        return CHECKS[check].latex

    def cell_mark(self, word: str) -> str:
        return CELL_MARKS[word][1]

    def marks(self, marks: list[str]) -> str:
        return "$^{" + "".join(marks) + "}$"

    def bold(self, text: str) -> str:
        return rf"\textbf{{{text}}}"

    def render(self, table: AblationTable) -> str:
        columns = list(table.headers)
        best = {}
        for column in columns:
            means = [table.cells[(e.name, column)].mean for e in table.ablation.models]
            finite = [m for m in means if not math.isnan(m)]
            best[column] = max(finite) if finite else None
        lines = [r"\begin{tabular}{l" + "r" * len(columns) + "l}", r"\toprule"]
        lines.append("Model & " + " & ".join(latex(table.headers[c]) for c in columns) + r" & Verdict \\")
        lines.append(r"\midrule")
        for entry in table.ablation.models:
            texts = []
            for column in columns:
                cell = table.cells[(entry.name, column)]
                texts.append(self.cell_text(cell, bold=bool(cell.values) and cell.mean == best[column]))
            lines.append(self.row_label(table, entry.name, entry.label) + " & " + " & ".join(texts)
                         + f" & {table.verdicts[entry.name]}" + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
        notes = " ".join(latex(line) for line in _legend_lines(table))
        return "\n".join(lines) + "\n" + f"% {notes}\n"


RENDERERS: dict[str, CsvRenderer | MarkdownRenderer | LatexRenderer] = {
    "csv": CsvRenderer(), "md": MarkdownRenderer(), "tex": LatexRenderer()}  # file extension → renderer


def to_markdown(table: AblationTable) -> str:
    """``RENDERERS["md"]``'s table."""
    return RENDERERS["md"].render(table)


def to_latex(table: AblationTable) -> str:
    """``RENDERERS["tex"]``'s table."""
    return RENDERERS["tex"].render(table)


def aggregate(config_source: Path | str, ablation_name: str, *, results_dir: Path, out_dir: Path) -> pd.DataFrame:
    """Write ``<ablation>.<ext>`` under ``out_dir`` for every format of ``RENDERERS``; list missing files on stderr.

    The config's ``stats`` (``seeds`` or ``paper``, ``STATS``) picks the test between rows. A file
    present but refused by the collector is a UserError before any table is written.
    """
    config = load_config(config_source)
    return write_tables(collect(config, ablation_name, Path(results_dir), config.get("stats", DEFAULT_STATS)),
                        Path(out_dir))


def write_tables(table: AblationTable, out_dir: Path) -> pd.DataFrame:
    """Write ``<ablation>.<ext>`` under ``out_dir`` with each renderer of ``RENDERERS``; list missing files on
    stderr; returns the CSV's numbers."""
    for ext, renderer in RENDERERS.items():
        atomic_write_text(Path(out_dir) / f"{table.ablation.name}.{ext}", renderer.render(table))
    for path, reason in table.missing:
        print(f"missing: {path} ({reason})", file=sys.stderr)
    if table.missing:
        print(f"{len(table.missing)} file(s) missing; shown as {MISSING}", file=sys.stderr)
    return to_frame(table)
