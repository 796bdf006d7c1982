"""The adaptive attack on logic layers (issue 21; Tramèr et al. 2020; BPDA, Athalye et al. 2018).

PGD on ``loss`` (margin by default) through the model's surrogate gradients
(``newlogic.nn.surrogate``): every component keeps its exact forward, and its backward pass is
its surrogate's at temperature τ (each component's rule is in its ``SURROGATES`` registry):
``Fold``'s soft-min/soft-max, the rectifier's softplus gradient σ(x/τ) in ReLU and ReLog, the
curved units' curvature flattened to ``a/(1 + τ)``, and, with ``attack_on: probs``, the identity
through σ or softmax. τ is annealed geometrically from ``temperature`` to ``final_temperature``
over the ``nb_iter`` steps of each run (``τ_t = τ₀·(τ_end/τ₀)^(t/(nb_iter − 1))``): early steps
see every branch of every min/max, the dead units and a flattened curvature, late steps (nearly)
the exact gradient. The forward pass never changes, so each sample stops at the
first iterate the true model misclassifies and every verdict is the true model's. ``restarts``
runs: the first from x, the others from uniform random starts in the ε-ball (a generator seeded
with the batch's seed), each on the samples the ones before left classified right (Madry et al.
2018). The steps are ``newlogic.attacks.pgd``'s (sign steps in L∞, steps of length ``eps_iter``
in L2, projection, [0, 1]). The surrogate mode is a plain attribute, restored when the attack
ends: the model's state is unchanged.
"""

import torch
from torch import nn

from newlogic.attacks.base import first_success
from newlogic.attacks.context import AttackContext
from newlogic.attacks.losses import LOSSES
from newlogic.attacks.pgd import iterate, random_start, seeded_generator
from newlogic.attacks.resolve import ResolvedAttack
from newlogic.nn.surrogate import surrogate_gradients


def temperatures(start: float, end: float, steps: int) -> list[float]:
    """``τ_t = start·(end/start)^(t/(steps − 1))``, t = 0 … steps − 1 (one step: ``start``)."""
    if steps == 1:
        return [start]
    return [start * (end / start) ** (t / (steps - 1)) for t in range(steps)]


def adaptive(target: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: ResolvedAttack,
             context: AttackContext) -> torch.Tensor:
    """PGD through the annealed surrogate of every component; restarts on the samples not yet fooled."""
    p = attack.params
    schedule = temperatures(p["temperature"], p["final_temperature"], p["nb_iter"])
    generator = seeded_generator(context.seed, x.device)

    with surrogate_gradients(target, schedule[0]) as mode:
        def anneal(step: int) -> None:
            mode.temperature = schedule[step]

        def run(x_left: torch.Tensor, y_left: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
            return iterate(target, x_left, y_left, start, loss=LOSSES[p["loss"]], norm=p["norm"], eps=p["eps"],
                           eps_iter=p["eps_iter"], nb_iter=p["nb_iter"], before_step=anneal)

        def from_x(x_left: torch.Tensor, y_left: torch.Tensor) -> torch.Tensor:
            return run(x_left, y_left, x_left)

        def from_random_start(x_left: torch.Tensor, y_left: torch.Tensor) -> torch.Tensor:
            return run(x_left, y_left, random_start(x_left, p["norm"], p["eps"], generator))

        return first_success(target, x, y, [from_x] + [from_random_start] * (p["restarts"] - 1))
