"""Tiny MNIST and CIFAR-10 data directories in the real raw on-disk formats (nothing can be downloaded here).

``root`` is what ``--data-dir`` / ``load_dataset(name, root)`` takes. The files are the ones torchvision's
downloaders leave behind:

- MNIST: ``root/MNIST/raw/{train,t10k}-images-idx3-ubyte`` (big-endian magic 2051 = 0x00000803, then
  N, 28, 28 as uint32, then N·784 bytes) and ``…-labels-idx1-ubyte`` (magic 2049, N, then N bytes);
- CIFAR-10: ``root/cifar-10-batches-py/data_batch_1…5, test_batch, batches.meta``: pickle protocol 2 as
  Python 2's cPickle wrote the real files (text and bytes as Python 2 ``str``, numpy arrays through
  ``numpy.core.multiarray._reconstruct``), so a reader needs ``encoding="latin1"`` exactly as for the real
  ones. A batch is ``{"batch_label", "labels": [N ints], "data": uint8 [N, 3072] (R, G, B planes of
  32×32, row-major), "filenames"}``; the training images are spread over the five batches in order.

Images carry a learnable signal: each class has a fixed random template, an image is
``(3·template + noise) // 4``. Labels cycle through the ten classes in a shuffled order.
"""

import pickle
import struct
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

CIFAR10_LABEL_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


class FakeData(NamedTuple):
    """What was written: images ``uint8 [N, C, H, W]``, labels ``int64 [N]``."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def _fake_split(rng: np.random.Generator, templates: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.permutation(np.arange(n) % len(templates)).astype(np.int64)
    noise = rng.integers(0, 256, size=(n, *templates.shape[1:]))
    images = ((3 * templates[labels] + noise) // 4).astype(np.uint8)
    return images, labels


def _fake_data(shape: tuple[int, int, int], n_train: int, n_test: int, seed: int) -> FakeData:
    rng = np.random.default_rng(seed)
    templates = rng.integers(0, 256, size=(10, *shape))
    return FakeData(*_fake_split(rng, templates, n_train), *_fake_split(rng, templates, n_test))


def _write_idx(path: Path, magic: int, array: np.ndarray) -> None:
    header = struct.pack(f">{1 + array.ndim}I", magic, *array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def write_fake_mnist(root: Path, n_train: int, n_test: int, seed: int = 0) -> FakeData:
    """Write ``root/MNIST/raw/*-ubyte`` idx files with n_train/n_test 28×28 images; return what was written."""
    data = _fake_data((1, 28, 28), n_train, n_test, seed)
    raw_dir = Path(root) / "MNIST" / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    for prefix, images, labels in (
        ("train", data.train_images, data.train_labels),
        ("t10k", data.test_images, data.test_labels),
    ):
        _write_idx(raw_dir / f"{prefix}-images-idx3-ubyte", 2051, images[:, 0])
        _write_idx(raw_dir / f"{prefix}-labels-idx1-ubyte", 2049, labels)
    return data


class _Python2Pickler(pickle._Pickler):
    """Pickle protocol 2 with Python 2's opcodes: ``str``/``bytes`` as ``BINSTRING``, numpy under ``numpy.core``."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_python2_str(self, obj: str | bytes) -> None:
        data = obj.encode("latin1") if isinstance(obj, str) else bytes(obj)
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = save_python2_str
    dispatch[bytes] = save_python2_str

    def save_global(self, obj: Any, name: str | None = None) -> None:
        name = name or obj.__qualname__
        module = pickle.whichmodule(obj, name).replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode("ascii"))
        self.memoize(obj)


def _write_python2_pickle(path: Path, obj: dict[str, Any]) -> None:
    with path.open("wb") as file:
        _Python2Pickler(file, protocol=2).dump(obj)


def write_fake_cifar10(root: Path, n_train: int, n_test: int, seed: int = 0) -> FakeData:
    """Write ``root/cifar-10-batches-py/`` (5 train batches, test batch, meta); return what was written."""
    data = _fake_data((3, 32, 32), n_train, n_test, seed)
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    train_parts = np.array_split(np.arange(n_train), 5)
    batches = [
        (f"data_batch_{i + 1}", f"training batch {i + 1} of 5", data.train_images[part], data.train_labels[part])
        for i, part in enumerate(train_parts)
    ]
    batches.append(("test_batch", "testing batch 1 of 1", data.test_images, data.test_labels))
    for file_name, batch_label, images, labels in batches:
        _write_python2_pickle(
            folder / file_name,
            {
                "batch_label": batch_label,
                "labels": [int(label) for label in labels],
                "data": images.reshape(len(images), 3 * 32 * 32),
                "filenames": [f"fake_{CIFAR10_LABEL_NAMES[label]}_{i}.png" for i, label in enumerate(labels)],
            },
        )
    meta = {"num_cases_per_batch": max(len(part) for part in train_parts), "label_names": CIFAR10_LABEL_NAMES,
            "num_vis": 3 * 32 * 32}
    _write_python2_pickle(folder / "batches.meta", meta)
    return data
