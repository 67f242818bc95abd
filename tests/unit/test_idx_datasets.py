"""MNIST-format datasets from tiny synthetic IDX files: gzipped or not, recompressed copies
accepted by their content, a changed content refused in one line, Debian's folder as a fallback."""

import gzip
import hashlib
import struct

import numpy as np
import pytest
import torch

from bench.datasets import fashion_mnist
from bench.datasets.base import load_dataset
from bench.errors import BenchError

SPLITS = {"train": 6, "t10k": 4}


def idx_files(seed: int = 0) -> dict[str, bytes]:
    """The four IDX files of a 10-image dataset of 28x28 images, unpacked name -> bytes."""
    rng = np.random.default_rng(seed)
    files = {}
    for split, n in SPLITS.items():
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        files[f"{split}-images-idx3-ubyte"] = struct.pack(">IIII", 0x803, n, 28, 28) + images.tobytes()
        files[f"{split}-labels-idx1-ubyte"] = struct.pack(">II", 0x801, n) + labels.tobytes()
    return files


@pytest.fixture
def fake_fashion(monkeypatch, tmp_path):
    """fashion_mnist checked against the synthetic files' digests, with an empty Debian folder."""
    files = idx_files()
    monkeypatch.setattr(fashion_mnist, "SHA256", {k: hashlib.sha256(v).hexdigest() for k, v in files.items()})
    monkeypatch.setattr(fashion_mnist, "DEBIAN", tmp_path / "debian")
    return files


def write(folder, files, gz: bool, level: int = 9):
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data, compresslevel=level, mtime=0))
        else:
            (folder / name).write_bytes(data)


@pytest.mark.parametrize("gz, level", [(False, 9), (True, 9), (True, 1)])  # level 1: a recompressed copy
def test_fashion_mnist_loads_gzipped_or_not_padded_to_32(fake_fashion, tmp_path, gz, level):
    write(tmp_path / "FashionMNIST" / "raw", fake_fashion, gz, level)
    data = load_dataset("fashion_mnist", tmp_path)
    assert data.name == "fashion_mnist" and data.n_classes == 10
    assert data.train_x.shape == (6, 1, 32, 32) and data.test_x.shape == (4, 1, 32, 32)
    assert data.train_x.dtype == torch.uint8 and data.train_y.tolist() == [0, 1, 2, 3, 4, 5]
    images = np.frombuffer(fake_fashion["train-images-idx3-ubyte"][16:], np.uint8).reshape(6, 28, 28)
    assert torch.equal(data.train_x[:, 0, 2:30, 2:30], torch.from_numpy(images.copy()))
    assert data.train_x[:, :, :2].max() == 0  # the padding is background


def test_files_in_the_debian_folder_are_used_when_the_data_root_has_none(fake_fashion, tmp_path):
    write(tmp_path / "debian", fake_fashion, gz=True, level=6)
    data = load_dataset("fashion_mnist", tmp_path / "root")
    assert len(data.train_x) == 6
    assert (tmp_path / "root" / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte").is_file()  # unpacked for torchvision


def test_a_file_with_other_content_is_refused_in_one_line(fake_fashion, tmp_path):
    other = {**fake_fashion, "t10k-labels-idx1-ubyte": idx_files(seed=1)["t10k-images-idx3-ubyte"]}
    write(tmp_path / "FashionMNIST" / "raw", other, gz=True)
    with pytest.raises(BenchError, match=r"t10k-labels-idx1-ubyte.gz is corrupt \(SHA-256 of its content") as err:
        load_dataset("fashion_mnist", tmp_path)
    assert "\n" not in str(err.value)


def test_a_truncated_gzip_file_is_refused_in_one_line(fake_fashion, tmp_path):
    write(tmp_path / "FashionMNIST" / "raw", fake_fashion, gz=True)
    target = tmp_path / "FashionMNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    target.write_bytes(target.read_bytes()[:-10])
    with pytest.raises(BenchError, match=r"train-labels-idx1-ubyte.gz is corrupt \(not a readable gzip file"):
        load_dataset("fashion_mnist", tmp_path)
