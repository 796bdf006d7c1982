"""A test-only dataset entry registered from outside the package (``NEWLOGIC_EXTRA_DATASETS=tiny_dataset``).

``tinyset``: 28×28 grey images of 3 classes, written by its downloader as two ``.npy`` pairs under
``<data_dir>/tinyset/``; the loader reads them back. Nothing else in the project names it: the
catalog, planning, preflight's data check and ``newlogic list`` must take it in from this entry alone.
"""

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from newlogic.datasets import DatasetEntry, DatasetFiles

if TYPE_CHECKING:  # the catalog imports this module: torch only where data is loaded
    from newlogic.data import Split

SIZES = {"train": 60, "test": 30}
FILES = DatasetFiles("tinyset", {part: (f"{part}_images.npy", f"{part}_labels.npy") for part in SIZES})

DATASETS = (
    DatasetEntry(
        "tinyset", 1, 28, 28, 3, (0.5,), (0.29,),
        description="test-only random 28×28 images of 3 classes",
        loader="tiny_dataset:load_tiny",
        downloader="tiny_dataset:download_tiny",
        files=FILES,
        training={"epochs": 1, "batch_size": 16},
        run_bytes=2**20,
    ),
)


def download_tiny(data_dir: Path) -> str:
    """Write the uniform-random images (seed 0) and labels ``i mod 3``."""
    rng = np.random.default_rng(0)
    folder = data_dir / FILES.folder
    folder.mkdir(parents=True, exist_ok=True)
    for part, (images_file, labels_file) in FILES.splits.items():
        np.save(folder / images_file, rng.random((SIZES[part], 1, 28, 28), dtype=np.float32))
        np.save(folder / labels_file, np.arange(SIZES[part], dtype=np.int64) % 3)
    return f"tinyset is ready in {data_dir}"


def load_tiny(data_dir: Path) -> "tuple[Split, Split]":
    """(train, test) ``Split``s read from the ``.npy`` files."""
    import torch

    from newlogic.data import Split

    folder = data_dir / FILES.folder
    train, test = (Split(torch.from_numpy(np.load(folder / images)), torch.from_numpy(np.load(folder / labels)))
                   for images, labels in FILES.splits.values())
    return train, test
