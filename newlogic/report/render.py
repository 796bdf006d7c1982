"""The one table renderer: a table of texts, its header and its legend → CSV, Markdown or LaTeX (booktabs).

Every table of the report (the ablation tables, ``newlogic.report.tables``; the reproduction table,
``newlogic.report.reproduction_render``) is drawn here, so pipes, alignment rows and booktabs rules
are written in one place, and every text from a config or a file is escaped by the format
(``newlogic.report.escape``): ``markdown_cell`` for Markdown; ``escape.latex`` and then the
symbols of ``LATEX_SYMBOLS`` as math for LaTeX, so a header such as ``L∞ ε=0.3`` compiles; a CSV
cell through ``escape.csv_text``. Text a table has already written in the format (a LaTeX
superscript of marks, a bold best cell) is ``Markup`` and passes as it is.

Markdown: ``| a | b |`` rows under an alignment row (``---`` left, ``---:`` right), then a blank
line and the legend, a line each ending in two spaces (a line break). LaTeX: ``\\begin{tabular}``
with one ``l``/``r`` per column, ``\\toprule``, the header, ``\\midrule``, the rows with a
``\\midrule`` before each of ``breaks``, ``\\bottomrule``; the legend as one ``%`` comment line. No torch.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from newlogic.report import escape
from newlogic.store import paths
from newlogic.store.atomic import atomic_write_text

# symbols of the report's text as LaTeX math (after escape.latex; ✓ needs amssymb)
LATEX_SYMBOLS = {"→": r"$\to$", "✓": r"$\checkmark$", "✗": r"$\times$", "τ": r"$\tau$", "∞": r"$\infty$",
                 "≥": r"$\geq$", "—": "--", "–": "--", "Δ": r"$\Delta$", "·": r"$\cdot$", "≤": r"$\leq$"}
LEFT, RIGHT = "l", "r"
CSV, MARKDOWN, LATEX = paths.TABLE_FORMATS  # file extensions: "csv", "md", "tex"
EXTENSIONS = (CSV, MARKDOWN, LATEX)


class Markup(str):
    """Text already written in the target format (marks, bold): the renderer does not escape it."""


@dataclass(frozen=True)
class TextTable:
    """A table as texts: ``header`` and ``rows`` (one text per column), ``align`` (``LEFT``/``RIGHT`` per column),
    ``legend`` lines under it, and ``breaks``: the row positions a rule precedes (LaTeX only)."""

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    align: str
    legend: Sequence[str] = ()
    breaks: Sequence[int] = ()


def latex_text(text: str) -> str:
    """``escape.latex`` (special characters, newlines), then the symbols of ``LATEX_SYMBOLS`` as math."""
    return "".join(LATEX_SYMBOLS.get(char, char) for char in escape.latex(text))


ESCAPES: dict[str, Callable[[str], str]] = {MARKDOWN: escape.markdown_cell, LATEX: latex_text}


def escaped(ext: str, text: str) -> Markup:
    """``text`` escaped for the format ``ext`` (``ESCAPES``), as ``Markup``; ``Markup`` passes as it is."""
    return text if isinstance(text, Markup) else Markup(ESCAPES[ext](text))


def markdown(table: TextTable) -> str:
    """The Markdown table (``escape.markdown_cell`` on every text that is not ``Markup``) and its legend."""
    def line(texts: Sequence[str]) -> str:
        return "| " + " | ".join(escaped(MARKDOWN, text) for text in texts) + " |"

    alignment = "|" + "".join("---:|" if column == RIGHT else "---|" for column in table.align)
    lines = [line(table.header), alignment, *(line(row) for row in table.rows)]
    legend = "\n".join(f"{escape.markdown_cell(text)}  " for text in table.legend)
    return "\n".join(lines) + "\n\n" + legend + "\n"


def latex(table: TextTable) -> str:
    """The booktabs tabular (``latex_text`` on every text that is not ``Markup``), the legend as a comment."""
    def line(texts: Sequence[str]) -> str:
        return " & ".join(escaped(LATEX, text) for text in texts) + r" \\"

    body = []
    for position, row in enumerate(table.rows):
        body += [r"\midrule"] if position in table.breaks else []
        body.append(line(row))
    lines = [r"\begin{tabular}{" + table.align + "}", r"\toprule", line(table.header), r"\midrule", *body,
             r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n% " + " ".join(latex_text(text) for text in table.legend) + "\n"


TEXT_FORMATS: dict[str, Callable[[TextTable], str]] = {MARKDOWN: markdown, LATEX: latex}


def draw(ext: str, frame: Callable[[], pd.DataFrame], text_table: Callable[[str], TextTable]) -> str:
    """The table in the format ``ext``: the CSV of ``frame()`` (``escape.csv_text``), else ``TEXT_FORMATS[ext]`` of
    ``text_table(ext)`` (a table may write its cells per format)."""
    return escape.csv_text(frame()) if ext == CSV else TEXT_FORMATS[ext](text_table(ext))


def rendered(frame: Callable[[], pd.DataFrame], text_table: Callable[[str], TextTable]) -> dict[str, str]:
    """Each of ``EXTENSIONS`` → the table drawn in it (``draw``)."""
    return {ext: draw(ext, frame, text_table) for ext in EXTENSIONS}


def write_rendered(stem: Path, texts: dict[str, str]) -> None:
    """Write each text of ``rendered`` to ``<stem>.<extension>`` atomically."""
    for ext, text in texts.items():
        atomic_write_text(stem.with_name(f"{stem.name}.{ext}"), text)
