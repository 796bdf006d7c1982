"""Units of the modified layers (SPEC §2): linear, quadratic, elliptical, spherical; conv and dense.

Every unit computes ``z = W∗x + b + σ·a·(1 - K∗x²)`` (∗ = conv or matmul, ``x²`` elementwise):

| kind         | K                          | σ   | written out (SPEC §2)                         |
|--------------|----------------------------|-----|-----------------------------------------------|
| ``linear``   | (none)                     | 0   | ``z = W∗x + b``                               |
| ``quadratic``| ``V`` (free, W's shape)    | 1   | ``z = W∗x + b - a·(V∗x²) + a``                |
| ``elliptical``| ``|V|`` (elementwise)     | 1   | ``z = W∗x + b - a·(|V|∗x²) + a``              |
| ``spherical``| ``mean_patch`` (no weight) | 1/2 | ``z = W∗x + b - a'·mean_patch(x²) + a'``, a' = a/2 |

The curvature ``a`` ramps 0 → 1 by ``curvature_step`` per training forward pass (buffers
``curvature`` and ``curvature_steps``, see ``newlogic.nn.ramp``); linear units have no ``a``.

Channel counts: a unit maps ``C_in`` → ``C_out`` channels like a plain conv/linear layer; the
model asks for ``C_out = C·F`` when the layer is folded. Quadratic and elliptical units run
as ONE conv (or matmul) over ``concat(x, x²)`` — the input channels double, ``C_in → 2·C_in``
— with weight ``concat(W, -a·K)`` and bias ``b + a``. That is the journal's October form of the
quadratic kernel, "a conv over concat(x, x²), RGB → 6 input channels", whose free weights
``[W, U]`` and bias ``c`` are the same function family (``U = -a·V``, ``c = b + a``); here
``V`` is stored separately so the elliptical ``|V|`` and the max_fit regulariser see it, and
``a`` can ramp. Parameters: W, b and (quadratic/elliptical) V of W's shape, no second bias.
Spherical units need no second conv: ``mean_patch(x²)`` (the mean of x² over the C_in·k·k
inputs of each window, zero padding counted) is an average pool of the channel mean of x².

Adaptive attacks (``newlogic.nn.surrogate``): a curved unit's exact gradient ``−2a·K∗(x − c)``
vanishes at its centre c; in surrogate mode its backward flattens the curvature to ``λ(τ)·a``,
``λ(τ) = 1/(1 + τ)`` (the forward unchanged), so it is ``τ/(1 + τ)·W`` there. ``SURROGATES``
states each kind's rule.
"""

import math
from abc import ABCMeta, abstractmethod
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from newlogic.nn.options import UNIT_NAMES
from newlogic.nn.ramp import advance_ramp, register_ramp
from newlogic.nn.surrogate import SmoothBackward, SurrogateEntry, curvature_square, exact, smooth
from newlogic.registry import keyed_by


class UnitKind:
    """A unit family: how ``z`` is computed from ``x`` (subclasses are the entries of ``UNITS``)."""

    curved = False
    second_weight = False

    def response(self, unit: "Unit", x: torch.Tensor) -> torch.Tensor:
        """``z = W∗x + b``."""
        return unit.linear(x, unit.weight, unit.bias)


