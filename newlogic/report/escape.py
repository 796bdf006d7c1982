"""Escaping of text that comes from a config or a file (labels, captions, setting ids) for each output.

Every renderer (the LaTeX and Markdown tables, the CSV, the HTML report) passes such text through one
of these, so a label can neither run a LaTeX command, break a Markdown row, link, show an image, inject
markup, nor start a spreadsheet formula. Each escapes what its own format needs and nothing else
(Markdown prints ``C&W`` as it is; HTML writes ``C&amp;W``), and each first drops the characters that
hide, reorder or control text (``newlogic.text.neutralized``: NUL, ESC, bidi overrides, zero-width).
"""

import html
import json
import re
from typing import TYPE_CHECKING

from newlogic.text import neutralized

if TYPE_CHECKING:
    import pandas as pd

# LaTeX: each special character as text (\textbackslash{} etc.); a newline would end a table row
# or a comment (`% caption` in the .tex), so it becomes a space
LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}",
    "|": r"\textbar{}", "<": r"\textless{}", ">": r"\textgreater{}",  # OT1 fonts print | < > as — ¡ ¿
    "\n": " ", "\r": " ", "ε": r"$\varepsilon$",
}
MARKUP_LT = re.compile(r"<(?=[A-Za-z/!?])")  # the start of an HTML tag, comment or declaration
MARKUP_AMP = re.compile(r"&(?=#?[A-Za-z0-9]+;)")  # an entity reference (CommonMark: `&name;`, `&#123;`, `&#x1F;`)
MARKDOWN_LINK = {"[": r"\[", "]": r"\]"}  # no `[text](url)`, `![alt](url)` or `[ref]: url` without them
NEWLINES = ("\r\n", "\r", "\n", "\u2028", "\u2029", "\x0b", "\x0c", "\x85")
CSV_FORMULA_STARTS = ("=", "+", "-", "@")  # a spreadsheet runs a cell starting so (OWASP: CSV injection)
CSV_CONTROL_STARTS = ("\t", "\r")  # … or one starting with these before such a character


def _one_line(text: str) -> str:
    """Newlines as spaces, then no hidden character (``newlogic.text.neutralized``)."""
    for newline in NEWLINES:
        text = text.replace(newline, " ")
    return neutralized(text)


def latex(text: str) -> str:
    """``text`` as LaTeX that prints it: each of ``\\ { } $ & # ^ _ % ~`` escaped, newlines as spaces."""
    return "".join(LATEX_SPECIALS.get(char, char) for char in _one_line(text))


def markdown_cell(text: str) -> str:
    """``text`` as one Markdown table cell that prints it: no row break, tag, entity, link or image.

    ``\\``, ``|``, ``[`` and ``]`` are backslash-escaped (``![x](http://…)`` prints as text), newlines
    become spaces; ``<`` before a letter, ``/``, ``!`` or ``?`` (a tag) becomes ``&lt;`` and ``&``
    only where it starts an entity reference (``&lt;``, ``&#60;``) becomes ``&amp;``: ``C&W`` and
    ``p < 0.05`` stay as they are.
    """
    text = _one_line(text).replace("\\", "\\\\").replace("|", r"\|")
    text = "".join(MARKDOWN_LINK.get(char, char) for char in text)
    return MARKUP_LT.sub("&lt;", MARKUP_AMP.sub("&amp;", text))


def html_text(text: str) -> str:
    """``text`` as HTML text or attribute value: hidden characters dropped, ``& < > " '`` escaped."""
    return html.escape(neutralized(text), quote=True)


def csv_cell(value: object) -> object:
    """A CSV cell no spreadsheet runs: text starting with ``= + - @`` (after spaces), tab or CR gets a leading ``'``.

    Only text changes (hidden characters dropped too): numbers, booleans and None pass as they
    are, so ``-0.2`` stays a number and ``'-0.2`` is a label that looked like one.
    """
    if not isinstance(value, str):
        return value
    text = neutralized(value)
    runs = value.startswith(CSV_CONTROL_STARTS) or text.lstrip().startswith(CSV_FORMULA_STARTS)
    return f"'{text}" if runs else text


def csv_text(frame: "pd.DataFrame") -> str:
    """``frame`` as CSV text (no index) with every cell passed through ``csv_cell``."""
    return frame.map(csv_cell).to_csv(index=False)


HTML_IN_JSON = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


def json_for_html(value: object, sort_keys: bool = False) -> str:
    """``value`` as JSON with ``< > &`` written as ``\\uXXXX``: the same JSON to a parser, inert inside HTML.

    Snakemake embeds a report item's rule parameters in a ``<script>`` block of ``report.html``
    unescaped; config text passed this way can then never close that block.
    """
    text = json.dumps(value, sort_keys=sort_keys)
    for char, code in HTML_IN_JSON.items():
        text = text.replace(char, code)
    return text
