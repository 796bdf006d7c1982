"""Ablation tables in the paper's layout (SPEC §7): CSV, Markdown and LaTeX (booktabs).

Rows are the ablation's models in config order (their labels); columns the clean accuracy, the
worst-case robust accuracy per threat model and ε (read from each run's ``checks.json``, computed
there once from all of the model's results: ``newlogic.report.worst_case``; the number to lead with;
headed "One-step only" or "Weak attacks only" where no sound attack ran), then each attack setting,
the noise-rejection rates and the model's verdict from its checks (``newlogic.report.vocabulary``:
``masking suspected``, ``incomplete``, ``inconclusive``, ``no masking found (N checks)``; the worst of
its seeds'). A worst case of a model whose verdict is ``masking suspected`` is an upper bound and
prints as one (``≤ 84.0``).
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
suspect cell of each flag, and the legend names the severity each marker shows. The CSV gives
every cell its pooled 95 % Clopper–Pearson interval, n and whether it was tested. Every file is read through the
verified collector ``newlogic.report.collect``: a missing file is shown as ``—`` and listed on
stderr; a corrupt, edited, foreign or misplaced one is a UserError, never a number. Rows are keyed
by the model's canonical name; setting ids that would overwrite another column are refused
(``check_columns``). The cells are written per format (``CELL_STYLES``) and drawn by the one renderer,
``newlogic.report.render``. No torch.
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
from newlogic.report.collect import AblationResults, RunFiles
from newlogic.report.entries import ChecksEntry, read_checks
from newlogic.report.render import (
    EXTENSIONS,
    LATEX,
    LEFT,
    MARKDOWN,
    RIGHT,
    Markup,
    TextTable,
    draw,
    escaped,
    write_rendered,
)
from newlogic.report.samples import Result
from newlogic.report.table_cells import (
    DEFAULT_STATS,
    SIGNIFICANCE_LEVEL,
    STATS,
    Cell,
    mark_missing_seeds,
    mark_significance,
)
from newlogic.report.verdicts import combined_verdict
from newlogic.report.vocabulary import (
    CELL_VERDICTS,
    MASKING_SUSPECTED,
    RELIABLE,
    UPPER_BOUND_MARK,
    VERDICTS,
    WEAK_ATTACK,
    WORST_CASE,
    meaning_line,
)
from newlogic.report.worst_case import COLUMN_PREFIX, case_header
from newlogic.study import Ablation

CLEAN = "clean"
VERDICT = "verdict"
# noise.json input set → column (SPEC §6 / issue 5: rejected fraction of noise images, higher is better)
NOISE_COLUMNS = {"uniform_noise": ("noise_rejected", "Noise rejected"), "scrambled": ("scrambled_rejected",
                                                                                    "Scrambled rejected")}
SIGNIFICANT_MARK = "*"
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
RAMP_COLUMN = "ramp_unfinished"
UPPER_BOUND_COLUMN = "worst_case_upper_bound"
RESERVED_COLUMNS = ("model", "label", CLEAN, VERDICT, RAMP_COLUMN, UPPER_BOUND_COLUMN)  # no setting id may take these
# the CSV's columns beside each column: std, seeds, significant, tested, pooled interval and n
DERIVED_SUFFIXES = ("_std", "_runs", "_significant", "_tested", "_low", "_high", "_n")
UPPER_BOUND_LATEX = r"$\leq$ "


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
    severities: dict[str, set[str]] = field(default_factory=dict)  # check → the severities its flags had


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
        self.severities: dict[str, set[str]] = {}
        self.worst_headers: dict[str, str] = {}
        self.worst_kinds: dict[str, str] = {}
        self.ramp_unfinished: set[str] = set()

    def cell(self, row: str, column: str) -> Cell:
        return self.cells.setdefault((row, column), Cell())

    def results(self, row: str, seed: int, results: list[Result]) -> None:
        for result in results:
            cell = self.cell(row, result.setting)
            cell.values[seed] = result.data["adv_accuracy"]
            cell.survivors[seed] = (round(result.data["adv_accuracy"] * len(result.index)), len(result.index))
            cell.per_batch.extend(result.data["batch_adv_accuracies"])
            cell.subset |= bool(result.data["subset"])

    def clean(self, row: str, seed: int, metrics: dict[str, Any] | None, results: list[Result]) -> None:
        """Clean accuracy from ``metrics.json``; per batch from the run's largest result when it covers the whole
        test set (the samples the cell shows), else none: not tested."""
        cell = self.cell(row, CLEAN)
        if metrics is not None:
            cell.values[seed] = metrics["final"]["test_accuracy"]
            if results:  # on the whole test split
                size = results[0].data["test_size"]
                cell.survivors[seed] = (round(metrics["final"]["test_accuracy"] * size), size)
            if any(flag in RAMP_FLAGS for flag in metrics.get("flags", [])):
                self.ramp_unfinished.add(row)
        if results:
            largest = max(results, key=lambda r: len(r.index))
            if not largest.data["subset"]:
                cell.per_batch.extend(largest.data["batch_clean_accuracies"])

    def worst(self, row: str, seed: int, checks: ChecksEntry, test_size: int | None) -> None:
        """The run's worst cases from its ``checks.json``; a column is headed a worst case only if every row's is."""
        for case in checks.worst_cases:
            kind = self.worst_kinds.get(case.column, WORST_CASE)
            kind = case.kind if kind == WORST_CASE else kind
            self.worst_kinds[case.column] = kind
            self.worst_headers[case.column] = case_header(case.norm, case.eps, case.threat_model, kind)
            cell = self.cell(row, case.column)
            cell.values[seed] = case.accuracy
            cell.attacks[seed] = frozenset(case.settings)
            cell.survivors[seed] = case.counts
            cell.worst = True
            cell.subset |= test_size is not None and case.n < test_size

    def words(self, row: str, checks: ChecksEntry) -> None:
        """Each setting's cell word from the run's checks (the worst over seeds) and each flag's marker."""
        for setting, cell_word in checks.cell_words.items():
            if (row, setting) in self.cells:
                cell = self.cells[(row, setting)]
                cell.word = min(cell.word, cell_word, key=CELL_VERDICTS.index)
        for flag in checks.flags:
            self.legend.add(flag.check)
            self.severities.setdefault(flag.check, set()).add(flag.severity)
            if (row, flag.suspect) in self.cells:
                self.cells[(row, flag.suspect)].markers.add(flag.check)

    def run(self, row: str, run: RunFiles) -> None:
        """Every verified file of one (model, seed): its cells, and its checks' markers."""
        results = [run.results[setting] for setting in self.ablation.settings if setting in run.results]
        self.results(row, run.seed, results)
        self.clean(row, run.seed, run.metrics, results)
        if run.checks is not None:
            checks = read_checks(run.checks)
            self.worst(row, run.seed, checks, results[0].data["test_size"] if results else None)
            self.words(row, checks)
        if run.noise is not None:
            for input_set, (column, _header) in NOISE_COLUMNS.items():
                found = run.noise["inputs"][input_set]
                self.cell(row, column).values[run.seed] = found["rejection_rate"]
                self.cell(row, column).survivors[run.seed] = (round(found["rejection_rate"] * found["count"]),
                                                              found["count"])


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
        verdicts[model.name] = combined_verdict([None if run.checks is None else read_checks(run.checks)
                                                 for run in model.runs.values()])
        for column in filler.worst_headers:
            filler.cell(model.name, column).upper_bound = verdicts[model.name] == MASKING_SUSPECTED
    worst = dict(sorted(filler.worst_headers.items(), key=lambda item: item[0]))
    headers = {CLEAN: "Clean", **worst,
               **{s: column_header(s, collected.attacks.get(s, {})) for s in ablation.settings}}
    headers.update(dict(NOISE_COLUMNS.values()))
    for model in collected.models:
        for column in worst:
            filler.cell(model.name, column)
        for column in headers:
            mark_missing_seeds(filler.cell(model.name, column), len(model.runs) or len(ablation.seeds),
                                column in worst)
    mark_significance([model.name for model in collected.models], list(headers), filler.cells, STATS[stats])
    return AblationTable(ablation, headers, filler.cells, filler.legend, list(collected.missing), verdicts,
                         filler.ramp_unfinished, stats, filler.severities)


