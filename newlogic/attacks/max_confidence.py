"""MaxConfidence (Goodfellow, Qin & Berthelot 2019; SPEC §5): the most confident wrong answer in the ε-ball.

For every wrong class t ≠ y, a targeted L∞ PGD run (``nb_iter`` steps of ``eps_iter``, descending
the cross-entropy towards t) gives a candidate x'_t. Per sample the attack keeps the candidate
that fools the model with the highest confidence ``max_{j≠y} p_j(x'_t)`` (p the model's
probabilities); where none fools it, the one whose best wrong class is most probable. The result
file reports the confidence reached (mean confidence on misclassified adversarial inputs).
"""

import torch
from torch import nn

from newlogic.attacks.base import best_other
from newlogic.attacks.context import AttackContext
from newlogic.attacks.gradient import pgd_linf
from newlogic.attacks.resolve import ResolvedAttack


def max_confidence(target: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: ResolvedAttack,
                   context: AttackContext) -> torch.Tensor:
    """Targeted PGD towards each wrong class; keep the candidate of highest ``2·fooled + max_{j≠y} p_j``."""
    p = attack.params
    best = x.clone()
    best_score = torch.full((len(x),), -1.0, device=x.device)
    for shift in range(1, context.num_classes):
        wrong_class = (y + shift) % context.num_classes
        candidate = pgd_linf(target, x, wrong_class, eps=p["eps"], eps_iter=p["eps_iter"], nb_iter=p["nb_iter"],
                             rand_init=p["rand_init"], targeted=True)
        with torch.no_grad():
            probs = context.probabilities(candidate)
            wrong_confidence = best_other(probs, y)
            fooled = probs.argmax(dim=1) != y
            score = 2 * fooled.float() + wrong_confidence
            better = score > best_score
            best = torch.where(better.view(-1, *[1] * (x.dim() - 1)), candidate, best)
            best_score = torch.where(better, score, best_score)
    return best
