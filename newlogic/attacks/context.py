"""What an attack receives besides its batch and its resolved setting (SPEC §5)."""

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Surrogate:
    """The model a transfer attack crafts on: its attack target and its probabilities ``x → p``."""

    target: nn.Module
    probabilities: Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class AttackContext:
    """What an attack needs besides the batch: class count, the probabilities of the attacked model, surrogate, seed.

    ``probabilities(x)`` is softmax or sigmoid of the attacked model's scores (its real output,
    whatever ``attack_on`` says); ``surrogate`` is where a transfer attack crafts; ``records``,
    where given, receives per-sample tensors an attack measures besides the images, by name
    (AutoAttack: ``autoattack.SURVIVED``); the caller reads and clears it after each batch.
    """

    num_classes: int
    probabilities: Callable[[torch.Tensor], torch.Tensor]
    seed: int = 0
    surrogate: Surrogate | None = None
    records: dict[str, torch.Tensor] | None = None
