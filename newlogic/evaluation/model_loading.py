"""Loading a trained model from its model directory (``newlogic.store.model_dir``): rebuild, then load weights.

The store reads and verifies the directory's files (``read_record``, ``verify_record``); this module
builds the model of the record (``newlogic.nn.models.build_model``) and loads ``model.pt`` into it.
"""

import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from newlogic.datasets import dataset_info
from newlogic.errors import UserError
from newlogic.nn.models import build_model
from newlogic.nn.options import ArchOptions
from newlogic.options import from_dict
from newlogic.spec import ModelSpec
from newlogic.store.model_dir import WEIGHTS_HASH_KEY, read_record, verify_record
from newlogic.store.paths import CONFIG_FILE, METRICS_FILE, WEIGHTS_FILE
from newlogic.store.results import sha256_file


@dataclass(frozen=True)
class TrainedModel:
    """A trained model in eval mode, with what it was trained as."""

    model: nn.Module
    spec: ModelSpec
    dataset: str
    record: dict[str, Any]
    weights_sha256: str  # SHA-256 of the model.pt loaded, hashed once per load (every output's model_ref)


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

    Weights of another shape than the rebuilt model's are a UserError, and so is a ``model.pt`` whose SHA-256 is not
    the ``weights_sha256`` that ``config.json`` records (checked after loading, so that a file of another model
    or of non-finite weights is named as such first).
    """
    model_dir = Path(model_dir)
    record = read_record(model_dir)
    weights = model_dir / WEIGHTS_FILE
    if not (model_dir / METRICS_FILE).is_file() or not weights.is_file():
        raise UserError(f"training in {model_dir} has not finished (no {METRICS_FILE}); run 'newlogic train' again")
    spec = verify_record(record, model_dir / CONFIG_FILE)
    options = from_dict(ArchOptions, record.get("architecture"), f"{model_dir / CONFIG_FILE}: architecture")
    model = build_model(spec, dataset_info(str(record.get("dataset"))), options)
    try:
        model.load_state_dict(_load_weights(weights, device))
    except RuntimeError as error:
        detail = " ".join(line.strip() for line in str(error).splitlines()[1:3])
        raise UserError(f"{weights} does not fit the {spec.name} model of {CONFIG_FILE} ({detail[:300]}); "
                        "train the model again") from None
    return TrainedModel(model.to(device).eval(), spec, record["dataset"], record, _recorded_weights(record, weights))


def _recorded_weights(record: dict[str, Any], weights: Path) -> str:
    """The SHA-256 of ``weights``, which must be the ``weights_sha256`` its ``config.json`` records (training writes
    it when it finishes): another run's ``model.pt`` copied in, or weights changed since, are a UserError."""
    recorded, found = record.get(WEIGHTS_HASH_KEY), sha256_file(weights)
    if not isinstance(recorded, str):
        raise UserError(f"{weights.parent / CONFIG_FILE} has no {WEIGHTS_HASH_KEY} (trained before weights were "
                        f"recorded, or removed): {weights} cannot be verified; delete {weights.parent} and train again")
    if found != recorded:
        raise UserError(f"{weights}: its SHA-256 {found[:12]}… is not the {recorded[:12]}… its {CONFIG_FILE} records "
                        f"({WEIGHTS_HASH_KEY}): weights of another run, or changed; train the model again")
    return found
