"""Published against regenerated (issue 24): the paper's own numbers beside every regenerated table. No torch.

The published tables are data (``config/published/<source>.yaml``, ``load_published``): per table,
its rows (label → the paper configs' canonical model name) and columns (key → attack setting id,
``clean`` for the clean accuracy), each cell a value and a star. An ablation names its counterpart
with ``published: {source, table}`` and may map a subset of its models onto published rows with
``rows: {model: row label}`` (default: every published row, by its model name); ``resolve_mapping``
refuses a mapping that names a model, row or setting the config or the table lacks, so a renamed
model or attack id cannot silently drop a comparison.

Per cell (``compare_cell``): the published value, the regenerated mean over seeds with its 95%
interval, the difference and whether the published value lies inside the interval. The interval
(``interval``) is Student's t over the per-seed accuracies, ``x̄ ± t_{0.975, n−1}·s/√n`` (n ≥ 2
seeds); with one seed, Clopper–Pearson's exact binomial interval on that seed's samples (k right
of N: ``[B(0.025; k, N−k+1), B(0.975; k+1, N−k)]``, B the Beta quantile) when the counts are known,
else none. Published values are rounded to ``decimals`` places, so *inside* means the interval
meets ``[v − h, v + h]``, h half a unit of the last published place.

Per column (``column_agreement``):

- **direction agreement**: over each pair of consecutive compared rows, the published direction
  is ``sign(v_b − v_a)`` when the lower row is starred, ``0`` (no change) when not; the
  regenerated direction is ``sign(x̄_b − x̄_a)`` when the change is significant (the regenerated
  table's star, p < 0.05), ``0`` when not. A pair agrees when both directions are equal, so a star
  and a significant change in the same direction agree, and "no change" agrees only with "no
  change". A pair whose direction is unknown on either side (a star between equal rounded values,
  a significant change with equal means, or no significance test) is not counted. Rows that are not
  adjacent in the published table have no star between them: their published direction is the sign
  of the rounded difference (0 when equal). Agreement = agreeing pairs / counted pairs.
- **rank agreement**: Kendall's τ-b between the published values and the regenerated means over
  the compared rows (``kendall_tau_b``; ties on either side handled by τ-b; None when one side is
  constant).

A last column gives each row's **worst case under the strong suite**: the mean over seeds of the
worst-case robust accuracy in each run's ``checks.json`` at the table's threat model and ε (the
RobustBench "claimed against measured" column).

**Shape mode** (``setting_differences``): when the run differs from the published setting (another
dataset such as mnist5k, fewer epochs, fewer seeds, a subset of rows or of the test set, another
threat model), values are not compared (no difference, no inside flag): only direction and rank
agreement, and the caption says why.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from newlogic.errors import UserError
from newlogic.report import escape
from newlogic.spec import canonical_name
from newlogic.stats import clopper_pearson, sample_std, welch_p
from newlogic.store import paths

if TYPE_CHECKING:
    from newlogic.report.collect import AblationResults

PUBLISHED_DIR = Path(__file__).resolve().parents[2] / "config" / "published"
CLEAN = "clean"  # the column key of the clean accuracy (as in newlogic.report.tables)
CONFIDENCE = 0.95
SIGNIFICANCE_LEVEL = 0.05
UNKNOWN = None  # a direction that cannot be told
T_INTERVAL = "t"
CLOPPER_PEARSON = "clopper-pearson"
MISSING = "—"
THREAT_MODEL_DEFAULT = "pixels"
# symbols of the Markdown text as LaTeX math (applied after escape.latex; ✓ needs amssymb)
LATEX_SYMBOLS = {"→": r"$\to$", "✓": r"$\checkmark$", "✗": r"$\times$", "τ": r"$\tau$", "∞": r"$\infty$",
                 "≥": r"$\geq$", "—": "--", "–": "--", "↔": r"$\leftrightarrow$"}


@dataclass(frozen=True)
class PublishedCell:
    """One published cell: the accuracy (fraction, rounded to the table's decimals) and its star."""

    value: float
    star: bool


@dataclass(frozen=True)
class PublishedRow:
    """A published row: its label, the paper configs' canonical model name, its cells by column key."""

    label: str
    model: str
    cells: dict[str, PublishedCell]


@dataclass(frozen=True)
class PublishedTable:
    """One published table: its columns (key → header, setting id), rows in published order, setting."""

    source: str
    name: str
    title: str
    headers: dict[str, str]
    settings: dict[str, str]
    rows: tuple[PublishedRow, ...]
    setting: dict[str, Any]
    worst_case: tuple[str, float]
    decimals: int

    def row(self, label: str) -> PublishedRow:
        return next(row for row in self.rows if row.label == label)


@cache
def _published_file(source: str) -> dict[str, Any]:
    path = PUBLISHED_DIR / f"{source}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PUBLISHED_DIR.glob("*.yaml"))
        raise UserError(f"published source {source!r} is not known; valid: {', '.join(known) or 'none'}")
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_published(source: str, table: str) -> PublishedTable:
    """Table ``table`` of ``config/published/<source>.yaml`` (a UserError naming the valid sources/tables)."""
    data = _published_file(source)
    if table not in data["tables"]:
        raise UserError(f"published table {table!r} is not in {source}; valid: {', '.join(data['tables'])}")
    body = data["tables"][table]
    rows = tuple(PublishedRow(str(row["label"]), str(row["model"]),
                              {key: PublishedCell(float(value), bool(star)) for key, (value, star)
                               in row["values"].items()}) for row in body["rows"])
    worst = body["worst_case"]
    return PublishedTable(source, table, body["title"], {key: c["header"] for key, c in body["columns"].items()},
                          {key: c["setting"] for key, c in body["columns"].items()}, rows, dict(body["setting"]),
                          (worst["norm"], float(worst["eps"])), int(data["decimals"]))


@dataclass(frozen=True)
class PublishedMapping:
    """An ablation's comparison: its published table, model → published row label (config order), column keys."""

    table: PublishedTable
    rows: dict[str, str]
    columns: tuple[str, ...]


def resolve_mapping(ablation_body: Mapping[str, Any], models: Sequence[str], settings: Sequence[str],
                    ablation: str) -> PublishedMapping | None:
    """The ablation's ``published`` key against its models (canonical names) and settings; None without one.

    Rows: ``published.rows`` (model → row label) or, by default, every published row by its model
    name; names on both sides are compared in canonical form (``newlogic.spec.canonical_name``).
    Columns: every published column whose setting id is ``clean`` or one of the ablation's.
    A model, row label or published column the config lacks is a UserError naming it.
    """
    published = ablation_body.get("published")
    if not published:
        return None
    table = load_published(published["source"], published["table"])
    labels = [row.label for row in table.rows]
    explicit = published.get("rows")
    if explicit is None:
        absent = [row.model for row in table.rows if canonical_name(row.model) not in models]
        if absent:
            raise UserError(f"ablation {ablation!r}: published {table.source}/{table.name} rows need model(s) "
                            f"{', '.join(absent)}, not in the ablation; models: {', '.join(models)} (or map a "
                            "subset with published.rows)")
        rows = {canonical_name(row.model): row.label for row in table.rows}
    else:
        explicit = {canonical_name(model): label for model, label in explicit.items()}
        for model, label in explicit.items():
            if model not in models:
                raise UserError(f"ablation {ablation!r}: published.rows names model {model!r}, not in the ablation; "
                                f"models: {', '.join(models)}")
            if label not in labels:
                raise UserError(f"ablation {ablation!r}: published.rows maps {model!r} to row {label!r}, not in "
                                f"{table.source}/{table.name}; rows: {', '.join(labels)}")
        rows = dict(explicit)
    missing = [setting for setting in table.settings.values() if setting != CLEAN and setting not in settings]
    if missing:
        raise UserError(f"ablation {ablation!r}: published {table.source}/{table.name} columns need attack "
                        f"setting(s) {', '.join(missing)}, not in the ablation; settings: {', '.join(settings)}")
    in_order = {model: rows[model] for model in models if model in rows}
    return PublishedMapping(table, dict(sorted(in_order.items(), key=lambda item: labels.index(item[1]))),
                    tuple(key for key, setting in table.settings.items() if setting == CLEAN or setting in settings))


# --- plain data in: the regenerated cells ---------------------------------------------------------------------


@dataclass(frozen=True)
class RegeneratedCell:
    """A regenerated cell: per-seed accuracies; ``significant`` against the previous compared row (None: untested).

    ``successes``/``trials``: one seed's per-sample counts (Clopper–Pearson with one seed);
    ``subset``: computed on a subset of the test set.
    """

    values: tuple[float, ...]
    significant: bool | None = None
    successes: int | None = None
    trials: int | None = None
    subset: bool = False

    @property
    def mean(self) -> float | None:
        return sum(self.values) / len(self.values) if self.values else None


@dataclass(frozen=True)
class RegeneratedRow:
    """A compared row: the config's model and label, its cells by published column key, its strong worst case."""

    model: str
    label: str
    published_label: str
    cells: dict[str, RegeneratedCell]
    worst_case: RegeneratedCell = field(default_factory=lambda: RegeneratedCell(()))


# --- statistics ---------------------------------------------------------------------------------------------------


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Student's t interval of the mean, ``x̄ ± t_{(1+c)/2, n−1}·s/√n``, cut to [0, 1] (accuracies); None for fewer
    than 2 values."""
    from scipy.special import stdtrit  # here: scipy.stats would add 0.6 s to the job's start

    std = sample_std(list(values))
    if std is None:
        return None
    mean = sum(values) / len(values)
    half = float(stdtrit(len(values) - 1, (1 + confidence) / 2)) * std / math.sqrt(len(values))
    return max(mean - half, 0.0), min(mean + half, 1.0)


def interval(cell: RegeneratedCell) -> tuple[tuple[float, float] | None, str | None]:
    """The cell's 95% interval and its method: t over ≥ 2 seeds, else Clopper–Pearson on one seed's samples."""
    if len(cell.values) >= 2:
        return t_interval(cell.values), T_INTERVAL
    if len(cell.values) == 1 and cell.trials:
        return clopper_pearson(int(cell.successes or 0), cell.trials), CLOPPER_PEARSON
    return None, None


def kendall_tau_b(first: Sequence[float], second: Sequence[float]) -> float | None:
    """Kendall's τ-b: ``(C − D) / √((n₀ − n₁)(n₀ − n₂))`` over all pairs; None when either side is constant.

    C, D: concordant and discordant pairs; n₀ = n(n−1)/2; n₁, n₂: pairs tied in ``first``, in ``second``.
    """
    concordant = discordant = tied_first = tied_second = 0
    for i in range(len(first)):
        for j in range(i + 1, len(first)):
            a, b = _sign(first[j] - first[i]), _sign(second[j] - second[i])
            tied_first += a == 0
            tied_second += b == 0
            concordant += a * b > 0
            discordant += a * b < 0
    pairs = len(first) * (len(first) - 1) // 2
    denominator = math.sqrt((pairs - tied_first) * (pairs - tied_second))
    return (concordant - discordant) / denominator if denominator else None


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


# --- the comparison -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellComparison:
    """Published against regenerated in one cell; ``difference`` and ``inside`` are None in shape mode."""

    published: PublishedCell
    regenerated: RegeneratedCell
    interval: tuple[float, float] | None
    method: str | None
    difference: float | None
    inside: bool | None


def compare_cell(published: PublishedCell, cell: RegeneratedCell, decimals: int, values: bool) -> CellComparison:
    """The cell's interval, difference ``x̄ − v`` and inside flag (interval meets ``[v − h, v + h]``, h = ½·10^−d)."""
    bounds, method = interval(cell)
    mean = cell.mean
    difference = mean - published.value if values and mean is not None else None
    inside = None
    if values and bounds is not None:
        half = 0.5 * 10 ** -decimals
        inside = bounds[0] <= published.value + half + 1e-12 and bounds[1] >= published.value - half - 1e-12
    return CellComparison(published, cell, bounds, method, difference, inside)


@dataclass(frozen=True)
class PairDirection:
    """Two consecutive compared rows in one column: both directions (−1, 0, +1 or None) and whether they agree."""

    above: str
    below: str
    published: int | None
    regenerated: int | None

    @property
    def agrees(self) -> bool | None:
        if self.published is UNKNOWN or self.regenerated is UNKNOWN:
            return None
        return self.published == self.regenerated


@dataclass(frozen=True)
class ColumnAgreement:
    """A column's pairs, its direction agreement (fraction of counted pairs) and Kendall's τ-b."""

    pairs: tuple[PairDirection, ...]
    tau: float | None

    @property
    def counted(self) -> int:
        return sum(pair.agrees is not None for pair in self.pairs)

    @property
    def direction(self) -> float | None:
        return sum(bool(pair.agrees) for pair in self.pairs) / self.counted if self.counted else None


def published_direction(above: PublishedCell, below: PublishedCell, adjacent: bool) -> int | None:
    """Adjacent: ``sign(v_b − v_a)`` if starred (None if the rounded values are equal), else 0; others: its sign."""
    sign = _sign(round(below.value - above.value, 10))
    if not adjacent:
        return sign
    if not below.star:
        return 0
    return sign or UNKNOWN


def regenerated_direction(above: RegeneratedCell, below: RegeneratedCell) -> int | None:
    """``sign(x̄_b − x̄_a)`` if ``below.significant`` (None when the means are equal), 0 if not, None if untested."""
    if below.significant is None or above.mean is None or below.mean is None:
        return UNKNOWN
    if not below.significant:
        return 0
    return _sign(below.mean - above.mean) or UNKNOWN


def column_agreement(table: PublishedTable, rows: Sequence[RegeneratedRow], column: str) -> ColumnAgreement:
    """Direction agreement over consecutive compared rows and Kendall's τ-b over the rows with a regenerated mean."""
    order = [row.label for row in table.rows]
    pairs = []
    for above, below in zip(rows, rows[1:], strict=False):
        adjacent = order.index(below.published_label) == order.index(above.published_label) + 1
        published = published_direction(table.row(above.published_label).cells[column],
                                         table.row(below.published_label).cells[column], adjacent)
        pairs.append(PairDirection(above.label, below.label, published,
                                   regenerated_direction(above.cells[column], below.cells[column])))
    measured = [(row, mean) for row in rows if (mean := row.cells[column].mean) is not None]  # (row, its mean)
    tau = kendall_tau_b([table.row(row.published_label).cells[column].value for row, _ in measured],
                        [mean for _, mean in measured]) if len(measured) >= 2 else None
    return ColumnAgreement(tuple(pairs), tau)


@dataclass(frozen=True)
class Reproduction:
    """The reproduction table of one ablation: cells by (model, column key), agreement by column, worst cases."""

    ablation: str
    table: PublishedTable
    rows: tuple[RegeneratedRow, ...]
    columns: tuple[str, ...]
    cells: dict[tuple[str, str], CellComparison]
    agreement: dict[str, ColumnAgreement]
    differences: tuple[str, ...]
    caption: str = ""

    @property
    def shape_mode(self) -> bool:
        """Values are compared only when the run matches the published setting (no ``differences``)."""
        return bool(self.differences)


def build_reproduction(ablation: str, table: PublishedTable, rows: Sequence[RegeneratedRow],
                       columns: Sequence[str], differences: Sequence[str] = (), caption: str = "") -> Reproduction:
    """Compare every cell and column; ``differences`` (``setting_differences``) non-empty means shape mode."""
    values = not differences
    cells = {(row.model, column): compare_cell(table.row(row.published_label).cells[column], row.cells[column],
                                               table.decimals, values)
             for row in rows for column in columns}
    agreement = {column: column_agreement(table, rows, column) for column in columns}
    return Reproduction(ablation, table, tuple(rows), tuple(columns), cells, agreement, tuple(differences), caption)


def setting_differences(table: PublishedTable, *, dataset: str, epochs: int | None, seeds: int, rows_compared: int,
                        test_subset: bool, threat_models: Sequence[str]) -> list[str]:
    """How the run differs from the published setting, one phrase each; empty: values are comparable."""
    setting = table.setting
    found = []
    if dataset != setting["dataset"]:
        found.append(f"dataset {dataset}, published {setting['dataset']}")
    if epochs is not None and epochs < setting["epochs"]:
        found.append(f"{epochs} epochs, published {setting['epochs']}")
    if seeds < setting["min_seeds"]:
        found.append(f"{seeds} seed(s), published several (≥ {setting['min_seeds']})")
    if rows_compared < len(table.rows):
        found.append(f"{rows_compared} of {len(table.rows)} published rows")
    if test_subset:
        found.append("attacks on a subset of the test set")
    other = sorted({units for units in threat_models if units != setting["threat_model"]})
    if other:
        found.append(f"threat model {', '.join(other)}, published {setting['threat_model']}")
    return found


# --- from the verified files --------------------------------------------------------------------------------------


def _worst_cell(checks: Mapping[int, Mapping[str, Any] | None], norm: str, eps: float) -> RegeneratedCell:
    """The per-seed worst case at (norm, ε) from ``checks.json`` entries (``sample_count`` or ``n`` accepted)."""
    values, counts = [], []
    for report in checks.values():
        for case in (report or {}).get("worst_case", []):
            if case.get("norm") == norm and math.isclose(float(case.get("eps") or -1), eps) \
                    and case.get("threat_model") in (None, THREAT_MODEL_DEFAULT):
                values.append(float(case["accuracy"]))
                counts.append(int(case.get("n", case.get("sample_count", 0)) or 0))
                break
    if len(values) == 1 and counts[0]:
        return RegeneratedCell(tuple(values), successes=round(values[0] * counts[0]), trials=counts[0])
    return RegeneratedCell(tuple(values))


def _pair_significance(cells: Mapping[tuple[str, str], Any], models: Sequence[str], previous: str | None, model: str,
                       column: str) -> bool | None:
    """The table's star when ``previous`` is the row directly above; else Welch on per-seed values (≥ 2 each)."""
    if previous is None:
        return None
    if models.index(model) == models.index(previous) + 1:
        return bool(cells[(model, column)].significant)
    p_value = welch_p(list(cells[(previous, column)].values.values()), list(cells[(model, column)].values.values()))
    return None if p_value is None else p_value < SIGNIFICANCE_LEVEL


def _one_seed_counts(cell: Any) -> tuple[int | None, int | None]:
    """(right, attacked) of a one-seed table cell's per-sample correctness (Clopper–Pearson); (None, None) else."""
    if len(cell.values) != 1 or len(cell.per_sample) != 1:
        return None, None
    (_index, correct), = cell.per_sample.values()
    return int(correct.sum()), len(correct)


def _epochs(config: Mapping[str, Any]) -> int | None:
    from newlogic.training.recipes import recipe

    training = config.get("training") or {}
    return training.get("epochs", recipe(config["dataset"]).training.get("epochs"))


def reproduction_from(collected: "AblationResults", config: Mapping[str, Any]) -> Reproduction | None:
    """The reproduction table of an ablation's verified files (``newlogic.report.collect``); None if unpublished.

    Cells and the significance of each change come from the regenerated table (``tables.table_of``,
    the config's ``stats`` test), the worst case from each run's ``checks.json``.
    """
    from newlogic.report.tables import table_of

    ablation = collected.ablation
    ablation_name = ablation.name
    models = [entry.name for entry in ablation.models]
    mapping = resolve_mapping(config["ablations"][ablation_name], models, ablation.settings, ablation_name)
    if mapping is None:
        return None
    regenerated = table_of(collected, config.get("stats", "seeds"))
    labels = {entry.name: entry.label for entry in ablation.models}
    rows, previous, subset = [], None, False
    for model, published_label in mapping.rows.items():
        cells = {}
        for column in mapping.columns:
            cell = regenerated.cells[(model, mapping.table.settings[column])]
            successes, trials = _one_seed_counts(cell)
            cells[column] = RegeneratedCell(tuple(cell.values.values()),
                                            _pair_significance(regenerated.cells, models, previous, model,
                                                               mapping.table.settings[column]),
                                            successes, trials, cell.subset)
            subset |= cell.subset
        checks = {seed: run.checks for seed, run in collected.model(model).runs.items()}
        worst = _worst_cell(checks, *mapping.table.worst_case)
        rows.append(RegeneratedRow(model, labels[model], published_label, cells, worst))
        previous = model
    threat_models = [str(config["attacks"][setting].get("threat_model", THREAT_MODEL_DEFAULT))
                     for column, setting in mapping.table.settings.items() if column in mapping.columns
                     and setting != CLEAN]
    differences = setting_differences(mapping.table, dataset=ablation.dataset, epochs=_epochs(config),
                                      seeds=len(ablation.seeds), rows_compared=len(rows), test_subset=subset,
                                      threat_models=threat_models)
    return build_reproduction(ablation_name, mapping.table, rows, mapping.columns, differences, ablation.caption)


def reproduction_of(config: dict[str, Any], ablation_name: str, results_dir: Path | str) -> Reproduction | None:
    """The ablation's reproduction table from its files under ``results_dir``; None when it is unpublished."""
    from newlogic.report.collect import collect_ablation

    return reproduction_from(collect_ablation(config, ablation_name, Path(results_dir)), config)


# --- rendering ------------------------------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return MISSING if value is None else f"{100 * value:.1f}"


def _direction_text(value: float | None) -> str:
    return MISSING if value is None else f"{100 * value:.0f}%"


def _tau_text(value: float | None) -> str:
    return MISSING if value is None else f"{value:+.2f}"


def caption_lines(reproduction: Reproduction) -> list[str]:
    """The caption and the closing note: what is compared, the measures, and the agreement per column."""
    table = reproduction.table
    lines = [f"Published ({table.source}, {table.title}) against regenerated ({reproduction.ablation}).",
             *([reproduction.caption] if reproduction.caption else [])]
    if reproduction.shape_mode:
        lines.append("Shape only (values not compared): the run differs from the published setting: "
                     + "; ".join(reproduction.differences) + ".")
    else:
        lines.append("Cell: published value, regenerated mean over seeds [95% interval: Student's t over seeds; "
                     "one seed: Clopper–Pearson on its samples], difference, ✓ when the published value (± half "
                     "its last digit) lies inside the interval.")
    lines.append("Direction: share of consecutive row pairs whose change has the published sign (a star and a "
                 "significant regenerated change count alike; no star = no change). τ: Kendall's τ-b of the "
                 "row orders.")
    norm, eps = table.worst_case
    lines.append(f"Strong worst case: the regenerated worst-case robust accuracy ({norm} ε={eps:g}) under every "
                 "attack of the table and the strong suite (checks.json), mean over seeds.")
    agreement = ", ".join(f"{table.headers[c]}: direction {_direction_text(a.direction)} ({a.counted} pairs), "
                          f"τ {_tau_text(a.tau)}" for c, a in reproduction.agreement.items())
    lines.append(f"Agreement per column: {agreement}.")
    return lines


def cell_text(comparison: CellComparison) -> str:
    """``published → regenerated [low, high] (±diff) ✓/✗`` in %, the parts that exist."""
    star = "*" if comparison.published.star else ""
    text = f"{_percent(comparison.published.value)}{star} → {_percent(comparison.regenerated.mean)}"
    if comparison.regenerated.significant:
        text += "*"
    if comparison.interval is not None:
        text += f" [{_percent(comparison.interval[0])}, {_percent(comparison.interval[1])}]"
    if comparison.difference is not None:
        text += f" ({round(100 * comparison.difference, 1) + 0.0:+.1f})"  # + 0.0: never "-0.0"
    if comparison.inside is not None:
        text += " ✓" if comparison.inside else " ✗"
    return text


def _rows(reproduction: Reproduction) -> list[list[str]]:
    rows = []
    for row in reproduction.rows:
        label = row.label if row.label == row.published_label else f"{row.label} [published: {row.published_label}]"
        cells = [cell_text(reproduction.cells[(row.model, column)]) for column in reproduction.columns]
        rows.append([label, *cells, _percent(row.worst_case.mean)])
    return rows


def _headers(reproduction: Reproduction) -> list[str]:
    return ["Model", *(reproduction.table.headers[c] for c in reproduction.columns), "Strong worst case"]


def to_markdown(reproduction: Reproduction) -> str:
    """A Markdown table (cells escaped: ``|``, newlines) with the caption and the closing note under it."""
    headers = _headers(reproduction)
    lines = ["| " + " | ".join(escape.markdown_cell(h) for h in headers) + " |",
             "|---|" + "---:|" * (len(headers) - 1)]
    lines += ["| " + " | ".join(escape.markdown_cell(text) for text in row) + " |" for row in _rows(reproduction)]
    agreement = ["| Agreement | " + " | ".join(
        escape.markdown_cell(f"direction {_direction_text(a.direction)}, τ {_tau_text(a.tau)}")
        for a in reproduction.agreement.values()) + f" | {MISSING} |"]
    return "\n".join(lines + agreement) + "\n\n" + "\n".join(
        f"{escape.markdown_cell(line)}  " for line in caption_lines(reproduction)) + "\n"


def _latex(text: str) -> str:
    """``escape.latex`` (special characters, newlines), then the symbols of ``LATEX_SYMBOLS`` as math."""
    return "".join(LATEX_SYMBOLS.get(char, char) for char in escape.latex(text))


def to_latex(reproduction: Reproduction) -> str:
    """A booktabs tabular (every text through ``_latex``), the caption as a comment."""
    headers = _headers(reproduction)
    lines = [r"\begin{tabular}{l" + "r" * (len(headers) - 1) + "}", r"\toprule",
             " & ".join(_latex(h) for h in headers) + r" \\", r"\midrule"]
    lines += [" & ".join(_latex(text) for text in row) + r" \\" for row in _rows(reproduction)]
    lines.append(r"\midrule")
    lines.append("Agreement & " + " & ".join(
        _latex(f"direction {_direction_text(a.direction)}, τ {_tau_text(a.tau)}")
        for a in reproduction.agreement.values()) + r" & -- \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n% " + _latex(" ".join(caption_lines(reproduction))) + "\n"


def to_frame(reproduction: Reproduction) -> pd.DataFrame:
    """One CSV row per (row, column) cell and one per column's agreement (``row`` = ``agreement``); fractions."""
    records = []
    for row in reproduction.rows:
        for column in reproduction.columns:
            comparison = reproduction.cells[(row.model, column)]
            low, high = comparison.interval or (None, None)
            records.append({"row": row.label, "model": row.model, "published_row": row.published_label,
                            "column": column, "setting": reproduction.table.settings[column],
                            "published": comparison.published.value, "published_star": comparison.published.star,
                            "regenerated_mean": comparison.regenerated.mean,
                            "seeds": len(comparison.regenerated.values),
                            "interval_low": low, "interval_high": high, "interval_method": comparison.method,
                            "regenerated_significant": comparison.regenerated.significant,
                            "difference": comparison.difference, "inside": comparison.inside,
                            "worst_case": row.worst_case.mean, "shape_mode": reproduction.shape_mode})
    for column, agreement in reproduction.agreement.items():
        records.append({"row": "agreement", "column": column, "setting": reproduction.table.settings[column],
                        "direction_agreement": agreement.direction, "pairs_counted": agreement.counted,
                        "kendall_tau_b": agreement.tau, "shape_mode": reproduction.shape_mode})
    return pd.DataFrame(records)


RENDERERS = {"csv": lambda r: to_frame(r).to_csv(index=False), "md": to_markdown, "tex": to_latex}


def reproduction_summary(collected: "AblationResults", config: Mapping[str, Any]) -> dict[str, Any] | None:
    """``summary.json``'s ``reproduction`` object of an ablation's verified files (None when it is unpublished)."""
    return summary_of(reproduction_from(collected, config))


def summary_of(reproduction: Reproduction | None) -> dict[str, Any] | None:
    """``summary.json``'s ``reproduction`` object: source, mode, reasons, agreement per column, worst case per row."""
    if reproduction is None:
        return None
    table = reproduction.table
    insides = [c.inside for c in reproduction.cells.values() if c.inside is not None]
    return {
        "source": table.source, "table": table.name, "mode": "shape" if reproduction.shape_mode else "values",
        "differences": list(reproduction.differences),
        "rows": {row.model: row.published_label for row in reproduction.rows},
        "columns": {column: {"setting": table.settings[column], "direction_agreement": agreement.direction,
                             "pairs_counted": agreement.counted, "kendall_tau_b": agreement.tau}
                    for column, agreement in reproduction.agreement.items()},
        "inside_interval": None if reproduction.shape_mode else {"inside": sum(insides), "cells": len(insides)},
        "worst_case": {"norm": table.worst_case[0], "eps": table.worst_case[1],
                       "per_row": {row.model: row.worst_case.mean for row in reproduction.rows}},
    }


def write_reproduction(config_source: Path | str | dict[str, Any], ablation_name: str, *, results_dir: Path | str,
                       out_dir: Path | str) -> Reproduction:
    """Write ``out_dir/{ablation}.reproduction.{csv,md,tex}``; the figure is ``figures.ablation``'s."""
    from newlogic.store.atomic import atomic_write_text
    from newlogic.study import load_config

    config = config_source if isinstance(config_source, dict) else load_config(config_source)
    reproduction = reproduction_of(config, ablation_name, results_dir)
    if reproduction is None:
        raise UserError(f"ablation {ablation_name!r} has no 'published' counterpart; add published: "
                        "{source: arxiv-1911.08635, table: mnist} to it")
    for ext, render in RENDERERS.items():
        atomic_write_text(Path(out_dir) / f"{ablation_name}.{paths.REPRODUCTION_EXT}.{ext}", render(reproduction))
    return reproduction
