"""The project's SPSA, the gradient-free attack (Uesato et al. 2018; SPEC §5), batched over images.

Per image, Adam (``learning_rate``, betas 0.9/0.999, ε 1e-8) descends the margin loss
``L(x') = s_y(x') − max_{j≠y} s_j(x')`` of the current iterate ``x' = x + η`` along the SPSA
gradient estimate

    ĝ = mean_k [L(x' + δ·v_k) − L(x' − δ·v_k)]·v_k / (2δ)

(``spsa_samples`` Rademacher directions v_k ∈ {−1, 1}^d, ``delta`` δ), then projects η onto the
L∞ ε-ball and x + η onto [0, 1], for ``nb_iter`` steps from a uniform random start in the ε-ball.
It uses the outputs only, so it sees through masked gradients. The journal ran it on 1,500 MNIST
test images (``num_images``).

Differences from cleverhans 4's ``spsa`` (the estimate and optimiser above are Uesato et al.'s):

- cleverhans estimates the gradient at ``2x`` in every step (it passes the clean image where the
  loss function adds it again: cleverhans issue #1249), so its directions never follow the
  iterate; here the estimate is taken at the iterate, as in the paper;
- the images of the batch are attacked together (cleverhans loops over them in Python): their
  probes go through the model in chunks sized for the device (``ROWS_PER_FORWARD``): 64 inputs
  on a CPU, 4,096 on a GPU;
- an image stops once it is misclassified (the margin loss is negative) and keeps that
  adversarial example: its success is final, so only the work after it is saved.
"""

import torch
from torch import nn

from newlogic.attacks.base import adam_step, margin
from newlogic.attacks.catalog import CLIP_MAX, CLIP_MIN
from newlogic.attacks.context import AttackContext
from newlogic.attacks.resolve import ResolvedAttack

ADAM_EPS = 1e-8
# [project] inputs per forward pass when estimating gradients, by device type: small batches run
# fastest on a CPU (they stay in its caches), large ones fill a GPU; both bound the memory.
ROWS_PER_FORWARD = {"cpu": 64}
ROWS_PER_FORWARD_ACCELERATOR = 4096


def margin_loss(target: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``s_y(x) − max_{j≠y} s_j(x)`` per image: negative exactly when the image is misclassified."""
    return margin(target(x), y)


def directional_differences(target: nn.Module, x: torch.Tensor, y: torch.Tensor, delta: float,
                            count: int) -> torch.Tensor:
    """``Σ_k [L(x + δv_k) − L(x − δv_k)]·v_k`` per image over ``count`` fresh Rademacher directions v_k."""
    signs = torch.randint(0, 2, (count, *x.shape), device=x.device, dtype=x.dtype) * 2 - 1
    probes = torch.cat([x + delta * signs, x - delta * signs]).flatten(0, 1)
    losses = margin_loss(target, probes, y.repeat(2 * count)).view(2, count, len(x))
    difference = (losses[0] - losses[1]).view(count, len(x), *[1] * (x.dim() - 1))
    return (difference * signs).sum(dim=0)


def spsa_gradient(target: nn.Module, x: torch.Tensor, y: torch.Tensor, delta: float, samples: int) -> torch.Tensor:
    """``mean_k [L(x + δv_k) − L(x − δv_k)]·v_k / (2δ)`` per image, ``samples`` Rademacher directions v_k each.

    The probes go through the target in chunks of images × directions of at most
    ``ROWS_PER_FORWARD`` inputs (at least one image's pair of probes).
    """
    rows = ROWS_PER_FORWARD.get(x.device.type, ROWS_PER_FORWARD_ACCELERATOR)
    directions = min(samples, max(1, rows // (2 * len(x))))
    images = max(1, rows // (2 * directions))
    total = torch.zeros_like(x)
    for first in range(0, len(x), images):
        part = slice(first, first + images)
        for start in range(0, samples, directions):
            total[part] += directional_differences(target, x[part], y[part], delta, min(directions, samples - start))
    return total / (2 * delta * samples)


def project(x: torch.Tensor, perturbation: torch.Tensor, eps: float) -> torch.Tensor:
    """η clipped to [−ε, ε], then to the η that keeps x + η in [0, 1]."""
    return (x + perturbation.clamp(-eps, eps)).clamp(CLIP_MIN, CLIP_MAX) - x


def spsa(target: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: ResolvedAttack,
         _context: AttackContext) -> torch.Tensor:
    """Batched SPSA with Adam from a random start; each image stops at its first misclassification."""
    p = attack.params
    eps, lr = p["eps"], p["learning_rate"]
    with torch.no_grad():
        perturbation = project(x, (torch.rand_like(x) * 2 - 1) * eps, eps)
        first_moment, second_moment = torch.zeros_like(x), torch.zeros_like(x)
        active = torch.arange(len(x), device=x.device)
        for step in range(1, p["nb_iter"] + 1):
            clean, labels = x[active], y[active]
            gradient = spsa_gradient(target, clean + perturbation[active], labels, p["delta"], p["spsa_samples"])
            m, v = first_moment[active], second_moment[active]  # copies: adam_step updates them in place
            moved = adam_step(perturbation[active], m, v, gradient, step, lr, ADAM_EPS)
            first_moment[active], second_moment[active] = m, v
            perturbation[active] = project(clean, moved, eps)
            robust = margin_loss(target, clean + perturbation[active], labels) >= 0
            active = active[robust]
            if len(active) == 0:
                break
        return (x + perturbation).clamp(CLIP_MIN, CLIP_MAX)
