"""Datasets as in-memory tensors of pixels in [0, 1] (SPEC §4)."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from newlogic.errors import UserError


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
class Split:
    """Images ``float32 [N, C, H, W]`` in [0, 1] and labels ``int64 [N]``."""

    images: torch.Tensor
    labels: torch.Tensor


def load_digits() -> tuple[Split, Split]:
    """scikit-learn's bundled 8×8 digits, upsampled to 28×28, stratified 80/20 split with seed 0."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    bunch = sklearn_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    images = F.interpolate(images, size=(28, 28), mode="bilinear", align_corners=False).clamp(0.0, 1.0)
    labels = torch.tensor(bunch.target, dtype=torch.int64)
    train_idx, test_idx = train_test_split(
        torch.arange(len(labels)).numpy(), test_size=0.2, random_state=0, stratify=labels.numpy()
    )
    return Split(images[train_idx], labels[train_idx]), Split(images[test_idx], labels[test_idx])


DATASETS: dict[str, tuple[DatasetInfo, Callable[[Path], tuple[Split, Split]]]] = {
    "digits": (DatasetInfo("digits", 1, 28, 28, 10, (0.2,), (0.3,)), lambda _data_dir: load_digits()),
}


def dataset_info(name: str) -> DatasetInfo:
    """The ``DatasetInfo`` of a registered dataset."""
    if name not in DATASETS:
        raise UserError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}")
    return DATASETS[name][0]


def load_dataset(name: str, data_dir: Path | str = "data") -> tuple[Split, Split]:
    """(train, test) splits of dataset ``name``, read from ``data_dir`` where it needs files."""
    dataset_info(name)
    return DATASETS[name][1](Path(data_dir))
