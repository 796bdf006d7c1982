"""The figure catalog: one torch-free entry per figure, the only list of figures (SPEC §6).

An entry (``FigureEntry``) holds everything planning and the report need without drawing it:

- ``name``: the file stem; the figure is written as ``<name>.png`` (the report's) and ``<name>.pdf``
  (for papers), ``FigureEntry.files``;
- ``function``: ``module:function``, imported only when the figure is drawn (so planning, ``newlogic
  list`` and the docs test never import matplotlib or torch); it returns a ``matplotlib`` ``Figure``
  from its scope's input (``SCOPES``);
- ``scope``: what one figure is drawn from, which fixes its folder and the job that draws it
  (``SCOPES``): ``model`` (one per trained model, the wildcards ``{dataset}/{model}/seed{seed}``),
  ``ablation`` (one per ablation, the wildcard ``{ablation}``), ``summary``, ``reproduction`` and
  ``depth``;
- ``caption``: the report's caption, a file under ``workflow/report/`` (default ``<name>.rst``) or
  an absolute path (a figure registered from outside the package).

Adding a per-model or ablation figure is one entry, one function and one caption: the workflow's
targets (``workflow/rules/figures.smk``, ``common.smk``), ``newlogic.store.paths`` and the drawing
entry points (``newlogic.figures.registry.make_model_figures``,
``newlogic.figures.ablation.make_ablation_figures``) read this catalog. More figures come from
outside the package: ``NEWLOGIC_EXTRA_FIGURES`` names modules (comma-separated, importable) whose
``FIGURES`` sequence of entries is registered when the catalog is first read (``figures_of``), in
every process (``snakemake -n``, the jobs); ``register_figure`` does the same in-process.
"""

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from newlogic.extensions import extra_entries

EXTRA_FIGURES_VARIABLE = "NEWLOGIC_EXTRA_FIGURES"
FORMATS = ("png", "pdf")  # newlogic.figures.files.save_figure writes both

MODEL = "model"
ABLATION = "ablation"
SUMMARY = "summary"
REPRODUCTION = "reproduction"
DEPTH = "depth"
# scope → what its function receives, where its files go, the job that draws them
SCOPES = {
    MODEL: "a trained model (newlogic.figures.registry.ModelFigureInputs) → {results}/figures/{dataset}/{model}/"
           "seed{seed}/, job figures_model (newlogic figures model)",
    ABLATION: "an ablation's verified files (newlogic.report.collect.AblationResults) → {results}/figures/{ablation}/,"
              " job figures_ablation (newlogic figures ablation)",
    SUMMARY: "an ablation's summary.json (a mapping) → {results}/figures/{ablation}/, job landing (newlogic landing)",
    REPRODUCTION: "an ablation's published-against-regenerated comparison (newlogic.report.reproduction."
                  "Reproduction) → {results}/figures/{ablation}/, job reproduction (newlogic reproduction)",
    DEPTH: "the depth experiment's result (newlogic.figures.depth.read_depth_result) → {results}/figures/, job "
           "figures_depth (newlogic figures depth)",
}

# the names code refers to by themselves (the landing page embeds the robustness curves)
DEPTH_FIGURE = "depth_propagation"
ROBUSTNESS_FIGURE = "robustness_curves"
REPRODUCTION_FIGURE = "reproduction"


@dataclass(frozen=True)
class FigureEntry:
    """One figure: its file stem, its drawing function (``module:function``), its scope and caption file."""

    name: str
    function: str
    scope: str
    description: str
    caption: str = ""  # under workflow/report/, or absolute; "" is <name>.rst

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"figure name {self.name!r} must be an identifier (it is a file stem and a rule output)")
        if self.scope not in SCOPES:
            raise ValueError(f"figure {self.name!r}: unknown scope {self.scope!r}; valid: {', '.join(SCOPES)}")
        if self.function.count(":") != 1:
            raise ValueError(f"figure {self.name!r}: function {self.function!r} must be 'module:function'")

    @property
    def files(self) -> tuple[str, ...]:
        """The file names it is written to: ``<name>.png``, ``<name>.pdf``."""
        return tuple(f"{self.name}.{ext}" for ext in FORMATS)

    @property
    def caption_file(self) -> str:
        """The caption: a path under ``workflow/report/``, or an absolute path."""
        return self.caption or f"{self.name}.rst"

    def draw_function(self) -> Callable[..., Any]:
        """The function ``function`` names, imported now (with matplotlib, maybe torch)."""
        module, function = self.function.split(":")
        resolved: Callable[..., Any] = getattr(importlib.import_module(module), function)
        return resolved


_REGISTRY = "newlogic.figures.registry:"
_ABLATION = "newlogic.figures.ablation:"
ENTRIES = (
    FigureEntry("conv1_weights", _REGISTRY + "conv1_weights", MODEL,
                "first-layer filters, scaled per neuron into [-1, 1]"),
    FigureEntry("top_patches", _REGISTRY + "top_patches", MODEL,
                "the training patches that most excite a conv1 channel, clustered"),
    FigureEntry("interpolation", _REGISTRY + "interpolation", MODEL,
                "class scores along the straight path between two test images"),
    FigureEntry("confidence", _REGISTRY + "confidence", MODEL,
                "confidence histograms: clean, noise and adversarial inputs"),
    FigureEntry("adversarial_gallery", _REGISTRY + "adversarial_gallery", MODEL,
                "clean and adversarial test images with both predictions"),
    FigureEntry("accuracy_vs_eps", _ABLATION + "accuracy_vs_eps", ABLATION,
                "accuracy against ε per attack, one line per model (the tables' labels)"),
    FigureEntry("training_curves", _ABLATION + "training_curves", ABLATION,
                "loss and accuracy per epoch of every model and seed"),
    FigureEntry(ROBUSTNESS_FIGURE, "newlogic.figures.robustness:plot_robustness_curves", SUMMARY,
                "worst case against ε per threat model with its Clopper–Pearson band, beside the strongest attack"),
    FigureEntry(REPRODUCTION_FIGURE, "newlogic.figures.reproduction:plot_reproduction", REPRODUCTION,
                "published against regenerated, per column"),
    FigureEntry(DEPTH_FIGURE, "newlogic.figures.depth:plot_depth", DEPTH,
                "mean |activation| per layer of deep ReLU and ReLog stacks"),
)

FIGURES: dict[str, FigureEntry] = {}  # name → entry; read through figures_of, which registers the extra ones first


def register_figure(entry: FigureEntry) -> None:
    """Add ``entry`` to the catalog; a name already registered is an error (its files would collide)."""
    if entry.name in FIGURES:
        raise ValueError(f"figure {entry.name!r} is registered twice")
    FIGURES[entry.name] = entry


def figures_of(scope: str) -> tuple[FigureEntry, ...]:
    """The registered entries of ``scope``, in registration order (the shipped ones, then the extra ones)."""
    _register_extra_figures()
    return tuple(entry for entry in FIGURES.values() if entry.scope == scope)


def figure_names(scope: str) -> tuple[str, ...]:
    """The names of the registered figures of ``scope``."""
    return tuple(entry.name for entry in figures_of(scope))


@functools.cache
def _register_extra_figures() -> None:
    """Register the ``FIGURES`` of every module ``NEWLOGIC_EXTRA_FIGURES`` names, once per process.

    On first use rather than at import, so that a module that cannot be imported is a ``UserError``
    where the CLI and the workflow turn it into one line.
    """
    for entry in extra_entries(EXTRA_FIGURES_VARIABLE, "FIGURES"):
        register_figure(entry)


for _entry in ENTRIES:
    register_figure(_entry)
