"""Training: ``TrainConfig``, the loop, and the model directory it writes (SPEC §2, docs/architecture.md).

The whole dataset lives as tensors on the training device. Each epoch draws one permutation
from a seeded generator and slices batches from it; augmentation and negatives are batched
on the device, each image with its own random draw. Per batch::

    loss = mean_n ℓ(s_n, onehot(y_n))                     (data loss, newlogic.losses)
         + Σ w_m ℓ(s_m, 0) / max(Σ w_m, 1)                (negatives, from negatives_start_epoch)
         + max_fit(W, b)                                   (regulariser, from regularization_start_epoch)

Epoch indices start at 0, as in the journal's logs (kuangliu/pytorch-cifar style): with the
MNIST recipe, negatives join from the second epoch (index 1) and the regulariser from the
third (index 2). Positives and negatives go through the model in one forward pass, so a
ramp (ReLog strength, curvature) advances once per optimiser step.

Resumable: a checkpoint after every epoch; on SIGTERM/SIGUSR1 (what Slurm sends before
the time limit) a checkpoint of the exact position inside the epoch, then
``TrainingInterrupted`` (the CLI exits with ``RESUMABLE_EXIT_CODE``). Running again with the
same options resumes and ends with the same weights, bit for bit on the CPU, as a run that
was never interrupted.
"""

import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import lr_scheduler
from tqdm import tqdm

from newlogic.atomic import atomic_torch_save, atomic_write_json, atomic_write_text
from newlogic.augment import AUGMENTATIONS, Augmentation, augmentation
from newlogic.checkpoint import (
    RandomSource,
    StopRequest,
    load_checkpoint,
    remove_stale_temporaries,
    restore_rng,
    save_checkpoint,
    seed_everything,
    stop_on_signals,
)
from newlogic.config import from_dict, to_dict
from newlogic.data import DatasetInfo, Split, dataset_info, load_dataset
from newlogic.device import resolve_device
from newlogic.errors import UserError
from newlogic.losses import (
    DataLoss,
    MaxFitCoefficients,
    data_loss,
    max_fit_penalty,
    regularizer_coefficients,
    weighted_mean,
)
from newlogic.model_dir import CHECKPOINT_FILE, CONFIG_FILE, LOG_FILE, METRICS_FILE, SCHEMA_VERSION, WEIGHTS_FILE
from newlogic.negatives import NegativeSampler, negative_sampler
from newlogic.nn.init import INIT_METHODS, initialize
from newlogic.nn.models import ArchOptions, build_model, max_fit_parameters, ramp_state
from newlogic.outputs import predictions, rejected
from newlogic.provenance import collect_provenance, config_hash
from newlogic.recipes import recipe
from newlogic.spec import ModelSpec, parse_model_name

RESUMABLE_EXIT_CODE = 75  # EX_TEMPFAIL (sysexits.h): stopped on a signal, checkpoint saved; run again to resume
RAMP_TOLERANCE = 1e-4  # a float32 ramp summed in steps of 1/n can end a few ulps below 1
RAMP_FLAGS = {"relog_strength": "relog_ramp_unfinished", "curvature": "curvature_ramp_unfinished"}


class TrainingInterrupted(Exception):
    """Training stopped on a signal after saving a checkpoint; the same command resumes it."""


OPTIMIZERS: dict[str, Callable[[list[nn.Parameter], "TrainConfig"], torch.optim.Optimizer]] = {
    "adam": lambda params, c: torch.optim.Adam(params, lr=c.lr, amsgrad=c.amsgrad, weight_decay=c.weight_decay),
    "sgd": lambda params, c: torch.optim.SGD(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay),
}

