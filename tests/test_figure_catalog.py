"""The figure catalog is torch-free data, the one list of figures (issue 31).

Two figures registered from outside the package (``tests/extra_figures.py``, through
``NEWLOGIC_EXTRA_FIGURES``), one per model and one per ablation, are planned by ``snakemake -n``
and drawn by ``newlogic figures model`` / ``newlogic figures ablation`` with no other edit.
"""

import os
import subprocess
import sys
from pathlib import Path

import extra_figures
import pytest

from newlogic import figure_catalog
from newlogic.evaluation.evaluate import run_attack_setting
from newlogic.evaluation.noise import evaluate_noise_rejection
from newlogic.figure_catalog import ABLATION, FIGURES, MODEL, SCOPES, FigureEntry, figure_names, register_figure
from newlogic.report.checks import write_checks
from newlogic.store import paths
from newlogic.training.run import run_training

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
HEAVY = ("torch", "sklearn", "matplotlib", "pandas")
EXTRA = {entry.scope: entry for entry in extra_figures.FIGURES}
CONFIG = """\
dataset: digits
seeds: [0]
attacks:
  fgsm_0.1: {attack: fgsm, eps: 0.1, limit: 40}
ablations:
  demo:
    models:
      - {name: relu, label: Baseline}
    attacks: [fgsm_0.1]
"""


def _with_extra_figures() -> dict[str, str]:
    """The environment of a process that registers ``tests/extra_figures.py``'s entries."""
    return {**os.environ, figure_catalog.EXTRA_FIGURES_VARIABLE: "extra_figures", "OMP_NUM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}


def test_every_entry_draws_with_a_caption() -> None:
    """Each shipped entry's function imports, its caption exists under workflow/report/, its scope is known."""
    for entry in figure_catalog.ENTRIES:
        assert callable(entry.draw_function()), entry.name
        assert (ROOT / "workflow/report" / entry.caption_file).is_file(), entry.name
        assert entry.scope in SCOPES and entry.files == (f"{entry.name}.png", f"{entry.name}.pdf")
    assert figure_names(MODEL) == ("conv1_weights", "top_patches", "interpolation", "confidence",
                                   "adversarial_gallery")
    assert figure_names(ABLATION) == ("accuracy_vs_eps", "training_curves")
    assert paths.ROBUSTNESS_FIGURE in FIGURES and paths.REPRODUCTION_FIGURE in FIGURES


def test_an_entry_is_registered_once_and_well_formed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(figure_catalog, "FIGURES", dict(FIGURES))
    with pytest.raises(ValueError, match="registered twice"):
        register_figure(FigureEntry("accuracy_vs_eps", "m:f", ABLATION, "a second accuracy figure"))
    with pytest.raises(ValueError, match="unknown scope 'seed'; valid: model, ablation"):
        FigureEntry("x", "m:f", "seed", "")
    with pytest.raises(ValueError, match="'module:function'"):
        FigureEntry("x", "m.f", MODEL, "")
    with pytest.raises(ValueError, match="identifier"):
        FigureEntry("../x", "m:f", MODEL, "")


def test_the_catalog_and_the_paths_import_nothing_heavy() -> None:
    """Planning reads the catalog (the extra entries too) without torch, scikit-learn, matplotlib or pandas."""
    code = ("import sys, newlogic.store.paths; from newlogic.figure_catalog import MODEL, figure_names; "
            f"print(figure_names(MODEL)[-1], sorted(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], env=_with_extra_figures(), capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == [EXTRA[MODEL].name, "[]"]


def test_new_figures_are_planned_by_the_dry_run(tmp_path: Path) -> None:
    plan = subprocess.run(
        [str(VENV_BIN / "snakemake"), "--snakefile", str(ROOT / "Snakefile"), "-n", "--configfile",
         str(ROOT / "config/config.yaml")], cwd=tmp_path, env=_with_extra_figures(), capture_output=True, text=True,
        timeout=300)
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-3000:]
    outputs = {line.split(":", 1)[0].strip(): line for line in plan.stdout.splitlines() if " output: " in line}
    model_jobs = [line for line in plan.stdout.splitlines()
                  if line.strip().startswith("output:") and "/conv1_weights.png" in line]
    ablation_jobs = [line for line in plan.stdout.splitlines()
                     if line.strip().startswith("output:") and "/accuracy_vs_eps.png" in line]
    assert outputs and model_jobs and ablation_jobs
    for line in model_jobs:
        assert all(f"/{name}" in line for name in EXTRA[MODEL].files), line
    for line in ablation_jobs:
        assert all(f"/{name}" in line for name in EXTRA[ABLATION].files), line


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results folder with one ReLU digits model (1 epoch), FGSM ε 0.1 on 40 images, its noise and checks."""
    root = tmp_path_factory.mktemp("results")
    model_dir = paths.model_dir(root, "digits", "relu", 0)
    run_training("relu", "digits", model_dir, data_dir=Path("data"), seed=0, device="cpu",
                 training={"epochs": 1, "augment": "none"}, architecture={})
    result = paths.result_json(root, "digits", "relu", 0, "fgsm_0.1")
    run_attack_setting(model_dir, {"attack": "fgsm", "eps": 0.1}, result, data_dir=Path("data"), device="cpu",
                       limit=40, batch_size=None, seed=0, surrogate_dir=None)
    evaluate_noise_rejection(model_dir, paths.noise_json(root, "digits", "relu", 0), data_dir=Path("data"),
                             device="cpu", n_samples=20)
    write_checks([result], paths.checks_json(root, "digits", "relu", 0))
    return root


def _newlogic(*args: str | Path) -> None:
    done = subprocess.run([str(VENV_BIN / "newlogic"), *map(str, args)], env=_with_extra_figures(),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_figures_commands_draw_new_figures(results_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    _newlogic("figures", "ablation", "--config", config, "--ablation", "demo", "--results-dir", results_dir,
              "--out-dir", tmp_path / "ablation")
    model_dir = paths.model_dir(results_dir, "digits", "relu", 0)
    _newlogic("figures", "model", "--model-dir", model_dir, "--out-dir", tmp_path / "model", "--data-dir", "data",
              "--device", "cpu", "--options", '{"gallery_samples": 4, "noise_samples": 50}')
    for folder, scope in (("ablation", ABLATION), ("model", MODEL)):
        drawn = sorted(path.name for path in (tmp_path / folder).iterdir())
        expected = [*figure_names(scope), EXTRA[scope].name]
        assert drawn == sorted(f"{name}.{ext}" for name in expected for ext in figure_catalog.FORMATS)
        assert all((tmp_path / folder / name).stat().st_size > 1000 for name in drawn)


def test_an_unimportable_extra_module_is_one_line(results_dir: Path, tmp_path: Path) -> None:
    env = {**_with_extra_figures(), figure_catalog.EXTRA_FIGURES_VARIABLE: "no_such_figures"}
    done = subprocess.run([str(VENV_BIN / "newlogic"), "figures", "model", "--model-dir",
                           str(paths.model_dir(results_dir, "digits", "relu", 0)), "--out-dir", str(tmp_path)],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().endswith("NEWLOGIC_EXTRA_FIGURES names module 'no_such_figures', which cannot be "
                                        "imported (No module named 'no_such_figures')")