def _legend_lines(table: AblationTable) -> list[str]:
    lines = [table.ablation.caption] if table.ablation.caption else []
    lines.append(f"Accuracy (%) on {table.ablation.dataset}, mean over {len(table.ablation.seeds)} seed(s).")
    lines.append("Noise/Scrambled rejected (%): uniform-noise and pixel-scrambled images rejected (sigmoid models: "
                 "every output < 0.5; softmax models: max probability ≤ 0.5).")
    if any(column.startswith(COLUMN_PREFIX) for column in table.headers):
        lines.append("Worst-case: images that survive every attack the model ran at that threat model and ε "
                     "(per sample, from checks.json; lead with it), with the 95 % Clopper–Pearson interval "
                     "[low, high] of its seeds' pooled images (n in the CSV and the summary): it covers the choice "
                     "of images for these seeds' trained networks, not training variance. "
                     "One-step only / Weak attacks only: no sound attack ran there, so it is no worst case.")
    if any(cell.upper_bound and cell.values for cell in table.cells.values()):
        lines.append(f"{UPPER_BOUND_MARK} an upper bound: the model's verdict is {MASKING_SUSPECTED}, so a stronger "
                     "or adaptive attack may leave less.")
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
    lines.append("Verdict (of the evaluation, not the model; from the gradient-masking checks): "
                 + "; ".join(meaning_line(word) for word in VERDICTS) + ".")
    lines.append("Cells: " + "; ".join(f"{CELL_MARKS[word][0]} {meaning_line(word)}" for word in CELL_MARKS)
                 + f"; unmarked: {meaning_line(RELIABLE)}.")
    for name in sorted(table.legend):
        shown = " or ".join(sorted(table.severities.get(name, ()), key=CELL_VERDICTS.index)) or MASKING_SUSPECTED
        lines.append(f"{CHECKS[name].marker} {name} ({shown}): {CHECKS[name].description}")
    return lines


