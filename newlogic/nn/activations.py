"""Activations by name (SPEC §2): ReLU and ReLog(n), ramped in from ReLU, with optional centering.

The registry ``ACTIVATIONS`` maps the grammar's activation (``ModelSpec.activation``) to a
factory ``(ReLogSettings) -> nn.Module``; ``RELOG_FORMS`` maps ``ReLogSettings.form`` to
the ReLog variant (``journal`` or the paper's ``beta``). ``SURROGATES`` and ``RELOG_FORM_SURROGATES``
state what the adaptive attack differentiates for each (``newlogic.nn.surrogate``).
"""

import math
from collections.abc import Callable

import torch
from torch import nn

from newlogic.errors import UserError
from newlogic.nn.options import ACTIVATION_NAMES, RELOG_FORM_NAMES, ReLogSettings
from newlogic.nn.ramp import advance_ramp, register_ramp
from newlogic.nn.surrogate import SmoothBackward, SurrogateEntry, exact, rectify, smooth
from newlogic.registry import keyed_by
from newlogic.spec import DEFAULT_RELOG_BASE


class ReLU(SmoothBackward, nn.ReLU):
    """``relu(x)``, with the softplus surrogate gradient in its flat region during an adaptive attack
    (``newlogic.nn.surrogate``); otherwise torch's ``nn.ReLU`` exactly."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rectify(x, self)


class RampedReLog(SmoothBackward, nn.Module):
    """Base of the ReLog variants: holds the ReLU→ReLog strength ``s`` (SPEC §2).

    ``s`` starts at ``start`` (negative delays the ramp) and after ``t`` training forward
    passes is ``min(1, start + t·step)`` (see ``newlogic.nn.ramp``); eval-mode passes leave it
    alone. Buffers: ``strength`` (s) and ``strength_steps`` (t), both in the ``state_dict``.
    """

    strength: torch.Tensor  # buffer: s
    strength_steps: torch.Tensor  # buffer: t

    def __init__(self, start: float, step: float) -> None:
        super().__init__()
        self.start = start
        self.step = step
        register_ramp(self, "strength", start)

    def current_strength(self) -> torch.Tensor:
        """``s`` for this forward pass: advanced first in training mode; a fresh tensor (safe for autograd)."""
        if self.training:
            advance_ramp(self, "strength", self.start, self.step)
        return self.strength.clone()


class ReLog(RampedReLog):
    """ReLog(n), journal form, ramped in from ReLU (SPEC §2).

    ``relog(x) = log_n(relu(x) + 1/n) + 1``: 0 for x <= 0, slope ``n / ln n`` at 0+,
    logarithmic above (relog(n - 1/n) = 2). Output ``y = s·relog(x) + (1 - s)·relu(x)`` with
    ``s`` clipped below at 0 (a negative ``s`` is a delayed start, not an extrapolation).
    """

    def __init__(self, base: float = DEFAULT_RELOG_BASE, start: float = 0.0, step: float = 0.001) -> None:
        super().__init__(start, step)
        self.base = base

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.current_strength().clamp(min=0.0)
        positive = rectify(x, self)
        relog = torch.log(positive + 1.0 / self.base).mul_(1.0 / math.log(self.base)).add_(1.0)
        return torch.lerp(positive, relog, s)  # positive + s·(relog - positive): one fused kernel

    def extra_repr(self) -> str:
        return f"base={self.base}, start={self.start}, step={self.step}"


class BetaReLog(RampedReLog):
    """ReLog, the paper's β form, ramped in by its effective β (SPEC §2, ``relog_form: beta``).

    ``y = ln(1 + β_eff·relu(x)) / β_eff`` with ``β_eff = β·max(1e-4, s)``: at s ≈ 0 this is
    ReLU up to ``O(β_eff·x²)``, at s = 1 it is ``ln(1 + β·relu(x)) / β`` (slope 1 at 0+).
    """

    MIN_STRENGTH = 1e-4

    def __init__(self, beta: float = 1.0, start: float = 0.0, step: float = 0.001) -> None:
        super().__init__(start, step)
        self.beta = beta

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = self.beta * self.current_strength().clamp(min=self.MIN_STRENGTH)
        return torch.log1p(beta * rectify(x, self)) / beta

    def extra_repr(self) -> str:
        return f"beta={self.beta}, start={self.start}, step={self.step}"


class Centering(nn.Module):
    """``y = x - 0.5`` after ReLog (SPEC §2 centering, the journal's alternative to BatchNorm)."""

    OFFSET = 0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.OFFSET


def _journal_relog(settings: ReLogSettings) -> nn.Module:
    return ReLog(base=settings.base, start=settings.start, step=settings.step)


def _beta_relog(settings: ReLogSettings) -> nn.Module:
    if settings.base != DEFAULT_RELOG_BASE:
        raise UserError(
            f"relog_{settings.base:g} names the journal form's base, but relog_form is 'beta'; "
            "use plain 'relog' with relog_form beta (set relog_beta), or relog_form journal"
        )
    return BetaReLog(beta=settings.beta, start=settings.start, step=settings.step)


RELOG_FORMS: dict[str, Callable[[ReLogSettings], nn.Module]] = keyed_by(RELOG_FORM_NAMES, {
    "journal": _journal_relog,
    "beta": _beta_relog,
}, "RELOG_FORMS")


def _relog(settings: ReLogSettings) -> nn.Module:
    relog = RELOG_FORMS[settings.form](settings)
    return nn.Sequential(relog, Centering()) if settings.centering else relog


ACTIVATIONS: dict[str, Callable[[ReLogSettings], nn.Module]] = keyed_by(ACTIVATION_NAMES, {
    "relu": lambda _settings: ReLU(),
    "relog": _relog,
}, "ACTIVATIONS")

_SOFTPLUS = "the rectifier's softplus gradient σ(x/τ) below 0, where the exact one is 0 (newlogic.nn.surrogate.rectify)"

# ModelSpec.activation → what the adaptive attack differentiates (newlogic.nn.surrogate)
SURROGATES: dict[str, SurrogateEntry] = keyed_by(ACTIVATION_NAMES, {
    "relu": smooth(_SOFTPLUS + "; 1 above 0"),
    "relog": smooth(_SOFTPLUS + ", times the form's slope at 0+ (RELOG_FORM_SURROGATES)"),
}, "activations.SURROGATES")
# ReLogSettings.form → its surrogate: the rectifier inside it; above 0 each form is smooth, its slope never 0
RELOG_FORM_SURROGATES: dict[str, SurrogateEntry] = keyed_by(RELOG_FORM_NAMES, {
    "journal": smooth(_SOFTPLUS + "; above 0 the exact s/((x + 1/n)·ln n) + (1 − s), > 0"),
    "beta": smooth(_SOFTPLUS + "; above 0 the exact 1/(1 + β_eff·x), > 0"),
}, "activations.RELOG_FORM_SURROGATES")
CENTERING_SURROGATE = exact("x − 0.5: the gradient passes unchanged")
RELOG_RAMP_SURROGATE = exact("the strength s is a buffer, constant at attack time (eval mode never advances it)")


def make_activation(name: str, settings: ReLogSettings) -> nn.Module:
    """The activation ``name`` (``ModelSpec.activation``) of a modified layer, ReLog shaped by ``settings``.

    Centering subtracts 0.5 after every ReLog only (SPEC §2 centres ReLog's output); ReLU layers
    are never centred.
    """
    return ACTIVATIONS[name](settings)
