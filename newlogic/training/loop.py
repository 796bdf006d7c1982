"""The training loop: one run's state, the optimiser step, epochs and their metrics (SPEC §2).

The whole dataset lives as tensors on the training device. Each epoch draws one permutation
from a seeded generator and slices batches from it; augmentation and negatives are batched
on the device, each image with its own random draw. Per batch::

    loss = mean_n ℓ(s_n, onehot(y_n))                     (data loss, newlogic.training.losses)
         + Σ w_m ℓ(s_m, 0) / max(Σ w_m, 1)                (negatives, from negatives_start_epoch)
         + max_fit(W, b)                                   (regulariser, from regularization_start_epoch)

Epoch indices start at 0, as in the journal's logs (kuangliu/pytorch-cifar style): with the
MNIST recipe, negatives join from the second epoch (index 1) and the regulariser from the
third (index 2). Positives and negatives go through the model in one forward pass, so a
ramp (ReLog strength, curvature) advances once per optimiser step.

"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import lr_scheduler

from newlogic.data import Split, load_dataset
from newlogic.datasets import DatasetInfo, dataset_info
from newlogic.device import resolve_device
from newlogic.nn.init import initialize
from newlogic.nn.models import ArchOptions, build_model, max_fit_parameters, ramp_state
from newlogic.nn.outputs import predictions, rejected
from newlogic.options import from_dict, to_dict
from newlogic.progress_log import ProgressBar
from newlogic.spec import ModelSpec, parse_model_name
from newlogic.store.model_dir import SCHEMA_VERSION
from newlogic.store.provenance import config_hash
from newlogic.training.augment import Augmentation, augmentation
from newlogic.training.checkpoint import (
    RandomSource,
    StopRequest,
    seed_everything,
)
from newlogic.training.losses import (
    DataLoss,
    MaxFitCoefficients,
    data_loss,
    max_fit_penalty,
    regularizer_coefficients,
    weighted_mean,
)
from newlogic.training.negatives import NegativeSampler, negative_sampler
from newlogic.training.optimizers import OPTIMIZERS, SCHEDULES
from newlogic.training.options import TrainOptions, resolve_options
from newlogic.training.recipes import recipe


@dataclass
class Run:
    """One training run: its resolved options, data on the device, model, optimiser and generators."""

    spec: ModelSpec
    info: DatasetInfo
    config: TrainOptions
    options: ArchOptions
    device: torch.device
    train: Split
    test: Split
    record: dict[str, Any]
    fingerprint: str
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: lr_scheduler.LRScheduler
    random: RandomSource
    augment: Augmentation
    negatives: NegativeSampler | None
    loss: DataLoss
    regularizer: MaxFitCoefficients | None
    max_fit: tuple[list[torch.Tensor], list[torch.Tensor]]

    @property
    def steps_per_epoch(self) -> int:
        """Batches per epoch (the last one may be smaller)."""
        return math.ceil(len(self.train.labels) / self.config.batch_size)


@dataclass
class Progress:
    """Where training stands: the next (epoch, batch), the epoch's permutation and running sums, the history."""

    epoch: int = 0
    batch: int = 0
    permutation: torch.Tensor | None = None
    sums: dict[str, torch.Tensor] = field(default_factory=dict)
    seconds: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)


def prepare_run(
    model_name: str, dataset: str, *, data_dir: Path, seed: int, device: str,
    training: dict[str, Any], architecture: dict[str, Any],
) -> Run:
    """Parse, validate, load the data onto the device, seed, build and initialise the model."""
    spec = parse_model_name(model_name, dataset)
    info = dataset_info(dataset)
    from_dict(TrainOptions, {**recipe(dataset).training, **training}, "training")  # fail before loading data
    from_dict(ArchOptions, {**recipe(dataset).architecture, **architecture}, "architecture")
    torch_device = resolve_device(device)
    train, test = load_dataset(dataset, data_dir)
    config, options = resolve_options(dataset, training, architecture, len(train.labels))
    record = {
        "schema_version": SCHEMA_VERSION, "model": spec.to_dict(), "dataset": dataset, "seed": seed,
        "training": to_dict(config), "architecture": to_dict(options),
    }
    negatives = negative_sampler(spec.negatives, info.height, info.width) if spec.negatives else None
    seed_everything(seed)
    model = build_model(spec, info, options).to(torch_device)
    random_source = RandomSource.seeded(seed, torch_device)
    train = Split(train.images.to(torch_device), train.labels.to(torch_device))
    test = Split(test.images.to(torch_device), test.labels.to(torch_device))
    sample = train.images[torch.randperm(len(train.labels), generator=random_source.host)[: config.batch_size]]
    model.eval()
    initialize(model, config.init, sample)
    model.train()
    optimizer = OPTIMIZERS[config.optimizer](list(model.parameters()), config)
    return Run(
        spec=spec, info=info, config=config, options=options, device=torch_device, train=train, test=test,
        record=record, fingerprint=config_hash(record), model=model, optimizer=optimizer,
        scheduler=SCHEDULES[config.schedule](optimizer, config), random=random_source,
        augment=augmentation(config.augment), negatives=negatives, loss=data_loss(spec),
        regularizer=regularizer_coefficients(spec), max_fit=max_fit_parameters(model),
    )


