"""`newlogic train` succeeds for one epoch for every journal name of SPEC §1 (issue 3 acceptance)."""

import json
from pathlib import Path

import pytest
from fake_datasets import write_fake_cifar10, write_fake_mnist
from journal_names import JOURNAL_NAMES

from newlogic.cli import main


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_fake_mnist(root, n_train=128, n_test=64)
    write_fake_cifar10(root, n_train=64, n_test=32)
    return root


# The journal's per-step ramps (config/journal-*.yaml): a recipe's ramp given as a fraction of training
# would finish within this one-step epoch, and a fully curved VGG16 on random images diverges.
JOURNAL_RAMPS = {"mnist": {"relog_step": 0.001, "curvature_step": 1e-3},
                 "cifar10": {"relog_step": 0.001, "curvature_step": 1e-4}}


def dataset_of(name: str) -> str:
    """Names with the legacy ``cnn-cifar10-`` prefix are CIFAR-10 (VGG16) models; the rest MNIST CNNs."""
    return "cifar10" if name.startswith("cnn-cifar10-") else "mnist"


@pytest.mark.slow
@pytest.mark.parametrize("name", list(JOURNAL_NAMES))
def test_one_epoch_of_every_journal_name(name: str, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    dataset = dataset_of(name)
    code = main(["train", "--dataset", dataset, "--model", name, "--epochs", "1", "--out", str(out),
                 "--data-dir", str(data_dir), "--device", "cpu", "--training", '{"batch_size": 64}',
                 "--architecture", json.dumps(JOURNAL_RAMPS[dataset])])
    assert code == 0
    record = json.loads((out / "config.json").read_text())
    assert record["model"]["name"] == JOURNAL_NAMES[name]
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["epochs"]) == 1
    assert 0.0 <= metrics["final"]["test_accuracy"] <= 1.0
    assert (out / "model.pt").stat().st_size > 0
