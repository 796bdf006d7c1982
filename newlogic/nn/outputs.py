"""From scores to probabilities, predictions and rejections (SPEC §2, docs/architecture.md).

A model returns scores ``s [N, C]``. ``ModelSpec.output`` says how to read them:

- ``softmax``: ``p = softmax(s)``; never rejects.
- ``sigmoid`` (``sigmoid_out``): ``p_c = σ(s_c)``, each class on its own; the model *rejects*
  an input when every ``σ(s_c) < 0.5``, i.e. every ``s_c < 0`` (tested on the scores, so a
  score of −1e-9 whose float32 sigmoid rounds to 0.5 still counts as below).

The prediction is ``argmax_c s_c`` in both cases (σ and softmax are monotone).
"""

from collections.abc import Callable
from typing import NamedTuple

import torch

from newlogic.spec import ModelSpec

# max-probability at or below which noise rejection counts a softmax model as not confident (evaluation.noise),
# and the dashed line of the confidence figure: a sigmoid output's rejection threshold σ(s) = 0.5
CONFIDENCE_THRESHOLD = 0.5

def _never(scores: torch.Tensor) -> torch.Tensor:
    return torch.zeros(scores.shape[0], dtype=torch.bool, device=scores.device)


def _all_below_half(scores: torch.Tensor) -> torch.Tensor:
    return (scores < 0).all(dim=1)


class OutputKind(NamedTuple):
    """How to read a model's scores: its probabilities, its rejections, and whether it can reject at all."""

    probabilities: Callable[[torch.Tensor], torch.Tensor]
    rejected: Callable[[torch.Tensor], torch.Tensor]
    can_reject: bool


# ModelSpec.output → how its scores are read
OUTPUTS: dict[str, OutputKind] = {
    "softmax": OutputKind(lambda scores: torch.softmax(scores, dim=1), _never, can_reject=False),
    "sigmoid": OutputKind(torch.sigmoid, _all_below_half, can_reject=True),
}


def probabilities(scores: torch.Tensor, spec: ModelSpec) -> torch.Tensor:
    """``softmax(s)`` or ``σ(s)`` by the model's output kind; ``[N, C]``."""
    return OUTPUTS[spec.output].probabilities(scores)


def predictions(scores: torch.Tensor) -> torch.Tensor:
    """``argmax_c s_c``: the predicted class per row, ``int64 [N]``."""
    return scores.argmax(dim=1)


def rejected(scores: torch.Tensor, spec: ModelSpec) -> torch.Tensor:
    """``bool [N]``: True where a ``sigmoid_out`` model rejects (every output < 0.5); softmax never rejects."""
    return OUTPUTS[spec.output].rejected(scores)
