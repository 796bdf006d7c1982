"""SPSA, the gradient-free attack, through cleverhans 4 (Uesato et al. 2018; SPEC §5).

Per image, Adam (``learning_rate``) descends the margin loss ``s_y − max_{j≠y} s_j`` along the
SPSA gradient estimate ``mean_k [L(x + δ·v_k) − L(x − δ·v_k)]·v_k / (2δ)`` (``spsa_samples``
Rademacher directions v_k, ``delta`` δ), projecting onto the L∞ ε-ball and [0, 1], for ``nb_iter``
steps. It uses the outputs only, so it sees through masked gradients. The journal ran it on
1,500 MNIST test images (``num_images``).
"""

import torch
from cleverhans.torch.attacks.spsa import spsa as cleverhans_spsa
from torch import nn

from newlogic.attacks.base import CLIP_MAX, CLIP_MIN, AttackContext, AttackSpec, ResolvedAttack
from newlogic.attacks.gradient import EPS_LINF


def spsa(target: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: ResolvedAttack,
         _context: AttackContext) -> torch.Tensor:
    """cleverhans's ``spsa`` with the setting's parameters (it loops over the images itself)."""
    p = attack.params
    with torch.no_grad():
        return cleverhans_spsa(
            target, x, p["eps"], p["nb_iter"], clip_min=CLIP_MIN, clip_max=CLIP_MAX, y=y,
            learning_rate=p["learning_rate"], delta=p["delta"], spsa_samples=p["spsa_samples"],
        ).detach()


SPEC = AttackSpec(
    "spsa", spsa, "linf", "black_box",
    {"paper": {"eps": 0.3, "nb_iter": 50, "spsa_samples": 128, "learning_rate": 0.01, "delta": 0.01,
               "num_images": 1500},
     "strong": {"eps": EPS_LINF, "nb_iter": 100, "spsa_samples": 128, "learning_rate": 0.01, "delta": 0.01}},
    "SPSA: Adam on the margin loss with finite-difference gradient estimates (no gradients used)",
)
