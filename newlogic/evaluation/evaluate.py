"""Run one attack setting on one trained model: result JSON + per-sample ``.npz`` (SPEC §5; docs/results.md).

The test split is shuffled with the seed (``torch.randperm`` on a generator seeded with it) and
the first ``limit`` images (and at most the setting's ``num_images``) are attacked, batch by
batch (``newlogic.evaluation.shuffled``, which also measures the clean scores and the zero
gradients once for all of a model's settings). Accuracy is ``argmax(scores) == label`` on clean
and on adversarial inputs; the attack success rate counts, among the clean-correct samples,
those the attack makes wrong. The model is attacked through its scores (pre-softmax or
pre-sigmoid), or through its probabilities with ``attack_on: probs`` (SPEC §2). On CUDA
out-of-memory the batch is halved and retried. Finished batches are kept in
``{setting}.partial.npz`` (``newlogic.evaluation.partial``): a killed attack resumes from its
last finished batch, with the same result as an uninterrupted run.
"""

import hashlib
import json
import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from newlogic.attacks import ResolvedAttack, resolve_setting
from newlogic.attacks.base import run_attack, summarize_records
from newlogic.attacks.catalog import WHITE_BOX_KINDS
from newlogic.attacks.context import AttackContext, Surrogate
from newlogic.device import resolve_device
from newlogic.errors import UserError
from newlogic.evaluation.partial import PartialResult, batch_seed, partial_path
from newlogic.evaluation.shuffled import ShuffledTest, lazy_shuffled_test
from newlogic.evaluation.target import ModelGuard, attack_target
from newlogic.nn.outputs import OUTPUTS
from newlogic.progress_log import progress_bar
from newlogic.report.stats import sample_std, wilson_interval
from newlogic.store.atomic import remove_stale_temporaries
from newlogic.store.lock import output_lock
from newlogic.store.model_dir import WEIGHTS_FILE, TrainedModel, load_trained_model
from newlogic.store.provenance import collect_provenance
from newlogic.store.results import SCHEMA_VERSION, read_result, sha256_file, write_result

BOUND_TOLERANCE = 1e-6
L0_THRESHOLD = 1 / 512  # a pixel counts as changed above half a grey level [project]
NORMS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "linf": lambda delta: delta.abs().amax(dim=1),
    "l2": lambda delta: delta.norm(dim=1),
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _check_bounds(attack: ResolvedAttack, adv: torch.Tensor, norms: dict[str, torch.Tensor]) -> None:
    """An attack must return images in its pixel range and within its ε-ball (a broken bound is a bug, not a result).

    ``norms`` holds the per-sample perturbation norms, by ``NORMS`` key. Non-finite pixels (NaN,
    ±inf) are a UserError: they never become a result.
    """
    if not bool(adv.isfinite().all()):
        raise UserError(f"attack {attack.name} returned non-finite pixels (NaN or inf); no result is written: "
                        "check the model (newlogic train flags diverged runs) and the attack's parameters")
    low, high = float(adv.min()), float(adv.max())
    floor, ceiling = attack.pixel_range  # [0, 1]; wider only with the paper's threat_model: normalized
    if low < floor - BOUND_TOLERANCE or high > ceiling + BOUND_TOLERANCE:
        raise RuntimeError(f"attack {attack.name} returned pixels in [{low}, {high}], outside [{floor}, {ceiling}]")
    if attack.eps is not None and attack.norm in norms:
        size = float(norms[attack.norm].max())
        if size > attack.eps * (1 + BOUND_TOLERANCE) + BOUND_TOLERANCE:
            raise RuntimeError(f"attack {attack.name}: a perturbation of {attack.norm} norm {size} > eps {attack.eps}")


def _attack_batch(test: ShuffledTest, attack: ResolvedAttack, target: nn.Module, context: AttackContext,
                  start: int, stop: int) -> dict[str, np.ndarray | float]:
    """Clean and adversarial predictions, norms and confidences of images ``[start, stop)``, and the attack's seconds.

    The clean scores, and for white-box attacks which samples have a zero or non-finite input
    gradient, come from ``test`` (``newlogic.evaluation.shuffled``: measured once per chunk,
    shared by every setting). The model (and a transfer's surrogate) must come out of the attack
    and of these measurements in eval mode with a bit-identical ``state_dict``
    (``newlogic.evaluation.target.ModelGuard``).
    """
    model, output = test.model, test.output
    probabilities, is_rejected = OUTPUTS[output]
    guards = [ModelGuard(model)] + ([] if context.surrogate is None else [ModelGuard(context.surrogate.target)])
    x, y = test.batch(start, stop)
    clean_scores = test.clean_scores(start, stop)
    _sync(x.device)
    clock = time.perf_counter()
    adv = run_attack(attack, target, x, y, context).detach()
    _sync(x.device)
    seconds = time.perf_counter() - clock
    for guard in guards:
        guard.check(f"attack {attack.name} on a batch")
    delta = (adv - x).flatten(1)
    norms = {name: norm(delta) for name, norm in NORMS.items()}
    _check_bounds(attack, adv, norms)
    with torch.no_grad():
        adv_scores = model(adv)
    if not bool(clean_scores.isfinite().all() and adv_scores.isfinite().all()):
        raise UserError(f"the model's scores under attack {attack.name} are not finite (NaN or inf); no result is "
                        "written: its weights or inputs are numerically broken, train it again")
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
    if attack.entry.kind in WHITE_BOX_KINDS:
        record["zero_gradient"] = test.zero_gradient(attack.params["attack_on"], start, stop)
        guards[0].check("the clean measurements")
    if context.records:  # per-sample measurements of the attack (AutoAttack: attacks of the chain survived)
        record.update(context.records)
        context.records.clear()
    record = {key: value.cpu().numpy() for key, value in record.items()}
    record["seconds"] = seconds
    return record


