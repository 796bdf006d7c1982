"""Per-dataset training recipes (SPEC §2–§3): the defaults a config's overrides apply on top of.

``training`` keys are ``newlogic.training.options.TrainOptions`` fields, ``architecture`` keys are
``newlogic.nn.models.ArchOptions`` fields; ``run_training`` merges a config's overrides over
these and validates the result.

- **mnist** (journal): Adam with AMSGrad, lr 1e-3, batch 64, 20 epochs, the MNIST
  augmentation, regularisation from epoch 2, curvature step 1e-3 per training forward.
- **cifar10** (journal, 29 Oct ablation): plain SGD lr 0.01 (no momentum: Adam broke
  ReLog training), batch 128, 40 epochs, crop + flip, VGG16 with BatchNorm (momentum 0.01),
  modified layers from cfg index 12 (the last four convs), curvature step 1e-4,
  regularisation from epoch 10.
- **digits** [project]: the MNIST recipe with ramps given in epochs. Per training step
  the journal's ReLog ramp (1e-3) never finishes on digits (23 batches an epoch: 20 epochs
  reach s ≈ 0.46, SPEC §2), nor does the curvature ramp; here both finish after 5 of the
  20 epochs, so ReLog and the curvature are fully on for the last three quarters.
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
}

RECIPES: dict[str, Recipe] = {
    "mnist": Recipe(training=_MNIST_TRAINING, architecture={"curvature_step": 1e-3}),
    "cifar10": Recipe(
        training={
            "epochs": 40, "batch_size": 128, "optimizer": "sgd", "lr": 0.01, "momentum": 0.0,
            "augment": "cifar10", "regularization_start_epoch": 10,
        },
        architecture={
            "arch": "vgg16", "batchnorm": True, "bn_momentum": 0.01, "modification_start_layer": 12,
            "curvature_step": 1e-4,
        },
    ),
    "digits": Recipe(
        training={**_MNIST_TRAINING, "relog_ramp_epochs": 5.0, "curvature_ramp_epochs": 5.0},
        architecture={"curvature_step": 1e-3},
    ),
}


def recipe(dataset: str) -> Recipe:
    """The recipe of ``dataset``."""
    if dataset not in RECIPES:
        raise UserError(f"no training recipe for dataset {dataset!r}; valid: {', '.join(RECIPES)}")
    return RECIPES[dataset]
