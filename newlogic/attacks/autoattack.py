"""AutoAttack (Croce & Hein 2020) through torchattacks, with RobustBench's standard settings (SPEC §5, strong).

The components run in order on the samples still classified right, and each sample keeps the
first adversarial example found: APGD-CE (``apgd_steps`` iterations), APGD-T (targeted DLR loss,
every wrong class), FAB-T (``fab_steps``, every wrong class) and Square (``square_queries``
random-search queries, gradient-free), each with ``restarts`` restarts, in ``norm`` (Linf or L2)
with bound ``eps``. torchattacks's own ``AutoAttack`` runs APGD with 10 steps; RobustBench's
standard version uses 100, as here.
"""

from collections.abc import Callable
from typing import Any

import torch
import torchattacks
from torch import nn

from newlogic.attacks.base import AttackContext, AttackSpec, ResolvedAttack, first_success, linf_unbounded
from newlogic.attacks.gradient import EPS_LINF

COMPONENTS: dict[str, Callable[[nn.Module, dict[str, Any], AttackContext], torchattacks.attack.Attack]] = {
    "apgd-ce": lambda model, p, c: torchattacks.APGD(
        model, norm=p["norm"], eps=p["eps"], steps=p["apgd_steps"], n_restarts=p["restarts"], seed=c.seed, loss="ce"),
    "apgd-t": lambda model, p, c: torchattacks.APGDT(
        model, norm=p["norm"], eps=p["eps"], steps=p["apgd_steps"], n_restarts=p["restarts"], seed=c.seed,
        n_classes=c.num_classes),
    "fab-t": lambda model, p, c: torchattacks.FAB(
        model, norm=p["norm"], eps=p["eps"], steps=p["fab_steps"], n_restarts=p["restarts"], seed=c.seed,
        multi_targeted=True, n_classes=c.num_classes),
    "square": lambda model, p, c: torchattacks.Square(
        model, norm=p["norm"], eps=p["eps"], n_queries=p["square_queries"], n_restarts=p["restarts"], seed=c.seed),
}


def autoattack(target: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: ResolvedAttack,
               context: AttackContext) -> torch.Tensor:
    """Run ``components`` in order, each on the samples that the ones before did not fool."""
    p = attack.params
    return first_success(target, x, y, (COMPONENTS[name](target, p, context) for name in p["components"]))


def _unbounded(params: dict[str, Any]) -> bool:
    """An L∞ bound of 1 or more allows any image in [0, 1]."""
    return params["norm"] == "Linf" and linf_unbounded(params)


SPEC = AttackSpec(
    "autoattack", autoattack, lambda p: p["norm"].lower(), "ensemble",
    {"strong": {"eps": EPS_LINF, "norm": "Linf", "components": list(COMPONENTS), "apgd_steps": 100,
                "fab_steps": 100, "square_queries": 5000, "restarts": 1}},
    "AutoAttack: APGD-CE, APGD-T, FAB-T, Square in sequence (RobustBench standard settings)",
    choices={"norm": ("Linf", "L2"), "components": tuple(COMPONENTS)},
    unbounded=_unbounded,
)