def table_frame(table: AblationTable) -> pd.DataFrame:
    """Numbers for the CSV, one row per model: per column the mean and std (%) over seeds, the seeds, whether it was
    tested against the row above and found significant, and its pooled 95 % Clopper–Pearson interval (%) and n."""
    rows = []
    for entry in table.ablation.models:
        row: dict[str, Any] = {"model": entry.name, "label": entry.label}
        for column in table.headers:
            cell = table.cells[(entry.name, column)]
            found = cell.pooled
            low, high = found["interval"] if found else (math.nan, math.nan)
            row[column] = round(100 * cell.mean, 4)
            row[f"{column}_std"] = round(100 * cell.std, 4)
            row[f"{column}_runs"] = len(cell.values)
            row[f"{column}_significant"] = cell.significant
            row[f"{column}_tested"] = cell.tested and entry != table.ablation.models[0]
            row[f"{column}_low"], row[f"{column}_high"] = round(100 * low, 4), round(100 * high, 4)
            row[f"{column}_n"] = found["n_samples"] if found else 0
        row[VERDICT] = table.verdicts[entry.name]
        row[RAMP_COLUMN] = entry.name in table.ramp_unfinished
        row[UPPER_BOUND_COLUMN] = table.verdicts[entry.name] == MASKING_SUSPECTED
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class CellStyle:
    """How one format writes a cell's pieces: the missing cell, ``±``, the upper-bound prefix, the marks (subset,
    ramp, a seed missing, a cell word's, a check's), a run of marks, and the bold of the best cell."""

    missing: str
    plus_minus: str
    upper_bound: str
    subset: str
    ramp: str
    seed_missing: str
    cell_mark: Callable[[str], str]
    check_mark: Callable[[str], str]
    marks: Callable[[list[str]], str]
    bold: Callable[[str], str]