class SecondWeightKind(UnitKind):
    """``z = W∗x + b - a·(K(V)∗x²) + a`` as one conv over ``concat(x, x²)``; ``K`` = identity or ``abs``."""

    curved = True
    second_weight = True

    def __init__(self, transform: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.transform = transform

    def response(self, unit: "Unit", x: torch.Tensor) -> torch.Tensor:
        a = unit.current_curvature()
        weight = torch.cat([unit.weight, -a * self.transform(unit.second_weight)], dim=1)
        return unit.linear(torch.cat([x, curvature_square(x, unit)], dim=1), weight, unit.bias + a)


class SphericalKind(UnitKind):
    """``z = W∗x + b - a'·mean_patch(x²) + a'`` with ``a' = a/2``."""

    curved = True

    def response(self, unit: "Unit", x: torch.Tensor) -> torch.Tensor:
        half = unit.current_curvature() / 2
        return unit.linear(x, unit.weight, unit.bias + half) - half * unit.patch_mean(curvature_square(x, unit))


def _free(second_weight: torch.Tensor) -> torch.Tensor:
    return second_weight


UNITS: dict[str, UnitKind] = keyed_by(UNIT_NAMES, {
    "linear": UnitKind(),
    "quadratic": SecondWeightKind(_free),
    "elliptical": SecondWeightKind(torch.abs),
    "spherical": SphericalKind(),
}, "UNITS")

_FLATTENED = ("the curvature flattened in the backward (newlogic.nn.surrogate.curvature_square): "
              "∂z/∂x = W − λ(τ)·2{a}·{K}∗x, λ(τ) = 1/(1 + τ), in place of W − 2{a}·{K}∗x; "
              "at the unit's centre, where the exact gradient is 0, it is τ/(1 + τ)·W")

# ModelSpec.units → what the adaptive attack differentiates (newlogic.nn.surrogate)
SURROGATES: dict[str, SurrogateEntry] = keyed_by(UNIT_NAMES, {
    "linear": exact("affine: ∂z/∂x = W, the same everywhere"),
    "quadratic": smooth(_FLATTENED.format(a="a", K="V")),
    "elliptical": smooth(_FLATTENED.format(a="a", K="|V|")),
    "spherical": smooth(_FLATTENED.format(a="a'", K="mean_patch") + ", a' = a/2"),
}, "units.SURROGATES")
# the curvature ramp a (ArchOptions.curvature_step)
CURVATURE_RAMP_SURROGATE = exact("a buffer, constant at attack time (eval mode never advances it); the curvature "
                                 "it scales gets the curved units' flattened backward")


class Unit(SmoothBackward, nn.Module, metaclass=ABCMeta):
    """Mixin of ``ConvUnit``/``DenseUnit``: the unit kind, the second weight ``V`` and the curvature ramp;
    in surrogate mode the curved kinds' backward flattens the curvature (``SURROGATES``)."""

    weight: torch.Tensor  # nn.Parameter, typed as torch's Conv2d and Linear declare it
    bias: torch.Tensor  # every unit has a bias (nn.Parameter)
    curvature: torch.Tensor  # buffer: the curvature ramp a (curved kinds)
    second_weight: torch.Tensor  # nn.Parameter V (kinds with a second weight)

    def _attach(self, kind: str, curvature_step: float) -> None:
        if kind not in UNITS:
            raise ValueError(f"unknown unit kind {kind!r}; valid: {', '.join(UNITS)}")
        self.unit_kind = kind
        self.kind = UNITS[kind]
        self.curvature_step = curvature_step
        if self.kind.second_weight:
            self.second_weight = nn.Parameter(torch.empty_like(self.weight))
            self._reset_second_weight()
        if self.kind.curved:
            register_ramp(self, "curvature", 0.0)

    def _reset_second_weight(self) -> None:
        nn.init.kaiming_uniform_(self.second_weight, a=math.sqrt(5))  # PyTorch's default for conv/linear weights

    def reset_parameters(self) -> None:
        super().reset_parameters()  # type: ignore[misc]
        if getattr(self, "second_weight", None) is not None:
            self._reset_second_weight()

    def current_curvature(self) -> torch.Tensor:
        """``a`` for this forward pass: advanced first in training mode; a fresh tensor (safe for autograd)."""
        if self.training:
            advance_ramp(self, "curvature", 0.0, self.curvature_step)
        return self.curvature.clone()

    def fit_parameters(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """(weights, biases) for max_fit (SPEC §2): ``[W]`` or ``[W, V]``, and ``[b]``."""
        weights: list[torch.Tensor] = [self.weight, self.second_weight] if self.kind.second_weight else [self.weight]
        return weights, [self.bias]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.kind.response(self, x)

    @abstractmethod
    def linear(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """``W∗x + b`` with this unit's geometry."""

    @abstractmethod
    def patch_mean(self, squares: torch.Tensor) -> torch.Tensor:
        """The mean of ``squares`` over each output's receptive field (all of it for dense units)."""


class ConvUnit(Unit, nn.Conv2d):
    """A 2-d conv unit of kind ``kind`` (stride 1, zero padding ``padding``)."""

    bias: torch.Tensor  # always present: narrows _ConvNd's ``Tensor | None`` to Unit's
    padding: tuple[int, ...]  # the int ``padding`` as _ConvNd stores it (never a string here)

    def __init__(self, kind: str, in_channels: int, out_channels: int, kernel_size: int, padding: int = 0,
                 curvature_step: float = 1e-3) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=padding)
        self._attach(kind, curvature_step)

    def linear(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, weight, bias, padding=self.padding)

    def patch_mean(self, squares: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(squares.mean(dim=1, keepdim=True), self.kernel_size, stride=1, padding=self.padding,
                            count_include_pad=True)

    def extra_repr(self) -> str:
        return f"{self.unit_kind}, {super().extra_repr()}"


class DenseUnit(Unit, nn.Linear):
    """A dense unit of kind ``kind`` on ``[N, in_features]`` inputs."""

    bias: nn.Parameter  # as Linear types it (a Tensor, as Unit types it)

    def __init__(self, kind: str, in_features: int, out_features: int, curvature_step: float = 1e-3) -> None:
        super().__init__(in_features, out_features)
        self._attach(kind, curvature_step)

    def linear(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return F.linear(x, weight, bias)

    def patch_mean(self, squares: torch.Tensor) -> torch.Tensor:
        return squares.mean(dim=1, keepdim=True)

    def extra_repr(self) -> str:
        return f"{self.unit_kind}, {super().extra_repr()}"
