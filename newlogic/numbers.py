"""Numbers from text (arguments, environment variables, YAML and JSON strings): ASCII decimal notation only.

Python's own parsers take more than anyone types as a number: ``'²'.isdigit()`` is True (and
``int('²')`` fails), ``float('١٢')`` is 12.0, ``float('1_0')`` is 10.0, ``float('nan')`` and
``float('inf')`` are numbers, ``float('1e400')`` is inf, and ``int(float('18446744073709551617'))``
is another integer. Here an integer is ``[+-]?[0-9]+`` (at most ``MAX_DIGITS`` digits) read exactly
with ``int``, a decimal is ``[+-]?digits[.digits][e[+-]digits]`` in ASCII, and an environment
variable of seconds is a finite decimal within stated bounds or a one-line UserError.
"""

import math
import re
from collections.abc import Mapping

from newlogic.errors import UserError

MAX_DIGITS = 100  # an integer string longer than this is refused before int() (seeds have at most 10 digits)
INTEGER = re.compile(rf"[+-]?[0-9]{{1,{MAX_DIGITS}}}")
DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,6})?")


def parse_int(text: str) -> int | None:
    """The integer ``text`` spells in ASCII digits (an optional sign), exactly; None for anything else."""
    return int(text) if INTEGER.fullmatch(text) else None


def parse_decimal(text: str) -> float | None:
    """The number ``text`` spells in ASCII decimal notation (``12``, ``-0.5``, ``1e-3``); None otherwise.

    No ``nan``, ``inf``, underscores, spaces or non-ASCII digits; a decimal beyond the float range
    (``1e400``) is returned as ±inf for the caller to refuse by name.
    """
    return float(text) if DECIMAL.fullmatch(text) else None


def seconds_from_env(environ: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    """``$name`` as seconds in ``[low, high]`` (a finite ASCII decimal), ``default`` when unset; else one UserError."""
    text = environ.get(name)
    if text is None:
        return default
    seconds = parse_decimal(text.strip())
    if seconds is None or not math.isfinite(seconds) or not low <= seconds <= high:
        raise UserError(f"${name}={text!r}: expected seconds, a number in [{low:g}, {high:g}]")
    return seconds
