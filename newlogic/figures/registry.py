"""The per-model figures: their drawing functions and ``make_model_figures``, which draws every one of a model.

The figures are the ``model`` entries of the figure catalog (``newlogic.figure_catalog``); each
entry's function takes ``ModelFigureInputs`` and returns a ``Figure``, saved as
``out_dir/<name>.png`` and ``out_dir/<name>.pdf`` (``newlogic.figures.files.figure_paths``).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from matplotlib.figure import Figure

from newlogic.data import Split, load_dataset
from newlogic.device import resolve_device
from newlogic.errors import UserError
from newlogic.evaluation.model_loading import TrainedModel, load_trained_model
from newlogic.figure_catalog import MODEL, figure_names, figures_of
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


def conv1_weights(inputs: ModelFigureInputs) -> Figure:
    return plot_conv1_weights(inputs.trained.model, scope=inputs.options.weight_scope,
                              title=f"{inputs.title} conv1", fold_factor=inputs.trained.spec.fold_factor)


def top_patches(inputs: ModelFigureInputs) -> Figure:
    options = inputs.options
    return plot_top_patches(inputs.trained.model, inputs.train.images, options.channel, fraction=options.top_fraction,
                            n_clusters=options.n_clusters, seed=inputs.seed, device=inputs.device,
                            title=f"{inputs.title} conv1")


def interpolation(inputs: ModelFigureInputs) -> Figure:
    return plot_interpolation(inputs.trained.model, inputs.trained.spec, inputs.test.images, inputs.test.labels,
                              classes=inputs.options.interpolation_classes, device=inputs.device, title=inputs.title)


def confidence(inputs: ModelFigureInputs) -> Figure:
    sets = confidence_sets(inputs.trained.model, inputs.trained.spec, inputs.test.images, results=inputs.results,
                           n_noise=inputs.options.noise_samples, seed=inputs.seed, device=inputs.device)
    return plot_confidence(sets, inputs.trained.spec.output, title=inputs.title)


def adversarial_gallery(inputs: ModelFigureInputs) -> Figure:
    gallery = craft_gallery(inputs.trained, inputs.test.images, inputs.test.labels,
                            setting=inputs.options.gallery_setting, n_samples=inputs.options.gallery_samples,
                            seed=inputs.seed, device=inputs.device)
    return plot_gallery(gallery, title=inputs.title)


def model_figure_files(out_dir: Path | str, names: Sequence[str] | None = None) -> list[Path]:
    """The files ``make_model_figures`` writes: ``out_dir/<name>.png`` and ``.pdf`` per figure name."""
    return [path for name in (names or figure_names(MODEL)) for path in figure_paths(out_dir, name)]


def make_model_figures(model_dir: Path | str, out_dir: Path | str, *, data_dir: Path | str, device: str,
                       results: Sequence[Path | str] = (), seed: int = 0, options: Mapping[str, Any] | None = None,
                       names: Sequence[str] | None = None) -> list[Path]:
    """Draw the figures ``names`` (default: every ``model`` entry of the catalog) of the model in ``model_dir``.

    ``results``: that model's attack result JSONs (their ``.npz`` beside them) for the
    adversarial histograms of ``confidence``; ``options``: ``FigureOptions`` overrides. Returns the files.
    """
    entries = {entry.name: entry for entry in figures_of(MODEL)}
    names = list(names or entries)
    unknown = [name for name in names if name not in entries]
    if unknown:
        raise UserError(f"unknown figure(s) {', '.join(unknown)}; valid: {', '.join(entries)}")
    torch_device = resolve_device(device)
    trained = load_trained_model(model_dir, torch_device)
    train, test = load_dataset(trained.dataset, data_dir)
    inputs = ModelFigureInputs(trained=trained, train=train, test=test, device=torch_device,
                               results=tuple(map(Path, results)), seed=seed,
                               options=from_dict(FigureOptions, dict(options or {}), "figures"))
    return [path for name in names for path in save_figure(entries[name].draw_function()(inputs), out_dir, name)]