# learning-rate schedules, stepped once per epoch
SCHEDULES: dict[str, Callable[[torch.optim.Optimizer, "TrainConfig"], lr_scheduler.LRScheduler]] = {
    "none": lambda opt, c: lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0),
    "cosine": lambda opt, c: lr_scheduler.CosineAnnealingLR(opt, T_max=c.epochs, eta_min=c.schedule_min_lr),
    "step": lambda opt, c: lr_scheduler.StepLR(opt, step_size=c.schedule_step_epochs, gamma=c.schedule_gamma),
    "exponential": lambda opt, c: lr_scheduler.ExponentialLR(opt, gamma=c.schedule_gamma),
}


@dataclass(frozen=True)
class TrainConfig:
    """Training options (SPEC §2); a dataset's recipe (``newlogic.recipes``) supplies the defaults.

    ``schedule``: ``none``; ``cosine`` (to ``schedule_min_lr`` over ``epochs``); ``step`` (×
    ``schedule_gamma`` every ``schedule_step_epochs``); ``exponential`` (× ``schedule_gamma``
    each epoch). ``grad_clip``: max gradient norm (``grad_clip_norm``-norm), None = off
    (journal: clipping to L∞ 5 silently broke training); when on, the fraction of clipped
    steps is logged. ``relog_ramp_epochs`` / ``curvature_ramp_epochs``: None = the per-step
    ``ArchOptions.relog_step`` / ``curvature_step``; else the step becomes
    ``1 / (ramp_epochs · steps_per_epoch)`` (recorded in the model directory's architecture).
    """

    epochs: int = 20
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    amsgrad: bool = False
    weight_decay: float = 0.0
    schedule: str = "none"
    schedule_step_epochs: int = 10
    schedule_gamma: float = 0.1
    schedule_min_lr: float = 0.0
    init: str = "kaiming"
    augment: str = "none"
    grad_clip: float | None = None
    grad_clip_norm: float = 2.0
    regularization_start_epoch: int = 0
    negatives_ratio: float = 1.0
    negatives_start_epoch: int = 1
    relog_ramp_epochs: float | None = None
    curvature_ramp_epochs: float | None = None
    eval_batch_size: int = 1000

    def __post_init__(self) -> None:
        choices = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES, "augment": AUGMENTATIONS, "init": INIT_METHODS}
        for key, valid in choices.items():
            if getattr(self, key) not in valid:
                raise UserError(f"unknown training.{key} {getattr(self, key)!r}; valid: {', '.join(valid)}")
        positive = ("epochs", "batch_size", "lr", "eval_batch_size", "schedule_step_epochs", "relog_ramp_epochs",
                    "curvature_ramp_epochs", "grad_clip")
        for key in positive:
            value = getattr(self, key)
            if value is not None and value <= 0:
                raise UserError(f"training.{key} must be > 0, got {value!r}")
        for key in ("momentum", "weight_decay", "negatives_ratio", "regularization_start_epoch",
                    "negatives_start_epoch", "schedule_min_lr"):
            if getattr(self, key) < 0:
                raise UserError(f"training.{key} must be >= 0, got {getattr(self, key)!r}")


@dataclass
class Run:
    """One training run: its resolved options, data on the device, model, optimiser and generators."""

    spec: ModelSpec
    info: DatasetInfo
    config: TrainConfig
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


def resolve_options(
    dataset: str, training: dict[str, Any], architecture: dict[str, Any], train_size: int
) -> tuple[TrainConfig, ArchOptions]:
    """The dataset's recipe with the overrides on top, validated; ramps in epochs turned into per-step sizes."""
    base = recipe(dataset)
    config = from_dict(TrainConfig, {**base.training, **training}, "training")
    options = from_dict(ArchOptions, {**base.architecture, **architecture}, "architecture")
    steps = math.ceil(train_size / config.batch_size)
    ramps = {"relog_step": config.relog_ramp_epochs, "curvature_step": config.curvature_ramp_epochs}
    return config, replace(options, **{key: 1.0 / (epochs * steps) for key, epochs in ramps.items() if epochs})