SUM_KEYS = ("loss", "regularization", "correct", "seen", "clipped")


def zero_sums(device: torch.device) -> dict[str, torch.Tensor]:
    """Running sums of an epoch (on the device, so adding to them never waits for it)."""
    return {key: torch.zeros((), device=device) for key in SUM_KEYS}


def train_step(run: Run, images: torch.Tensor, labels: torch.Tensor, epoch: int, sums: dict[str, torch.Tensor]) -> None:
    """One optimiser step on a batch; adds its loss, correct count, … to ``sums`` (no host sync)."""
    config = run.config
    images = run.augment(images, run.random.host, run.random.device)
    count = round(config.negatives_ratio * len(labels))
    sampler = run.negatives if epoch >= config.negatives_start_epoch and count > 0 else None  # None: no negatives
    if sampler is not None:
        negatives, weights = sampler(images, labels, count, run.random.host, run.random.device)
        images = torch.cat([images, negatives])
    scores = run.model(images)
    positive = scores[: len(labels)]
    loss = run.loss(positive, F.one_hot(labels, positive.shape[1]).to(positive.dtype)).mean()
    if sampler is not None:
        negative = scores[len(labels):]
        loss = loss + weighted_mean(run.loss(negative, torch.zeros_like(negative)), weights)
    if run.regularizer is not None and epoch >= config.regularization_start_epoch:
        penalty = max_fit_penalty(*run.max_fit, run.regularizer)
        loss = loss + penalty
        sums["regularization"] += penalty.detach()
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if config.grad_clip is not None:
        norm = nn.utils.clip_grad_norm_(run.model.parameters(), config.grad_clip, norm_type=config.grad_clip_norm)
        sums["clipped"] += norm > config.grad_clip
    run.optimizer.step()
    sums["loss"] += loss.detach()
    sums["correct"] += (predictions(positive) == labels).sum()
    sums["seen"] += len(labels)


@torch.no_grad()
def evaluate_split(model: nn.Module, split: Split, spec: ModelSpec, batch_size: int) -> dict[str, float]:
    """Mean data loss, accuracy and rejected fraction of ``model`` (eval mode) on ``split``."""
    was_training = model.training
    model.eval()
    loss_fn = data_loss(spec)
    totals = torch.zeros(3, device=split.labels.device)
    for start in range(0, len(split.labels), batch_size):
        labels = split.labels[start:start + batch_size]
        scores = model(split.images[start:start + batch_size])
        totals[0] += loss_fn(scores, F.one_hot(labels, scores.shape[1]).to(scores.dtype)).sum()
        totals[1] += (predictions(scores) == labels).sum()
        totals[2] += rejected(scores, spec).sum()
    model.train(was_training)
    loss, correct, rejections = (totals / len(split.labels)).tolist()
    return {"loss": loss, "accuracy": correct, "rejected": rejections}


def train_epoch(
    run: Run, progress: Progress, stop: StopRequest | None = None, bar: ProgressBar | None = None,
    on_step: Callable[[Progress], None] | None = None,
) -> bool:
    """Train from ``progress`` to the end of its epoch; False when a stop request came first.

    ``on_step(progress)`` runs after every optimiser step (the TensorBoard curves' snapshots).
    """
    size, batch_size = len(run.train.labels), run.config.batch_size
    if progress.permutation is None:
        progress.permutation = torch.randperm(size, generator=run.random.host).to(run.device)
        progress.sums = zero_sums(run.device)
        progress.seconds = 0.0
    assert progress.permutation is not None
    started = time.perf_counter()
    run.model.train()
    try:
        while progress.batch < run.steps_per_epoch:
            if stop is not None and stop.reason is not None:
                return False
            index = progress.permutation[progress.batch * batch_size:(progress.batch + 1) * batch_size]
            train_step(run, run.train.images[index], run.train.labels[index], progress.epoch, progress.sums)
            progress.batch += 1
            if on_step is not None:
                on_step(progress)
            if bar is not None:
                bar.update(1)
    finally:
        progress.seconds += time.perf_counter() - started
    return True


def epoch_metrics(run: Run, progress: Progress) -> dict[str, Any]:
    started = time.perf_counter()
    test = evaluate_split(run.model, run.test, run.spec, run.config.eval_batch_size)
    sums = {key: value.item() for key, value in progress.sums.items()}
    metrics = {
        "epoch": progress.epoch,
        "train_loss": sums["loss"] / run.steps_per_epoch,
        "train_accuracy": sums["correct"] / sums["seen"],
        "train_regularization": sums["regularization"] / run.steps_per_epoch,
        "test_loss": test["loss"], "test_accuracy": test["accuracy"], "test_rejected": test["rejected"],
        "seconds": progress.seconds + time.perf_counter() - started,
        **ramp_state(run.model),
    }
    if run.config.grad_clip is not None:
        metrics["clipped_fraction"] = sums["clipped"] / run.steps_per_epoch
    return metrics


