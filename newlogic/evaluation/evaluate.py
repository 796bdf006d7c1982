"""Run one attack setting on one trained model: result JSON + per-sample ``.npz`` (SPEC §5; docs/results.md).

The test split is shuffled with the seed (``torch.randperm`` on a generator seeded with it) and
the first ``limit`` images (and at most the setting's ``num_images``) are attacked, batch by
batch. Accuracy is ``argmax(scores) == label`` on clean and on adversarial inputs; the attack
success rate counts, among the clean-correct samples, those the attack makes wrong. The model is
attacked through its scores (pre-softmax or pre-sigmoid), or through its probabilities with
``attack_on: probs`` (SPEC §2). On CUDA out-of-memory the batch is halved and retried.
"""

import hashlib
import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from newlogic.attacks import AttackContext, ResolvedAttack, Surrogate, resolve_setting
from newlogic.data import load_dataset
from newlogic.device import resolve_device
from newlogic.errors import UserError
from newlogic.nn.outputs import OUTPUTS
from newlogic.report.stats import sample_std, wilson_interval
from newlogic.store.atomic import atomic_write, atomic_write_json
from newlogic.store.model_dir import WEIGHTS_FILE, TrainedModel, load_trained_model
from newlogic.store.provenance import collect_provenance

SCHEMA_VERSION = 1
BOUND_TOLERANCE = 1e-6
L0_THRESHOLD = 1 / 512  # a pixel counts as changed above half a grey level [project]
NORMS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "linf": lambda delta: delta.abs().amax(dim=1),
    "l2": lambda delta: delta.norm(dim=1),
}


class AttackTarget(nn.Module):
    """What an attack differentiates: the model's scores, or ``probabilities(scores)`` for ``attack_on: probs``."""

    def __init__(self, model: nn.Module, transform: Callable[[torch.Tensor], torch.Tensor] | None) -> None:
        super().__init__()
        self.model = model
        self.transform = transform

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.model(x)
        return scores if self.transform is None else self.transform(scores)


def attack_target(model: nn.Module, output: str, attack_on: str) -> AttackTarget:
    """The target of an attack on ``model`` (``output``: softmax or sigmoid) through ``attack_on``."""
    return AttackTarget(model, OUTPUTS[output][0] if attack_on == "probs" else None)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _check_bounds(attack: ResolvedAttack, adv: torch.Tensor, norms: dict[str, torch.Tensor]) -> None:
    """An attack must return images in [0, 1] and within its ε-ball (a broken bound is a bug, not a result).

    ``norms`` holds the per-sample perturbation norms, by ``NORMS`` key.
    """
    low, high = float(adv.min()), float(adv.max())
    if low < -BOUND_TOLERANCE or high > 1 + BOUND_TOLERANCE:
        raise RuntimeError(f"attack {attack.name} returned pixels in [{low}, {high}], outside [0, 1]")
    if attack.eps is not None and attack.norm in norms:
        size = float(norms[attack.norm].max())
        if size > attack.eps * (1 + BOUND_TOLERANCE) + BOUND_TOLERANCE:
            raise RuntimeError(f"attack {attack.name}: a perturbation of {attack.norm} norm {size} > eps {attack.eps}")


def _attack_batch(model: nn.Module, output: str, attack: ResolvedAttack, target: nn.Module, context: AttackContext,
                  x: torch.Tensor, y: torch.Tensor) -> dict[str, np.ndarray | float]:
    """Clean and adversarial predictions, norms and confidences of one batch, and the attack's seconds."""
    probabilities, is_rejected = OUTPUTS[output]
    with torch.no_grad():
        clean_scores = model(x)
    _sync(x.device)
    start = time.perf_counter()
    adv = attack.run(target, x, y, context).detach()
    _sync(x.device)
    seconds = time.perf_counter() - start
    delta = (adv - x).flatten(1)
    norms = {name: norm(delta) for name, norm in NORMS.items()}
    _check_bounds(attack, adv, norms)
    with torch.no_grad():
        adv_scores = model(adv)
    record: dict[str, np.ndarray | float] = {
        "label": y,
        "clean_pred": clean_scores.argmax(dim=1),
        "adv_pred": adv_scores.argmax(dim=1),
        "l2": norms["l2"],
        "linf": norms["linf"],
        "l0": (delta.abs() > L0_THRESHOLD).sum(dim=1),
        "clean_confidence": probabilities(clean_scores).amax(dim=1),
        "adv_confidence": probabilities(adv_scores).amax(dim=1),
    }
    if output == "sigmoid":
        record["clean_rejected"] = is_rejected(clean_scores)
        record["adv_rejected"] = is_rejected(adv_scores)
    record = {key: value.cpu().numpy() for key, value in record.items()}
    record["seconds"] = seconds
    return record


