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
REPRODUCTION_EXT = "reproduction"  # {results}/tables/{ablation}.reproduction.{csv,md,tex}: newlogic.report.reproduction
REPRODUCTION_FIGURE = "reproduction"  # {results}/figures/{ablation}/reproduction.{png,pdf}: published vs regenerated
SUMMARY_EXT = "summary.json"  # {results}/tables/{ablation}.summary.json: newlogic.report.summary
# the files of a model directory (newlogic.store.model_dir reads them; the workflow tracks metrics and weights)
CONFIG_FILE = "config.json"  # the training record: options, fingerprint, provenance
METRICS_FILE = "metrics.json"
WEIGHTS_FILE = "model.pt"
LOG_FILE = "log.txt"
CHECKPOINT_FILE = "checkpoint.pt"
DIVERGED_FILE = "diverged.json"  # written instead of metrics.json when a loss or weight became non-finite


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
