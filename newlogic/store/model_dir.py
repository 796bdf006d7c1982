"""The model directory (docs/architecture.md): its config record, and loading a trained model."""

import pickle
import warnings
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
from newlogic.store.json_file import read_json_object
from newlogic.store.paths import METRICS_FILE, WEIGHTS_FILE
from newlogic.store.provenance import config_hash

SCHEMA_VERSION = 1
CONFIG_FILE = "config.json"
LOG_FILE = "log.txt"
CHECKPOINT_FILE = "checkpoint.pt"
DIVERGED_FILE = "diverged.json"  # written instead of metrics.json when a loss or weight became non-finite


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
    record = read_json_object(path, f"train {model_dir} again")
    if record.get("schema_version") != SCHEMA_VERSION:
        raise UserError(f"{path} has schema_version {record.get('schema_version')!r}; expected {SCHEMA_VERSION}")
    return record


def verify_record(record: dict[str, Any], path: Path) -> ModelSpec:
    """The ``ModelSpec`` of a config record after checking that the record is the one training wrote.

    The fingerprint ``config_hash`` of every field but ``provenance`` (``newlogic.store.provenance``)
    must equal the stored ``provenance.config_hash``, and the model name must parse: a hand-edited
    or foreign ``config.json`` is a UserError, never a model built from it.
    """
    provenance = record.get("provenance")
    stored = provenance.get("config_hash") if isinstance(provenance, dict) else None
    computed = config_hash({key: value for key, value in record.items() if key != "provenance"})
    if stored != computed:
        raise UserError(f"{path} does not match its fingerprint (provenance.config_hash {str(stored)[:12]}, "
                        f"recomputed {computed[:12]}): it was edited or not written by 'newlogic train'; train again")
    model = record.get("model") if isinstance(record.get("model"), dict) else {}
    return parse_model_name(model.get("name", ""))


def _load_weights(weights: Path, device: torch.device | str) -> dict[str, Any]:
    """``model.pt`` as a state dict (``weights_only=True``); a truncated, empty or hostile file, or non-finite
    weights, are a UserError."""
    try:
        with warnings.catch_warnings():  # a foreign pickle's protocol warning: the file is refused or loads as weights
            warnings.simplefilter("ignore")
            state = torch.load(weights, map_location=device, weights_only=True)
    except pickle.UnpicklingError:
        raise UserError(f"{weights} holds more than tensors (the weights-only loader refused it); "
                        "train the model again") from None
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"{weights} is corrupt or not a weights file ({first[:200]}); train the model again") from None
    if not isinstance(state, dict):
        raise UserError(f"{weights} holds a {type(state).__name__}, not a state_dict; train the model again")
    broken = [key for key, value in state.items()
              if isinstance(value, torch.Tensor) and value.is_floating_point() and not bool(value.isfinite().all())]
    if broken:
        raise UserError(f"{weights}: weights {', '.join(broken[:3])} are not finite (NaN or inf; a diverged "
                        "training); train the model again with other options")
    return state


def load_trained_model(model_dir: Path | str, device: torch.device | str = "cpu") -> TrainedModel:
    """Rebuild the model from ``config.json`` (checked by ``verify_record``) and load ``model.pt`` (weights only).

    Weights of another shape than the rebuilt model's are a UserError.
    """
    model_dir = Path(model_dir)
    record = read_record(model_dir)
    weights = model_dir / WEIGHTS_FILE
    if not (model_dir / METRICS_FILE).is_file() or not weights.is_file():
        raise UserError(f"training in {model_dir} has not finished (no {METRICS_FILE}); run 'newlogic train' again")
    spec = verify_record(record, model_dir / CONFIG_FILE)
    options = from_dict(ArchOptions, record.get("architecture"), f"{model_dir / CONFIG_FILE}: architecture")
    model = build_model(spec, dataset_info(record.get("dataset")), options)
    try:
        model.load_state_dict(_load_weights(weights, device))
    except RuntimeError as error:
        detail = " ".join(line.strip() for line in str(error).splitlines()[1:3])
        raise UserError(f"{weights} does not fit the {spec.name} model of {CONFIG_FILE} ({detail[:300]}); "
                        "train the model again") from None
    return TrainedModel(model.to(device).eval(), spec, record["dataset"], record)
