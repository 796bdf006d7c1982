"""JSMA, the Jacobian saliency map attack, through torchattacks (Papernot et al. 2016; SPEC §5: θ 1, γ 0.1).

Towards a target class t, each iteration computes the Jacobian of the outputs and raises by θ
the pair of pixels (p, q) maximising ``α·|β|`` with ``α = ∂s_t/∂x_p + ∂s_t/∂x_q > 0`` and
``β = Σ_{j≠t} (∂s_j/∂x_p + ∂s_j/∂x_q) < 0``, until the prediction is t or a fraction γ of the
pixels has changed. Targets: ``random`` (uniform over the wrong classes, as cleverhans's JSMA
without a target) or ``next`` ((y + 1) mod classes, torchattacks's untargeted default).
The journal's JSMA attempt failed; this is the project's run of it.
"""

from collections.abc import Callable

import torch
from torch import nn

from newlogic.attacks.catalog import JSMA_TARGETS
from newlogic.attacks.context import AttackContext
from newlogic.attacks.resolve import ResolvedAttack
from newlogic.registry import keyed_by

TARGETS: dict[str, Callable[[torch.Tensor, int], torch.Tensor]] = keyed_by(JSMA_TARGETS, {
    "random": lambda y, classes: (y + torch.randint(1, classes, y.shape, device=y.device)) % classes,
    "next": lambda y, classes: (y + 1) % classes,
}, "TARGETS")


def jsma(target: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: ResolvedAttack,
         context: AttackContext) -> torch.Tensor:
    """torchattacks's JSMA, targeted at ``TARGETS[target]`` classes."""
    import torchattacks  # here: a slow import (scipy.stats), needed only by this attack

    p = attack.params
    runner = torchattacks.JSMA(target, theta=p["theta"], gamma=p["gamma"])
    runner.set_mode_targeted_by_label(quiet=True)
    return runner(x, TARGETS[p["target"]](y, context.num_classes)).detach()
