"""The project's fast gradient method (SPEC §5, strong preset; issue 21): one step of ε in L∞ or L2.

``x' = clip_[0,1](x + ε·d(∇_x L(x)))`` with ``L`` a per-sample loss (``newlogic.attacks.losses``,
summed over the batch), ``d = sign`` in L∞ (FGSM, Goodfellow et al. 2015) and ``d(g) = g/‖g‖₂``
per sample in L2: the step has length exactly ε before clipping, whatever the scale of the scores
or the batch size (cleverhans divides each gradient by the batch size and floors ‖g‖² at 1e−12,
which shrinks a confident sample's step to nothing). Every sample steps, misclassified or not.
"""

import torch
from torch import nn

from newlogic.attacks.base import AttackFn
from newlogic.attacks.catalog import CLIP_MAX, CLIP_MIN
from newlogic.attacks.context import AttackContext
from newlogic.attacks.losses import LOSSES
from newlogic.attacks.pgd import DIRECTIONS, L2, LINF, loss_gradient
from newlogic.attacks.resolve import ResolvedAttack


def fgm(norm: str) -> AttackFn:
    """FGM in ``norm`` (``linf`` or ``l2``) on the setting's ``loss``."""

    def run(target: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: ResolvedAttack,
            _context: AttackContext) -> torch.Tensor:
        _, grad = loss_gradient(target, x, y, LOSSES[attack.params["loss"]])
        return (x + attack.params["eps"] * DIRECTIONS[norm](grad)).clamp(CLIP_MIN, CLIP_MAX)

    return run


fgsm = fgm(LINF)
fgm_l2 = fgm(L2)