def prepare_run(
    model_name: str, dataset: str, *, data_dir: Path, seed: int, device: str,
    training: dict[str, Any], architecture: dict[str, Any],
) -> Run:
    """Parse, validate, load the data onto the device, seed, build and initialise the model."""
    spec = parse_model_name(model_name, dataset)
    info = dataset_info(dataset)
    from_dict(TrainConfig, {**recipe(dataset).training, **training}, "training")  # fail before loading data
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
    with_negatives = run.negatives is not None and epoch >= config.negatives_start_epoch and count > 0
    if with_negatives:
        negatives, weights = run.negatives(images, labels, count, run.random.host, run.random.device)
        images = torch.cat([images, negatives])
    scores = run.model(images)
    positive = scores[: len(labels)]
    loss = run.loss(positive, F.one_hot(labels, positive.shape[1]).to(positive.dtype)).mean()
    if with_negatives:
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


def _save(run: Run, progress: Progress, out_dir: Path) -> None:
    save_checkpoint(
        out_dir / CHECKPOINT_FILE, run.fingerprint, run.device, run.random,
        model=run.model.state_dict(), optimizer=run.optimizer.state_dict(), scheduler=run.scheduler.state_dict(),
        epoch=progress.epoch, batch=progress.batch, permutation=progress.permutation,
        sums=progress.sums, seconds=progress.seconds, history=progress.history,
    )


def _resume(run: Run, out_dir: Path) -> Progress:
    """The progress of an earlier, interrupted run of the same config, or a fresh start."""
    path = out_dir / CHECKPOINT_FILE
    if not path.is_file():
        return Progress()
    state = load_checkpoint(path, run.fingerprint, run.device)
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    restore_rng(state["rng"], run.random)
    permutation = state["permutation"]
    return Progress(
        epoch=state["epoch"], batch=state["batch"],
        permutation=None if permutation is None else permutation.to(run.device),
        sums={key: value.to(run.device) for key, value in state["sums"].items()},
        seconds=state["seconds"], history=state["history"],
    )


def train_epoch(run: Run, progress: Progress, stop: StopRequest | None = None, bar: tqdm | None = None) -> bool:
    """Train from ``progress`` to the end of its epoch; False when a stop request came first."""
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
            if stop is not None and stop.signal_name is not None:
                return False
            index = progress.permutation[progress.batch * batch_size:(progress.batch + 1) * batch_size]
            train_step(run, run.train.images[index], run.train.labels[index], progress.epoch, progress.sums)
            progress.batch += 1
            if bar is not None:
                bar.update(1)
    finally:
        progress.seconds += time.perf_counter() - started
    return True


def _epoch_metrics(run: Run, progress: Progress) -> dict[str, Any]:
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


def log_line(metrics: dict[str, Any]) -> str:
    """The journal's per-epoch line, then ramp values and the clipped fraction when present."""
    line = (
        f"Epoch: {metrics['epoch']} Train: Loss: {metrics['train_loss']:.4f}"
        f" | Acc: {100 * metrics['train_accuracy']:.2f}%"
        f" Test eval: Loss: {metrics['test_loss']:.4f} | Acc: {100 * metrics['test_accuracy']:.2f}%"
    )
    extras = {"ReLog s": metrics.get("relog_strength"), "Curvature": metrics.get("curvature")}
    line += "".join(f" {label}: {value:.4f}" for label, value in extras.items() if value is not None)
    if "clipped_fraction" in metrics:
        line += f" Clipped: {100 * metrics['clipped_fraction']:.1f}%"
    return line


def _finished(out_dir: Path, fingerprint: str) -> dict[str, Any] | None:
    """The metrics of a finished run of this config in ``out_dir``; UserError if another config finished there."""
    path = out_dir / METRICS_FILE
    if not path.is_file():
        return None
    metrics = json.loads(path.read_text())
    if metrics.get("provenance", {}).get("config_hash") != fingerprint:
        raise UserError(
            f"{out_dir} already holds a finished training with a different config; "
            "use another --out, or delete the directory to train again"
        )
    if not (out_dir / WEIGHTS_FILE).is_file():
        raise UserError(f"{out_dir} has {METRICS_FILE} but no {WEIGHTS_FILE}; delete the directory to train again")
    return metrics


