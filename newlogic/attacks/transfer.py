"""Transfer attack (SPEC §5): adversarial examples crafted on a surrogate model, evaluated on the target.

The surrogate is another trained model directory of the same dataset (``surrogate_dir``); the
crafting attack is ``base_attack`` with its own parameters (of the same preset unless the base
has only one), resolved and recorded with the transfer setting. A transfer attack that beats
the white-box attacks on the target at the same bound is a sign of gradient masking.
"""

from dataclasses import replace

import torch
from torch import nn

from newlogic.attacks.base import run_attack
from newlogic.attacks.context import AttackContext
from newlogic.attacks.resolve import ResolvedAttack
from newlogic.errors import UserError


def transfer(_target: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: ResolvedAttack,
             context: AttackContext) -> torch.Tensor:
    """Run the base attack on ``context.surrogate``; the target model is only evaluated (by the caller).

    ``resolve_setting`` always sets ``attack.base`` for a transfer setting. ``run_attack_setting``
    refuses a transfer without ``--surrogate-dir`` before any attack runs; this check covers
    callers that run the attack directly.
    """
    if context.surrogate is None:
        raise UserError("attack transfer needs a surrogate model directory (--surrogate-dir)")
    if attack.base is None:
        raise ValueError(f"transfer setting {attack.name} has no base attack (resolve_setting sets one)")
    surrogate = context.surrogate
    return run_attack(attack.base, surrogate.target, x, y,
                      replace(context, probabilities=surrogate.probabilities, surrogate=None))
