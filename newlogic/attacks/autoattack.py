"""AutoAttack (Croce & Hein 2020) with RobustBench's standard settings (SPEC §5, strong).

The protocol: the attacks of the chain run in order, each only on the samples that the ones before
left classified right, and each sample keeps the first adversarial example found: APGD-CE
(``apgd_steps`` iterations; ``apgd-dlr``, AutoAttack's untargeted DLR version, can stand in its
place), APGD-T (targeted DLR loss, every wrong class in turn), FAB-T
(``fab_steps``, every wrong class) and Square (``square_queries`` random-search queries,
gradient-free), each with ``restarts`` restarts, in ``norm`` (Linf or L2) with bound ``eps``.
The robust accuracy after attack k of the chain is the fraction of samples that survived the
first k (``SURVIVED``, ``chain_robust_accuracy``). APGD-CE, APGD-DLR and APGD-T are the project's port of
torchattacks's (``newlogic.attacks.apgd``: same iterations, a sample stops once fooled); FAB-T and
Square are torchattacks's. torchattacks's own ``AutoAttack`` runs APGD, APGD-T and FAB with their
default 10 steps; RobustBench's standard version uses 100, as the preset here.
"""

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

from newlogic.attacks.apgd import CE, DLR, DLR_TARGETED, apgd
from newlogic.attacks.base import first_success_counts
from newlogic.attacks.catalog import AUTOATTACK_COMPONENTS
from newlogic.attacks.context import AttackContext
from newlogic.attacks.resolve import ResolvedAttack
from newlogic.registry import keyed_by

Attempt = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
SURVIVED = "autoattack_survived"  # per sample: how many attacks of the chain left it classified right


def _apgd(loss: str) -> Callable[[nn.Module, dict[str, Any], AttackContext], Attempt]:
    """APGD with ``loss`` (``apgd.CE``: APGD-CE; ``apgd.DLR``: APGD-DLR; ``apgd.DLR_TARGETED``: APGD-T), the project's
    port."""

    def build(model: nn.Module, p: dict[str, Any], c: AttackContext) -> Attempt:
        return partial(apgd, model, loss=loss, norm=p["norm"], eps=p["eps"], steps=p["apgd_steps"],
                       restarts=p["restarts"], seed=c.seed, num_classes=c.num_classes)

    return build


def _fab_t(model: nn.Module, p: dict[str, Any], c: AttackContext) -> Attempt:
    import torchattacks

    return torchattacks.FAB(model, norm=p["norm"], eps=p["eps"], steps=p["fab_steps"], n_restarts=p["restarts"],
                            seed=c.seed, multi_targeted=True, n_classes=c.num_classes)


def _square(model: nn.Module, p: dict[str, Any], c: AttackContext) -> Attempt:
    import torchattacks

    return torchattacks.Square(model, norm=p["norm"], eps=p["eps"], n_queries=p["square_queries"],
                               n_restarts=p["restarts"], seed=c.seed)


COMPONENTS: dict[str, Callable[[nn.Module, dict[str, Any], AttackContext], Attempt]] = keyed_by(AUTOATTACK_COMPONENTS, {
    "apgd-ce": _apgd(CE), "apgd-dlr": _apgd(DLR), "apgd-t": _apgd(DLR_TARGETED), "fab-t": _fab_t, "square": _square,
}, "COMPONENTS")


def autoattack(target: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: ResolvedAttack,
               context: AttackContext) -> torch.Tensor:
    """Run ``components`` in order, each on the samples that the ones before did not fool.

    With ``context.records``, records per sample how many components it survived (``SURVIVED``).
    """
    p = attack.params
    adv, survived = first_success_counts(target, x, y, (COMPONENTS[name](target, p, context)
                                                        for name in p["components"]))
    if context.records is not None:
        context.records[SURVIVED] = survived
    return adv


def square(target: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: ResolvedAttack,
           context: AttackContext) -> torch.Tensor:
    """Square alone (the catalog's ``square``, a black-box attack): torchattacks's, as in the chain."""
    return _square(target, attack.params, context)(x, y).detach()


def chain_robust_accuracy(survived: np.ndarray, components: list[str]) -> dict[str, float]:
    """The robust accuracy after each attack of the chain, by name: the fraction of samples that survived it."""
    return {name: float((survived > position).mean()) for position, name in enumerate(components)}


def summarize_records(samples: dict[str, np.ndarray], params: dict[str, Any]) -> dict[str, Any]:
    """``chain_robust_accuracy`` from the per-sample ``SURVIVED`` counts (the catalog entry's ``summarize_records``)."""
    return {"chain_robust_accuracy": chain_robust_accuracy(samples[SURVIVED], params["components"])}