CELL_STYLES = {  # the render format (newlogic.report.render) → how it writes a cell
    MARKDOWN: CellStyle(MISSING, " ± ", f"{UPPER_BOUND_MARK} ", SUBSET_MARK, RAMP_MARK, SEED_MISSING_MARK,
                        lambda word: CELL_MARKS[word][0], lambda check: CHECKS[check].marker, "".join,
                        lambda text: text),
    LATEX: CellStyle("--", r" $\pm$ ", UPPER_BOUND_LATEX, SUBSET_LATEX, RAMP_LATEX, SEED_MISSING_LATEX,
                     lambda word: CELL_MARKS[word][1], lambda check: CHECKS[check].latex,
                     lambda marks: "$^{" + "".join(marks) + "}$", lambda text: rf"\textbf{{{text}}}"),
}


def cell_text(cell: Cell, style: CellStyle, bold: bool = False) -> Markup:
    """``mean ± std [low, high]`` in %, bold when it is the column's best, then its marks, as ``style`` writes them."""
    if not cell.values:
        return Markup(style.missing)
    text = (style.upper_bound if cell.upper_bound else "") + f"{100 * cell.mean:.2f}"
    if len(cell.values) > 1:
        text += style.plus_minus + f"{100 * cell.std:.2f}"
    if cell.worst and cell.interval is not None:
        low, high = cell.interval
        text += f" [{100 * low:.1f}, {100 * high:.1f}]"
    if bold:
        text = style.bold(text)
    marks = [SIGNIFICANT_MARK] if cell.significant else [] if cell.tested else [UNTESTED_MARK]
    marks += [style.subset] if cell.subset else []
    marks += [style.seed_missing] if cell.seed_missing else []
    marks += [style.cell_mark(cell.word)] if cell.word in CELL_MARKS else []
    marks += [style.check_mark(name) for name in sorted(cell.markers)]
    return Markup(text + (style.marks(marks) if marks else ""))


def text_table(table: AblationTable, ext: str) -> TextTable:
    """The table as the format ``ext`` writes it: a row per model (its label, marked when its ramp had not
    finished), a column per header, the verdict last; each column's best mean in bold; the legend under it."""
    style, columns = CELL_STYLES[ext], list(table.headers)
    best = {}
    for column in columns:
        means = [table.cells[(e.name, column)].mean for e in table.ablation.models]
        finite = [m for m in means if not math.isnan(m)]
        best[column] = max(finite) if finite else None
    rows = []
    for entry in table.ablation.models:
        cells = [table.cells[(entry.name, column)] for column in columns]
        label = escaped(ext, entry.label) + (style.marks([style.ramp]) if entry.name in table.ramp_unfinished else "")
        rows.append([Markup(label),
                     *(cell_text(cell, style, bold=bool(cell.values) and cell.mean == best[column])
                       for cell, column in zip(cells, columns, strict=True)),
                     table.verdicts[entry.name]])
    return TextTable(["Model", *(table.headers[c] for c in columns), "Verdict"], rows,
                     LEFT + RIGHT * len(columns) + LEFT, _legend_lines(table))


@dataclass(frozen=True)
class AblationFormat:
    """One format of ``paths.TABLE_FORMATS``: the ablation table drawn in it by ``newlogic.report.render``."""

    ext: str

    def render(self, table: AblationTable) -> str:
        return draw(self.ext, lambda: table_frame(table), lambda ext: text_table(table, ext))


RENDERERS = {ext: AblationFormat(ext) for ext in EXTENSIONS}  # file extension → format


def write_tables(table: AblationTable, out_dir: Path) -> pd.DataFrame:
    """Write ``<ablation>.<ext>`` under ``out_dir`` in each format of ``RENDERERS``; list missing files on stderr;
    returns the CSV's numbers."""
    write_rendered(Path(out_dir) / table.ablation.name, {ext: drawn.render(table) for ext, drawn in RENDERERS.items()})
    for path, reason in table.missing:
        print(f"missing: {path} ({reason})", file=sys.stderr)
    if table.missing:
        print(f"{len(table.missing)} file(s) missing; shown as {MISSING}", file=sys.stderr)
    return table_frame(table)
