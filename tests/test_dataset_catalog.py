"""The dataset catalog is torch-free data, the one list of datasets (issue 31).

A dataset registered from outside the package (``tests/tiny_dataset.py``, through
``NEWLOGIC_EXTRA_DATASETS``) is planned by ``snakemake -n``, listed by ``newlogic list``, fetched by
``newlogic download``, loaded, trained on and checked by preflight, with no other edit.
"""

import ast
import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tiny_dataset
import yaml

from newlogic import datasets
from newlogic.attacks.catalog import ByDataset
from newlogic.datasets import DATASET_INFO, DatasetEntry, DatasetFiles, dataset_info, required_files
from newlogic.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
HEAVY = ("torch", "sklearn", "matplotlib")
# Strings equal to a dataset name that name something else. The journal's MNIST and CIFAR-10
# augmentations are named after the data they were made for (recorded in every model's config.json);
# the legacy model-name prefix ``cnn-<dataset>-`` of the 9–19 Oct names is fixed history (SPEC §1).
SAME_WORD = {
    "newlogic/training/options.py": {"mnist", "cifar10"},
    "newlogic/training/augment.py": {"mnist", "cifar10"},
    "newlogic/spec.py": {"mnist", "cifar10", "digits"},
}
TINY_CONFIG = """\
dataset: tinyset
seeds: [0]
attacks:
  fgsm_0.1: {attack: fgsm, eps: 0.1, limit: 10}
ablations:
  tiny:
    caption: "A dataset registered from outside the package"
    models:
      - {name: relu, label: Baseline}
    attacks: [fgsm_0.1]
"""


def _with_tiny_dataset() -> dict[str, str]:
    """The environment of a process that registers ``tests/tiny_dataset.py``'s entry."""
    return {**os.environ, datasets.EXTRA_DATASETS_VARIABLE: "tiny_dataset",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> DatasetEntry:
    """``tinyset`` registered in this process (and removed afterwards)."""
    [entry] = tiny_dataset.DATASETS
    monkeypatch.setitem(DATASET_INFO, entry.name, entry)
    return entry


def test_a_dataset_from_outside_is_planned_listed_and_fetched(tmp_path: Path) -> None:
    env = _with_tiny_dataset()
    (tmp_path / "tiny.yaml").write_text(TINY_CONFIG)
    plan = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "-n",
         "--configfile", str(tmp_path / "tiny.yaml")], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300)
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-3000:]
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", plan.stdout, re.MULTILINE))
    assert jobs["download_dataset"] == "1" and jobs["train"] == "1" and jobs["evaluate"] == "1", plan.stdout
    imported = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in plan.stderr.splitlines()
                if line.startswith("import time:") and line.count("|") == 2}
    assert "newlogic" in imported and not imported & set(HEAVY)

    listed = subprocess.run(["newlogic", "list", "datasets"], env=env, capture_output=True, text=True, check=True)
    assert listed.stdout.splitlines()[-1].startswith("tinyset: test-only random 28×28 images of 3 classes; "
                                                     "1×28×28 images, 3 classes")
    fetched = subprocess.run(["newlogic", "download", "--dataset", "tinyset", "--data-dir", str(tmp_path / "data")],
                             env=env, capture_output=True, text=True, check=True)
    assert fetched.stdout.strip() == f"tinyset is ready in {tmp_path / 'data'}"
    assert all(path.is_file() for path in tiny_dataset.FILES.paths(tmp_path / "data"))


def test_a_dataset_from_outside_is_loaded_and_trained_on(tiny: DatasetEntry, tmp_path: Path) -> None:
    from newlogic.data import download_dataset, load_dataset
    from newlogic.training.run import run_training

    assert required_files("tinyset", tmp_path) == [tmp_path / "tinyset" / name for name in (
        "train_images.npy", "train_labels.npy", "test_images.npy", "test_labels.npy")]
    download_dataset("tinyset", tmp_path)
    train, test = load_dataset("tinyset", tmp_path)
    assert (tuple(train.images.shape), tuple(test.labels.shape)) == ((60, 1, 28, 28), (30,))
    out = tmp_path / "model"
    run_training("relu", "tinyset", out, data_dir=tmp_path, seed=0, device="cpu", training={}, architecture={})
    record = (out / "config.json").read_text()
    assert '"epochs": 1' in record and '"batch_size": 16' in record and '"augment": "none"' in record


def test_preflight_checks_a_new_datasets_files_and_sizes_its_runs(tiny: DatasetEntry, tmp_path: Path) -> None:
    from newlogic.data import download_dataset
    from newlogic.preflight import ClusterSettings, Context, check_data, plan_bytes

    config = {**yaml.safe_load(TINY_CONFIG), "data_dir": str(tmp_path)}
    context = Context(ClusterSettings("profile p", "squeue", True, {}, ()), config, tmp_path / "results")
    [finding] = check_data(context)
    assert finding.level == "ok" and "the download rule fetches it first" in finding.message
    (tmp_path / ".tinyset.downloaded").touch()
    [finding] = check_data(context)
    assert finding.level == "blocking" and "train_images.npy is missing (4 files)" in finding.message
    download_dataset("tinyset", tmp_path)
    [finding] = check_data(context)
    assert (finding.level, finding.message) == ("ok", f"tinyset is in {tmp_path}")
    assert plan_bytes(config) == (1, 1, tiny.run_bytes + 2 * 2**20)


