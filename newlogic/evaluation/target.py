"""What an attack differentiates, and the guard that an attack leaves the model as it found it (SPEC §5).

The target is the model's scores, or ``probabilities(scores)`` with ``attack_on: probs``. It and
the wrapped model stay in eval mode: ``train()`` on the target is refused silently (torchattacks
records ``model.training`` and restores it with ``model.train()``, which would switch BatchNorm
to batch statistics and advance unfinished ramps). ``ModelGuard`` checks, around every batch,
that every module of the model is in eval mode and that its ``state_dict`` (parameters and
buffers: BatchNorm statistics, ramp values and counts) is bit-identical to what it was before
(``torch.equal``); a violation raises ``AttackSideEffect``, never a result.
"""

from collections.abc import Callable

import torch
from torch import nn

from newlogic.nn.outputs import OUTPUTS


class AttackSideEffect(RuntimeError):
    """An attack changed the model's mode or state: its result would be wrong, so there is none."""


class AttackTarget(nn.Module):
    """What an attack differentiates: the model's scores, or ``probabilities(scores)`` for ``attack_on: probs``."""

    def __init__(self, model: nn.Module, transform: Callable[[torch.Tensor], torch.Tensor] | None) -> None:
        super().__init__()
        self.model = model
        self.transform = transform
        super().train(False)

    def train(self, mode: bool = True) -> "AttackTarget":
        """Always eval mode: an attack's ``model.train()`` (torchattacks's mode restore) changes nothing."""
        del mode
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.model(x)
        return scores if self.transform is None else self.transform(scores)


def attack_target(model: nn.Module, output: str, attack_on: str) -> AttackTarget:
    """The target of an attack on ``model`` (``output``: softmax or sigmoid) through ``attack_on``."""
    return AttackTarget(model.eval(), OUTPUTS[output].probabilities if attack_on == "probs" else None)


class ModelGuard:
    """A snapshot of a model's ``state_dict``; ``check(what)`` raises ``AttackSideEffect`` if mode or state changed."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self._assert_eval("before the attack")
        self.state = {key: value.detach().clone() for key, value in model.state_dict().items()}

    def _assert_eval(self, when: str) -> None:
        training = [name or type(self.model).__name__ for name, module in self.model.named_modules() if module.training]
        if training:
            raise AttackSideEffect(f"the model is in training mode {when} ({', '.join(training[:3])}); "
                                   "attacks must run in eval mode")

    def check(self, what: str) -> None:
        """After ``what`` (e.g. one attack batch): eval mode, and every parameter and buffer bit-identical."""
        self._assert_eval(f"after {what}")
        current = self.model.state_dict()
        changed = [key for key, value in self.state.items()
                   if key not in current or not torch.equal(current[key], value)]
        changed += [key for key in current if key not in self.state]
        if changed:
            raise AttackSideEffect(f"{what} changed the model's state ({', '.join(changed[:3])}"
                                   f"{', …' if len(changed) > 3 else ''}); attacks must leave the model unchanged")
