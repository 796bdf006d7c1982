"""From scores to probabilities, predictions and rejections (SPEC §2, docs/architecture.md).

A model returns scores ``s [N, C]``. ``ModelSpec.output`` says how to read them:

- ``softmax``: ``p = softmax(s)``; never rejects.
- ``sigmoid`` (``sigmoid_out``): ``p_c = σ(s_c)``, each class on its own; the model *rejects*
  an input when every ``σ(s_c) < 0.5``, i.e. every ``s_c < 0`` (tested on the scores, so a
  score of −1e-9 whose float32 sigmoid rounds to 0.5 still counts as below).

The prediction is ``argmax_c s_c`` in both cases (σ and softmax are monotone).

Attacks differentiate the scores (``attack_on: scores``, the default: no σ or softmax in the
graph) or the probabilities (``attack_on: probs``). There a saturated output hides the way: in
float32 ``σ(s) = 1`` for ``s > 17``, so ``σ'(s) = σ(1 − σ) = 0``. Each probabilities transform is a
``Probabilities`` layer, which ``newlogic.evaluation.target.AttackTarget`` holds as a submodule:
in the adaptive attack's surrogate mode its backward is the identity (``SURROGATES``), so the
attack's loss on ``p`` is differentiated as on ``s`` (the margin on the logits before the sigmoid).
"""

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn

from newlogic.nn.options import OUTPUT_NAMES
from newlogic.nn.surrogate import SmoothBackward, SurrogateEntry, smooth, straight_through
from newlogic.registry import keyed_by
from newlogic.spec import ModelSpec

# max-probability at or below which noise rejection counts a softmax model as not confident (evaluation.noise),
# and the dashed line of the confidence figure: a sigmoid output's rejection threshold σ(s) = 0.5
CONFIDENCE_THRESHOLD = 0.5

def _never(scores: torch.Tensor) -> torch.Tensor:
    return torch.zeros(scores.shape[0], dtype=torch.bool, device=scores.device)


def _all_below_half(scores: torch.Tensor) -> torch.Tensor:
    return (scores < 0).all(dim=1)


class Probabilities(SmoothBackward, nn.Module):
    """``transform(s)`` (σ or softmax), exactly; in surrogate mode its backward is the identity (BPDA)."""

    def __init__(self, transform: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.transform = transform
        self.train(False)

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        return straight_through(scores, self.transform, self)


class OutputKind(NamedTuple):
    """How to read a model's scores: its probabilities, its rejections, and whether it can reject at all."""

    probabilities: Callable[[torch.Tensor], torch.Tensor]
    rejected: Callable[[torch.Tensor], torch.Tensor]
    can_reject: bool


# ModelSpec.output → how its scores are read
OUTPUTS: dict[str, OutputKind] = keyed_by(OUTPUT_NAMES, {
    "softmax": OutputKind(Probabilities(lambda scores: torch.softmax(scores, dim=1)), _never, can_reject=False),
    "sigmoid": OutputKind(Probabilities(torch.sigmoid), _all_below_half, can_reject=True),
}, "OUTPUTS")

_IDENTITY = ("with attack_on: probs, the identity in place of the {name}'s Jacobian {jacobian} (0 where it "
             "saturates), so the loss on p is differentiated as on the scores s; with attack_on: scores "
             "(the default) no {name} is in the graph. The loss it was trained with (ce, mse, bce) is training-only")

# ModelSpec.output → what the adaptive attack differentiates (newlogic.nn.surrogate)
SURROGATES: dict[str, SurrogateEntry] = keyed_by(OUTPUT_NAMES, {
    "softmax": smooth(_IDENTITY.format(name="softmax", jacobian="diag(p) − p·pᵀ")),
    "sigmoid": smooth(_IDENTITY.format(name="sigmoid", jacobian="σ(s)·(1 − σ(s))")),
}, "outputs.SURROGATES")


def probabilities(scores: torch.Tensor, spec: ModelSpec) -> torch.Tensor:
    """``softmax(s)`` or ``σ(s)`` by the model's output kind; ``[N, C]``."""
    return OUTPUTS[spec.output].probabilities(scores)


def predictions(scores: torch.Tensor) -> torch.Tensor:
    """``argmax_c s_c``: the predicted class per row, ``int64 [N]``."""
    return scores.argmax(dim=1)


def rejected(scores: torch.Tensor, spec: ModelSpec) -> torch.Tensor:
    """``bool [N]``: True where a ``sigmoid_out`` model rejects (every output < 0.5); softmax never rejects."""
    return OUTPUTS[spec.output].rejected(scores)