def _run_batches(attack_one: Callable[[int, int], dict[str, Any]], count: int, batch_size: int, desc: str,
                 device: torch.device) -> tuple[list[dict[str, Any]], int]:
    """Attack ``[0, count)`` in batches with a progress bar; halve the batch on CUDA out-of-memory."""
    records = []
    start = 0
    with tqdm(total=count, desc=desc, unit="img", disable=not sys.stderr.isatty(), file=sys.stderr) as progress:
        while start < count:
            stop = min(start + batch_size, count)
            try:
                records.append(attack_one(start, stop))
            except torch.cuda.OutOfMemoryError:
                if batch_size == 1:
                    raise
                out_of_memory = True
            else:
                out_of_memory = False
            if out_of_memory:  # outside the except block, so that the failed batch's tensors can be freed
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                warnings.warn(f"{desc}: out of GPU memory at batch size {batch_size}; retrying with {batch_size // 2}",
                              stacklevel=2)
                batch_size //= 2
                continue
            progress.update(stop - start)
            start = stop
    return records, batch_size


def _num_classes(model: nn.Module, images: torch.Tensor, device: torch.device) -> int:
    """The number of classes: the width of the model's scores on one image."""
    with torch.no_grad():
        return int(model(images[:1].to(device)).shape[1])


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if len(values) else None


