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

from newlogic.attacks.base import (
    CLIP_MAX,
    CLIP_MIN,
    AttackContext,
    AttackFn,
    AttackSpec,
    ByDataset,
    Derived,
    ResolvedAttack,
    first_success,
    linf_unbounded,
)
from newlogic.errors import UserError

EPS_LINF = ByDataset(mnist=0.3, cifar10=8 / 255)
EPS_L2 = ByDataset(mnist=2.0, cifar10=0.5)
PAPER_STEP = Derived(lambda p: p["eps"] / 3)  # the journal's step 0.1 at ε 0.3 [project: scales with ε]
STRONG_STEP = Derived(lambda p: p["eps"] / 10)  # strong preset: ε/10


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


SPECS = (
    AttackSpec("fgsm", fgm(np.inf), "linf", "one_step", {"paper": {"eps": 0.3}, "strong": {"eps": EPS_LINF}},
               "FGSM: one L∞ step of ε along sign(∇x CE)"),
    AttackSpec("fgm_l2", fgm(2), "l2", "one_step", {"paper": {"eps": 2.0}, "strong": {"eps": EPS_L2}},
               "FGM L2: one step of L2 length ε along ∇x CE"),
    AttackSpec("bim", bim, "linf", "iterative",
               {"paper": {"eps": 0.3, "nb_iter": 5, "eps_iter": PAPER_STEP},
                "strong": {"eps": EPS_LINF, "nb_iter": 40, "eps_iter": STRONG_STEP}},
               "BIM: nb_iter projected L∞ steps of eps_iter", unbounded=linf_unbounded),
    AttackSpec("pgd", pgd, "linf", "iterative",
               {"strong": {"eps": EPS_LINF, "nb_iter": 40, "eps_iter": STRONG_STEP, "restarts": 3}},
               "PGD: BIM from random starts, restarts on the samples not yet fooled", unbounded=linf_unbounded),
)
