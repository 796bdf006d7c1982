"""Gradient attacks through cleverhans 4 (SPEC §5): FGM in L∞ and L2, BIM, PGD with restarts.

All use the cross-entropy of the attacked target's outputs against the true labels and clip to
[0, 1]: FGM ``x' = clip(x + ε·g/‖g‖_*)``, with ``g = ∇_x CE`` and the dual-norm step ``sign(g)``
for L∞ and ``g/‖g‖₂`` for L2 (Goodfellow et al. 2015); BIM repeats an L∞ step of ``eps_iter``
``nb_iter`` times, projecting onto the ε-ball (Kurakin et al. 2016); PGD starts BIM at a uniform
random point of the ball and keeps, per sample, the first of ``restarts`` runs that fools the model
(Madry et al. 2018).
"""

import numpy as np
import torch
from torch import nn

from newlogic.attacks.base import AttackFn, first_success
from newlogic.attacks.catalog import CLIP_MAX, CLIP_MIN
from newlogic.attacks.context import AttackContext
from newlogic.attacks.resolve import ResolvedAttack
from newlogic.errors import UserError


def fgm(norm: float) -> AttackFn:
    """FGM in ``norm`` (np.inf or 2): one step of size ε along the dual-norm direction of ∇_x CE."""

    def run(target: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: ResolvedAttack,
            _context: AttackContext) -> torch.Tensor:
        from cleverhans.torch.attacks.fast_gradient_method import fast_gradient_method  # here: a slow import

        return fast_gradient_method(target, x, attack.params["eps"], norm, CLIP_MIN, CLIP_MAX, y=y).detach()

    return run


def pgd_linf(target: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float, eps_iter: float, nb_iter: int,
             rand_init: bool, targeted: bool = False) -> torch.Tensor:
    """cleverhans's BIM/PGD in L∞ (``targeted``: ``y`` is the target class, the step descends its CE)."""
    from cleverhans.torch.attacks.projected_gradient_descent import projected_gradient_descent  # here: a slow import

    if eps_iter > eps:
        raise UserError(f"eps_iter {eps_iter} is larger than eps {eps}; choose eps_iter <= eps")
    return projected_gradient_descent(
        target, x, eps, eps_iter, nb_iter, np.inf, CLIP_MIN, CLIP_MAX, y=y, targeted=targeted, rand_init=rand_init,
    ).detach()


def bim(target: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: ResolvedAttack,
        _context: AttackContext) -> torch.Tensor:
    """BIM: ``nb_iter`` L∞ steps of ``eps_iter`` from x, projected onto the ε-ball and [0, 1]."""
    p = attack.params
    return pgd_linf(target, x, y, eps=p["eps"], eps_iter=p["eps_iter"], nb_iter=p["nb_iter"], rand_init=False)


def pgd(target: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: ResolvedAttack,
        _context: AttackContext) -> torch.Tensor:
    """PGD: BIM from a uniform random start in the ε-ball, ``restarts`` times on the samples still classified right."""
    p = attack.params

    def restart(x_left: torch.Tensor, y_left: torch.Tensor) -> torch.Tensor:
        return pgd_linf(target, x_left, y_left, eps=p["eps"], eps_iter=p["eps_iter"], nb_iter=p["nb_iter"],
                        rand_init=True)

    return first_success(target, x, y, [restart] * p["restarts"])


fgsm = fgm(np.inf)
fgm_l2 = fgm(2)
