"""Model builders by architecture name (SPEC §3); every model maps pixels in [0,1] to scores.

A model's ``forward`` returns pre-sigmoid / pre-softmax scores of shape ``[N, classes]``;
the output transform (softmax or sigmoid, by ``ModelSpec.output``) is applied by the loss
and the evaluation, so attacks can work on the scores.
"""

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from newlogic.data import DatasetInfo
from newlogic.errors import UserError
from newlogic.nn.activations import ACTIVATIONS
from newlogic.nn.folding import Fold
from newlogic.spec import ModelSpec


@dataclass(frozen=True)
class ArchOptions:
    """Architecture options that are not part of the model name (SPEC §1–§3)."""

    arch: str = "auto"
    relog_start: float = 0.0
    relog_step: float = 0.001


def _activation(spec: ModelSpec, options: ArchOptions) -> nn.Module:
    return ACTIVATIONS[spec.activation](base=spec.relog_base, start=options.relog_start, step=options.relog_step)


def mnist_cnn(spec: ModelSpec, info: DatasetInfo, options: ArchOptions) -> nn.Module:
    """The journal's MNIST CNN (SPEC §3): two conv5×5 blocks with max-pool, then a linear layer."""
    factor = spec.fold_factor
    fold = lambda: Fold(spec.min_group, spec.max_group)  # noqa: E731
    flat = 32 * (info.height // 4) * (info.width // 4)
    return nn.Sequential(
        nn.Conv2d(info.channels, 16 * factor, 5, padding=2), fold(), _activation(spec, options), nn.MaxPool2d(2),
        nn.Conv2d(16, 32 * factor, 5, padding=2), fold(), _activation(spec, options), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(flat, info.num_classes * factor), fold(),
    )


ARCHITECTURES: dict[str, Callable[[ModelSpec, DatasetInfo, ArchOptions], nn.Module]] = {"mnist_cnn": mnist_cnn}


def build_model(spec: ModelSpec, info: DatasetInfo, options: ArchOptions) -> nn.Module:
    """Build the model named by ``spec`` for dataset ``info`` (``arch: auto``: MNIST CNN)."""
    arch = "mnist_cnn" if options.arch == "auto" else options.arch
    if arch not in ARCHITECTURES:
        raise UserError(f"unknown architecture {arch!r}; valid: auto, {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[arch](spec, info, options)
