"""Typed option sets from plain dicts (YAML/JSON): types, finite numbers and ranges checked at the edge.

A field's range is declared once, as ``Annotated[float, Range(...)]`` (e.g. ``POSITIVE``); ``coerce``
and ``check_ranges`` (which the option dataclasses call in ``__post_init__``) enforce it. A number
is always finite: NaN and ±inf are refused wherever a ``float`` or ``int`` is meant.
"""

import dataclasses
import math
import types
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin, get_type_hints

from newlogic.errors import UserError
from newlogic.numbers import parse_decimal, parse_int

T = TypeVar("T")
MAX_EXACT_INT = 2**53  # every integer up to here is exactly a float; 2**53 + 1 is not
MAX_INT = 2**63 - 1  # int64: numpy's and torch's integers, Slurm's counts
MAX_FLOAT_INT = 10**308  # an int beyond this has no float (float() would raise OverflowError)


@dataclass(frozen=True)
class Range:
    """A numeric range: ``low ≤ x ≤ high``, strict (``<``) at an end marked open; None = no bound on that side."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: float) -> bool:
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def describe(self) -> str:
        """``> 0``, ``>= 1``, ``in (0, 1]``, ``in [0, 4294967295]``: how error messages state the range."""
        low, high = _bound_text(self.low), _bound_text(self.high)
        if self.high is None and self.low is not None:
            return f"{'>' if self.low_open else '>='} {low}"
        if self.low is None and self.high is not None:
            return f"{'<' if self.high_open else '<='} {high}"
        return f"in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"

    def check(self, value: Any, where: str) -> None:
        """UserError ``{where} must be {range}, got {value}`` unless ``value`` is None or in range."""
        if value is not None and not self.contains(value):
            raise UserError(f"{where} must be {self.describe()}, got {_shown(value)}")


def _bound_text(bound: float | None) -> str:
    """A range's end as text: an integer in full (``4294967295``, not ``4.29497e+09``), else ``:g``; none: ``''``."""
    if bound is None:
        return ""
    return str(bound) if isinstance(bound, int) else f"{bound:g}"


POSITIVE = Range(0, low_open=True)
NON_NEGATIVE = Range(0)
AT_LEAST_ONE = Range(1)
FRACTION = Range(0, 1)


def _split_annotated(hint: Any) -> tuple[Any, Range | None]:
    """``Annotated[X, Range(...)]`` → (X, the range); any other hint → (hint, None)."""
    if get_origin(hint) is Annotated:
        base, *extras = get_args(hint)
        return base, next((extra for extra in extras if isinstance(extra, Range)), None)
    return hint, None


def check_ranges(options: Any, where: str) -> None:
    """Check every ``Annotated[..., Range]`` field of the dataclass ``options``; UserError naming the first bad one."""
    for name, hint in get_type_hints(type(options), include_extras=True).items():
        _base, bounds = _split_annotated(hint)
        if bounds is not None:
            bounds.check(getattr(options, name), f"{where}.{name}")


def finite(value: float, where: str) -> float:
    """``value`` when it is a finite number; NaN and ±inf are a UserError."""
    if not math.isfinite(value):
        raise UserError(f"{where} must be a finite number, got {value!r}")
    return value


def _number(value: Any, hint: type, where: str) -> int | float | None:
    """``value`` as ``hint`` (``int`` or ``float``), or None when it is no such number (the caller names the type).

    A string must be ASCII decimal notation (``newlogic.numbers``); an integer is read exactly, an
    integral float becomes an int only up to ``MAX_EXACT_INT`` (beyond it, it stands for many
    integers), and an int fits in 64 bits (``MAX_INT``): what numpy, torch and Slurm take.
    """
    if isinstance(value, str):
        exact = parse_int(value.strip())
        value = exact if exact is not None else parse_decimal(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if hint is float:
        if isinstance(value, int) and abs(value) > MAX_FLOAT_INT:
            raise UserError(f"{where} must be a finite number, got {_shown(value)}")
        return finite(float(value), where)
    if isinstance(value, float):
        finite(value, where)
        if not value.is_integer():
            return None
        if abs(value) > MAX_EXACT_INT:
            raise UserError(f"{where} must be an integer written in digits, got {value!r} (a number with an exponent "
                            "or a decimal point is exact only up to 2**53)")
        value = int(value)
    return value


def _sized(value: Any, where: str) -> Any:
    """``value``; an int beyond 64 bits (``MAX_INT``) is a UserError (checked after the field's own range)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise UserError(f"{where} must be an integer of at most 64 bits (|x| <= 2**63 - 1), got {_shown(value)}")
    return value


def _shown(value: Any) -> str:
    """``repr(value)``, or ``an integer of N digits`` for a long one (str() of 4,300 digits and more fails)."""
    if isinstance(value, int) and abs(value) >= 10**30:
        return f"an integer of about {round(abs(value).bit_length() * math.log10(2))} digits"
    return repr(value)


def coerce(value: Any, hint: Any, where: str) -> Any:
    """``value`` as type ``hint`` (a scalar type, ``X | None``, ``list``/``tuple[X, ...]``, ``Annotated[X, Range]``).

    Integers pass as floats and integral floats as ints (up to 2**53, ``_number``); numeric strings
    in ASCII decimal notation pass as numbers (``1e-3`` may arrive as a string in YAML 1.1); a bool
    is never a number; a number must be finite (NaN, ±inf: UserError), an int fits in 64 bits, and
    both lie inside the hint's ``Range``.
    """
    hint, bounds = _split_annotated(hint)
    converted = _coerce_unbounded(value, hint, where)
    if bounds is not None:
        bounds.check(converted, where)
    return _sized(converted, where)


def _coerce_unbounded(value: Any, hint: Any, where: str) -> Any:
    """``coerce`` for a hint without its ``Range``, before the 64-bit check."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [arg for arg in get_args(hint) if arg is not type(None)]
        if value is None:
            return None
        return coerce(value, options[0], where) if len(options) == 1 else value
    container = origin or hint
    if container in (tuple, list):
        if not isinstance(value, list | tuple):
            raise UserError(f"{where} must be a list, got {value!r}")
        (item,) = {arg for arg in get_args(hint) if arg is not Ellipsis} or {Any}
        converted = [coerce(v, item, where) for v in value]
        return tuple(converted) if container is tuple else converted
    if hint in (float, int) and not isinstance(value, bool):
        number = _number(value, hint, where)
        if number is not None:
            return number
    if hint in (float, int, str, bool) and (not isinstance(value, hint) or (hint is int and isinstance(value, bool))):
        raise UserError(f"{where} must be {hint.__name__}, got {_shown(value)}")
    return value


def from_dict(cls: type[T], data: dict[str, Any] | None, where: str) -> T:
    """Build dataclass ``cls`` from ``data``; unknown keys raise a UserError naming them."""
    data = dict(data or {})
    hints = get_type_hints(cls, include_extras=True)
    names = [field.name for field in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise UserError(f"unknown key(s) {', '.join(unknown)} in {where}; valid keys: {', '.join(names)}")
    return cls(**{key: coerce(value, hints[key], f"{where}.{key}") for key, value in data.items()})


def to_dict(options: Any) -> dict[str, Any]:
    """A dataclass as a plain dict (for JSON config records)."""
    return dataclasses.asdict(options)
