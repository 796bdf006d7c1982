"""Histograms of the predicted probability on clean, noise and adversarial inputs (SPEC §5–§6).

The predicted probability of an input is ``max_c p_c`` with ``p = softmax(s)`` or ``σ(s)``
(``newlogic.nn.outputs``): the confidence the journal analysed (sigmoid outputs are
under-confident on clean images). Clean: the test split; noise: ``n_noise`` uniform-noise images
(``newlogic.data_transforms.uniform_noise``); adversarial: the ``adv_confidence`` array of attack results'
``.npz`` files (the max probability on each attacked image, ``newlogic.evaluation.evaluate``), so nothing is
crafted again. Bars are fractions of each set's images, 20 bins over [0, 1]; the dashed line is
the 0.5 threshold of rejection (``newlogic.nn.outputs.CONFIDENCE_THRESHOLD``).
"""

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from newlogic.data_transforms import uniform_noise
from newlogic.errors import UserError
from newlogic.figures.options import NOISE_SAMPLES
from newlogic.figures.panels import PANEL_COLUMNS, panel_grid
from newlogic.nn.outputs import CONFIDENCE_THRESHOLD, probabilities
from newlogic.report.vocabulary import shown_norm
from newlogic.spec import ModelSpec
from newlogic.store.results import read_result

BINS = np.linspace(0.0, 1.0, 21)
EVAL_BATCH = 1000
PANEL_WIDTH, PANEL_HEIGHT = 3.0, 2.6  # inches per histogram (newlogic.figures.panels.panel_grid)


@torch.no_grad()
def max_probabilities(model: nn.Module, spec: ModelSpec, images: torch.Tensor,
                      device: torch.device | str = "cpu") -> np.ndarray:
    """``max_c p_c`` per image, evaluated in batches."""
    parts = [probabilities(model(batch.to(device)), spec).amax(dim=1).cpu() for batch in images.split(EVAL_BATCH)]
    return torch.cat(parts).numpy()


def adversarial_confidence(result_path: Path | str) -> tuple[str, np.ndarray]:
    """``(panel name, adv_confidence)`` of one attack result: its setting with its threat as the tables print it
    (``fgsm_0.3 · L∞ ε=0.3``; ``cw_l2 · L2, no ε`` for an attack unbounded by design) and its ``.npz`` array."""
    result = read_result(result_path, ("adv_confidence",))
    norm, eps = shown_norm(result.data["norm"]), result.data["eps"]
    threat = f"{norm}, no ε" if eps is None else f"{norm} ε={eps:g}"
    return f"{result.setting} · {threat}", np.asarray(result.samples["adv_confidence"], dtype=float)


def plot_confidence(sets: Mapping[str, np.ndarray], output: str, title: str = "") -> Figure:
    """One histogram of max-probabilities per named set (e.g. clean, uniform noise, ``fgsm_0.3``), shared axes,
    ``PANEL_COLUMNS`` to a row (24 sets: 8 rows of 3, about 1,400 px wide at the figures' DPI)."""
    if not sets:
        raise UserError("no input set to plot a confidence histogram of")
    figure, axes = panel_grid(len(sets), PANEL_WIDTH, PANEL_HEIGHT)  # a grid: as wide as three panels at most
    for ax in axes[1:]:
        ax.sharey(axes[0])
    for ax, (name, values) in zip(axes, sets.items(), strict=True):
        ax.hist(values, bins=BINS.tolist(), weights=np.full(len(values), 1.0 / max(len(values), 1)), color="tab:blue")
        ax.axvline(CONFIDENCE_THRESHOLD, color="black", linestyle="--", linewidth=1)
        ax.set_title(f"{name}\n(n = {len(values)}, mean {np.mean(values):.2f})", fontsize=9)
        ax.set_xlabel(f"max {output} probability")
        ax.set_xlim(0.0, 1.0)
        ax.grid(True, alpha=0.3)
    for ax in axes[::PANEL_COLUMNS]:
        ax.set_ylabel("fraction of images")
    figure.suptitle(f"Predicted probabilities {title}".strip())
    return figure


def confidence_sets(model: nn.Module, spec: ModelSpec, clean: torch.Tensor, *, results: Sequence[Path] = (),
                    n_noise: int = NOISE_SAMPLES, seed: int = 0,
                    device: torch.device | str = "cpu") -> dict[str, np.ndarray]:
    """``{"clean": …, "uniform noise": …, <setting · threat>: …}`` max-probabilities for ``plot_confidence``."""
    noise = uniform_noise(n_noise, tuple(clean.shape[1:]), seed)
    sets = {"clean": max_probabilities(model, spec, clean, device),
            "uniform noise": max_probabilities(model, spec, noise, device)}
    sets.update(adversarial_confidence(path) for path in results)
    return sets
