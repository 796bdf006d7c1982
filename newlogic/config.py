"""Typed option sets from plain dicts (YAML/JSON), with clear errors for unknown keys."""

import dataclasses
import types
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from newlogic.errors import UserError

T = TypeVar("T")


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Convert YAML scalars to the field's type (``1e-3`` may arrive as a string in YAML 1.1)."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [arg for arg in get_args(hint) if arg is not type(None)]
        if value is None:
            return None
        return _coerce(value, options[0], where) if len(options) == 1 else value
    if origin in (tuple, list) and isinstance(value, (list, tuple)):
        (item,) = {arg for arg in get_args(hint) if arg is not Ellipsis} or {Any}
        converted = [_coerce(v, item, where) for v in value]
        return tuple(converted) if origin is tuple else converted
    try:
        if hint is float and not isinstance(value, bool):
            return float(value)
        if hint is int and not isinstance(value, bool) and float(value) == int(float(value)):
            return int(float(value))
    except (TypeError, ValueError):
        pass
    if hint in (float, int, str, bool) and not isinstance(value, hint):
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
    return cls(**{key: _coerce(value, hints[key], f"{where}.{key}") for key, value in data.items()})


def to_dict(options: Any) -> dict[str, Any]:
    """A dataclass as a plain dict (for JSON config records)."""
    return dataclasses.asdict(options)
