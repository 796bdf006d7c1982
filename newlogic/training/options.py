"""Training options: ``TrainOptions``, optimisers and schedules, resolved from a dataset's recipe (SPEC §2)."""

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn
from torch.optim import lr_scheduler

from newlogic.errors import UserError
from newlogic.nn.init import INIT_METHODS
from newlogic.nn.models import ArchOptions
from newlogic.options import from_dict
from newlogic.training.augment import AUGMENTATIONS
from newlogic.training.recipes import recipe

OPTIMIZERS: dict[str, Callable[[list[nn.Parameter], "TrainOptions"], torch.optim.Optimizer]] = {
    "adam": lambda params, c: torch.optim.Adam(params, lr=c.lr, amsgrad=c.amsgrad, weight_decay=c.weight_decay),
    "sgd": lambda params, c: torch.optim.SGD(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay),
}

# learning-rate schedules, stepped once per epoch
SCHEDULES: dict[str, Callable[[torch.optim.Optimizer, "TrainOptions"], lr_scheduler.LRScheduler]] = {
    "none": lambda opt, c: lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0),
    "cosine": lambda opt, c: lr_scheduler.CosineAnnealingLR(opt, T_max=c.epochs, eta_min=c.schedule_min_lr),
    "step": lambda opt, c: lr_scheduler.StepLR(opt, step_size=c.schedule_step_epochs, gamma=c.schedule_gamma),
    "exponential": lambda opt, c: lr_scheduler.ExponentialLR(opt, gamma=c.schedule_gamma),
}


@dataclass(frozen=True)
class TrainOptions:
    """Training options (SPEC §2); a dataset's recipe (``newlogic.training.recipes``) supplies the defaults.

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


def resolve_options(
    dataset: str, training: dict[str, Any], architecture: dict[str, Any], train_size: int
) -> tuple[TrainOptions, ArchOptions]:
    """The dataset's recipe with the overrides on top, validated; ramps in epochs turned into per-step sizes."""
    base = recipe(dataset)
    config = from_dict(TrainOptions, {**base.training, **training}, "training")
    options = from_dict(ArchOptions, {**base.architecture, **architecture}, "architecture")
    steps = math.ceil(train_size / config.batch_size)
    ramps = {"relog_step": config.relog_ramp_epochs, "curvature_step": config.curvature_ramp_epochs}
    return config, replace(options, **{key: 1.0 / (epochs * steps) for key, epochs in ramps.items() if epochs})


