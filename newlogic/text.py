"""The one rule for free text from a config (labels, captions): no character that hides, reorders or controls.

*Hidden* characters are the Unicode control characters (category Cc: NUL, ESC, DEL, the C1 set),
the format characters (Cf: the bidi embeddings, overrides and isolates U+202A–U+202E and
U+2066–U+2069, the zero-width space, joiners and no-break space U+200B–U+200D and U+FEFF, the soft
hyphen), the line and paragraph separators (Zl, Zp), private-use (Co) and surrogate (Cs) code
points. Tab, line feed and carriage return are the only controls a caption may hold (a YAML block
caption ends in one); every renderer writes them as spaces.

A config's text holding a hidden character is refused (``text_error``, ``check_text``); text that
reaches a table another way (a result file, a published table) has them removed (``neutralized``).
Two labels are the same when their ``normalized`` forms are: NFKC (``Ａ`` is ``A``, ``ﬁ`` is ``fi``),
hidden characters removed, runs of white space as one space, ends stripped. Torch-free.
"""

import unicodedata

from newlogic.errors import UserError

HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs"})
WHITESPACE_CONTROLS = frozenset("\t\n\r")  # controls a caption may hold: rendered as spaces


def is_hidden(char: str) -> bool:
    """True for a character that hides, reorders or controls text (see the module), tab and newlines excepted."""
    return char not in WHITESPACE_CONTROLS and unicodedata.category(char) in HIDDEN_CATEGORIES


def char_name(char: str) -> str:
    """``U+202E (RIGHT-TO-LEFT OVERRIDE)``: a character named so that the error line itself shows nothing hidden."""
    name = unicodedata.name(char, "") or {"\x00": "NULL", "\x1b": "ESCAPE", "\x7f": "DELETE"}.get(char, "a control")
    return f"U+{ord(char):04X} ({name})"


def text_error(value: str) -> str | None:
    """Why ``value`` may not be a label or caption (its first hidden character), or None."""
    hidden = next((char for char in value if is_hidden(char)), None)
    if hidden is None:
        return None
    return (f"holds {char_name(hidden)}: control, bidi and zero-width characters are not allowed in labels and "
            "captions (they hide or reorder what a reader sees)")


def check_text(value: object, what: str) -> str:
    """``value`` when it is a string without hidden characters; else a one-line UserError naming ``what``."""
    if not isinstance(value, str):
        raise UserError(f"{what} must be a string, not {type(value).__name__}")
    reason = text_error(value)
    if reason is not None:
        raise UserError(f"{what} {value!r} {reason}")
    return value


def neutralized(text: str) -> str:
    """``text`` without its hidden characters; tab, line feed and carriage return become spaces."""
    return "".join(" " if char in WHITESPACE_CONTROLS else char for char in text if not is_hidden(char))


def normalized(text: str) -> str:
    """The form two labels are compared in: NFKC of ``neutralized(text)``, white space runs as one space, stripped."""
    return " ".join(unicodedata.normalize("NFKC", neutralized(text)).split())
