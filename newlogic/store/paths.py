"""Where each stage writes (docs/architecture.md): one pattern per output, used by the workflow and the CLI."""

from pathlib import Path

RESULTS_DIR = "results"
RUN_DIR = "{results}/runs/{run}"  # a named run (workflow config `run`): a sweep's points never share a directory
MODEL_DIR = "{results}/models/{dataset}/{model}/seed{seed}"
RESULT_JSON = "{results}/attacks/{dataset}/{model}/seed{seed}/{setting}.json"
RESULT_NPZ = "{results}/attacks/{dataset}/{model}/seed{seed}/{setting}.npz"
CHECKS_JSON = "{results}/attacks/{dataset}/{model}/seed{seed}/checks.json"
NOISE_JSON = "{results}/noise/{dataset}/{model}/seed{seed}.json"
MODEL_FIGURES_DIR = "{results}/figures/{dataset}/{model}/seed{seed}"
ABLATION_FIGURES_DIR = "{results}/figures/{ablation}"
DEPTH_FIGURES_DIR = "{results}/figures"
DEPTH_JSON = "{results}/analysis/depth.json"
TABLE = "{results}/tables/{ablation}.{ext}"
# figure files (PNG and PDF) by name; newlogic.figures.registry draws them (kept here so that the
# workflow knows its outputs without importing torch and matplotlib)
MODEL_FIGURE_NAMES = ("conv1_weights", "top_patches", "interpolation", "confidence", "adversarial_gallery")
ACCURACY_FIGURE = "accuracy_vs_eps"
TRAINING_CURVES_FIGURE = "training_curves"
DEPTH_FIGURE = "depth_propagation"
TABLE_FORMATS = ("csv", "md", "tex")
SUMMARY_EXT = "summary.json"  # {results}/tables/{ablation}.summary.json: newlogic.report.summary
# files of a model directory that the workflow tracks (newlogic.store.model_dir documents the rest)
METRICS_FILE = "metrics.json"
WEIGHTS_FILE = "model.pt"


def results_dir(run: str | None = None) -> str:
    """Where a workflow run writes: ``results``, or ``results/runs/{run}`` for a named run."""
    return RESULTS_DIR if run is None else RUN_DIR.format(results=RESULTS_DIR, run=run)


def model_dir(results: Path | str, dataset: str, model: str, seed: int) -> Path:
    """Model directory of one training run (``model`` is the canonical name)."""
    return Path(MODEL_DIR.format(results=results, dataset=dataset, model=model, seed=seed))


def result_json(results: Path | str, dataset: str, model: str, seed: int, setting: str) -> Path:
    """Result file of one attack setting on one training run."""
    return Path(RESULT_JSON.format(results=results, dataset=dataset, model=model, seed=seed, setting=setting))


def checks_json(results: Path | str, dataset: str, model: str, seed: int) -> Path:
    """Gradient-masking checks of one training run."""
    return Path(CHECKS_JSON.format(results=results, dataset=dataset, model=model, seed=seed))


def noise_json(results: Path | str, dataset: str, model: str, seed: int) -> Path:
    """Noise-rejection rates of one training run."""
    return Path(NOISE_JSON.format(results=results, dataset=dataset, model=model, seed=seed))
