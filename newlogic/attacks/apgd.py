"""APGD (Croce & Hein 2020) as torchattacks 3.5 runs it, leaving out the samples already fooled (SPEC §5).

A port of torchattacks's ``APGD`` (cross-entropy loss ``ce`` or untargeted DLR loss ``dlr``) and
``APGDT`` (targeted DLR loss), whose steps, per sample, are: from a random point of the ε-ball,
``steps`` iterations of

    z = P(x_k + η·s(∇L(x_k))),   x_{k+1} = P(x_k + α·(z − x_k) + (1 − α)·(x_k − x_{k−1}))

(α = 1 at the first step, 0.75 after; ``s`` = sign in L∞, ``g/‖g‖₂`` in L2; ``P`` the
projection onto the ε-ball and [0, 1]); η starts at 2ε and halves at checkpoints (the first after
``⌊0.22·steps⌋`` iterations, each interval ``⌊0.03·steps⌋`` shorter, down to ``⌊0.06·steps⌋``; all
at least 1) where the loss rose in at most ρ = 75 % of the iterations since the last checkpoint,
or where the best loss did not improve and η was not halved at the last one; a halving restarts
from the best point.
The targeted DLR loss towards class t is ``−(s_y − s_t)/(s_(1) − (s_(3) + s_(4))/2 + 1e−12)``
(``s_(i)`` the i-th largest score), t the class of the k-th largest clean score, k = 2 … classes;
the untargeted one ``−(s_y − max_{j≠y} s_j)/(s_(1) − s_(3) + 1e−12)`` (``newlogic.attacks.losses.dlr``).
Both are invariant to the scale of the scores (``k·s``, k > 0), and so is every step and
checkpoint decision above; cross-entropy is not (Croce & Hein 2020 §3: its gradient vanishes as the
scores grow), which is why the strong suite's APGD member runs APGD-DLR + APGD-T.

``apgd_max_loss`` (the catalog's ``apgd_max_loss``) is APGD as a crafting attack: every sample runs
all the steps and keeps its highest-loss iterate (``x_best``), never stopping at its first
misclassified one. A transfer attack crafts on its source model this way: an example far past the
source's decision boundary transfers better than one just across it (Carlini & Wagner 2017 §VI:
high-confidence examples transfer).

Every quantity above is per sample, so a sample's path does not depend on the others in the
batch. The one difference from torchattacks: a sample stops at the iteration that first
misclassifies it (its adversarial example), since its verdict cannot change after that (APGD
counts a sample as fooled once any iterate fooled it); only the samples still classified right
go through the model. torchattacks runs every sample through every iteration and returns its last
misclassified iterate. torchattacks's APGD-T in L2 steps every sample by the first sample's η;
here each sample has its own.
"""

from collections.abc import Callable

import torch
from torch import nn

from newlogic.attacks.context import AttackContext
from newlogic.attacks.losses import LOSSES
from newlogic.attacks.resolve import ResolvedAttack

CE = "ce"
DLR = "dlr"
DLR_TARGETED = "dlr-targeted"
MOMENTUM = 0.75
RHO = 0.75
DLR_FLOOR = 1e-12
L2_FLOOR = 1e-12

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (scores, rows) → per-sample loss


def _dims(x: torch.Tensor) -> tuple[int, ...]:
    return tuple(range(1, x.dim()))


def _l2(v: torch.Tensor) -> torch.Tensor:
    return v.square().sum(dim=_dims(v), keepdim=True).sqrt()


def _linf_start(x: torch.Tensor, eps: float, generator: torch.Generator) -> torch.Tensor:
    t = 2 * torch.rand(x.shape, generator=generator, device=x.device) - 1
    return x + eps * t / t.flatten(1).abs().amax(dim=1).view(-1, *[1] * (x.dim() - 1))


def _l2_start(x: torch.Tensor, eps: float, generator: torch.Generator) -> torch.Tensor:
    t = torch.randn(x.shape, generator=generator, device=x.device)
    return x + eps * t / (_l2(t) + L2_FLOOR)


