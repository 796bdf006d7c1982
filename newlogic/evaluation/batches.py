"""Running one attack setting over the seed-shuffled test split, batch by batch (SPEC §5; docs/results.md).

Per batch: the attack (``newlogic.attacks.base.run_attack``) under ``ModelGuard`` (the model must
come out bit-identical and in eval mode), its bounds checked, then the clean and adversarial
predictions, norms, confidences, rejections and, for white-box attacks, the zero-gradient flags
(``newlogic.evaluation.shuffled``, measured once per chunk). The batches run in order; the
global RNG is seeded per batch (``batch_seed``), every finished batch is kept in
``{setting}.partial.npz`` (``newlogic.evaluation.partial``) so that a killed run resumes with the
same result, and on CUDA out-of-memory the batch is halved and retried.
"""

import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import nn

from newlogic.attacks import ResolvedAttack
from newlogic.attacks.base import run_attack, summarize_records
from newlogic.attacks.catalog import WHITE_BOX_KINDS
from newlogic.attacks.context import AttackContext, Surrogate
from newlogic.errors import UserError
from newlogic.evaluation.model_loading import TrainedModel
from newlogic.evaluation.partial import PartialResult, batch_seed
from newlogic.evaluation.shuffled import ShuffledTest
from newlogic.evaluation.statistics import summarize
from newlogic.evaluation.target import ModelGuard, attack_target
from newlogic.nn.outputs import OUTPUTS
from newlogic.progress_log import progress_bar

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


def attack_batch(test: ShuffledTest, attack: ResolvedAttack, target: nn.Module, context: AttackContext,
                  start: int, stop: int) -> dict[str, np.ndarray | float]:
    """Clean and adversarial predictions, norms and confidences of images ``[start, stop)``, and the attack's seconds.

    The clean scores, and for white-box attacks which samples have a zero or non-finite input
    gradient, come from ``test`` (``newlogic.evaluation.shuffled``: measured once per chunk,
    shared by every setting). The model (and a transfer's surrogate) must come out of the attack
    and of these measurements in eval mode with a bit-identical ``state_dict``
    (``newlogic.evaluation.target.ModelGuard``).
    """
    model, output = test.model, test.output
    reading = OUTPUTS[output]
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
    record: dict[str, torch.Tensor] = {
        "label": y,
        "clean_pred": clean_scores.argmax(dim=1),
        "adv_pred": adv_scores.argmax(dim=1),
        "l2": norms["l2"],
        "linf": norms["linf"],
        "l0": (delta.abs() > L0_THRESHOLD).sum(dim=1),
        "clean_confidence": reading.probabilities(clean_scores).amax(dim=1),
        "adv_confidence": reading.probabilities(adv_scores).amax(dim=1),
    }
    if reading.can_reject:
        record["clean_rejected"] = reading.rejected(clean_scores)
        record["adv_rejected"] = reading.rejected(adv_scores)
    if attack.entry.kind in WHITE_BOX_KINDS:
        record["zero_gradient"] = test.zero_gradient(attack.params["attack_on"], start, stop)
        guards[0].check("the clean measurements")
    if context.records:  # per-sample measurements of the attack (AutoAttack: attacks of the chain survived)
        record.update(context.records)
        context.records.clear()
    arrays: dict[str, np.ndarray | float] = {key: value.cpu().numpy() for key, value in record.items()}
    arrays["seconds"] = seconds
    return arrays


def run_batches(attack_one: Callable[[int, int], dict[str, Any]], count: int, batch_size: int, desc: str,
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


def evaluate_attack(
    test: ShuffledTest, count: int, attack: ResolvedAttack, *, seed: int, batch_size: int,
    surrogate: TrainedModel | None = None, desc: str = "attack", partial: PartialResult | None = None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Attack the first ``count`` images of ``test`` (the seed-shuffled split) → (summary fields, per-sample arrays).

    ``test.model`` maps pixels to scores, ``test.output`` is ``softmax`` or ``sigmoid``; before
    each batch the global RNG (random starts, SPSA directions, JSMA targets) is seeded with, and the
    context's ``seed`` (the attacks' own generators: PGD, APGD, Square, FAB) set to,
    ``batch_seed(seed, start)``, ``start`` the batch's first position, so that every batch has its own
    random numbers and a run resumed from ``partial`` equals an uninterrupted one. ``batch_size``
    is the batch size asked for (already resolved: ``--batch-size``, else the setting's ``batch_size``).
    """
    model, output = test.model.requires_grad_(False), test.output
    params = attack.params
    target = attack_target(model, output, params["attack_on"])
    context = AttackContext(
        num_classes=int(test.clean_scores(0, 1).shape[1]),
        probabilities=lambda x: OUTPUTS[output].probabilities(model(x)),
        seed=seed,
        surrogate=None if surrogate is None else Surrogate(
            attack_target(surrogate.model.requires_grad_(False), surrogate.spec.output, params["attack_on"]),
            lambda x: OUTPUTS[surrogate.spec.output].probabilities(surrogate.model(x))),
        records={},
    )

    def attack_one(start: int, stop: int) -> dict[str, Any]:
        torch.manual_seed(batch_seed(seed, start))
        return attack_batch(test, attack, target, replace(context, seed=batch_seed(seed, start)), start, stop)

    records, used = run_batches(attack_one, count, batch_size, desc, test.device, partial)
    samples = {key: np.concatenate([r[key] for r in records]) for key in records[0] if key != "seconds"}
    samples["batch"] = np.concatenate([np.full(len(r["label"]), i) for i, r in enumerate(records)])
    samples["clean_correct"] = samples["clean_pred"] == samples["label"]
    samples["adv_correct"] = samples["adv_pred"] == samples["label"]
    summary = summarize(samples, records, output, batch_size, used)
    summary.update(summarize_records(attack, samples))
    return summary, samples
