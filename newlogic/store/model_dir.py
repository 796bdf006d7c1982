"""The model directory (docs/architecture.md): its config record, and loading a trained model."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from newlogic.data import dataset_info
from newlogic.errors import UserError
from newlogic.nn.models import ArchOptions, build_model
from newlogic.options import from_dict
from newlogic.spec import ModelSpec, parse_model_name
from newlogic.store.paths import METRICS_FILE, WEIGHTS_FILE

SCHEMA_VERSION = 1
CONFIG_FILE = "config.json"
LOG_FILE = "log.txt"
CHECKPOINT_FILE = "checkpoint.pt"


@dataclass(frozen=True)
class TrainedModel:
    """A trained model in eval mode, with what it was trained as."""

    model: nn.Module
    spec: ModelSpec
    dataset: str
    record: dict[str, Any]


def read_record(model_dir: Path | str) -> dict[str, Any]:
    """The ``config.json`` of a model directory."""
    path = Path(model_dir) / CONFIG_FILE
    if not path.is_file():
        raise UserError(f"{model_dir} is not a model directory (no {CONFIG_FILE}); train it with 'newlogic train'")
    record = json.loads(path.read_text())
    if record.get("schema_version") != SCHEMA_VERSION:
        raise UserError(f"{path} has schema_version {record.get('schema_version')!r}; expected {SCHEMA_VERSION}")
    return record


def load_trained_model(model_dir: Path | str, device: torch.device | str = "cpu") -> TrainedModel:
    """Rebuild the model from ``config.json`` and load ``model.pt`` (``weights_only=True``)."""
    model_dir = Path(model_dir)
    record = read_record(model_dir)
    weights = model_dir / WEIGHTS_FILE
    if not (model_dir / METRICS_FILE).is_file() or not weights.is_file():
        raise UserError(f"training in {model_dir} has not finished (no {METRICS_FILE}); run 'newlogic train' again")
    spec = parse_model_name(record["model"]["name"])
    options = from_dict(ArchOptions, record["architecture"], f"{model_dir / CONFIG_FILE}: architecture")
    model = build_model(spec, dataset_info(record["dataset"]), options)
    model.load_state_dict(torch.load(weights, map_location=device, weights_only=True))
    return TrainedModel(model.to(device).eval(), spec, record["dataset"], record)
