"""The project's projected-gradient attacks (SPEC §5, strong preset; issue 21): BIM and PGD in L∞ and L2.

From a start ``x₀`` (x itself for BIM; a uniform random point of the ε-ball for PGD), ``nb_iter``
steps of

    x_{t+1} = clip_[0,1](x + P_ε(x_t + α·d(∇_x L(x_t)) − x))

with ``L`` a per-sample loss of ``newlogic.attacks.losses`` (summed over the batch, never
averaged), α = ``eps_iter``, ``d(g) = sign(g)`` in L∞ and ``d(g) = g/‖g‖₂`` in L2 (each sample
by its own norm: the step has length exactly α; a zero gradient gives a zero step, and no absolute
floor shrinks a small non-zero one), ``P_ε`` the projection onto the ε-ball (L∞: clamp to ±ε;
L2: ``δ·min(1, ε/‖δ‖₂)``). A sample stops at the first iterate the target misclassifies (its
adversarial example: a verdict cannot change after that); only the samples still classified
right go through the target. PGD repeats this ``restarts`` times on the samples not yet fooled
(``first_success``; Madry et al. 2018), its random starts drawn from a ``torch.Generator`` seeded
with the batch's seed. With a scale-covariant loss (margin, DLR) every step, and so the attack,
does not depend on the scale of the scores.
"""

from collections.abc import Callable

import torch
from torch import nn

from newlogic.attacks.base import first_success
from newlogic.attacks.catalog import CLIP_MAX, CLIP_MIN
from newlogic.attacks.context import AttackContext
from newlogic.attacks.losses import LOSSES, Loss
from newlogic.attacks.resolve import ResolvedAttack

LINF, L2 = "linf", "l2"


def _per_sample(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``[N]`` values shaped to broadcast against ``like`` (``[N, ...]``)."""
    return values.view(-1, *[1] * (like.dim() - 1))


def l2_norm(v: torch.Tensor) -> torch.Tensor:
    """``‖v_i‖₂`` per sample, without underflow: ``m·‖v/m‖₂`` with ``m = max |v_i|`` (0 for a zero sample)."""
    flat = v.flatten(1)
    peak = flat.abs().amax(dim=1)
    scale = torch.where(peak > 0, peak, torch.ones_like(peak))
    return scale * (flat / scale[:, None]).norm(dim=1)


def unit_l2(g: torch.Tensor) -> torch.Tensor:
    """``g/‖g‖₂`` per sample; a zero sample stays zero."""
    norm = l2_norm(g)
    return g / _per_sample(torch.where(norm > 0, norm, torch.ones_like(norm)), g)


def project(delta: torch.Tensor, norm: str, eps: float) -> torch.Tensor:
    """``P_ε(δ)``: L∞ clamps each pixel to ±ε; L2 scales a sample longer than ε back to length ε."""
    if norm == LINF:
        return delta.clamp(-eps, eps)
    length = l2_norm(delta)
    return delta * _per_sample(torch.where(length > eps, eps / length, torch.ones_like(length)), delta)


DIRECTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {LINF: torch.sign, L2: unit_l2}


def random_start(x: torch.Tensor, norm: str, eps: float, generator: torch.Generator) -> torch.Tensor:
    """A uniform random point of the ε-ball around ``x``, clipped to [0, 1].

    L∞: ``δ ~ U(−ε, ε)`` per pixel; L2: a uniform direction times ``ε·u^(1/d)``, ``u ~ U(0, 1)``.
    """
    if norm == LINF:
        delta = eps * (2 * torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype) - 1)
    else:
        direction = unit_l2(torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype))
        radius = torch.rand(len(x), generator=generator, device=x.device, dtype=x.dtype) ** (1 / x[0].numel())
        delta = direction * _per_sample(eps * radius, x)
    return (x + delta).clamp(CLIP_MIN, CLIP_MAX)


def seeded_generator(seed: int, device: torch.device) -> torch.Generator:
    """A generator on ``device`` seeded with ``seed``: random starts depend on the batch's seed only."""
    return torch.Generator(device=device).manual_seed(seed)


def loss_gradient(target: nn.Module, point: torch.Tensor, y: torch.Tensor,
                  loss: Loss) -> tuple[torch.Tensor, torch.Tensor]:
    """(target's scores at ``point``, ``∇_x Σ_i L(s_i, y_i)``): each sample's gradient of its own loss."""
    point = point.detach().requires_grad_(True)
    with torch.enable_grad():
        scores = target(point)
        (grad,) = torch.autograd.grad(loss(scores, y).sum(), point)
    return scores.detach(), grad


def iterate(target: nn.Module, x: torch.Tensor, y: torch.Tensor, start: torch.Tensor, *, loss: Loss, norm: str,
            eps: float, eps_iter: float, nb_iter: int,
            before_step: Callable[[int], None] | None = None) -> torch.Tensor:
    """``nb_iter`` projected steps from ``start``; a sample stops at its first misclassified iterate.

    ``before_step(t)`` runs before step t (from 0): the adaptive attack anneals its surrogate there.
    """
    x_adv = start.detach().clone()
    active = torch.arange(len(x), device=x.device)
    for step in range(nb_iter):
        if before_step is not None:
            before_step(step)
        scores, grad = loss_gradient(target, x_adv[active], y[active], loss)
        right = scores.argmax(dim=1) == y[active]
        active, grad = active[right], grad[right]
        if len(active) == 0:
            break
        moved = x_adv[active] + eps_iter * DIRECTIONS[norm](grad)
        x_adv[active] = (x[active] + project(moved - x[active], norm, eps)).clamp(CLIP_MIN, CLIP_MAX)
    return x_adv


def bim(target: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: ResolvedAttack,
        _context: AttackContext) -> torch.Tensor:
    """BIM: ``nb_iter`` L∞ steps of ``eps_iter`` on ``loss`` from x (strong preset)."""
    p = attack.params
    return iterate(target, x, y, x, loss=LOSSES[p["loss"]], norm=LINF, eps=p["eps"], eps_iter=p["eps_iter"],
                   nb_iter=p["nb_iter"])


def pgd(target: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: ResolvedAttack,
        context: AttackContext) -> torch.Tensor:
    """PGD: BIM from uniform random starts in the L∞ ε-ball, ``restarts`` times on the samples not yet fooled."""
    p = attack.params
    generator = seeded_generator(context.seed, x.device)

    def restart(x_left: torch.Tensor, y_left: torch.Tensor) -> torch.Tensor:
        return iterate(target, x_left, y_left, random_start(x_left, LINF, p["eps"], generator),
                       loss=LOSSES[p["loss"]], norm=LINF, eps=p["eps"], eps_iter=p["eps_iter"], nb_iter=p["nb_iter"])

    return first_success(target, x, y, [restart] * p["restarts"])