def _run_batches(attack_one: Callable[[int, int], dict[str, Any]], count: int, batch_size: int, desc: str,
                 device: torch.device, partial: PartialResult | None = None) -> tuple[list[dict[str, Any]], int]:
    """Attack ``[0, count)`` in batches; halve the batch on CUDA out-of-memory.

    With ``partial``, the batches a killed run finished are taken from it, and every finished
    batch is saved to it (``newlogic.evaluation.partial``). Progress goes to stderr
    (``newlogic.progress_log``: a bar on a terminal, else a line at most every 30 s: batch i/n,
    images per second, ETA).
    """
    records, resumed_batch_size = ([], None) if partial is None else partial.load()
    batch_size = resumed_batch_size or batch_size
    start = sum(len(record["label"]) for record in records)
    if records:
        print(f"{desc}: resuming after {len(records)} finished batches ({start}/{count} images)", file=sys.stderr)
    with progress_bar(len(records) + math.ceil((count - start) / batch_size), initial=len(records), unit="batch",
                      items_per_unit=batch_size, item="img", desc=desc) as progress:
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
                progress.total = len(records) + math.ceil((count - start) / batch_size)
                continue
            if partial is not None:
                partial.save(records, batch_size)
            progress.update(1)
            start = stop
    return records, batch_size


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if len(values) else None


def evaluate_attack(
    test: ShuffledTest, count: int, attack: ResolvedAttack, *, seed: int, batch_size: int,
    surrogate: TrainedModel | None = None, desc: str = "attack", partial: PartialResult | None = None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Attack the first ``count`` images of ``test`` (the seed-shuffled split) → (summary fields, per-sample arrays).

    ``test.model`` maps pixels to scores, ``test.output`` is ``softmax`` or ``sigmoid``; before
    each batch the global RNG (random starts, SPSA directions, JSMA targets) is seeded with
    ``batch_seed(seed, start)``, ``start`` the batch's first position, so that a run resumed
    from ``partial`` equals an uninterrupted one. ``batch_size`` is the batch size asked for
    (already resolved: ``--batch-size``, else the setting's ``batch_size``).
    """
    model, output = test.model.requires_grad_(False), test.output
    params = attack.params
    target = attack_target(model, output, params["attack_on"])
    context = AttackContext(
        num_classes=int(test.clean_scores(0, 1).shape[1]),
        probabilities=lambda x: OUTPUTS[output][0](model(x)),
        seed=seed,
        surrogate=None if surrogate is None else Surrogate(
            attack_target(surrogate.model.requires_grad_(False), surrogate.spec.output, params["attack_on"]),
            lambda x: OUTPUTS[surrogate.spec.output][0](surrogate.model(x))),
        records={},
    )

    def attack_one(start: int, stop: int) -> dict[str, Any]:
        torch.manual_seed(batch_seed(seed, start))
        return _attack_batch(test, attack, target, context, start, stop)

    records, used = _run_batches(attack_one, count, batch_size, desc, test.device, partial)
    samples = {key: np.concatenate([r[key] for r in records]) for key in records[0] if key != "seconds"}
    samples["batch"] = np.concatenate([np.full(len(r["label"]), i) for i, r in enumerate(records)])
    samples["clean_correct"] = samples["clean_pred"] == samples["label"]
    samples["adv_correct"] = samples["adv_pred"] == samples["label"]
    summary = _summary(samples, records, output, batch_size, used)
    summary.update(summarize_records(attack, samples))
    return summary, samples


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
        "zero_gradient_fraction": float(samples["zero_gradient"].mean()) if "zero_gradient" in samples else None,
        "seconds_total": total_seconds,
        "seconds_per_batch": total_seconds / len(records),
        "images_per_second": count / total_seconds if total_seconds > 0 else None,
        "batch_size": requested,
        "batch_size_used": used,
    }


def _model_reference(model_dir: Path, trained: TrainedModel) -> dict[str, Any]:
    """Where the model came from: its directory, weights hash, name, seed and its own provenance reference."""
    provenance = trained.record.get("provenance") or {}
    return {
        "dir": str(model_dir),
        "name": trained.spec.name,
        "seed": trained.record.get("seed"),
        "weights_sha256": sha256_file(model_dir / WEIGHTS_FILE),
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

    One setting in one process (``newlogic attack``); ``newlogic.evaluation.runner`` runs all of a
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
    with output_lock(out_path):  # one writer per result: a second run on it fails now, naming this one
        outputs = (out_path, out_path.with_suffix(".npz"), partial_path(out_path))
        remove_stale_temporaries(out_path.parent, tuple(path.name for path in outputs))
        return _attack_setting(loaded, setting, out_path, test=test, limit=limit, batch_size=batch_size, seed=seed,
                               surrogate=surrogate)


def _attack_setting(
    loaded: LoadedModel, setting: dict[str, Any], out_path: Path, *, test: Callable[[], ShuffledTest],
    limit: int | None, batch_size: int | None, seed: int, surrogate: LoadedModel | None,
) -> dict[str, Any]:
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
    existing = _existing(out_path, request_hash)
    if existing is not None:
        print(f"{out_path.stem}: up to date ({out_path})", file=sys.stderr)
        return existing

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
