"""Surrogate gradients for adaptive attacks (issues 21, 32; Athalye et al. 2018, BPDA; Tramèr et al. 2020).

A layer whose exact gradient hides the model's behaviour from a gradient attack (the hard min/max
of ``Fold`` sends the whole gradient to one branch; a rectifier's flat region has none; a curved
unit's gradient vanishes at its centre; a saturated sigmoid's is 0) can offer a surrogate for its
backward pass: it derives from ``SmoothBackward`` and, while its ``surrogate_temperature`` τ is a
number rather than None, keeps its forward exactly as it is and returns the surrogate's gradient:

- ``Fold``: of ``τ·logsumexp(·/τ)`` in place of max and ``−τ·logsumexp(−·/τ)`` in place of min;
- the rectifier inside ReLU and ReLog (``rectify``): of softplus ``τ·ln(1 + e^{x/τ})``, whose
  gradient ``σ(x/τ)`` reaches into the flat region where the exact one is 0;
- the curved units (``curvature_square``): of the unit with its curvature flattened to
  ``λ(τ)·a``, ``λ(τ) = 1/(1 + τ)``: ``∂z/∂x = W − λ(τ)·2a·K∗x`` in place of ``W − 2a·K∗x``. The
  exact gradient ``−2a·K∗(x − c)`` vanishes at the unit's centre c; the surrogate's is
  ``(1 − λ)·W = τ/(1 + τ)·W`` there, the linear part's direction (the flattened bump's centre
  moves to ``c/λ``);
- the output's probabilities (``straight_through``): the identity, so a loss on ``σ(s)`` or
  ``softmax(s)`` (``attack_on: probs``) is differentiated as the same loss on the scores s, whose
  gradient a saturated output does not zero (σ and softmax are monotone: the margin's sign is
  the same).

τ → 0 gives the exact gradients back (the output's identity excepted: it does not depend on τ).
Each component's rule is an entry of a registry beside its implementation (``SURROGATES`` in
``newlogic.nn.units``, ``newlogic.nn.activations``, ``newlogic.nn.folding``, ``newlogic.nn.outputs``;
``TRAINING_ONLY`` and ``EXACT_LAYERS`` here): a ``SurrogateEntry`` says what the surrogate is, or
why the exact gradient is the one to follow (``tests/test_surrogates.py`` fails on a grammar
component or a built layer without one).

``surrogate_gradients(model, τ)`` switches every such layer of ``model`` into this mode for the
duration of a ``with`` block and restores each layer's previous value afterwards; τ is a plain
attribute, never a parameter or buffer, so the model's ``state_dict`` does not change
(``newlogic.evaluation.target.ModelGuard``), and the forward pass, and with it every prediction,
stays bit-identical. The attack anneals τ through the returned ``SurrogateMode``.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class SurrogateEntry:
    """What the adaptive attack differentiates for one component: ``surrogate``, the formula of its
    backward in surrogate mode, or ``none_needed``, why its exact gradient already shows the attack the
    way (exactly one of the two is given)."""

    surrogate: str = ""
    none_needed: str = ""

    def __post_init__(self) -> None:
        if bool(self.surrogate) == bool(self.none_needed):
            raise ValueError("a SurrogateEntry gives either a surrogate or the reason none is needed, not both")


def smooth(formula: str) -> SurrogateEntry:
    """An entry whose backward in surrogate mode is ``formula``."""
    return SurrogateEntry(surrogate=formula)


def exact(reason: str) -> SurrogateEntry:
    """An entry that needs no surrogate, for ``reason``."""
    return SurrogateEntry(none_needed=reason)


_OBJECTIVE_ONLY = ("training-only: it shapes the training objective; the model's forward at attack time "
                   "does not read it, and the attack ascends its own loss on the scores")

# the grammar's token kinds (newlogic.spec.TOKENS) that never enter the forward pass
TRAINING_ONLY: dict[str, SurrogateEntry] = {
    "loss": exact(_OBJECTIVE_ONLY + " (ce, mse, bce)"),
    "regulariser": exact(_OBJECTIVE_ONLY + " (max_fit_l1, max_fit_l2: a penalty on W, V and b; max_margin)"),
    "negatives": exact(_OBJECTIVE_ONLY + " (scrambled or overlaid images with all-zero targets)"),
}

# the builders' layers that are no grammar component of their own (newlogic.nn.models), by class name
EXACT_LAYERS: dict[str, SurrogateEntry] = {
    "Sequential": exact("a container: its children have their own entries"),
    "Flatten": exact("a reshape: the gradient passes unchanged"),
    "Normalize": exact("affine (x − mean)/std: the gradient is 1/std, never 0"),
    "Conv2d": exact("a plain conv (VGG layers before modification_start_layer): linear, ∂z/∂x = W"),
    "BatchNorm2d": exact("affine in eval mode (running statistics), the only mode attacks run in"),
    "MaxPool2d": exact("piecewise linear: the gradient goes whole to each window's largest input, never 0"),
}


class SmoothBackward:
    """Mixin of a layer with a surrogate backward pass, used while ``surrogate_temperature`` is not None."""

    surrogate_temperature: float | None = None


class _SmoothRectify(torch.autograd.Function):
    """``relu(x)`` forward; backward the gradient of softplus ``τ·ln(1 + e^{x/τ})``: ``σ(x/τ)`` (BPDA)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, temperature: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.temperature = temperature
        return torch.relu(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (x,) = ctx.saved_tensors
        return grad * torch.sigmoid(x / ctx.temperature), None


def rectify(x: torch.Tensor, layer: SmoothBackward) -> torch.Tensor:
    """``relu(x)``; while ``layer`` is in surrogate mode its flat region passes the softplus gradient ``σ(x/τ)``,
    so an attack sees which way a dead unit would come alive (τ → 0 gives relu's own gradient back)."""
    if layer.surrogate_temperature is None:
        return torch.relu(x)
    result: torch.Tensor = _SmoothRectify.apply(x, layer.surrogate_temperature)
    return result


def flattening(temperature: float) -> float:
    """``λ(τ) = 1/(1 + τ)``: the share of a curved unit's curvature its surrogate backward keeps (τ → 0: 1)."""
    return 1.0 / (1.0 + temperature)


class _FlattenedSquare(torch.autograd.Function):
    """``x·x`` forward (the same operation: bit-identical); backward ``λ·2x``: the square of a unit whose
    curvature is flattened to ``λ·a``."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, share: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.share = share
        return x * x

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (x,) = ctx.saved_tensors
        return grad * x * (2.0 * ctx.share), None


def curvature_square(x: torch.Tensor, layer: SmoothBackward) -> torch.Tensor:
    """``x·x``, the feature a curved unit's curvature ``a`` multiplies; while ``layer`` is in surrogate mode its
    backward is ``λ(τ)·2x``, so the unit's gradient is ``W − λ(τ)·2a·K∗x``, not 0 at the unit's centre."""
    if layer.surrogate_temperature is None:
        return x * x
    result: torch.Tensor = _FlattenedSquare.apply(x, flattening(layer.surrogate_temperature))
    return result


class _StraightThrough(torch.autograd.Function):
    """``transform(s)`` forward; backward the identity (BPDA: the transform's gradient is taken as 1)."""

    @staticmethod
    def forward(ctx: Any, scores: torch.Tensor, transform: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        return transform(scores)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad, None


def straight_through(scores: torch.Tensor, transform: Callable[[torch.Tensor], torch.Tensor],
                     layer: SmoothBackward) -> torch.Tensor:
    """``transform(scores)``; while ``layer`` is in surrogate mode its backward is the identity, so the loss on
    the probabilities is differentiated as on the scores (a saturated σ or softmax hides nothing)."""
    if layer.surrogate_temperature is None:
        return transform(scores)
    result: torch.Tensor = _StraightThrough.apply(scores, transform)
    return result


class SurrogateMode:
    """The layers of a model in surrogate-backward mode; ``temperature`` sets τ on all of them."""

    def __init__(self, layers: list[SmoothBackward]) -> None:
        self.layers = layers

    @property
    def temperature(self) -> float | None:
        return self.layers[0].surrogate_temperature if self.layers else None

    @temperature.setter
    def temperature(self, value: float) -> None:
        if not value > 0:
            raise ValueError(f"a surrogate temperature must be > 0, got {value}")
        for layer in self.layers:
            layer.surrogate_temperature = value


@contextmanager
def surrogate_gradients(model: nn.Module, temperature: float) -> Iterator[SurrogateMode]:
    """Every ``SmoothBackward`` layer of ``model`` with surrogate temperature τ inside the block, as before after."""
    layers: list[SmoothBackward] = [module for module in model.modules() if isinstance(module, SmoothBackward)]
    previous = [layer.surrogate_temperature for layer in layers]
    mode = SurrogateMode(layers)
    try:
        mode.temperature = temperature
        yield mode
    finally:
        for layer, value in zip(layers, previous, strict=True):
            layer.surrogate_temperature = value