def test_the_attack_defaults_and_recipe_of_a_new_dataset_come_from_its_entry(tiny: DatasetEntry) -> None:
    from newlogic.attacks.resolve import resolve_setting
    from newlogic.training.recipes import recipe

    assert resolve_setting({"attack": "fgsm"}, "tinyset").params["eps"] == 0.3  # attack_scale mnist
    assert recipe("tinyset").training == {"epochs": 1, "batch_size": 16, "augment": "none"}


def test_required_files_follow_the_entrys_layout(tmp_path: Path) -> None:
    assert required_files("mnist5k", tmp_path) == []
    assert [path.relative_to(tmp_path).as_posix() for path in required_files("cifar10", tmp_path)] == [
        f"cifar-10-batches-py/{name}" for name in (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")]
    with pytest.raises(UserError, match="unknown dataset 'svhn'; valid: digits, mnist5k, mnist, cifar10"):
        required_files("svhn", tmp_path)


def test_an_entry_is_checked_when_it_is_made() -> None:
    base = {"name": "x", "channels": 1, "height": 28, "width": 28, "num_classes": 10, "mean": (0.5,),
            "std": (0.3,), "description": "x", "loader": "m:f"}
    with pytest.raises(ValueError, match="a downloaded dataset has a downloader and files"):
        DatasetEntry(**base, downloader="m:download")
    with pytest.raises(ValueError, match="a downloaded dataset has a downloader and files"):
        DatasetEntry(**base, files=DatasetFiles("x", {"train": ("a",)}))
    with pytest.raises(ValueError, match="attack_scale 'svhn'; valid: mnist, cifar10"):
        DatasetEntry(**base, attack_scale="svhn")
    with pytest.raises(ValueError, match="loader 'm.f' is not 'module:function'"):
        DatasetEntry(**{**base, "loader": "m.f"})
    with pytest.raises(ValueError, match="registered twice"):
        datasets.register_dataset(DATASET_INFO["digits"])
    assert datasets.ATTACK_SCALES == tuple(field.name for field in dataclasses.fields(ByDataset))


def test_a_bad_extra_datasets_module_is_one_line() -> None:
    env = {**_with_tiny_dataset(), datasets.EXTRA_DATASETS_VARIABLE: "no_such_module"}
    done = subprocess.run(["newlogic", "list", "datasets"], env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().endswith("NEWLOGIC_EXTRA_DATASETS names module 'no_such_module', which cannot be "
                                        "imported (No module named 'no_such_module')")


@pytest.mark.parametrize("name", list(DATASET_INFO))
def test_every_entry_names_callable_functions_and_a_known_augmentation(name: str) -> None:
    from newlogic.training.options import AUGMENTATION_NAMES, TrainOptions

    entry = dataset_info(name)
    for target in filter(None, (entry.loader, entry.downloader)):
        assert callable(datasets.resolve_function(target))
    assert entry.augmentation in AUGMENTATION_NAMES
    TrainOptions(**entry.recipe.training)


def _string_constants(path: Path) -> set[str]:
    return {node.value for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Constant)
            and isinstance(node.value, str)}


def test_no_module_outside_the_catalog_and_its_loaders_names_a_dataset() -> None:
    """Validation, planning, preflight, listing and training read the entries; only they name datasets."""
    catalog = {ROOT / "newlogic/datasets.py", ROOT / "newlogic/data.py"}
    outside = [path for path in (ROOT / "newlogic").rglob("*.py") if path not in catalog]
    outside += list((ROOT / "workflow").rglob("*.smk")) + [ROOT / "Snakefile"]
    names = set(DATASET_INFO)
    named = {str(path.relative_to(ROOT)): _string_constants(path) & names for path in outside if path.suffix == ".py"}
    named.update({str(path.relative_to(ROOT)): {name for name in names if f'"{name}"' in path.read_text()}
                  for path in outside if path.suffix != ".py"})
    named = {path: sorted(found - SAME_WORD.get(path, set())) for path, found in named.items()}
    assert {path: found for path, found in named.items() if found} == {}


DOC_LISTS = {  # a line of the docs that lists every dataset, by the words in front of the list
    "config/README.md": "| `dataset` | the dataset every model of the config trains on: ",
    "docs/results.md": "| `dataset` | string | ",
}


@pytest.mark.parametrize("doc", list(DOC_LISTS))
def test_the_docs_list_every_dataset(doc: str) -> None:
    [line] = [line for line in (ROOT / doc).read_text().splitlines() if line.startswith(DOC_LISTS[doc])]
    assert re.findall(r"`([a-z0-9]+)`", line.removeprefix(DOC_LISTS[doc])) == list(DATASET_INFO)