def _flags(final: dict[str, Any]) -> list[str]:
    """``relog_ramp_unfinished`` / ``curvature_ramp_unfinished`` when a ramp ended below 1."""
    return [flag for key, flag in RAMP_FLAGS.items() if final.get(key) is not None and final[key] < 1 - RAMP_TOLERANCE]


def run_training(
    model_name: str, dataset: str, out_dir: Path, *, data_dir: Path, seed: int, device: str,
    training: dict[str, Any], architecture: dict[str, Any],
) -> dict[str, Any]:
    """Train ``model_name`` on ``dataset`` into the model directory ``out_dir``; return its metrics.

    ``training`` / ``architecture`` override the dataset's recipe (unknown keys: UserError).
    A finished directory of the same config is left as it is; a checkpoint of the same config
    is resumed; a checkpoint or finished run of another config is a UserError. Raises
    ``TrainingInterrupted`` after saving a checkpoint when SIGTERM or SIGUSR1 arrives.
    """
    out_dir = Path(out_dir)
    with stop_on_signals() as stop:
        run = prepare_run(model_name, dataset, data_dir=data_dir, seed=seed, device=device,
                          training=training, architecture=architecture)
        done = _finished(out_dir, run.fingerprint)
        if done is not None:
            print(f"newlogic train: {out_dir} is already trained with this config; nothing to do", file=sys.stderr)
            return done
        out_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(out_dir, (CHECKPOINT_FILE, LOG_FILE, CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE))
        progress = _resume(run, out_dir)
        atomic_write_json(out_dir / CONFIG_FILE, {**run.record, "provenance": collect_provenance(run.record)})
        _train_epochs(run, progress, out_dir, stop)
        return _finish(run, progress, out_dir)


def _train_epochs(run: Run, progress: Progress, out_dir: Path, stop: StopRequest) -> None:
    total = run.config.epochs * run.steps_per_epoch
    done = progress.epoch * run.steps_per_epoch + progress.batch
    with tqdm(total=total, initial=done, unit="batch", disable=not sys.stderr.isatty(), file=sys.stderr) as bar:
        while progress.epoch < run.config.epochs:
            bar.set_description(f"epoch {progress.epoch}")
            finished = train_epoch(run, progress, stop, bar)
            if finished:
                progress.history.append(_epoch_metrics(run, progress))
                line = log_line(progress.history[-1])
                atomic_write_text(out_dir / LOG_FILE, "".join(log_line(m) + "\n" for m in progress.history))
                bar.write(line, file=sys.stdout)
                run.scheduler.step()
                progress.epoch, progress.batch, progress.permutation = progress.epoch + 1, 0, None
            _save(run, progress, out_dir)
            if stop.signal_name is not None:
                raise TrainingInterrupted(
                    f"stopped by {stop.signal_name} at epoch {progress.epoch}, batch {progress.batch}; checkpoint "
                    f"saved in {out_dir / CHECKPOINT_FILE}: run the same command again to resume"
                )


def _finish(run: Run, progress: Progress, out_dir: Path) -> dict[str, Any]:
    """Write ``model.pt``, then ``metrics.json`` (last: its presence means finished), drop the checkpoint."""
    atomic_torch_save(run.model.state_dict(), out_dir / WEIGHTS_FILE)
    final = progress.history[-1]
    metrics = {
        "schema_version": SCHEMA_VERSION, "epochs": progress.history, "final": final, "flags": _flags(final),
        "training_seconds": sum(m["seconds"] for m in progress.history), "provenance": collect_provenance(run.record),
    }
    atomic_write_json(out_dir / METRICS_FILE, metrics)
    (out_dir / CHECKPOINT_FILE).unlink(missing_ok=True)
    return metrics
