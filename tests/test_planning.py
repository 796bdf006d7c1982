"""Planning never imports torch, scikit-learn, matplotlib or pandas: every ``snakemake -n`` stays cheap.

Each shipped config's dry run runs in a subprocess under ``python -X importtime``, which names every
module the process imported (Snakemake itself, the executor plugins it loads at startup, Snakefile,
``workflow/rules/*.smk``, ``newlogic.study``, ``newlogic.validation`` and all they import). The
torch-free name lists that validation checks against must match the registries of the modules that
build what they name.

The dry runs run in the demo's environment, the one a laptop plans in: ``.venv`` with ``.[workflow]``
(the README's first command); the default config's also in the tests' own ``.venv-test`` (``.[test]``).
Neither holds an executor plugin. The Slurm plugin (``.[slurm]``) imports pandas at module level and
Snakemake imports every installed executor plugin at startup, so it lives only in ``.venv-slurm``, the
Slurm tests' layer over ``.venv-test`` (cluster/local-slurm/slurm-venv.sh), and no pandas import is
excused here: a plugin in ``.venv`` or ``.venv-test`` fails.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO_BIN = REPO / ".venv" / "bin"  # the README's first command installs it
HEAVY = ("torch", "sklearn", "matplotlib", "pandas")
CONFIGS = sorted((REPO / "config").glob("*.yaml"))


def imported_modules(importtime: str) -> set[str]:
    """Module names of ``-X importtime`` lines (``import time: self | cumulative | name``)."""
    return {line.rsplit("|", 1)[1].strip() for line in importtime.splitlines()
            if line.startswith("import time:") and line.count("|") == 2}


def heavy_imports(modules: set[str]) -> list[str]:
    """The top-level packages of ``HEAVY`` among ``modules``."""
    return sorted({name.split(".")[0] for name in modules} & set(HEAVY))


def test_imported_modules_reads_importtime_lines() -> None:
    lines = ("import time: self [us] | cumulative | imported package\n"
             "import time:       120 |        130 |   torch._C\n"
             "import time:      5000 |       9000 | torch\n"
             "import time:       100 |        100 |     pandas.core\n")
    assert heavy_imports(imported_modules(lines)) == ["pandas", "torch"]


def demo_python() -> str:
    """The demo environment's interpreter; a test fails, naming the command, where it was not installed."""
    python = DEMO_BIN / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: install the demo's environment (README, command 1): python3.11 -m venv "
                    ".venv && .venv/bin/pip install torch==2.14.1 torchvision==0.29.1 -e '.[workflow]'")
    return str(python)


def planning_python(environment: str) -> str:
    """The interpreter of ``demo`` (``.venv``) or ``tests`` (this process's, ``.venv-test``)."""
    return demo_python() if environment == "demo" else sys.executable


@pytest.mark.parametrize("environment", ["demo", "tests"])
def test_neither_the_demo_nor_the_tests_environment_has_an_executor_plugin(environment: str) -> None:
    """Snakemake would import any installed one at every start, the Slurm one with pandas."""
    listing = ("import importlib.metadata as m; print('\\n'.join(sorted(d.metadata['Name'] for d in m.distributions() "
               "if d.metadata['Name'].lower().replace('_', '-').startswith('snakemake-executor-plugin-'))))")
    python = planning_python(environment)
    done = subprocess.run([python, "-c", listing], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == [], (f"installed in the {environment} environment ({python}): {done.stdout.split()};"
                                       " the Slurm tests' .venv-slurm holds them")


@pytest.mark.slow
@pytest.mark.parametrize(("environment", "config"), [*(("demo", path) for path in CONFIGS),
                                                     ("tests", REPO / "config" / "config.yaml")],
                         ids=[*(f"demo-{path.stem}" for path in CONFIGS), "tests-config"])
def test_dry_run_imports_no_torch_sklearn_matplotlib_pandas(environment: str, config: Path, tmp_path: Path) -> None:
    python = planning_python(environment)
    env = {**os.environ, "PATH": f"{Path(python).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [python, "-X", "importtime", "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
         "-n", "--quiet", "--configfile", str(config)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + "\n".join(
        line for line in done.stderr.splitlines() if not line.startswith("import time:"))[-3000:]
    modules = imported_modules(done.stderr)
    assert "newlogic.validation" in modules  # the dry run did validate the config
    heavy = heavy_imports(modules)
    assert heavy == [], f"planning {config.name} imports {heavy}"


def test_torch_free_names_match_the_registries() -> None:
    from newlogic.nn.activations import RELOG_FORMS
    from newlogic.nn.init import INIT_METHODS
    from newlogic.nn.models import ARCHITECTURES
    from newlogic.nn.options import ARCHITECTURE_NAMES, INIT_METHOD_NAMES, RELOG_FORM_NAMES
    from newlogic.training.augment import AUGMENTATIONS
    from newlogic.training.optimizers import OPTIMIZERS, SCHEDULES
    from newlogic.training.options import AUGMENTATION_NAMES, OPTIMIZER_NAMES, SCHEDULE_NAMES

    assert tuple(ARCHITECTURES) == ARCHITECTURE_NAMES
    assert tuple(RELOG_FORMS) == RELOG_FORM_NAMES
    assert tuple(INIT_METHODS) == INIT_METHOD_NAMES
    assert tuple(AUGMENTATIONS) == AUGMENTATION_NAMES
    assert tuple(OPTIMIZERS) == OPTIMIZER_NAMES
    assert tuple(SCHEDULES) == SCHEDULE_NAMES


def test_an_unknown_dataset_is_a_config_error_naming_the_registered_ones() -> None:
    import yaml

    from newlogic.datasets import DATASET_INFO
    from newlogic.errors import UserError
    from newlogic.validation import validate_config

    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    validate_config(config)
    with pytest.raises(UserError, match=r"unknown dataset 'svhn'; valid: " + ", ".join(DATASET_INFO)):
        validate_config({**config, "dataset": "svhn"})


def test_bundled_datasets_need_no_download_marker() -> None:
    """``data_marker`` (workflow/rules/common.smk) reads ``DatasetInfo.bundled``: no second list of bundled sets."""
    from newlogic.datasets import DATASET_INFO

    common = (REPO / "workflow/rules/common.smk").read_text()
    assert "dataset_info(dataset).bundled" in common and "BUNDLED_DATASETS" not in common
    assert {name for name, info in DATASET_INFO.items() if info.bundled} == {"digits", "mnist5k"}
