"""Ramped values (SPEC §2): the ReLU→ReLog strength s and the curvature a of curved units.

A ramped value after ``t`` training forward passes is ``v_t = min(1, start + t·step)``. It is
computed from the step count ``t`` (an int64 buffer) rather than by adding ``step`` to a float
``t`` times, so ``start = 0, step = 0.001`` reaches exactly 1 after 1,000 passes (float32
accumulation would stop at 0.99999). Both the value and the count are buffers, so they are in
the ``state_dict`` and a checkpoint resumes the ramp where it stopped.
"""

import torch
from torch import nn


def register_ramp(module: nn.Module, name: str, start: float) -> None:
    """Give ``module`` the buffers ``name`` (the value, ``start`` at t = 0) and ``name + '_steps'`` (t)."""
    module.register_buffer(name, torch.tensor(float(start)))
    module.register_buffer(f"{name}_steps", torch.tensor(0, dtype=torch.int64))


def advance_ramp(module: nn.Module, name: str, start: float, step: float) -> torch.Tensor:
    """One training forward pass: ``t += 1``, ``v = min(1, start + t·step)``; returns ``v`` (no host sync)."""
    steps: torch.Tensor = getattr(module, f"{name}_steps")
    value: torch.Tensor = getattr(module, name)
    steps.add_(1)
    value.copy_((steps.double() * step + start).clamp(max=1.0))
    return value
