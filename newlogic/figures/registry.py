"""The named figures and their entry points: one call per model, one per ablation, one for the depth plot.

Files (``newlogic.figures.files.figure_paths``): each figure ``name`` is written as
``out_dir/name.png`` and ``out_dir/name.pdf``.

- per model (``make_model_figures``): ``MODEL_FIGURES`` — ``conv1_weights``, ``top_patches``,
  ``interpolation``, ``confidence``, ``adversarial_gallery``;
- per ablation (``make_ablation_figures``): ``accuracy_vs_eps``, ``training_curves`` (from ``newlogic.report.collect``);
- once (``make_depth_figure``): ``depth_propagation``.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from matplotlib.figure import Figure

from newlogic.data import Split, load_dataset
from newlogic.device import resolve_device
from newlogic.errors import UserError
from newlogic.evaluation.model_loading import TrainedModel, load_trained_model
from newlogic.figures.confidence import confidence_sets, plot_confidence
from newlogic.figures.files import figure_paths, save_figure
from newlogic.figures.gallery import craft_gallery, plot_gallery
from newlogic.figures.interpolation import plot_interpolation
from newlogic.figures.options import FigureOptions
from newlogic.figures.patches import plot_top_patches
from newlogic.figures.weights import plot_conv1_weights
from newlogic.options import from_dict


@dataclass(frozen=True)
class ModelFigureInputs:
    """What the per-model figures draw from: the trained model, its dataset's splits, attack results, options."""

    trained: TrainedModel
    train: Split
    test: Split
    device: torch.device
    results: tuple[Path, ...]
    seed: int
    options: FigureOptions

    @property
    def title(self) -> str:
        return f"{self.trained.spec.name} ({self.trained.dataset}, seed {self.trained.record.get('seed')})"


def _conv1_weights(inputs: ModelFigureInputs) -> Figure:
    return plot_conv1_weights(inputs.trained.model, scope=inputs.options.weight_scope,
                              title=f"{inputs.title} conv1", fold_factor=inputs.trained.spec.fold_factor)


def _top_patches(inputs: ModelFigureInputs) -> Figure:
    options = inputs.options
    return plot_top_patches(inputs.trained.model, inputs.train.images, options.channel, fraction=options.top_fraction,
                            n_clusters=options.n_clusters, seed=inputs.seed, device=inputs.device,
                            title=f"{inputs.title} conv1")


def _interpolation(inputs: ModelFigureInputs) -> Figure:
    return plot_interpolation(inputs.trained.model, inputs.trained.spec, inputs.test.images, inputs.test.labels,
                              classes=inputs.options.interpolation_classes, device=inputs.device, title=inputs.title)


def _confidence(inputs: ModelFigureInputs) -> Figure:
    sets = confidence_sets(inputs.trained.model, inputs.trained.spec, inputs.test.images, results=inputs.results,
                           n_noise=inputs.options.noise_samples, seed=inputs.seed, device=inputs.device)
    return plot_confidence(sets, inputs.trained.spec.output, title=inputs.title)


def _adversarial_gallery(inputs: ModelFigureInputs) -> Figure:
    gallery = craft_gallery(inputs.trained, inputs.test.images, inputs.test.labels,
                            setting=inputs.options.gallery_setting, n_samples=inputs.options.gallery_samples,
                            seed=inputs.seed, device=inputs.device)
    return plot_gallery(gallery, title=inputs.title)


# figure name (file stem) → plotting step of one model
MODEL_FIGURES: dict[str, Callable[[ModelFigureInputs], Figure]] = {
    "conv1_weights": _conv1_weights,
    "top_patches": _top_patches,
    "interpolation": _interpolation,
    "confidence": _confidence,
    "adversarial_gallery": _adversarial_gallery,
}


def model_figure_files(out_dir: Path | str, names: Sequence[str] | None = None) -> list[Path]:
    """The files ``make_model_figures`` writes: ``out_dir/<name>.png`` and ``.pdf`` per figure name."""
    return [path for name in (names or MODEL_FIGURES) for path in figure_paths(out_dir, name)]


def make_model_figures(model_dir: Path | str, out_dir: Path | str, *, data_dir: Path | str, device: str,
                       results: Sequence[Path | str] = (), seed: int = 0, options: Mapping[str, Any] | None = None,
                       names: Sequence[str] | None = None) -> list[Path]:
    """Draw the figures ``names`` (default: all of ``MODEL_FIGURES``) of the model in ``model_dir``; return the files.

    ``results``: that model's attack result JSONs (their ``.npz`` beside them) for the
    adversarial histograms of ``confidence``; ``options``: ``FigureOptions`` overrides.
    """
    names = list(names or MODEL_FIGURES)
    unknown = [name for name in names if name not in MODEL_FIGURES]
    if unknown:
        raise UserError(f"unknown figure(s) {', '.join(unknown)}; valid: {', '.join(MODEL_FIGURES)}")
    torch_device = resolve_device(device)
    trained = load_trained_model(model_dir, torch_device)
    train, test = load_dataset(trained.dataset, data_dir)
    inputs = ModelFigureInputs(trained=trained, train=train, test=test, device=torch_device,
                               results=tuple(map(Path, results)), seed=seed,
                               options=from_dict(FigureOptions, dict(options or {}), "figures"))
    return [path for name in names for path in save_figure(MODEL_FIGURES[name](inputs), out_dir, name)]
