"""The per-sample losses the project's gradient attacks ascend (SPEC §5, strong preset; issue 21).

Each maps scores ``s`` (``[N, classes]``) and true labels ``y`` to one loss per sample; an
attack differentiates their sum, never their mean, so a sample's gradient does not depend on
the batch size or on the other samples:

- ``ce``: cross-entropy ``−log_softmax(s)_y``, from ``log_softmax`` so that the true class's term
  survives where ``softmax`` rounds ``p_y`` to 1 (score margins above ~17 in float32);
- ``margin`` (Carlini & Wagner 2017): ``max_{j≠y} s_j − s_y``, positive exactly when misclassified;
- ``dlr`` (Croce & Hein 2020): ``−(s_y − max_{j≠y} s_j) / (s_π1 − s_π3 + 1e−12)``, ``s_π1 ≥ s_π2 ≥ …``
  the sorted scores.

``margin`` is scale-covariant (``margin(k·s) = k·margin(s)``, k > 0) and ``dlr`` scale-invariant,
so a sign step or a step normalised to length ε does not depend on the scale of the scores;
``ce`` does not have this property (the step of a confident sample vanishes as k grows).
"""

from collections.abc import Callable

import torch

from newlogic.attacks.base import best_other, margin
from newlogic.attacks.catalog import LOSSES as LOSS_NAMES
from newlogic.registry import keyed_by

DLR_FLOOR = 1e-12  # Croce & Hein 2020's denominator floor

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (scores, labels) → per-sample loss


def cross_entropy(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``−log_softmax(s)_y`` per sample."""
    return -torch.log_softmax(scores, dim=1).gather(1, y[:, None]).squeeze(1)


def margin_loss(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``max_{j≠y} s_j − s_y`` per sample (C&W's margin, unclipped: it keeps rising past the decision boundary)."""
    return -margin(scores, y)


def dlr(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``−(s_y − max_{j≠y} s_j) / (s_π1 − s_π3 + 1e−12)`` per sample (needs at least 3 classes)."""
    ordered = scores.sort(dim=1, descending=True).values
    return -(scores.gather(1, y[:, None]).squeeze(1) - best_other(scores, y)) / (
        ordered[:, 0] - ordered[:, 2] + DLR_FLOOR)


LOSSES: dict[str, Loss] = keyed_by(LOSS_NAMES, {"ce": cross_entropy, "margin": margin_loss, "dlr": dlr}, "LOSSES")
