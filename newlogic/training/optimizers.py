"""Optimisers and learning-rate schedules by name (SPEC §2), built from ``TrainOptions``.

The names are ``newlogic.training.options.OPTIMIZER_NAMES`` and ``SCHEDULE_NAMES`` (torch-free, so
planning checks a config without torch); ``tests/test_planning.py`` checks that these registries hold
exactly those names.
"""

from collections.abc import Callable

import torch
from torch import nn
from torch.optim import lr_scheduler

from newlogic.training.options import TrainOptions

OPTIMIZERS: dict[str, Callable[[list[nn.Parameter], TrainOptions], torch.optim.Optimizer]] = {
    "adam": lambda params, c: torch.optim.Adam(params, lr=c.lr, amsgrad=c.amsgrad, weight_decay=c.weight_decay),
    "sgd": lambda params, c: torch.optim.SGD(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay),
}

# learning-rate schedules, stepped once per epoch
SCHEDULES: dict[str, Callable[[torch.optim.Optimizer, TrainOptions], lr_scheduler.LRScheduler]] = {
    "none": lambda opt, c: lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0),
    "cosine": lambda opt, c: lr_scheduler.CosineAnnealingLR(opt, T_max=c.epochs, eta_min=c.schedule_min_lr),
    "step": lambda opt, c: lr_scheduler.StepLR(opt, step_size=c.schedule_step_epochs, gamma=c.schedule_gamma),
    "exponential": lambda opt, c: lr_scheduler.ExponentialLR(opt, gamma=c.schedule_gamma),
}
