"""Typed option sets from plain dicts (YAML/JSON), with clear errors for unknown keys."""

import dataclasses
import types
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from newlogic.errors import UserError

T = TypeVar("T")


def coerce(value: Any, hint: Any, where: str) -> Any:
    """``value`` as type ``hint`` (a scalar type, ``X | None``, ``list``/``tuple[X, ...]``); else a UserError.

    Integers pass as floats and integral floats as ints; numeric strings pass as numbers
    (``1e-3`` may arrive as a string in YAML 1.1); a bool is never a number.
    """
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
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = None
        if number is not None and (hint is float or number.is_integer()):
            return float(value) if hint is float else int(number)
    if hint in (float, int, str, bool) and (not isinstance(value, hint) or (hint is int and isinstance(value, bool))):
        raise UserError(f"{where} must be {hint.__name__}, got {value!r}")
    return value


def from_dict(cls: type[T], data: dict[str, Any] | None, where: str) -> T:
    """Build dataclass ``cls`` from ``data``; unknown keys raise a UserError naming them."""
    data = dict(data or {})
    hints = get_type_hints(cls)
    names = [field.name for field in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise UserError(f"unknown key(s) {', '.join(unknown)} in {where}; valid keys: {', '.join(names)}")
    return cls(**{key: coerce(value, hints[key], f"{where}.{key}") for key, value in data.items()})


def to_dict(options: Any) -> dict[str, Any]:
    """A dataclass as a plain dict (for JSON config records)."""
    return dataclasses.asdict(options)
