"""Training options: ``TrainOptions`` resolved from a dataset's recipe (SPEC §2), without torch.

Each ``*_NAMES`` tuple is the one declaration of a training registry's names; the torch registry
beside its code is built from it with ``newlogic.registry.keyed_by`` (exactly these names, or an
error at import): ``OPTIMIZERS`` and ``SCHEDULES`` (``newlogic.training.optimizers``),
``AUGMENTATIONS`` (``newlogic.training.augment``), ``LOSSES`` and ``REGULARIZERS``
(``newlogic.training.losses``) and ``NEGATIVES`` (``newlogic.training.negatives``). The loss,
regulariser and negatives names are the values ``ModelSpec`` takes from the model-name grammar.
"""

import math
from dataclasses import dataclass, replace
from typing import Annotated, Any

from newlogic.errors import UserError
from newlogic.nn.options import INIT_METHOD_NAMES, ArchOptions
from newlogic.options import NON_NEGATIVE, POSITIVE, Range, check_ranges, from_dict
from newlogic.training.recipes import recipe

OPTIMIZER_NAMES: tuple[str, ...] = ("adam", "sgd")  # newlogic.training.optimizers.OPTIMIZERS
# learning-rate schedules, stepped once per epoch: newlogic.training.optimizers.SCHEDULES
SCHEDULE_NAMES: tuple[str, ...] = ("none", "cosine", "step", "exponential")
# newlogic.training.augment.AUGMENTATIONS; the journal's MNIST and CIFAR-10 augmentations are named after the
# data they were made for (a dataset entry's ``augmentation``; recorded in every model's config.json)
AUGMENTATION_NAMES: tuple[str, ...] = ("none", "mnist", "cifar10")
DATA_LOSS_NAMES: tuple[str, ...] = ("ce", "mse", "bce")  # ModelSpec.loss: newlogic.training.losses.LOSSES
# ModelSpec.regularizer: newlogic.training.losses.REGULARIZERS
REGULARIZER_NAMES: tuple[str, ...] = ("max_fit_l1", "max_fit_l2", "max_margin")
NEGATIVES_NAMES: tuple[str, ...] = ("scrambling", "overlay")  # ModelSpec.negatives: training.negatives.NEGATIVES

RAMP_FRACTION = Range(0, 1, low_open=True)  # a ramp must finish within training
# each ramp's forms: its per-step ArchOptions field, then its TrainOptions fields in epochs and as a fraction
RAMP_FORMS: dict[str, tuple[str, str, str]] = {
    "relog": ("relog_step", "relog_ramp_epochs", "relog_ramp_fraction"),
    "curvature": ("curvature_step", "curvature_ramp_epochs", "curvature_ramp_fraction"),
}


