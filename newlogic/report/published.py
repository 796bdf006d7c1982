"""The paper's published tables as data, and an ablation's mapping onto one of them. Light: planning imports it.

The published tables are data (``config/published/<source>.yaml``, ``load_published``): per table,
its rows (label → the paper configs' canonical model name) and columns (key → attack setting id,
``clean`` for the clean accuracy), each cell a value and a star. The file is read by the strict
config reader (``newlogic.config_file``: no tags, no key given twice, no ``.nan``/``.inf``), then
checked: every required key present, every value a fraction in [0, 1], every star a boolean,
``decimals`` an integer in [0, 6]; anything else is one ``UserError`` naming the file and the place.

An ablation names its counterpart with ``published: {source, table}`` and may map a subset of its
models onto published rows with ``rows: {model: row label}`` (default: every published row, by its
model name); ``resolve_mapping`` refuses a mapping that names a model, row or setting the config or
the table lacks, so a renamed model or attack id cannot silently drop a comparison.

Imports only the YAML reader and the model-name grammar: the workflow's planning (``common.smk``)
resolves every mapping, and must stay free of numpy-heavy comparison and pandas rendering.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from newlogic.config_file import read_config_file
from newlogic.errors import UserError
from newlogic.repo_files import PUBLISHED_DIR
from newlogic.spec import canonical_name

CLEAN = "clean"  # the column key of the clean accuracy (as in newlogic.report.tables)
THREAT_MODEL_DEFAULT = "pixels"
MAX_DECIMALS = 6
WORST_CASE_NORMS = ("linf", "l2")


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


class _Checked:
    """Typed reads from one published file; every failure is one UserError naming the file and the key path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, reason: str) -> UserError:
        return UserError(f"{self.path}: {where} {reason}; fix the published file")

    def mapping(self, data: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
        value = self.get(data, key, where)
        if not isinstance(value, dict) or not value:
            raise self.fail(f"{where}.{key}", "must be a non-empty mapping")
        return value

    def get(self, data: Mapping[str, Any], key: str, where: str) -> Any:
        if key not in data:
            raise self.fail(where, f"lacks the required key {key!r}")
        return data[key]

    def text(self, data: Mapping[str, Any], key: str, where: str) -> str:
        value = self.get(data, key, where)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}.{key}", f"{value!r} is not a non-empty string")
        return value

    def integer(self, data: Mapping[str, Any], key: str, where: str, low: int, high: int | None = None) -> int:
        value = self.get(data, key, where)
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            bounds = f"[{low}, {high}]" if high is not None else f"≥ {low}"
            raise self.fail(f"{where}.{key}", f"{value!r} is not an integer in {bounds}")
        return value

    def fraction(self, value: Any, where: str) -> float:
        """``value`` if it is a finite number in [0, 1] (an accuracy), else a UserError."""
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                or not 0 <= value <= 1:
            raise self.fail(where, f"{value!r} is not an accuracy in [0, 1]")
        return float(value)

    def cell(self, value: Any, where: str) -> PublishedCell:
        """``[value, star]``: an accuracy in [0, 1] and a boolean."""
        if not isinstance(value, list) or len(value) != 2 or not isinstance(value[1], bool):
            raise self.fail(where, f"{value!r} is not [accuracy, star] (star: true or false)")
        return PublishedCell(self.fraction(value[0], where), value[1])


@cache
def _published_file(directory: Path, source: str) -> tuple[Path, dict[str, Any]]:
    path = directory / f"{source}.yaml"
    known = sorted(p.stem for p in directory.glob("*.yaml"))
    if source not in known:
        raise UserError(f"published source {source!r} is not known; valid: {', '.join(known) or 'none'}")
    return path, read_config_file(path)


def _table(checked: _Checked, data: Mapping[str, Any], source: str, name: str, decimals: int) -> PublishedTable:
    """One entry of ``tables``, checked: title, setting, worst case, columns and rows with a cell per column."""
    where = f"tables.{name}"
    body = checked.mapping(data["tables"], name, "tables")
    setting = checked.mapping(body, "setting", where)
    for key in ("dataset", "threat_model"):
        checked.text(setting, key, f"{where}.setting")
    for key in ("epochs", "min_seeds"):
        checked.integer(setting, key, f"{where}.setting", 1)
    worst = checked.mapping(body, "worst_case", where)
    norm = checked.get(worst, "norm", f"{where}.worst_case")
    if norm not in WORST_CASE_NORMS:
        raise checked.fail(f"{where}.worst_case.norm", f"{norm!r} is not one of {', '.join(WORST_CASE_NORMS)}")
    eps = checked.get(worst, "eps", f"{where}.worst_case")
    if isinstance(eps, bool) or not isinstance(eps, int | float) or not math.isfinite(eps) or eps <= 0:
        raise checked.fail(f"{where}.worst_case.eps", f"{eps!r} is not a positive number")
    columns = checked.mapping(body, "columns", where)
    headers, settings = {}, {}
    for key, column in columns.items():
        if not isinstance(column, dict):
            raise checked.fail(f"{where}.columns.{key}", "must be a mapping with header and setting")
        headers[str(key)] = checked.text(column, "header", f"{where}.columns.{key}")
        settings[str(key)] = checked.text(column, "setting", f"{where}.columns.{key}")
    raw_rows = checked.get(body, "rows", where)
    if not isinstance(raw_rows, list) or len(raw_rows) < 2:
        raise checked.fail(f"{where}.rows", "must be a list of at least two rows")
    rows = []
    for position, row in enumerate(raw_rows):
        at = f"{where}.rows[{position}]"
        if not isinstance(row, dict):
            raise checked.fail(at, "must be a mapping with label, model and values")
        values = checked.mapping(row, "values", at)
        if set(values) != set(headers):
            raise checked.fail(f"{at}.values", f"has columns {', '.join(map(str, values))}; the table's are "
                                               f"{', '.join(headers)}")
        rows.append(PublishedRow(checked.text(row, "label", at), checked.text(row, "model", at),
                                 {key: checked.cell(values[key], f"{at}.values.{key}") for key in headers}))
    labels = [row.label for row in rows]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise checked.fail(f"{where}.rows", f"label {repeated[0]!r} is given twice")
    return PublishedTable(source, name, checked.text(body, "title", where), headers, settings, tuple(rows),
                          dict(setting), (norm, float(eps)), decimals)


def load_published(source: str, table: str) -> PublishedTable:
    """Table ``table`` of ``config/published/<source>.yaml``, read strictly and checked (module docstring)."""
    path, data = _published_file(PUBLISHED_DIR, source)
    checked = _Checked(path)
    decimals = checked.integer(data, "decimals", "the file", 0, MAX_DECIMALS)
    tables = checked.mapping(data, "tables", "the file")
    if table not in tables:
        raise UserError(f"published table {table!r} is not in {source}; valid: {', '.join(tables)}")
    return _table(checked, data, source, table, decimals)


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
    if not isinstance(published, Mapping) or not all(isinstance(published.get(k), str) for k in ("source", "table")):
        raise UserError(f"ablation {ablation!r}: published must be {{source: NAME, table: NAME}} (optionally rows), "
                        f"got {published!r}")
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
    elif not isinstance(explicit, Mapping):
        raise UserError(f"ablation {ablation!r}: published.rows must map models to published row labels, "
                        f"got {explicit!r}")
    else:
        explicit = {canonical_name(str(model)): label for model, label in explicit.items()}
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
                            tuple(key for key, setting in table.settings.items()
                                  if setting == CLEAN or setting in settings))
