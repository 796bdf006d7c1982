"""Escaping of text that comes from a config or a file (labels, captions, setting ids) for each output.

Every renderer (the LaTeX and Markdown tables, the HTML report) passes such text through one of
these, so a label can neither run a LaTeX command, break a Markdown row, nor inject markup.
"""

import html
import json
import re

# LaTeX: each special character as text (\textbackslash{} etc.); a newline would end a table row
# or a comment (`% caption` in the .tex), so it becomes a space
LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}",
    "|": r"\textbar{}", "<": r"\textless{}", ">": r"\textgreater{}",  # OT1 fonts print | < > as — ¡ ¿
    "\n": " ", "\r": " ", "ε": r"$\varepsilon$",
}
MARKUP_LT = re.compile(r"<(?=[A-Za-z/!?])")  # the start of an HTML tag, comment or declaration
MARKUP_AMP = re.compile(r"&(?=[A-Za-z0-9#]+;?)")  # the start of an HTML entity
NEWLINES = ("\r\n", "\r", "\n", "\u2028", "\u2029", "\x0b", "\x0c", "\x85")


def _one_line(text: str) -> str:
    for newline in NEWLINES:
        text = text.replace(newline, " ")
    return text


def latex(text: str) -> str:
    """``text`` as LaTeX that prints it: each of ``\\ { } $ & # ^ _ % ~`` escaped, newlines as spaces."""
    return "".join(LATEX_SPECIALS.get(char, char) for char in _one_line(text))


def markdown_cell(text: str) -> str:
    """``text`` as one Markdown table cell: ``\\``, ``|`` escaped, newlines as spaces, no HTML tag or entity.

    ``<`` before a letter, ``/``, ``!`` or ``?`` (a tag) and ``&`` before a name or ``#`` (an
    entity) become ``&lt;`` and ``&amp;``; ``p < 0.05`` stays as it is.
    """
    text = _one_line(text).replace("\\", "\\\\").replace("|", r"\|")
    return MARKUP_LT.sub("&lt;", MARKUP_AMP.sub("&amp;", text))


def html_text(text: str) -> str:
    """``text`` as HTML text or attribute value: ``& < > " '`` escaped."""
    return html.escape(text, quote=True)


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
