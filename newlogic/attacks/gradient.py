"""Gradient attacks (SPEC §5): FGM in L∞ and L2, BIM, PGD; the preset chooses the implementation.

``paper``: cleverhans 4, the journal's 2019 code, artefacts included. It uses the cross-entropy of
the attacked target's outputs averaged over the batch and clips to [0, 1]: FGM
``x' = clip(x + ε·g/‖g‖_*)``, with ``g = ∇_x CE`` and the dual-norm step ``sign(g)`` for L∞ and
``g/√max(‖g‖₂², 1e−12)`` for L2 (Goodfellow et al. 2015); BIM repeats an L∞ step of ``eps_iter``
``nb_iter`` times, projecting onto the ε-ball (Kurakin et al. 2016). The averaging divides each
gradient by the batch size, and a saturated softmax drops the true class's term, so these columns
depend on the scale of the scores (issue 21: FGM-L2's median step falls from 1.9 to 0 as the
scores of a ReLU model are multiplied by 20).
``strong``: the project's (``newlogic.attacks.fgm``, ``newlogic.attacks.pgd``), with a per-sample
``loss`` (margin or DLR by default) and exact ε steps: independent of the scale of the scores.
PGD (``newlogic.attacks.pgd``) has the strong preset only.
"""

import numpy as np
import torch
from torch import nn

from newlogic.attacks import fgm as project_fgm
from newlogic.attacks import pgd as project_pgd
from newlogic.attacks.base import AttackFn
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


def cleverhans_bim(target: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: ResolvedAttack,
                   _context: AttackContext) -> torch.Tensor:
    """BIM: ``nb_iter`` L∞ steps of ``eps_iter`` from x, projected onto the ε-ball and [0, 1]."""
    p = attack.params
    return pgd_linf(target, x, y, eps=p["eps"], eps_iter=p["eps_iter"], nb_iter=p["nb_iter"], rand_init=False)


def by_preset(implementations: dict[str, AttackFn]) -> AttackFn:
    """The attack that runs ``implementations[preset]`` of each setting."""

    def run(target: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: ResolvedAttack,
            context: AttackContext) -> torch.Tensor:
        return implementations[attack.preset](target, x, y, attack, context)

    return run


fgsm = by_preset({"paper": fgm(np.inf), "strong": project_fgm.fgsm})
fgm_l2 = by_preset({"paper": fgm(2), "strong": project_fgm.fgm_l2})
bim = by_preset({"paper": cleverhans_bim, "strong": project_pgd.bim})
