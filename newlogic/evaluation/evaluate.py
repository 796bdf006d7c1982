"""One attack setting on one trained model → result JSON + per-sample ``.npz`` (SPEC §5; docs/results.md).

The test split is shuffled with the seed (``torch.randperm`` on a generator seeded with it) and
the first ``limit`` images (and at most the setting's ``num_images``) are attacked, batch by
batch (``newlogic.evaluation.batches``: resume, out-of-memory halving; the summary fields:
``newlogic.evaluation.statistics``). The model is attacked through its scores (pre-softmax or
pre-sigmoid), or through its probabilities with ``attack_on: probs`` (SPEC §2). This module
decides whether anything needs to run: the setting's ``request_hash`` (model weights, attack
and every parameter, limit, batch size, seed) against the result already there, and assembles
and writes the result under the result's lock.
"""

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from newlogic.attacks import resolve_setting
from newlogic.attacks.resolve import ResolvedAttack
from newlogic.device import resolve_device
from newlogic.errors import UserError
from newlogic.evaluation.batches import evaluate_attack
from newlogic.evaluation.model_loading import TrainedModel, load_trained_model
from newlogic.evaluation.partial import PartialResult, partial_path
from newlogic.evaluation.shuffled import ShuffledTest, lazy_shuffled_test
from newlogic.store.atomic import remove_stale_temporaries
from newlogic.store.lock import output_lock
from newlogic.store.provenance import collect_provenance
from newlogic.store.results import SCHEMA_VERSION, read_result, write_result


def _model_reference(model_dir: Path, trained: TrainedModel) -> dict[str, Any]:
    """Where the model came from: its directory, weights hash, name, seed and its own provenance reference."""
    provenance = trained.record.get("provenance") or {}
    return {
        "dir": str(model_dir),
        "name": trained.spec.name,
        "seed": trained.record.get("seed"),
        "weights_sha256": trained.weights_sha256,
        "config_hash": provenance.get("config_hash"),
        "git": provenance.get("git"),
    }


def _existing(out_path: Path, request_hash: str) -> dict[str, Any] | None:
    """The result already at ``out_path`` if it is valid (``newlogic.store.results``) and made for the same request."""
    try:
        result = read_result(out_path).data
    except UserError:
        return None
    return result if result.get("request_hash") == request_hash else None


@dataclass(frozen=True)
class LoadedModel:
    """A trained model loaded once for all of its settings, with its reference (``model_ref``)."""

    trained: TrainedModel
    ref: dict[str, Any]


def load_model(model_dir: Path, device: torch.device) -> LoadedModel:
    """Load the model in ``model_dir`` onto ``device`` and hash its weights once."""
    trained = load_trained_model(model_dir, device)
    return LoadedModel(trained, _model_reference(Path(model_dir), trained))


def run_attack_setting(
    model_dir: Path, setting: dict[str, Any], out_path: Path, *, data_dir: Path, device: str, limit: int | None,
    batch_size: int | None, seed: int, surrogate_dir: Path | None,
) -> dict[str, Any]:
    """Attack the model in ``model_dir`` with ``setting`` and write ``out_path`` (+ ``.npz``); returns the result.

    One setting in one process (``newlogic attack``); ``newlogic.runner`` runs all of a
    model's settings in one. See ``attack_setting``.
    """
    torch_device = resolve_device(device)
    target = load_model(model_dir, torch_device)
    surrogate = None if surrogate_dir is None else load_model(surrogate_dir, torch_device)
    test = lazy_shuffled_test(target.trained, data_dir, seed, torch_device)
    return attack_setting(target, setting, out_path, test=test, limit=limit, batch_size=batch_size, seed=seed,
                          surrogate=surrogate)


def attack_setting(
    loaded: LoadedModel, setting: dict[str, Any], out_path: Path, *, test: Callable[[], ShuffledTest],
    limit: int | None, batch_size: int | None, seed: int, surrogate: LoadedModel | None,
) -> dict[str, Any]:
    """Attack ``loaded`` with ``setting`` (``{"attack": name, <parameter>: value}``) → ``out_path`` (+ ``.npz``).

    ``test()`` is the model's test split in the order of ``seed`` (``newlogic.evaluation.shuffled``).
    An existing complete result for the same model weights, parameters, limit, batch size and
    seed is returned as it is, without recomputing (and ``test()`` is not called). A run
    that is killed resumes from its finished batches (``{setting}.partial.npz``). The result is
    held under its lock (``newlogic.store.lock``) meanwhile: a second run on it fails at once.
    """
    out_path = Path(out_path)
    planned = _plan(loaded, setting, limit=limit, batch_size=batch_size, seed=seed, surrogate=surrogate)
    existing = _up_to_date(out_path, planned.request_hash)  # without the lock: read-only results stay readable
    if existing is not None:
        return existing
    with output_lock(out_path):  # one writer per result: a second run on it fails now, naming this one
        outputs = (out_path, out_path.with_suffix(".npz"), partial_path(out_path))
        remove_stale_temporaries(out_path.parent, tuple(path.name for path in outputs))
        existing = _up_to_date(out_path, planned.request_hash)  # finished by the run that held the lock before
        if existing is not None:
            return existing
        return _attack_setting(loaded, planned, out_path, test=test, limit=limit, seed=seed)


