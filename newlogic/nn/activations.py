"""Activations by name (SPEC §2): ReLU and ReLog with its ReLU→ReLog ramp."""

import math
from collections.abc import Callable

import torch
from torch import nn


class ReLog(nn.Module):
    """ReLog(n) ramped in from ReLU (SPEC §2).

    ``relog(x) = log_n(relu(x) + 1/n) + 1``: 0 for x <= 0, logarithmic above.
    Output ``y = s·relog(x) + (1 - s)·relu(x)`` with ramp strength ``s`` clipped to [0, 1];
    ``s`` starts at ``start`` and rises by ``step`` on every training forward pass. ``s`` is a
    buffer, so it is saved in the state dict.
    """

    def __init__(self, base: float = 10.0, start: float = 0.0, step: float = 0.001) -> None:
        super().__init__()
        self.base = base
        self.step = step
        self.register_buffer("strength", torch.tensor(float(start)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.strength.add_(self.step).clamp_(max=1.0)
        s = self.strength.clamp(min=0.0)
        positive = torch.relu(x)
        relog = torch.log(positive + 1.0 / self.base) / math.log(self.base) + 1.0
        return s * relog + (1.0 - s) * positive

    def extra_repr(self) -> str:
        return f"base={self.base}, step={self.step}"


ACTIVATIONS: dict[str, Callable[..., nn.Module]] = {
    "relu": lambda **_: nn.ReLU(),
    "relog": lambda base, start, step, **_: ReLog(base=base, start=start, step=step),
}
