"""Planning never imports torch, scikit-learn, matplotlib or pandas: every ``snakemake -n`` stays cheap.

Each shipped config's dry run runs in a subprocess under ``python -X importtime``, which names every
module the process imported (Snakefile, ``workflow/rules/*.smk``, ``newlogic.study``,
``newlogic.validation`` and all they import). The torch-free name lists that validation checks against
must match the registries of the modules that build what they name.

Snakemake itself imports every installed executor plugin before the workflow runs, and the Slurm
plugin (the ``slurm`` extra) imports pandas: that one import is told apart by its importer in the
``-X importtime`` tree, and a laptop's install (``.[workflow]``, no plugin) plans without it.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
HEAVY = ("torch", "sklearn", "matplotlib", "pandas")
EXECUTOR_PLUGIN = "snakemake_executor_plugin_"  # what Snakemake imports itself, before any workflow code
CONFIGS = sorted((REPO / "config").glob("*.yaml"))


def imported_modules(importtime: str) -> set[str]:
    """Module names of ``-X importtime`` lines (``import time: self | cumulative | name``)."""
    return {line.rsplit("|", 1)[1].strip() for line in importtime.splitlines()
            if line.startswith("import time:") and line.count("|") == 2}


def heavy_imports(modules: set[str]) -> list[str]:
    """The top-level packages of ``HEAVY`` among ``modules``."""
    return sorted({name.split(".")[0] for name in modules} & set(HEAVY))


def _depth_and_name(line: str) -> tuple[int, str]:
    name = line.rsplit("|", 1)[1]
    return len(name) - len(name.lstrip()), name.strip()


def importers(importtime: str, package: str) -> set[str]:
    """The modules that imported ``package`` itself: ``-X importtime`` prints a module after its imports, so
    the importer is the next line nested less deeply."""
    lines = [_depth_and_name(line) for line in importtime.splitlines()
             if line.startswith("import time:") and line.count("|") == 2]
    found = set()
    for index, (depth, name) in enumerate(lines):
        if name == package:
            found.add(next((outer for outer_depth, outer in lines[index + 1:] if outer_depth < depth), "<main>"))
    return found


def workflow_heavy_imports(importtime: str) -> list[str]:
    """``HEAVY`` packages imported by anything but an executor plugin that Snakemake loaded by itself."""
    return sorted(package for package in heavy_imports(imported_modules(importtime))
                  if any(not importer.startswith(EXECUTOR_PLUGIN) for importer in importers(importtime, package)))


def test_imported_modules_reads_importtime_lines() -> None:
    lines = ("import time: self [us] | cumulative | imported package\n"
             "import time:       120 |        130 |   torch._C\n"
             "import time:      5000 |       9000 | torch\n")
    assert heavy_imports(imported_modules(lines)) == ["torch"]


def test_an_import_is_attributed_to_the_module_that_made_it() -> None:
    lines = ("import time:       100 |        100 |           pandas\n"
             "import time:       200 |        300 |         snakemake_executor_plugin_slurm.efficiency_report\n"
             "import time:       100 |        100 |     pandas\n"
             "import time:       100 |        200 |   newlogic.report.tables\n")
    assert importers(lines, "pandas") == {"snakemake_executor_plugin_slurm.efficiency_report",
                                          "newlogic.report.tables"}
    assert workflow_heavy_imports(lines) == ["pandas"]  # the workflow's own import counts
    assert workflow_heavy_imports("\n".join(lines.splitlines()[:2])) == []  # the plugin's alone does not


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS, ids=[path.stem for path in CONFIGS])
def test_dry_run_imports_no_torch_sklearn_matplotlib_pandas(config: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
         "-n", "--quiet", "--configfile", str(config)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + "\n".join(
        line for line in done.stderr.splitlines() if not line.startswith("import time:"))[-3000:]
    modules = imported_modules(done.stderr)
    assert "newlogic.validation" in modules  # the dry run did validate the config
    heavy = workflow_heavy_imports(done.stderr)
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