@dataclass(frozen=True)
class TrainOptions:
    """Training options (SPEC §2); a dataset's recipe (``newlogic.training.recipes``) supplies the defaults.

    ``schedule``: ``none``; ``cosine`` (to ``schedule_min_lr`` over ``epochs``); ``step`` (×
    ``schedule_gamma`` every ``schedule_step_epochs``); ``exponential`` (× ``schedule_gamma``
    each epoch). ``grad_clip``: max gradient norm (``grad_clip_norm``-norm), None = off
    (journal: clipping to L∞ 5 silently broke training); when on, the fraction of clipped
    steps is logged. Each ramp (ReLU→ReLog, curvature; SPEC §2) has three forms, see
    ``resolve_options``: per step (``ArchOptions.relog_step`` / ``curvature_step``), in epochs
    (``relog_ramp_epochs`` / ``curvature_ramp_epochs``: step ``1 / (ramp_epochs · steps_per_epoch)``)
    or as a fraction of training (``relog_ramp_fraction`` / ``curvature_ramp_fraction``: step
    ``1 / (fraction · epochs · steps_per_epoch)``); the per-step size is recorded in the model
    directory's architecture, the form given in its training.
    Ranges (``Annotated``, checked by ``newlogic.options.check_ranges``): counts, ``lr``, step sizes and
    ramps > 0; momentum, weight decay, start epochs, ratios >= 0; every number finite.
    """

    epochs: Annotated[int, POSITIVE] = 20
    batch_size: Annotated[int, POSITIVE] = 64
    optimizer: str = "adam"
    lr: Annotated[float, POSITIVE] = 1e-3
    momentum: Annotated[float, NON_NEGATIVE] = 0.0
    amsgrad: bool = False
    weight_decay: Annotated[float, NON_NEGATIVE] = 0.0
    schedule: str = "none"
    schedule_step_epochs: Annotated[int, POSITIVE] = 10
    schedule_gamma: Annotated[float, POSITIVE] = 0.1
    schedule_min_lr: Annotated[float, NON_NEGATIVE] = 0.0
    init: str = "kaiming"
    augment: str = "none"
    grad_clip: Annotated[float | None, POSITIVE] = None
    grad_clip_norm: Annotated[float, POSITIVE] = 2.0
    regularization_start_epoch: Annotated[int, NON_NEGATIVE] = 0
    negatives_ratio: Annotated[float, NON_NEGATIVE] = 1.0
    negatives_start_epoch: Annotated[int, NON_NEGATIVE] = 1
    relog_ramp_epochs: Annotated[float | None, POSITIVE] = None
    curvature_ramp_epochs: Annotated[float | None, POSITIVE] = None
    relog_ramp_fraction: Annotated[float | None, RAMP_FRACTION] = None
    curvature_ramp_fraction: Annotated[float | None, RAMP_FRACTION] = None
    eval_batch_size: Annotated[int, POSITIVE] = 1000

    def __post_init__(self) -> None:
        choices = {"optimizer": OPTIMIZER_NAMES, "schedule": SCHEDULE_NAMES, "augment": AUGMENTATION_NAMES,
                   "init": INIT_METHOD_NAMES}
        for key, valid in choices.items():
            if getattr(self, key) not in valid:
                raise UserError(f"unknown training.{key} {getattr(self, key)!r}; valid: {', '.join(valid)}")
        check_ranges(self, "training")


def _ramp_form(ramp: str, training: dict[str, Any], architecture: dict[str, Any]) -> dict[str, Any]:
    """The training keys that drop the recipe's other forms of ``ramp`` when the overrides give one form.

    A form is given when its key has a value (not None); two forms of one ramp are a UserError.
    """
    step_key, *training_keys = RAMP_FORMS[ramp]
    given = [key for key in training_keys if training.get(key) is not None]
    given += [step_key] if architecture.get(step_key) is not None else []
    if len(given) > 1:
        raise UserError(f"the {ramp} ramp is given as both {given[0]} and {given[1]}; give one of "
                        f"architecture.{step_key} (per step), training.{training_keys[0]}, training.{training_keys[1]}")
    return {key: None for key in training_keys if key not in given} if given else {}


def resolve_options(
    dataset: str, training: dict[str, Any], architecture: dict[str, Any], train_size: int
) -> tuple[TrainOptions, ArchOptions]:
    """The dataset's recipe with the overrides on top, validated; ramps turned into per-step sizes (SPEC §2).

    Each recipe states its ramps as a fraction f of training, so the dataset's size sets the
    step: ``1 / (f · epochs · steps_per_epoch)`` with ``steps_per_epoch = ⌈train_size / batch_size⌉``.
    A config may give a ramp in one other form instead: per step (``architecture.relog_step``,
    the journal's 0.001) or in epochs (step ``1 / (ramp_epochs · steps_per_epoch)``); the form the
    overrides give replaces the recipe's. A step is at most 1 (a ramp shorter than one step is full
    from the first step on).
    """
    base = recipe(dataset)
    dropped = {key: value for ramp in RAMP_FORMS for key, value in _ramp_form(ramp, training, architecture).items()}
    config = from_dict(TrainOptions, {**base.training, **dropped, **training}, "training")
    options = from_dict(ArchOptions, {**base.architecture, **architecture}, "architecture")
    steps = math.ceil(train_size / config.batch_size)
    sizes: dict[str, Any] = {}  # ArchOptions ramp-step fields (floats), for dataclasses.replace
    for step_key, epochs_key, fraction_key in RAMP_FORMS.values():
        epochs, fraction = getattr(config, epochs_key), getattr(config, fraction_key)
        if fraction is not None:
            sizes[step_key] = min(1.0, 1.0 / (fraction * config.epochs * steps))
        elif epochs is not None:
            sizes[step_key] = min(1.0, 1.0 / (epochs * steps))
    return config, replace(options, **sizes)
