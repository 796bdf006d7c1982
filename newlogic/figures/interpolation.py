"""The interpolation plot (SPEC §6): a model's units along the straight path from digit x to digit y and to z.

Path: ``x(t) = (1 − t)·x + t·y``, ``t = 0 … 1`` in ``steps`` steps (pixels stay in [0, 1]). Along
it the figure shows, per path (x→y, x→z): a few frames of the path; the output probabilities
(softmax or sigmoid, ``newlogic.nn.outputs``); and the last hidden layer (the classifier's input)
as a heat map of its ``units`` most active units (largest activation on either path), ordered by
where they peak on x→y. Distributed representations change smoothly along t; localist ones
show small strong regions amid zeros (journal).
"""

from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from torch import nn

from newlogic.errors import UserError
from newlogic.figures.common import capture, show_image
from newlogic.figures.options import DEFAULT_CLASSES
from newlogic.nn.outputs import probabilities
from newlogic.spec import ModelSpec

STEPS = 41
FRAMES = 5
HIDDEN_UNITS = 32


@dataclass(frozen=True)
class PathResponse:
    """Along one path: ``t [steps]``, images ``[steps, C, H, W]``, hidden activations ``[steps, D]``, probabilities."""

    t: torch.Tensor
    images: torch.Tensor
    hidden: torch.Tensor
    probabilities: torch.Tensor


def interpolation_path(start: torch.Tensor, end: torch.Tensor, steps: int = STEPS) -> tuple[torch.Tensor, torch.Tensor]:
    """``(t, (1 − t)·start + t·end)`` for ``t`` = ``linspace(0, 1, steps)``; images ``[steps, C, H, W]``."""
    t = torch.linspace(0.0, 1.0, steps)
    return t, (1 - t.view(-1, 1, 1, 1)) * start.cpu() + t.view(-1, 1, 1, 1) * end.cpu()


@torch.no_grad()
def path_response(model: nn.Module, spec: ModelSpec, start: torch.Tensor, end: torch.Tensor, *,
                  steps: int = STEPS, device: torch.device | str = "cpu") -> PathResponse:
    """The model's last hidden layer (the input of ``model.classifier``) and probabilities along start → end."""
    try:
        classifier = model.get_submodule("classifier")
    except AttributeError:
        raise UserError("the interpolation plot needs a model with a 'classifier' part (newlogic.nn.models)") from None
    t, images = interpolation_path(start, end, steps)
    with capture(classifier) as store:
        scores = model(images.to(device))
    hidden = store["input"].flatten(1)
    return PathResponse(t, images, hidden.cpu(), probabilities(scores, spec).cpu())


def first_of_class(images: torch.Tensor, labels: torch.Tensor, label: int) -> torch.Tensor:
    """The first image of class ``label``."""
    index = torch.nonzero(labels == label).flatten()
    if not len(index):
        raise UserError(f"no image of class {label} in the split; valid classes: {sorted(set(labels.tolist()))}")
    return images[index[0]]


def _frames(images: torch.Tensor) -> torch.Tensor:
    """``FRAMES`` evenly spaced images of the path side by side, 1-pixel white gaps."""
    picks = np.linspace(0, len(images) - 1, FRAMES).round().astype(int)
    gap = torch.ones(images.shape[1], images.shape[2], 1)
    parts = [piece for index in picks for piece in (images[index], gap)][:-1]
    return torch.cat(parts, dim=2)


def plot_interpolation(model: nn.Module, spec: ModelSpec, images: torch.Tensor, labels: torch.Tensor, *,
                       classes: tuple[int, int, int] = DEFAULT_CLASSES, steps: int = STEPS,
                       units: int = HIDDEN_UNITS, device: torch.device | str = "cpu", title: str = "") -> Figure:
    """Paths x→y and x→z (first images of ``classes`` in ``images``): frames, probabilities, top hidden units."""
    x, y, z = (first_of_class(images, labels, label) for label in classes)
    paths = {f"{classes[0]} → {classes[1]}": path_response(model, spec, x, y, steps=steps, device=device),
             f"{classes[0]} → {classes[2]}": path_response(model, spec, x, z, steps=steps, device=device)}
    responses = list(paths.values())
    peak = torch.maximum(responses[0].hidden.amax(dim=0), responses[1].hidden.amax(dim=0))
    chosen = peak.topk(min(units, len(peak))).indices
    chosen = chosen[responses[0].hidden[:, chosen].argmax(dim=0).argsort(stable=True)]
    scale = Normalize(0.0, max(float(peak[chosen].max()), 1e-12))
    figure = Figure(figsize=(10.0, 8.0), layout="constrained")
    axes = figure.subplots(3, 2, height_ratios=[1.0, 2.0, 3.0])
    heat_maps: list[AxesImage] = []
    for column, (name, response) in enumerate(paths.items()):
        show_image(axes[0, column], _frames(response.images))
        axes[0, column].set_title(f"path {name} (t = 0 … 1)")
        for label in range(response.probabilities.shape[1]):
            emphasis = label in (classes[0], classes[1 + column])
            axes[1, column].plot(response.t, response.probabilities[:, label], color=f"C{label}",
                                 linewidth=2.0 if emphasis else 0.8, alpha=1.0 if emphasis else 0.5)
        axes[1, column].set_ylim(-0.02, 1.02)
        axes[1, column].set_ylabel(f"{spec.output} probability")
        axes[1, column].grid(True, alpha=0.3)
        activity = response.hidden[:, chosen].T.numpy()
        heat_maps.append(axes[2, column].imshow(activity, aspect="auto", cmap="viridis", norm=scale,
                                                interpolation="nearest", extent=(0.0, 1.0, len(chosen) - 0.5, -0.5)))
        active = float((response.hidden > 0).float().mean())
        axes[2, column].set_title(f"top {len(chosen)} hidden units ({active:.0%} of all units > 0 on average)",
                                  fontsize=9)
        axes[2, column].set_xlabel("t")
        axes[2, column].set_ylabel("hidden unit (by peak)")
        axes[2, column].set_yticks([])
    handles = [Line2D([], [], color=f"C{label}", label=str(label)) for label in range(response.probabilities.shape[1])]
    axes[1, 1].legend(handles=handles, title="class", fontsize=7, ncols=2, loc="center left",
                      bbox_to_anchor=(1.0, 0.5))
    figure.colorbar(heat_maps[-1], ax=axes[2, :], label="activation", shrink=0.9)
    figure.suptitle(f"Interpolation {title}".strip())
    return figure
