"""The paper's threat model as an option: ε in normalised units, images clipped to ±``normalized_clip`` (SPEC §3).

The journal's CIFAR-10 attacks ran on normalised inputs ``z = (x − mean_c) / std_c``, with ε in
those units and the adversarial ``z`` clipped to ``[−3, 3]`` instead of the valid pixel box.
SPEC §3 calls it a flaw: ε 0.3 in z is ``0.3 · std_c`` in pixels, and ``z = ±3`` are pixels
outside [0, 1]. The project's threat model is pixels (``threat_model: pixels``, the default);
``threat_model: normalized`` reproduces the paper's, to regenerate its published columns. The
result records the setting, and its perturbation norms stay in pixel units.

How: an attack works on images in [0, 1], so it runs on ``u = (z + C) / (2C)`` (C =
``normalized_clip``), where the box ``z ∈ [−C, C]`` is ``u ∈ [0, 1]`` and every channel is scaled
alike: the target sees ``x(u) = mean_c + std_c · (2C·u − C)``. Lengths in z become lengths in u
divided by 2C (``LENGTH_PARAMETERS``: ε, step sizes, SPSA's δ and learning rate) and C&W's
constant, which weighs a squared length, is divided by (2C)² (``SQUARED_LENGTH_PARAMETERS``), so
each attack solves the problem it solves in z.
"""

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from newlogic.attacks.context import AttackContext
from newlogic.attacks.resolve import ResolvedAttack

RunFn = Callable[[nn.Module, torch.Tensor, torch.Tensor, ResolvedAttack, AttackContext], torch.Tensor]

LENGTH_PARAMETERS = ("eps", "eps_iter", "delta", "learning_rate")
SQUARED_LENGTH_PARAMETERS = ("initial_const",)


class _Box:
    """The affine map between pixels x and the attack's unit box u of ``z ∈ [−C, C]``."""

    def __init__(self, params: dict[str, Any], like: torch.Tensor) -> None:
        stats = params["normalization"]
        shape = (1, -1) + (1,) * (like.dim() - 2)
        self.mean = torch.tensor(stats["mean"], dtype=like.dtype, device=like.device).view(shape)
        self.std = torch.tensor(stats["std"], dtype=like.dtype, device=like.device).view(shape)
        self.clip = params["normalized_clip"]

    def to_unit(self, x: torch.Tensor) -> torch.Tensor:
        """``u = ((x − mean) / std + C) / (2C)``."""
        return ((x - self.mean) / self.std + self.clip) / (2 * self.clip)

    def to_pixels(self, u: torch.Tensor) -> torch.Tensor:
        """``x = mean + std · (2C·u − C)``."""
        return self.mean + self.std * (2 * self.clip * u - self.clip)


class _InPixels(nn.Module):
    """``u ↦ module(x(u))``: a pixel model seen from the unit box."""

    def __init__(self, module: nn.Module, box: _Box) -> None:
        super().__init__()
        self.module, self.box = module, box

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return self.module(self.box.to_pixels(u))


def run_normalized(run: RunFn, attack: ResolvedAttack, target: nn.Module, x: torch.Tensor, y: torch.Tensor,
                   context: AttackContext) -> torch.Tensor:
    """Run ``attack`` (its function ``run``) in the unit box of z with its lengths rescaled; return pixels
    (possibly outside [0, 1])."""
    box = _Box(attack.params, x)
    scale = 2 * box.clip
    params = dict(attack.params)
    params.update({key: params[key] / scale for key in LENGTH_PARAMETERS if params.get(key) is not None})
    params.update({key: params[key] / scale**2 for key in SQUARED_LENGTH_PARAMETERS if params.get(key) is not None})
    unit_context = replace(context, probabilities=lambda u: context.probabilities(box.to_pixels(u)))
    u_adv = run(_InPixels(target, box), box.to_unit(x), y, replace(attack, params=params), unit_context)
    return box.to_pixels(u_adv)
