"""The model directory (docs/architecture.md): its file names and its config record, read and verified.

Files only: building the model from a record and loading its weights is
``newlogic.evaluation.model_loading.load_trained_model``.
"""

from pathlib import Path
from typing import Any

from newlogic.errors import UserError
from newlogic.spec import ModelSpec, parse_model_name
from newlogic.store.json_file import read_json_object
from newlogic.store.paths import CONFIG_FILE
from newlogic.store.provenance import config_hash

SCHEMA_VERSION = 1
WEIGHTS_HASH_KEY = "weights_sha256"  # config.json: SHA-256 of model.pt, added when training finishes
UNFINGERPRINTED = ("provenance", WEIGHTS_HASH_KEY)  # config.json fields outside its config_hash


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

    The fingerprint ``config_hash`` of every field but ``UNFINGERPRINTED`` (``newlogic.store.provenance``)
    must equal the stored ``provenance.config_hash``, and the model name must parse: a hand-edited
    or foreign ``config.json`` is a UserError, never a model built from it.
    """
    provenance = record.get("provenance")
    stored = provenance.get("config_hash") if isinstance(provenance, dict) else None
    computed = config_hash({key: value for key, value in record.items() if key not in UNFINGERPRINTED})
    if stored != computed:
        raise UserError(f"{path} does not match its fingerprint (provenance.config_hash {str(stored)[:12]}, "
                        f"recomputed {computed[:12]}): it was edited or not written by 'newlogic train'; train again")
    model = record.get("model")
    return parse_model_name(model.get("name", "") if isinstance(model, dict) else "")
