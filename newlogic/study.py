"""The workflow config: its ablations (which models meet which attack settings) and option checks."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from newlogic.errors import UserError
from newlogic.spec import canonical_name


@dataclass(frozen=True)
class ModelEntry:
    """A table row: the canonical model name (paths) and the label the config gives it."""

    name: str
    label: str


@dataclass(frozen=True)
class Ablation:
    """Models × attack settings × seeds on one dataset, tabulated together."""

    name: str
    dataset: str
    models: tuple[ModelEntry, ...]
    settings: tuple[str, ...]
    seeds: tuple[int, ...]


def load_config(source: Path | str) -> dict[str, Any]:
    """Read a workflow config from a YAML/JSON file, or from an inline ``{...}`` mapping (the workflow's way)."""
    text = str(source)
    if text.lstrip().startswith("{"):
        where = "the inline config"
    else:
        path = Path(source)
        if not path.is_file():
            raise UserError(f"config file {path} does not exist")
        text, where = path.read_text(), f"config file {path}"
    config = yaml.safe_load(text)
    if not isinstance(config, dict):
        raise UserError(f"{where} must hold a mapping of keys")
    return config


def _model_entry(entry: str | dict[str, Any], dataset: str) -> ModelEntry:
    if isinstance(entry, str):
        return ModelEntry(canonical_name(entry, dataset), entry)
    return ModelEntry(canonical_name(entry["name"], dataset), entry.get("label", entry["name"]))


def ablations(config: dict[str, Any]) -> dict[str, Ablation]:
    """Every ablation of the config, models in config order, settings default to all."""
    dataset = config["dataset"]
    all_settings = tuple(config.get("attacks", {}))
    result = {}
    for name, body in config["ablations"].items():
        settings = tuple(body.get("attacks", all_settings))
        unknown = [setting for setting in settings if setting not in all_settings]
        if unknown:
            raise UserError(
                f"ablation {name!r} names attack setting(s) {', '.join(unknown)} not defined under 'attacks'; "
                f"defined: {', '.join(all_settings) or 'none'}"
            )
        models = tuple(_model_entry(entry, dataset) for entry in body["models"])
        result[name] = Ablation(name, dataset, models, settings, tuple(config.get("seeds", [0])))
    return result


def get_ablation(config: dict[str, Any], name: str) -> Ablation:
    """One ablation by name, with a clear error listing the defined ones."""
    defined = ablations(config)
    if name not in defined:
        raise UserError(f"unknown ablation {name!r}; defined: {', '.join(defined)}")
    return defined[name]
