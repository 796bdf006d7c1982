"""Surrogate gradients for adaptive attacks (issue 21; Athalye et al. 2018, BPDA; Tramèr et al. 2020).

A layer whose exact gradient hides the model's behaviour from a gradient attack (the hard min/max
of ``Fold`` sends the whole gradient to one branch; a quantiser has none) can offer a smooth
surrogate for its backward pass: it derives from ``SmoothBackward`` and, while its
``surrogate_temperature`` τ is a number rather than None, keeps its forward exactly as it is and
returns the surrogate's gradient (for ``Fold``: of ``τ·logsumexp(·/τ)`` in place of max and
``−τ·logsumexp(−·/τ)`` in place of min; for the rectifier inside ReLU and ReLog, ``rectify``: of
softplus ``τ·ln(1 + e^{x/τ})``, whose gradient ``σ(x/τ)`` reaches into the flat region where the
exact one is 0; τ → 0 gives the hard layers' gradients back).

``surrogate_gradients(model, τ)`` switches every such layer of ``model`` into this mode for the
duration of a ``with`` block and restores each layer's previous value afterwards; τ is a plain
attribute, never a parameter or buffer, so the model's ``state_dict`` does not change
(``newlogic.evaluation.target.ModelGuard``), and the forward pass, and with it every prediction,
stays bit-identical. The attack anneals τ through the returned ``SurrogateMode``.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn


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
