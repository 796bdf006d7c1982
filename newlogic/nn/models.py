"""Model builders by architecture name (SPEC §3); every model maps pixels in [0, 1] to scores.

A model's ``forward`` returns pre-sigmoid / pre-softmax scores of shape ``[N, classes]``;
the output transform (softmax or sigmoid, by ``ModelSpec.output``) is applied by the loss
and the evaluation, so attacks can work on the scores.

Layout of every model (``nn.Sequential`` with named parts): ``normalize`` (only with
``ArchOptions.normalize``), ``features``, ``flatten``, ``classifier``. A *modified* layer is
``unit (C_in → C·F) → Fold → activation [→ Centering] [→ BatchNorm(C)]``, with the unit kind,
activation and folding F = m·k of the ``ModelSpec``; a *plain* layer (VGG convs before
``modification_start_layer``) is ``Conv2d → ReLU [→ BatchNorm]``. The classifier is always
modified: ``DenseUnit (→ classes·F) → Fold``, no activation.
"""

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol

import torch
from torch import nn

from newlogic.errors import UserError
from newlogic.nn.activations import RampedReLog, ReLU, make_activation
from newlogic.nn.folding import Fold
from newlogic.nn.options import ARCHITECTURE_NAMES, VGG_CONFIGS, ArchOptions
from newlogic.nn.units import ConvUnit, DenseUnit, Unit
from newlogic.registry import keyed_by
from newlogic.spec import ModelSpec

AUTO_ARCH_BY_SIZE = {(28, 28): "mnist_cnn", (32, 32): "vgg16"}


