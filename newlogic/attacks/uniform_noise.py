"""Uniform random noise at ε, the baseline every attack must beat (Carlini et al. 2019 §5; issue 10).

``x' = clip(x + u, 0, 1)`` with ``u ~ U(−ε, ε)`` per pixel, drawn from the global torch RNG (seeded
with the setting's seed). It uses neither the model nor its gradients: an attack at the same ε
that leaves no less accuracy than this noise has found nothing, which the checks flag.
"""

import torch
from torch import nn

from newlogic.attacks.catalog import CLIP_MAX, CLIP_MIN
from newlogic.attacks.context import AttackContext
from newlogic.attacks.resolve import ResolvedAttack


def uniform_noise(_target: nn.Module, x: torch.Tensor, _y: torch.Tensor, attack: ResolvedAttack,
                  _context: AttackContext) -> torch.Tensor:
    """``clip(x + U(−ε, ε))``, one independent draw per pixel."""
    eps = attack.params["eps"]
    noise = (torch.rand(x.shape, device=x.device) * 2 - 1) * eps
    return (x + noise).clamp(CLIP_MIN, CLIP_MAX)