def _linf_step(x_adv: torch.Tensor, previous: torch.Tensor, grad: torch.Tensor, x: torch.Tensor,
               step_size: torch.Tensor, a: float, eps: float) -> torch.Tensor:
    z = (x_adv + step_size * grad.sign()).clamp(min=x - eps, max=x + eps).clamp(0.0, 1.0)
    return (x_adv + (z - x_adv) * a + (x_adv - previous) * (1 - a)).clamp(min=x - eps, max=x + eps).clamp(0.0, 1.0)


def _l2_step(x_adv: torch.Tensor, previous: torch.Tensor, grad: torch.Tensor, x: torch.Tensor,
             step_size: torch.Tensor, a: float, eps: float) -> torch.Tensor:
    z = x_adv + step_size * grad / (_l2(grad) + L2_FLOOR)
    d = z - x
    z = (x + d / (_l2(d) + L2_FLOOR) * torch.clamp(_l2(d), max=eps)).clamp(0.0, 1.0)
    d = x_adv + (z - x_adv) * a + (x_adv - previous) * (1 - a) - x
    return (x + d / (_l2(d) + L2_FLOOR) * torch.clamp(_l2(d) + L2_FLOOR, max=eps)).clamp(0.0, 1.0)


NORMS = {"Linf": (_linf_start, _linf_step), "L2": (_l2_start, _l2_step)}


def dlr_targeted(scores: torch.Tensor, y: torch.Tensor, y_target: torch.Tensor) -> torch.Tensor:
    """``−(s_y − s_t)/(s_(1) − (s_(3) + s_(4))/2 + 1e−12)`` per sample (torchattacks's ``dlr_loss_targeted``)."""
    ordered = scores.sort(dim=1).values
    rows = torch.arange(len(scores), device=scores.device)
    return -(scores[rows, y] - scores[rows, y_target]) / (
        ordered[:, -1] - 0.5 * ordered[:, -3] - 0.5 * ordered[:, -4] + DLR_FLOOR)


def _untargeted(loss: str, y: torch.Tensor) -> Loss:
    """``newlogic.attacks.losses``'s ``loss`` (ce, dlr) on the rows' own labels."""
    return lambda scores, rows: LOSSES[loss](scores, y[rows])


def _towards(y: torch.Tensor, y_target: torch.Tensor) -> Loss:
    return lambda scores, rows: dlr_targeted(scores, y[rows], y_target[rows])


def _loss_and_grad(model: nn.Module, x_adv: torch.Tensor, rows: torch.Tensor, y: torch.Tensor,
                   loss: Loss) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(still classified right, per-sample loss, input gradient) of the samples ``rows``."""
    point = x_adv[rows].requires_grad_(True)
    with torch.enable_grad():
        scores = model(point)
        values = loss(scores, rows)
        (grad,) = torch.autograd.grad(values.sum(), point)
    return scores.detach().argmax(dim=1) == y[rows], values.detach(), grad


def apgd_run(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: Loss, *, norm: str, eps: float,
             steps: int, generator: torch.Generator,
             max_loss: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One APGD run (torchattacks's ``attack_single_run``) → (still classified right, examples, their loss);
    its random start drawn from ``generator``.

    The examples are each fooled sample's first misclassified iterate (a sample stops there); with
    ``max_loss`` every sample runs every step and the examples are the highest-loss iterates (crafting).
    """
    start, step = NORMS[norm]
    steps_2, steps_min, size_decr = max(int(0.22 * steps), 1), max(int(0.06 * steps), 1), max(int(0.03 * steps), 1)
    every = torch.arange(len(x), device=x.device)
    x_adv = start(x, eps, generator).clamp(0.0, 1.0)
    x_best, x_best_adv = x_adv.clone(), x_adv.clone()
    robust, loss_best, grad = _loss_and_grad(model, x_adv, every, y, loss)
    grad_best = grad.clone()
    loss_steps = torch.zeros(steps, len(x), device=x.device)
    step_size = torch.full((len(x), *[1] * (x.dim() - 1)), 2.0 * eps, device=x.device)
    previous = x_adv.clone()
    checkpoint, since_check = steps_2, 0
    loss_best_last_check = loss_best.clone()
    reduced_last_check = torch.ones(len(x), dtype=torch.bool, device=x.device)
    for i in range(steps):
        rows = every if max_loss else robust.nonzero().squeeze(1)
        if len(rows) == 0:
            break
        x_adv, previous = step(x_adv, previous, grad, x, step_size, 1.0 if i == 0 else MOMENTUM, eps), x_adv
        still, values, row_grad = _loss_and_grad(model, x_adv, rows, y, loss)
        grad[rows] = row_grad
        robust[rows] = still
        fooled = rows[~still]
        x_best_adv[fooled] = x_adv[fooled]
        loss_steps[i, rows] = values
        better = rows[values > loss_best[rows]]
        x_best[better], grad_best[better], loss_best[better] = x_adv[better], grad[better], loss_steps[i, better]
        since_check += 1
        if since_check == checkpoint:
            recent = torch.arange(i, i - checkpoint, -1, device=x.device)
            rises = (loss_steps[recent] > loss_steps[recent - 1]).sum(dim=0)  # index −1: the last row, as there
            reduce = (rises <= checkpoint * RHO) | (~reduced_last_check & (loss_best_last_check >= loss_best))
            reduced_last_check, loss_best_last_check = reduce, loss_best.clone()
            step_size[reduce] /= 2.0
            x_adv[reduce], grad[reduce] = x_best[reduce], grad_best[reduce]
            since_check, checkpoint = 0, max(checkpoint - size_decr, steps_min)
    return robust, x_best if max_loss else x_best_adv, loss_best


def apgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss: str, norm: str, eps: float, steps: int,
         restarts: int, seed: int, num_classes: int) -> torch.Tensor:
    """torchattacks's ``APGD(loss="ce")``, ``APGD(loss="dlr")`` or ``APGDT`` ``perturb``: restarts (APGD-T: for each
    target class, the k-th most likely clean class, k = 2 … ``num_classes``) on the samples still classified right.

    The random starts come from a generator seeded with ``seed`` (the batch's: every batch gets its own starts,
    the same ones for the same seed; the global RNG is left alone). On a CPU its numbers are those of
    torchattacks's ``torch.manual_seed(seed)``.
    """
    with torch.no_grad():
        clean = model(x)
    robust = clean.argmax(dim=1) == y
    adv = x.clone()
    generator = torch.Generator(device=x.device).manual_seed(seed)
    targets = ([None] if loss != DLR_TARGETED
               else [clean.sort(dim=1).indices[:, -k] for k in range(2, num_classes + 1)])
    for target in targets:
        for _ in range(restarts):
            rows = robust.nonzero().squeeze(1)
            if len(rows) == 0:
                return adv
            x_run, y_run = x[rows], y[rows]
            run_loss = _untargeted(loss, y_run) if target is None else _towards(y_run, target[rows])
            still, found, _ = apgd_run(model, x_run, y_run, run_loss, norm=norm, eps=eps, steps=steps,
                                       generator=generator)
            robust[rows] = still
            adv[rows[~still]] = found[~still]
    return adv


def apgd_max_loss(target: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: ResolvedAttack,
                  context: AttackContext) -> torch.Tensor:
    """APGD on ``loss`` (ce, dlr) crafting: ``restarts`` runs of ``apgd_steps`` on every sample, each sample keeping
    its highest-loss iterate over all runs (a transfer's base attack; random starts from the batch's seed)."""
    p = attack.params
    generator = torch.Generator(device=x.device).manual_seed(context.seed)
    best = x.clone()
    best_loss = torch.full((len(x),), -torch.inf, device=x.device)
    for _ in range(p["restarts"]):
        _, found, found_loss = apgd_run(target, x, y, _untargeted(p["loss"], y), norm=p["norm"], eps=p["eps"],
                                        steps=p["apgd_steps"], generator=generator, max_loss=True)
        better = found_loss > best_loss
        best[better], best_loss[better] = found[better], found_loss[better]
    return best
