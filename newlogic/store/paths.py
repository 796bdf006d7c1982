"""Where each stage writes (docs/architecture.md): one pattern per output, used by the workflow and the CLI."""

import hashlib
from pathlib import Path

# figure files: <name>.png and <name>.pdf per entry of the figure catalog, in its scope's folder (*_FIGURES_DIR)
from newlogic.figure_catalog import DEPTH_FIGURE as DEPTH_FIGURE
from newlogic.figure_catalog import REPRODUCTION_FIGURE as REPRODUCTION_FIGURE
from newlogic.figure_catalog import ROBUSTNESS_FIGURE as ROBUSTNESS_FIGURE
from newlogic.figure_catalog import figures_of

RESULTS_DIR = "results"
LOGS_DIR = "logs"  # each job's log (the workflow's ``log:``)
BENCHMARKS_DIR = "benchmarks"  # each job's time and memory (the workflow's ``benchmark:``)
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
# the config as the aggregate and reproduction jobs read it, named by the first 16 hex digits of the SHA-256 of
# its text (newlogic.store.config_copy refuses a copy whose name is not its content's hash)
CONFIG_JSON = "{results}/config/{sha16}.json"
LANDING_RST = "{results}/report/landing.rst"  # the report's first screen: newlogic.report.html_page
TABLE_FORMATS = ("csv", "md", "tex")
REPRODUCTION_EXT = "reproduction"  # {results}/tables/{ablation}.reproduction.{csv,md,tex}: newlogic.report.reproduction
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
    return run_scoped(RESULTS_DIR, run)


def run_scoped(top: str, run: str | None) -> str:
    """``top`` (``RESULTS_DIR``, ``LOGS_DIR``, ``BENCHMARKS_DIR``), or ``top/runs/{run}`` for a named run: two
    configs that share model names never write each other's results, logs or benchmarks."""
    return top if run is None else RUN_DIR.format(results=top, run=run)


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


def config_json(results: Path | str, text: str) -> Path:
    """The config copy of ``text`` (UTF-8): ``{results}/config/{sha256(text)[:16]}.json``."""
    return Path(CONFIG_JSON.format(results=results, sha16=hashlib.sha256(text.encode()).hexdigest()[:16]))


def figure_files(folder: Path | str, scope: str, ext: str = "png") -> list[str]:
    """``folder/<name>.<ext>`` for every figure entry of ``scope`` (``newlogic.figure_catalog``)."""
    return [f"{folder}/{entry.name}.{ext}" for entry in figures_of(scope)]
