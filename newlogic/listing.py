"""``newlogic list``: every registered name with its parameters and defaults, read from the registries.

``LISTINGS`` maps what can be listed (``attacks``, ``presets``, ``datasets``, ``tokens``) to a
function returning its lines, so that the listing follows the registries and never goes stale:
``CATALOG`` and ``PRESETS`` (``newlogic.attacks.catalog``, SPEC §5), the dataset entries ``DATASET_INFO``
(``newlogic.datasets``) and
the model-name grammar's ``TOKENS`` (``newlogic.spec``, SPEC §1).
"""

import re
from collections.abc import Callable, Mapping
from typing import Any

from newlogic.errors import UserError


def _value(value: Any) -> str:
    """A default as text: constants as they are, dataset-dependent ones per dataset, derived ones as such."""
    from newlogic.attacks.catalog import ByDataset, Derived
    from newlogic.datasets import DATASET_INFO

    if isinstance(value, ByDataset):
        by_scale: dict[str, list[str]] = {}
        for name, info in DATASET_INFO.items():
            by_scale.setdefault(info.attack_scale, []).append(name)
        return " / ".join(f"{getattr(value, scale)} ({', '.join(names)})" for scale, names in by_scale.items())
    if isinstance(value, Derived):
        return "derived from the others"
    return repr(value) if isinstance(value, str) else str(value)


def _parameters(defaults: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={_value(value)}" for key, value in defaults.items()) or "no parameters"


def list_attacks() -> list[str]:
    """Per attack: name, norm, kind, description, then each preset's parameters and defaults."""
    from newlogic.attacks.catalog import CATALOG
    from newlogic.attacks.resolve import COMMON_DEFAULTS

    lines = []
    for name, entry in CATALOG.items():
        norm = entry.norm if isinstance(entry.norm, str) else "by parameters"
        lines.append(f"{name}  (norm {norm}, kind {entry.kind}): {entry.description}")
        lines += [f"    {preset}: {_parameters(defaults)}" for preset, defaults in entry.presets.items()]
    lines.append(f"every attack also takes: {_parameters(COMMON_DEFAULTS)}")
    return lines


def list_presets() -> list[str]:
    """Per preset: the attacks that have it (an attack without the asked preset uses its only one)."""
    from newlogic.attacks.catalog import CATALOG, PRESETS

    return [f"{preset}: {', '.join(n for n, e in CATALOG.items() if preset in e.presets)}" for preset in PRESETS]


def list_datasets() -> list[str]:
    """One line per dataset: what it is, shape, classes, mean and std, attack scale, where it comes from, recipe."""
    from newlogic.datasets import DATASET_INFO

    lines = []
    for name, entry in DATASET_INFO.items():
        source = "bundled" if entry.files is None else f"downloaded into <data_dir>/{entry.files.folder}"
        lines.append(f"{name}: {entry.description}; {entry.channels}×{entry.height}×{entry.width} images, "
                     f"{entry.num_classes} classes, mean {entry.mean}, std {entry.std}, attack scale "
                     f"{entry.attack_scale}, {source}; recipe: "
                     + _parameters(entry.recipe.training | entry.recipe.architecture))
    return lines


def readable_token(pattern: str) -> str:
    """A token pattern as the README writes it: ``relog_(?P<n>…)`` → ``relog_<n>``, ``(?:_(?P<c>…))?`` → ``[_<c>]``."""
    text = pattern
    while (start := text.find("(?P<")) >= 0:
        name = text[start + 4:text.index(">", start)]
        depth = 0
        for end in range(start, len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0) if text[end - 1] != "\\" else 0
            if depth == 0:
                break
        text = f"{text[:start]}<{name}>{text[end + 1:]}"
    return re.sub(r"\(\?:([^()]*)\)\?", r"[\1]", text).replace("|", " | ")


def list_tokens() -> list[str]:
    """Per model-name token: its kind, and the ``ModelSpec`` fields the bare token sets (defaults filled in)."""
    from newlogic.spec import TOKENS

    lines = []
    for pattern, (kind, handle) in TOKENS.items():
        token = readable_token(pattern)
        bare = re.sub(r"\[.*?\]", "", token).split(" | ")[0]
        match = re.fullmatch(pattern, bare)
        fields = ", ".join(f"{k}={v}" for k, v in handle(match, False).items()) if match else "takes " + ", ".join(
            f"<{group}>" for group in re.compile(pattern).groupindex)
        lines.append(f"{token}  ({kind}): {fields}")
    return lines


LISTINGS: dict[str, Callable[[], list[str]]] = {
    "attacks": list_attacks,
    "presets": list_presets,
    "datasets": list_datasets,
    "tokens": list_tokens,
}


def listing(what: str) -> list[str]:
    """The lines of ``newlogic list <what>``."""
    if what not in LISTINGS:
        raise UserError(f"cannot list {what!r}; valid: {', '.join(LISTINGS)}")
    return LISTINGS[what]()
