"""An attack setting of the workflow config, interpreted once (SPEC §5; README "attacks").

A setting is ``{"attack": name, <parameter>: value, ..., "label": ..., "limit": N, "batch_size": B,
"surrogate": model}``. Its keys fall into three groups (``RUN_KEYS``, ``SHOW_KEYS``, the rest):

- how to run it: ``limit`` (attack only the first N shuffled test images) and ``batch_size``
  (images per batch), the ``newlogic attack`` options ``--limit`` / ``--batch-size``;
- how to show it: ``label`` (table and figure headings) and ``surrogate`` (the model a transfer
  attack crafts on: the same seed's run of that model name);
- everything else is the attack and its parameters, resolved by ``newlogic.attacks.resolve_setting``.

This module imports neither torch nor the attacks: the workflow reads it to plan jobs.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from newlogic.errors import UserError
from newlogic.names import check_safe_name
from newlogic.spec import canonical_name

RUN_KEYS = ("limit", "batch_size")
SHOW_KEYS = ("label", "surrogate")


@dataclass(frozen=True)
class AttackRequest:
    """One setting split into the attack (``{"attack": name, <parameter>: value}``), run options and surrogate."""

    name: str
    attack: dict[str, Any]
    limit: int | None = None
    batch_size: int | None = None
    surrogate: str | None = None


def attack_request(name: str, setting: Mapping[str, Any], dataset: str | None = None) -> AttackRequest:
    """The setting ``name`` of the config → its ``AttackRequest`` (with ``dataset``: ``surrogate`` canonical).

    ``name`` names the result file: a safe, unreserved name (``newlogic.names``). ``limit`` and
    ``batch_size`` are positive integers (not booleans, strings or floats).
    """
    check_safe_name(name, "attack setting")
    if not isinstance(setting, Mapping) or "attack" not in setting:
        raise UserError(f"attack setting {name!r} needs a mapping with an 'attack' key; got {setting!r}")
    surrogate = setting.get("surrogate")
    return AttackRequest(
        name=name,
        attack={key: value for key, value in setting.items() if key not in RUN_KEYS and key not in SHOW_KEYS},
        limit=_count(setting.get("limit"), f"attack setting {name!r}: limit"),
        batch_size=_count(setting.get("batch_size"), f"attack setting {name!r}: batch_size"),
        surrogate=surrogate if surrogate is None or dataset is None else canonical_name(surrogate, dataset),
    )


def _count(value: Any, what: str) -> int | None:
    """``value`` when it is None or a positive int (a bool, string or float is refused: no silent 1 or "5")."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    raise UserError(f"{what} must be a positive whole number, got {value!r}")


def attack_requests(settings: Mapping[str, Mapping[str, Any]], dataset: str) -> dict[str, AttackRequest]:
    """Every setting of ``settings`` (setting name → setting), interpreted."""
    return {name: attack_request(name, setting, dataset) for name, setting in settings.items()}
