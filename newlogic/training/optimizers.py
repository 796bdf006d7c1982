"""Optimisers and learning-rate schedules by name (SPEC §2), built from ``TrainOptions``.

The names are ``newlogic.training.options.OPTIMIZER_NAMES`` and ``SCHEDULE_NAMES`` (torch-free, so
planning checks a config without torch); ``keyed_by`` refuses at import a registry with other names.
"""

from collections.abc import Callable

import torch
from torch import nn
from torch.optim import lr_scheduler

from newlogic.registry import keyed_by
from newlogic.training.options import OPTIMIZER_NAMES, SCHEDULE_NAMES, TrainOptions

OPTIMIZERS: dict[str, Callable[[list[nn.Parameter], TrainOptions], torch.optim.Optimizer]] = keyed_by(OPTIMIZER_NAMES, {
    "adam": lambda params, c: torch.optim.Adam(params, lr=c.lr, amsgrad=c.amsgrad, weight_decay=c.weight_decay),
    "sgd": lambda params, c: torch.optim.SGD(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay),
}, "OPTIMIZERS")

# learning-rate schedules, stepped once per epoch
Schedule = Callable[[torch.optim.Optimizer, TrainOptions], lr_scheduler.LRScheduler]
SCHEDULES: dict[str, Schedule] = keyed_by(SCHEDULE_NAMES, {
    "none": lambda opt, c: lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0),
    "cosine": lambda opt, c: lr_scheduler.CosineAnnealingLR(opt, T_max=c.epochs, eta_min=c.schedule_min_lr),
    "step": lambda opt, c: lr_scheduler.StepLR(opt, step_size=c.schedule_step_epochs, gamma=c.schedule_gamma),
    "exponential": lambda opt, c: lr_scheduler.ExponentialLR(opt, gamma=c.schedule_gamma),
}, "SCHEDULES")
