"""What the model figures share: image panels, the conv1 layer, hooks (saving: ``newlogic.figures.files``).

Figures are built on ``matplotlib.figure.Figure`` objects, never through ``pyplot``: no global
state, no display; ``savefig`` renders PNG with Agg and PDF with matplotlib's PDF backend.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.image import AxesImage
from torch import nn

from newlogic.errors import UserError

DIVERGING_CMAP = "RdBu_r"  # red positive, blue negative, white 0
IMAGE_CMAP = "gray"


def centred_norm(values: np.ndarray, minimum: float = 0.0) -> Normalize:
    """A colour scale symmetric about 0: ``[-m, m]``, ``m = max(max|values|, minimum)`` (1 when that is 0)."""
    bound = max(float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.0, minimum)
    return Normalize(-bound, bound) if bound > 0 else Normalize(-1.0, 1.0)


def _array(image: torch.Tensor | np.ndarray) -> np.ndarray:
    return image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)


def _bare(ax: Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def show_image(ax: Axes, image: torch.Tensor | np.ndarray, norm: Normalize | None = None) -> None:
    """Draw a ``[C, H, W]`` image, grey (C = 1) or RGB (C = 3); ``norm`` maps values to [0, 1] (default: as is)."""
    norm = norm or Normalize(0.0, 1.0)
    low, high = norm.vmin, norm.vmax
    if low is None or high is None:
        raise ValueError(f"show_image needs a norm with vmin and vmax set, not [{low}, {high}]")
    array = np.clip((_array(image) - low) / (high - low), 0.0, 1.0)
    if array.shape[0] == 1:
        ax.imshow(array[0], cmap=IMAGE_CMAP, vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(array.transpose(1, 2, 0), interpolation="nearest")
    _bare(ax)


def show_signed(ax: Axes, image: torch.Tensor | np.ndarray, norm: Normalize) -> AxesImage:
    """Draw a signed ``[C, H, W]`` map (a perturbation), averaged over channels, diverging colours centred on 0."""
    array = _array(image)
    drawn = ax.imshow(array.mean(axis=0), cmap=DIVERGING_CMAP, norm=norm, interpolation="nearest")
    _bare(ax)
    return drawn


def first_conv(model: nn.Module) -> nn.Conv2d:
    """conv1: the first ``nn.Conv2d`` of ``model`` in module order (a ``ConvUnit`` is one)."""
    conv = next((module for module in model.modules() if isinstance(module, nn.Conv2d)), None)
    if conv is None:
        raise UserError(f"the model has no convolution layer (modules: {type(model).__name__}); conv1 figures "
                        "need a CNN")
    return conv


class _Captured(Exception):
    """Raised by a capture hook to stop the forward pass once the wanted module has run."""


@contextmanager
def capture(module: nn.Module) -> Iterator[dict[str, torch.Tensor]]:
    """While active, a forward pass of the model stores ``module``'s ``input`` and ``output`` in the yielded dict."""
    store: dict[str, torch.Tensor] = {}

    def hook(_module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        store["input"], store["output"] = inputs[0], output

    handle = module.register_forward_hook(hook)
    try:
        yield store
    finally:
        handle.remove()


@torch.no_grad()
def module_io(model: nn.Module, module: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(input, output)`` of ``module`` when ``model`` runs on ``x``; the layers after it are not run."""

    def stop(_module: nn.Module, _inputs: tuple[torch.Tensor, ...], _output: torch.Tensor) -> None:
        raise _Captured

    with capture(module) as store:
        handle = module.register_forward_hook(stop)
        try:
            model(x)
        except _Captured:
            pass
        finally:
            handle.remove()
    return store["input"], store["output"]