class InputShape(Protocol):
    """What a model needs to know of its inputs, read-only (``newlogic.datasets.DatasetInfo`` has these fields)."""

    @property
    def channels(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def width(self) -> int: ...
    @property
    def num_classes(self) -> int: ...
    @property
    def mean(self) -> tuple[float, ...]: ...
    @property
    def std(self) -> tuple[float, ...]: ...


class Normalize(nn.Module):
    """``y = (x - mean) / std`` per channel (SPEC §3: normalisation is the model's first layer)."""

    mean: torch.Tensor  # buffers [1, C, 1, 1]
    std: torch.Tensor

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class LayerFactory:
    """Modified and plain layers of one model (SPEC §2: units, folding, activation, centering, BatchNorm)."""

    def __init__(self, spec: ModelSpec, options: ArchOptions) -> None:
        self.spec = spec
        self.options = options
        self.relog = options.relog_settings(spec.relog_base)

    def fold(self) -> list[nn.Module]:
        return [Fold(self.spec.min_group, self.spec.max_group)] if self.spec.fold_factor > 1 else []

    def batchnorm(self, channels: int) -> list[nn.Module]:
        return [nn.BatchNorm2d(channels, momentum=self.options.bn_momentum)] if self.options.batchnorm else []

    def modified_conv(self, in_channels: int, channels: int, kernel_size: int, padding: int) -> list[nn.Module]:
        """``unit (in → channels·F) → Fold → activation → [BatchNorm]``."""
        unit = ConvUnit(self.spec.units, in_channels, channels * self.spec.fold_factor, kernel_size, padding=padding,
                        curvature_step=self.options.curvature_step)
        return [unit, *self.fold(), make_activation(self.spec.activation, self.relog), *self.batchnorm(channels)]

    def plain_conv(self, in_channels: int, channels: int, kernel_size: int, padding: int) -> list[nn.Module]:
        """``Conv2d → ReLU → [BatchNorm]`` (VGG layers before ``modification_start_layer``)."""
        return [nn.Conv2d(in_channels, channels, kernel_size, padding=padding), ReLU(), *self.batchnorm(channels)]

    def classifier(self, in_features: int, classes: int) -> nn.Sequential:
        """``DenseUnit (in → classes·F) → Fold``: the output layer, always modified, no activation."""
        unit = DenseUnit(self.spec.units, in_features, classes * self.spec.fold_factor,
                         curvature_step=self.options.curvature_step)
        return nn.Sequential(unit, *self.fold())


def _assemble(shape: InputShape, options: ArchOptions, features: list[nn.Module], classifier: nn.Module) -> nn.Module:
    parts: OrderedDict[str, nn.Module] = OrderedDict()
    if options.normalize:
        parts["normalize"] = Normalize(shape.mean, shape.std)
    parts["features"] = nn.Sequential(*features)
    parts["flatten"] = nn.Flatten()
    parts["classifier"] = classifier
    return nn.Sequential(parts)


def mnist_cnn(spec: ModelSpec, shape: InputShape, options: ArchOptions) -> nn.Module:
    """The journal's MNIST CNN (SPEC §3), every layer modified.

    conv5×5 pad 2 (C→16·F) fold act maxpool2; conv5×5 pad 2 (16→32·F) fold act maxpool2;
    flatten 32·(H/4)·(W/4) → linear (classes·F) fold. BatchNorm, when on, follows each activation.
    """
    if options.modification_start_layer:
        raise UserError(f"modification_start_layer = {options.modification_start_layer} applies to VGG only; "
                        "use 0 with mnist_cnn")
    layers = LayerFactory(spec, options)
    features = [
        *layers.modified_conv(shape.channels, 16, 5, padding=2), nn.MaxPool2d(2),
        *layers.modified_conv(16, 32, 5, padding=2), nn.MaxPool2d(2),
    ]
    return _assemble(shape, options, features, layers.classifier(32 * (shape.height // 4) * (shape.width // 4),
                                                                shape.num_classes))


def _vgg(cfg_name: str) -> Callable[[ModelSpec, InputShape, ArchOptions], nn.Module]:
    cfg = VGG_CONFIGS[cfg_name]

    def build(spec: ModelSpec, shape: InputShape, options: ArchOptions) -> nn.Module:
        """VGG (kuangliu/pytorch-cifar cfg, SPEC §3): 3×3 convs pad 1, 'M' = max-pool 2, linear → classes·F.

        Convs at cfg index >= ``modification_start_layer`` are modified, earlier ones plain.
        """
        start = options.modification_start_layer
        if start > len(cfg):
            raise UserError(f"modification_start_layer = {start} is past {cfg_name}'s {len(cfg)} cfg entries; "
                            f"valid: 0..{len(cfg)}")
        pools = cfg.count("M")
        height, width = shape.height >> pools, shape.width >> pools
        if height == 0 or width == 0:
            raise UserError(f"{cfg_name} needs inputs of at least {2 ** pools}×{2 ** pools}, "
                            f"got {shape.height}×{shape.width}")
        layers = LayerFactory(spec, options)
        features: list[nn.Module] = []
        in_channels = shape.channels
        for index, entry in enumerate(cfg):
            if entry == "M":
                features.append(nn.MaxPool2d(2))
                continue
            make = layers.modified_conv if index >= start else layers.plain_conv
            features += make(in_channels, int(entry), 3, padding=1)
            in_channels = int(entry)
        return _assemble(shape, options, features, layers.classifier(in_channels * height * width, shape.num_classes))

    build.__name__ = cfg_name
    return build


ARCHITECTURES: dict[str, Callable[[ModelSpec, InputShape, ArchOptions], nn.Module]] = keyed_by(ARCHITECTURE_NAMES, {
    "mnist_cnn": mnist_cnn,
    **{name: _vgg(name) for name in VGG_CONFIGS},
}, "ARCHITECTURES")


def resolve_arch(shape: InputShape, options: ArchOptions) -> str:
    """``options.arch``, with ``auto`` resolved by input size (28×28: mnist_cnn, 32×32: vgg16)."""
    if options.arch != "auto":
        return options.arch
    size = (shape.height, shape.width)
    if size not in AUTO_ARCH_BY_SIZE:
        raise UserError(f"arch 'auto' has no default for {shape.height}×{shape.width} inputs; "
                        f"set arch to one of {', '.join(ARCHITECTURES)}")
    return AUTO_ARCH_BY_SIZE[size]


def build_model(spec: ModelSpec, shape: InputShape, options: ArchOptions) -> nn.Module:
    """Build the model named by ``spec`` for dataset ``shape``: pixels in [0, 1] → scores ``[N, classes]``."""
    return ARCHITECTURES[resolve_arch(shape, options)](spec, shape, options)


def max_fit_parameters(model: nn.Module) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """(weights, biases) of every modified layer: W (and V of quadratic/elliptical units), b (SPEC §2 max_fit)."""
    weights: list[torch.Tensor] = []
    biases: list[torch.Tensor] = []
    for module in model.modules():
        if isinstance(module, Unit):
            unit_weights, unit_biases = module.fit_parameters()
            weights += unit_weights
            biases += unit_biases
    return weights, biases


def ramp_state(model: nn.Module) -> dict[str, float | None]:
    """Current ramp values: ``relog_strength`` s (may be < 0 while delayed) and ``curvature`` a; None if absent.

    Every ReLog (every curved unit) of a model sees the same training passes, so the first one
    found speaks for all. Reads buffers: one host sync each (call once per epoch, not per step).
    """
    strength = next((m.strength for m in model.modules() if isinstance(m, RampedReLog)), None)
    curvature = next((m.curvature for m in model.modules() if isinstance(m, Unit) and m.kind.curved), None)
    return {
        "relog_strength": None if strength is None else float(strength),
        "curvature": None if curvature is None else float(curvature),
    }
