"""conv1 weights, scaled (not shifted) into [-1, 1] (SPEC §6, journal 3 Oct).

``w' = w / max|w|``, the maximum taken per neuron (output channel: over its input channels and
kernel positions) or over the whole layer (``SCALES``). Scaling keeps 0 at 0 and every sign, so
a diverging colour map centred on 0 shows excitatory (red) and inhibitory (blue) weights; a
neuron whose weights are all 0 stays 0. Only ``W`` is drawn (quadratic/elliptical units also
hold a curvature weight ``V``).
"""

import math
from collections.abc import Callable

import numpy as np
import torch
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from torch import nn

from newlogic.errors import UserError
from newlogic.figures.common import DIVERGING_CMAP, first_conv

GRID_COLUMNS = 8


def _safe(maximum: torch.Tensor) -> torch.Tensor:
    return torch.where(maximum > 0, maximum, torch.ones_like(maximum))


# scope → max|w| to divide by, broadcastable to the weight [C_out, C_in, k, k]
SCALES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "neuron": lambda weight: _safe(weight.abs().amax(dim=tuple(range(1, weight.dim())), keepdim=True)),
    "global": lambda weight: _safe(weight.abs().amax()),
}


def scale_weights(weight: torch.Tensor, scope: str = "neuron") -> torch.Tensor:
    """``w / max|w|`` with the max per neuron (``dim 0``) or over the layer: values in [-1, 1], 0 stays 0."""
    if scope not in SCALES:
        raise UserError(f"unknown weight scaling scope {scope!r}; valid: {', '.join(SCALES)}")
    return weight / SCALES[scope](weight)


def weight_tile(weight: torch.Tensor) -> np.ndarray:
    """One neuron's ``[C_in, k, k]`` weights as a ``[k, C_in·(k+1) − 1]`` array, channels side by side, NaN gaps."""
    channels, height, width = weight.shape
    tile = np.full((height, channels * (width + 1) - 1), np.nan)
    for channel in range(channels):
        tile[:, channel * (width + 1): channel * (width + 1) + width] = weight[channel].cpu().numpy()
    return tile


def weight_mosaic(weight: torch.Tensor, columns: int) -> np.ndarray:
    """All neurons' tiles (``weight_tile``) on a grid of ``columns``, row-major, separated by NaN gaps of 1."""
    tiles = [weight_tile(neuron) for neuron in weight]
    height, width = tiles[0].shape
    rows = math.ceil(len(tiles) / columns)
    mosaic = np.full((rows * (height + 1) - 1, columns * (width + 1) - 1), np.nan)
    for index, tile in enumerate(tiles):
        top, left = (index // columns) * (height + 1), (index % columns) * (width + 1)
        mosaic[top:top + height, left:left + width] = tile
    return mosaic


def plot_conv1_weights(model: nn.Module, *, scope: str = "neuron", title: str = "conv1",
                       fold_factor: int = 1) -> Figure:
    """Every conv1 neuron's weights scaled into [-1, 1] (``scale_weights``), colour map centred on 0.

    One tile per output channel, row-major, numbered (before folding: with ``fold_factor`` F > 1,
    channels ``F·g … F·g + F − 1`` fold into one unit ``g`` and a row holds whole groups);
    several input channels sit side by side in a tile.
    """
    weight = scale_weights(first_conv(model).weight.detach().float().cpu(), scope)
    count, _, height, _ = weight.shape
    columns = min(count, fold_factor * max(1, GRID_COLUMNS // fold_factor))
    mosaic = weight_mosaic(weight, columns)
    tile_width = weight_tile(weight[0]).shape[1]
    figure = Figure(figsize=(1.5 + 0.9 * columns * tile_width / height, 0.9 + 0.9 * math.ceil(count / columns)),
                    layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(mosaic, cmap=DIVERGING_CMAP, norm=Normalize(-1.0, 1.0), interpolation="nearest")
    ax.set_facecolor("0.85")
    ticks = np.arange(columns) * (tile_width + 1) + (tile_width - 1) / 2
    ax.set_xticks(ticks, [str(column) for column in range(columns)], fontsize=7)
    rows = math.ceil(count / columns)
    ax.set_yticks(np.arange(rows) * (height + 1) + (height - 1) / 2, [str(row * columns) for row in range(rows)],
                  fontsize=7)
    ax.tick_params(length=0)
    ax.set_xlabel("channel = row label + column" + ("" if fold_factor == 1 else
                                                      f"; folding: channel c feeds unit c // {fold_factor}"))
    how = "per neuron" if scope == "neuron" else "over the layer"
    ax.set_title(f"{title}: weights w / max|w| ({how})", fontsize=10)
    figure.colorbar(image, ax=ax, shrink=0.8, label="scaled weight")
    return figure
