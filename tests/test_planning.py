"""Planning never imports torch, scikit-learn, matplotlib or pandas: every ``snakemake -n`` stays cheap.

Each shipped config's dry run runs in a subprocess under ``python -X importtime``, which names every
module the process imported (Snakemake itself, the executor plugins it loads at startup, Snakefile,
``workflow/rules/*.smk``, ``newlogic.study``, ``newlogic.validation`` and all they import). The
torch-free name lists that validation checks against must match the registries of the modules that
build what they name.

The dry runs run in the demo's environment, the one a laptop plans in: ``.venv`` with ``.[workflow]``
(the README's first command), beside the tests' ``.venv-test``. No executor plugin is installed there.
The Slurm plugin (``.[slurm]``, ``.[test]``) imports pandas at module level and Snakemake imports every
installed executor plugin at startup, so no pandas import is excused: a plugin in ``.venv`` fails here.
"""

import os
import subprocess
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


def test_the_demo_environment_has_no_executor_plugin() -> None:
    """Snakemake would import any installed one at every start, the Slurm one with pandas."""
    listing = ("import importlib.metadata as m; print('\\n'.join(sorted(d.metadata['Name'] for d in m.distributions() "
               "if d.metadata['Name'].lower().replace('_', '-').startswith('snakemake-executor-plugin-'))))")
    done = subprocess.run([demo_python(), "-c", listing], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == [], f"installed in .venv: {done.stdout.split()}; the tests' .venv-test holds them"


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS, ids=[path.stem for path in CONFIGS])
def test_dry_run_imports_no_torch_sklearn_matplotlib_pandas(config: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{DEMO_BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [demo_python(), "-X", "importtime", "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
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