def _up_to_date(out_path: Path, request_hash: str) -> dict[str, Any] | None:
    """The finished result of this request at ``out_path`` (reported on stderr), or None."""
    existing = _existing(out_path, request_hash)
    if existing is not None:
        print(f"{out_path.stem}: up to date ({out_path})", file=sys.stderr)
    return existing


@dataclass(frozen=True)
class PlannedAttack:
    """A setting resolved for one model: the attack, its surrogate, the request and its hash, the batch size."""

    attack: ResolvedAttack
    surrogate: LoadedModel | None
    request: dict[str, Any]
    request_hash: str
    batch_size: int


def _plan(
    loaded: LoadedModel, setting: dict[str, Any], *, limit: int | None, batch_size: int | None, seed: int,
    surrogate: LoadedModel | None,
) -> PlannedAttack:
    """Resolve ``setting`` for ``loaded``; the request hash names what a finished result must have been made for."""
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be a positive number of samples, got {limit}")
    if batch_size is not None and batch_size < 1:
        raise UserError(f"--batch-size must be positive, got {batch_size}")
    trained, model_ref = loaded.trained, loaded.ref
    attack = resolve_setting(setting, trained.dataset)
    if not attack.entry.needs_surrogate:
        surrogate = None
    elif surrogate is None:
        raise UserError(f"attack {attack.name} needs a surrogate model directory (--surrogate-dir)")
    elif surrogate.trained.dataset != trained.dataset:
        raise UserError(f"surrogate {surrogate.ref['dir']} was trained on {surrogate.trained.dataset}, "
                        f"the target on {trained.dataset}")
    surrogate_ref = None if surrogate is None else surrogate.ref
    requested_batch = batch_size or attack.params["batch_size"]
    request = {
        "schema_version": SCHEMA_VERSION, "model": model_ref["name"], "dataset": trained.dataset,
        "weights_sha256": model_ref["weights_sha256"],
        "surrogate_weights_sha256": surrogate_ref and surrogate_ref["weights_sha256"],
        "attack": attack.name, "preset": attack.preset, "parameters": attack.params,
        "limit": limit, "batch_size": requested_batch, "seed": seed,
    }
    request_hash = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
    return PlannedAttack(attack, surrogate, request, request_hash, requested_batch)


def _attack_setting(
    loaded: LoadedModel, planned: PlannedAttack, out_path: Path, *, test: Callable[[], ShuffledTest],
    limit: int | None, seed: int,
) -> dict[str, Any]:
    trained, model_ref, attack, surrogate = loaded.trained, loaded.ref, planned.attack, planned.surrogate
    surrogate_ref = None if surrogate is None else surrogate.ref
    request, request_hash, requested_batch = planned.request, planned.request_hash, planned.batch_size
    shuffled = test()
    count = min([len(shuffled)] + [cap for cap in (limit, attack.params["num_images"]) if cap is not None])
    partial = PartialResult(partial_path(out_path), request_hash)
    summary, samples = evaluate_attack(
        shuffled, count, attack, seed=seed, batch_size=requested_batch, desc=out_path.stem, partial=partial,
        surrogate=None if surrogate is None else surrogate.trained,
    )
    samples["index"] = shuffled.order[:count].numpy()
    result = {
        "schema_version": SCHEMA_VERSION,
        "complete": True,
        "setting": out_path.stem,
        "model": trained.spec.name,
        "dataset": trained.dataset,
        "output": trained.spec.output,
        "attack": attack.name,
        "attack_kind": attack.entry.kind,
        "norm": attack.norm,
        "eps": attack.eps,
        "unbounded": attack.unbounded,
        "preset": attack.preset,
        "overrides": attack.overrides,
        "parameters": attack.params,
        "base_attack": None if attack.base is None else {"attack": attack.base.name, "preset": attack.base.preset,
                                                         "parameters": attack.base.params},
        "attack_on": attack.params["attack_on"],
        "seed": seed,
        "limit": limit,
        "test_size": len(shuffled),
        "subset": count < len(shuffled),
        **summary,
        "device": str(shuffled.device),
        "samples_file": out_path.with_suffix(".npz").name,
        "model_ref": model_ref,
        "surrogate_ref": surrogate_ref,
        "request_hash": request_hash,
        "provenance": collect_provenance(request),
    }
    written = write_result(out_path, result, samples)
    partial.remove()
    return written
