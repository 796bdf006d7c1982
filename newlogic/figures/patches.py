"""The patterns that activate one conv1 neuron most (SPEC §6, journal 3 Oct): top 1% patches, clustered.

Over a set of images (the training split), every position ``(n, i, j)`` of conv1's output
gives the neuron's response ``z = (W∗x + b …)[n, c, i, j]`` (the unit's output, before folding
and activation: the same order as the activation when the layer is not folded, since ReLU and
ReLog are monotone) and the input patch under its receptive field. The ``fraction`` (1%) of
positions with the largest responses are kept: ``K = ⌈fraction · N · L⌉`` patches, ``L`` the
positions per image. k-means (scikit-learn, k-means++ init, seeded) groups them into a few
patterns; a cluster's pattern is its mean patch. The figure shows the neuron's weights (scaled
per neuron, ``newlogic.figures.weights``) beside the patterns, with the strongest patches of
each cluster below its pattern.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from torch import nn

from newlogic.errors import UserError
from newlogic.figures.common import DIVERGING_CMAP, first_conv, module_io, show_image
from newlogic.figures.options import N_CLUSTERS, TOP_FRACTION
from newlogic.figures.weights import scale_weights, weight_tile

BATCH = 256


@dataclass(frozen=True)
class TopPatches:
    """The ``K`` strongest input patches ``[K, C, k, k]`` of one neuron, their responses ``[K]`` (descending)."""

    patches: torch.Tensor
    responses: torch.Tensor
    positions: int


@dataclass(frozen=True)
class PatchClusters:
    """k-means of the patches: mean patch per cluster ``[n, C, k, k]``, cluster per patch ``[K]``, sizes ``[n]``.

    Clusters are numbered by size, largest first.
    """

    centers: torch.Tensor
    labels: torch.Tensor
    sizes: torch.Tensor


def gather_patches(inputs: torch.Tensor, conv: nn.Conv2d, image: torch.Tensor, row: torch.Tensor,
                   column: torch.Tensor) -> torch.Tensor:
    """The receptive fields ``[K, C, k, k]`` of conv outputs ``(image, row, column)`` in ``inputs`` (zero-padded)."""
    if isinstance(conv.padding, str):
        raise UserError(f"conv padding {conv.padding!r} is not supported by patch figures; valid: an int or a pair")
    (pad_h, pad_w), (stride_h, stride_w), (dil_h, dil_w) = conv.padding, conv.stride, conv.dilation
    padded = F.pad(inputs, (pad_w, pad_w, pad_h, pad_h))
    rows = row[:, None] * stride_h + torch.arange(conv.kernel_size[0], device=row.device) * dil_h
    columns = column[:, None] * stride_w + torch.arange(conv.kernel_size[1], device=row.device) * dil_w
    channels = torch.arange(inputs.shape[1], device=row.device)
    return padded[image[:, None, None, None], channels[None, :, None, None], rows[:, None, :, None],
                  columns[:, None, None, :]]


@torch.no_grad()
def top_patches(model: nn.Module, images: torch.Tensor, channel: int, *, fraction: float = TOP_FRACTION,
                device: torch.device | str = "cpu", batch_size: int = BATCH) -> TopPatches:
    """The ``⌈fraction·N·L⌉`` (image, position) pairs where conv1 channel ``channel`` responds most, as patches.

    Streams over ``images`` in batches, keeping the running top ``K`` on ``device``.
    """
    conv = first_conv(model)
    if not 0 <= channel < conv.out_channels:
        raise UserError(f"conv1 channel {channel} does not exist; valid: 0..{conv.out_channels - 1}")
    if not 0 < fraction <= 1:
        raise UserError(f"top-patch fraction must be in (0, 1], got {fraction}")
    best_responses = torch.empty(0, device=device)
    best_patches = torch.empty(0, conv.in_channels, *conv.kernel_size, device=device)
    positions = keep = 0
    for batch in images.split(batch_size):
        inputs, outputs = module_io(model, conv, batch.to(device))
        height, width = outputs.shape[2:]
        if not keep:
            positions = len(images) * height * width
            keep = math.ceil(fraction * positions)
        responses = outputs[:, channel].reshape(-1)
        values, index = responses.topk(min(keep, len(responses)))
        position = index % (height * width)
        patches = gather_patches(inputs, conv, index // (height * width), position // width, position % width)
        merged = torch.cat([best_responses, values])
        best_responses, order = merged.topk(min(keep, len(merged)))
        best_patches = torch.cat([best_patches, patches])[order]
    return TopPatches(best_patches.cpu(), best_responses.cpu(), positions)


def cluster_patches(patches: torch.Tensor, n_clusters: int, seed: int = 0) -> PatchClusters:
    """k-means of the flattened ``patches`` into ``n_clusters`` (k-means++, ``random_state=seed``), largest first."""
    if not 1 <= n_clusters <= len(patches):
        raise UserError(f"cannot cluster {len(patches)} patches into {n_clusters} clusters; "
                        f"valid: 1..{len(patches)}")
    from sklearn.cluster import KMeans  # scikit-learn (seconds to import) only when a figure is drawn

    flat = patches.reshape(len(patches), -1).double().numpy()
    kmeans = KMeans(n_clusters=n_clusters, n_init="auto", random_state=seed).fit(flat)
    sizes = np.bincount(kmeans.labels_, minlength=n_clusters)
    by_size = np.argsort(-sizes, kind="stable")
    relabel = np.empty(n_clusters, dtype=np.int64)
    relabel[by_size] = np.arange(n_clusters)
    centers = torch.from_numpy(kmeans.cluster_centers_[by_size]).float().reshape(n_clusters, *patches.shape[1:])
    return PatchClusters(centers, torch.from_numpy(relabel[kmeans.labels_]), torch.from_numpy(sizes[by_size]))


def plot_top_patches(model: nn.Module, images: torch.Tensor, channel: int = 0, *, fraction: float = TOP_FRACTION,
                     n_clusters: int = N_CLUSTERS, examples: int = 5, seed: int = 0, device: torch.device | str = "cpu",
                     title: str = "conv1") -> Figure:
    """Neuron ``channel``'s scaled weights, the k-means patterns of its top patches, their strongest patches."""
    top = top_patches(model, images, channel, fraction=fraction, device=device)
    clusters = cluster_patches(top.patches, n_clusters, seed)
    weight = scale_weights(first_conv(model).weight.detach().float().cpu())[channel]
    low, high = float(top.patches.min()), float(top.patches.max())
    pixels = Normalize(min(0.0, low), max(1.0, high))
    figure = Figure(figsize=(1.6 * (n_clusters + 1), 1.5 * (examples + 1) + 0.6), layout="constrained")
    axes = figure.subplots(examples + 1, n_clusters + 1, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    weights_ax = axes[0, 0]
    weights_ax.set_axis_on()
    weights_ax.imshow(weight_tile(weight), cmap=DIVERGING_CMAP, norm=Normalize(-1.0, 1.0), interpolation="nearest")
    weights_ax.set_xticks([])
    weights_ax.set_yticks([])
    weights_ax.set_title("weights\n(w / max|w|)", fontsize=8)
    for cluster in range(n_clusters):
        column = cluster + 1
        axes[0, column].set_axis_on()
        show_image(axes[0, column], clusters.centers[cluster], pixels)
        share = float(clusters.sizes[cluster]) / len(top.patches)
        axes[0, column].set_title(f"pattern {cluster + 1}\n{share:.0%} of patches", fontsize=8)
        members = torch.nonzero(clusters.labels == cluster).flatten()[:examples]  # responses are sorted
        for row, member in enumerate(members.tolist(), start=1):
            axes[row, column].set_axis_on()
            show_image(axes[row, column], top.patches[member], pixels)
            axes[row, column].set_title(f"z = {float(top.responses[member]):.2f}", fontsize=7)
    figure.suptitle(f"{title} channel {channel}: top {fraction:.0%} of {top.positions} positions "
                    f"({len(top.patches)} patches), {n_clusters} k-means patterns")
    return figure
