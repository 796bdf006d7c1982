"""Weight initialisation by name (SPEC §2): ``kaiming`` and the journal's ``dynamic`` init.

Both touch every ``nn.Conv2d``/``nn.Linear`` (modified units included: they subclass them);
BatchNorm keeps PyTorch's defaults (weight 1, bias 0).
"""

from collections.abc import Callable

import torch
from torch import nn

from newlogic.errors import UserError
from newlogic.nn.options import INIT_METHOD_NAMES
from newlogic.registry import keyed_by

DYNAMIC_GAIN = 0.9
_LAYERS = (nn.Conv2d, nn.Linear)


def _weights(layer: nn.Conv2d | nn.Linear) -> list[torch.Tensor]:
    """W, and V of quadratic/elliptical units."""
    second = getattr(layer, "second_weight", None)
    return [layer.weight] if second is None else [layer.weight, second]


def kaiming_init(model: nn.Module, sample: torch.Tensor) -> None:
    """Kaiming normal, fan_in, ReLU gain √2: ``W ~ N(0, 2 / fan_in)`` (V likewise), b = 0.

    ``fan_in = C_in·k·k`` (conv) or ``in_features`` (dense). ``sample`` is not used.
    """
    del sample
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, _LAYERS):
                for weight in _weights(layer):
                    nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu")
                if layer.bias is not None:
                    layer.bias.zero_()


def _dynamic_hook(layer: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
    """Initialise ``layer`` from its input: ``W ~ N(0, (0.9/√(fan_in·E[x²]))²)``, V from ``E[x⁴]``, b = 0."""
    assert isinstance(layer, _LAYERS)  # the hook is registered on these layers only (dynamic_init)
    x = inputs[0]
    fan_in = layer.weight[0].numel()
    moments = [x.pow(2).mean(), x.pow(4).mean()]  # the second moment of W's input x and of V's input x²
    for weight, moment in zip(_weights(layer), moments, strict=False):
        std = DYNAMIC_GAIN / torch.sqrt(fan_in * moment.clamp(min=torch.finfo(x.dtype).tiny))
        weight.copy_(torch.randn_like(weight) * std)
    if layer.bias is not None:
        layer.bias.zero_()


def dynamic_init(model: nn.Module, sample: torch.Tensor) -> None:
    """The journal's dynamic init (SPEC §2), layer by layer from one sample batch.

    ``W ~ N(0, (0.9 / √(fan_in·E[x²]))²)``, b = 0, where x is the layer's input on ``sample``
    (mean over all its elements) — so each layer's pre-activation has second moment ≈ 0.81.
    A forward pre-hook on every conv/dense layer initialises it just before it runs, so later
    layers see the already initialised earlier ones, all in one forward pass of ``sample``.
    V of quadratic/elliptical units (whose input is x²) follows the same rule with ``E[x⁴]``
    [project: the SPEC names W only]. The pass runs in eval mode under ``no_grad``, so ramps
    do not advance and BatchNorm (running stats at init: mean 0, var 1) is the identity up
    to its eps; the model's training flag is restored afterwards. ``sample`` must be on the
    model's device, pixels in [0, 1] like any model input.
    """
    handles = [layer.register_forward_pre_hook(_dynamic_hook) for layer in model.modules()
               if isinstance(layer, _LAYERS)]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(sample)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()


INIT_METHODS: dict[str, Callable[[nn.Module, torch.Tensor], None]] = keyed_by(INIT_METHOD_NAMES, {
    "kaiming": kaiming_init,
    "dynamic": dynamic_init,
}, "INIT_METHODS")


def initialize(model: nn.Module, method: str, sample: torch.Tensor) -> None:
    """Initialise ``model`` in place by ``method`` (a key of ``INIT_METHODS``); ``sample``: one input batch."""
    if method not in INIT_METHODS:
        raise UserError(f"unknown init method {method!r}; valid: {', '.join(INIT_METHODS)}")
    INIT_METHODS[method](model, sample)