def evaluate_attack(
    model: nn.Module, output: str, images: torch.Tensor, labels: torch.Tensor, attack: ResolvedAttack, *,
    device: torch.device, seed: int, batch_size: int, surrogate: TrainedModel | None = None,
    desc: str = "attack",
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Attack ``images``/``labels`` (already ordered and cut) → (summary fields, per-sample arrays).

    ``model`` maps pixels to scores, ``output`` is ``softmax`` or ``sigmoid``; the global RNG is
    seeded with ``seed`` (random starts, SPSA directions, JSMA targets). ``batch_size`` is the
    batch size asked for (already resolved: ``--batch-size``, else the setting's ``batch_size``).
    """
    model.requires_grad_(False)
    torch.manual_seed(seed)
    params = attack.params
    target = attack_target(model, output, params["attack_on"])
    context = AttackContext(
        num_classes=_num_classes(model, images, device),
        probabilities=lambda x: OUTPUTS[output][0](model(x)),
        seed=seed,
        surrogate=None if surrogate is None else Surrogate(
            attack_target(surrogate.model.requires_grad_(False), surrogate.spec.output, params["attack_on"]),
            lambda x: OUTPUTS[surrogate.spec.output][0](surrogate.model(x))),
    )

    def attack_one(start: int, stop: int) -> dict[str, Any]:
        return _attack_batch(model, output, attack, target, context, images[start:stop].to(device),
                             labels[start:stop].to(device))

    records, used = _run_batches(attack_one, len(labels), batch_size, desc, device)
    samples = {key: np.concatenate([r[key] for r in records]) for key in records[0] if key != "seconds"}
    samples["batch"] = np.concatenate([np.full(len(r["label"]), i) for i, r in enumerate(records)])
    samples["clean_correct"] = samples["clean_pred"] == samples["label"]
    samples["adv_correct"] = samples["adv_pred"] == samples["label"]
    return _summary(samples, records, output, batch_size, used), samples


def _summary(samples: dict[str, np.ndarray], records: list[dict[str, Any]], output: str, requested: int,
             used: int) -> dict[str, Any]:
    """The summary fields of a result (docs/results.md)."""
    count = len(samples["label"])
    clean, adv = samples["clean_correct"], samples["adv_correct"]
    success = clean & ~adv
    adv_wrong = ~adv
    batch_clean = [float((r["clean_pred"] == r["label"]).mean()) for r in records]
    batch_adv = [float((r["adv_pred"] == r["label"]).mean()) for r in records]
    seconds = [r["seconds"] for r in records]
    total_seconds = float(sum(seconds))
    interval = wilson_interval(int(adv.sum()), count)
    return {
        "sample_count": count,
        "clean_accuracy": float(clean.mean()),
        "adv_accuracy": float(adv.mean()),
        "adv_accuracy_ci95": list(interval) if interval else None,
        "attack_success_rate": float(success.sum() / clean.sum()) if clean.any() else None,
        "batch_clean_accuracies": batch_clean,
        "batch_adv_accuracies": batch_adv,
        "batch_clean_accuracy_std": sample_std(batch_clean),
        "batch_adv_accuracy_std": sample_std(batch_adv),
        "l2_mean": _mean(samples["l2"][success]),
        "l2_median": _median(samples["l2"][success]),
        "linf_mean": _mean(samples["linf"][success]),
        "linf_median": _median(samples["linf"][success]),
        "clean_confidence_mean": float(samples["clean_confidence"].mean()),
        "adv_confidence_mean": float(samples["adv_confidence"].mean()),
        "adv_confidence_mean_misclassified": _mean(samples["adv_confidence"][adv_wrong]),
        "clean_rejection_rate": float(samples["clean_rejected"].mean()) if output == "sigmoid" else None,
        "adv_rejection_rate": float(samples["adv_rejected"].mean()) if output == "sigmoid" else None,
        "seconds_total": total_seconds,
        "seconds_per_batch": total_seconds / len(records),
        "images_per_second": count / total_seconds if total_seconds > 0 else None,
        "batch_size": requested,
        "batch_size_used": used,
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _model_reference(model_dir: Path, trained: TrainedModel) -> dict[str, Any]:
    """Where the model came from: its directory, weights hash, name, seed and its own provenance reference."""
    provenance = trained.record.get("provenance") or {}
    return {
        "dir": str(model_dir),
        "name": trained.spec.name,
        "seed": trained.record.get("seed"),
        "weights_sha256": _sha256(model_dir / WEIGHTS_FILE),
        "config_hash": provenance.get("config_hash"),
        "git": provenance.get("git"),
    }


def write_result(out_path: Path, result: dict[str, Any], samples: dict[str, np.ndarray]) -> None:
    """Write the per-sample ``.npz``, then the JSON (its presence with ``complete: true`` means done), atomically."""
    def save(tmp: Path) -> None:
        with tmp.open("wb") as file:
            np.savez_compressed(file, **samples)

    atomic_write(out_path.with_suffix(".npz"), save)
    atomic_write_json(out_path, result)


def _existing(out_path: Path, request_hash: str) -> dict[str, Any] | None:
    """The result already at ``out_path`` if it is complete and was made for the same request."""
    if not out_path.is_file() or not out_path.with_suffix(".npz").is_file():
        return None
    try:
        result = json.loads(out_path.read_text())
    except json.JSONDecodeError:
        return None
    if result.get("complete") is True and result.get("request_hash") == request_hash:
        return result
    return None


def run_attack_setting(
    model_dir: Path, setting: dict[str, Any], out_path: Path, *, data_dir: Path, device: str, limit: int | None,
    batch_size: int | None, seed: int, surrogate_dir: Path | None,
) -> dict[str, Any]:
    """Attack the model in ``model_dir`` with ``setting`` and write ``out_path`` (+ ``.npz``); returns the result.

    An existing complete result for the same model weights, parameters, limit, batch size and
    seed is returned as it is, without recomputing.
    """
    model_dir, out_path = Path(model_dir), Path(out_path)
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be a positive number of samples, got {limit}")
    if batch_size is not None and batch_size < 1:
        raise UserError(f"--batch-size must be positive, got {batch_size}")
    torch_device = resolve_device(device)
    trained = load_trained_model(model_dir, torch_device)
    attack = resolve_setting(setting, trained.dataset)
    surrogate = None
    if attack.spec.kind == "transfer":
        if surrogate_dir is None:
            raise UserError("attack transfer needs a surrogate model directory (--surrogate-dir)")
        surrogate = load_trained_model(surrogate_dir, torch_device)
        if surrogate.dataset != trained.dataset:
            raise UserError(f"surrogate {surrogate_dir} was trained on {surrogate.dataset}, "
                            f"the target on {trained.dataset}")
    model_ref = _model_reference(model_dir, trained)
    surrogate_ref = None if surrogate is None else _model_reference(Path(surrogate_dir), surrogate)
    requested_batch = batch_size or attack.params["batch_size"]
    request = {
        "schema_version": SCHEMA_VERSION, "model": model_ref["name"], "dataset": trained.dataset,
        "weights_sha256": model_ref["weights_sha256"],
        "surrogate_weights_sha256": surrogate_ref and surrogate_ref["weights_sha256"],
        "attack": attack.name, "preset": attack.preset, "parameters": attack.params,
        "limit": limit, "batch_size": requested_batch, "seed": seed,
    }
    request_hash = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
    existing = _existing(out_path, request_hash)
    if existing is not None:
        return existing

    test = load_dataset(trained.dataset, data_dir)[1]
    order = torch.randperm(len(test.labels), generator=torch.Generator().manual_seed(seed))
    caps = [cap for cap in (limit, attack.params["num_images"]) if cap is not None]
    order = order[: min(caps)] if caps else order
    summary, samples = evaluate_attack(
        trained.model, trained.spec.output, test.images[order], test.labels[order], attack,
        device=torch_device, seed=seed, batch_size=requested_batch, surrogate=surrogate, desc=out_path.stem,
    )
    samples["index"] = order.numpy()
    result = {
        "schema_version": SCHEMA_VERSION,
        "complete": True,
        "setting": out_path.stem,
        "model": trained.spec.name,
        "dataset": trained.dataset,
        "output": trained.spec.output,
        "attack": attack.name,
        "attack_kind": attack.spec.kind,
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
        "test_size": len(test.labels),
        "subset": len(order) < len(test.labels),
        **summary,
        "device": str(torch_device),
        "samples_file": out_path.with_suffix(".npz").name,
        "model_ref": model_ref,
        "surrogate_ref": surrogate_ref,
        "request_hash": request_hash,
        "provenance": collect_provenance(request),
    }
    write_result(out_path, result, samples)
    return result
