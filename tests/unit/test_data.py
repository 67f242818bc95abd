import gzip
import shutil

import pytest
import torch

from bench.datasets.base import BatchSampler, load_dataset, to_float
from bench.errors import BenchError


def test_batches_are_a_pure_function_of_seed_and_step():
    a, b = BatchSampler(100, 10, seed=3), BatchSampler(100, 10, seed=3)
    assert torch.equal(a.indices(17), b.indices(17))  # b jumps straight to step 17
    assert torch.equal(a.indices(4), BatchSampler(100, 10, seed=3).indices(4))
    assert not torch.equal(a.indices(4), BatchSampler(100, 10, seed=4).indices(4))


def test_an_epoch_visits_every_image_once_then_reshuffles():
    s = BatchSampler(100, 10, seed=0)
    epoch0 = torch.cat([s.indices(i) for i in range(10)])
    epoch1 = torch.cat([s.indices(i) for i in range(10, 20)])
    assert sorted(epoch0.tolist()) == list(range(100))
    assert sorted(epoch1.tolist()) == list(range(100))
    assert not torch.equal(epoch0, epoch1)


def test_batch_larger_than_the_data_is_a_clear_error():
    with pytest.raises(BenchError, match="batch_size 64 exceeds the 10 training images"):
        BatchSampler(10, 64, seed=0)


def test_to_float_maps_uint8_to_minus_one_one():
    x = torch.tensor([0, 255, 128], dtype=torch.uint8)
    assert to_float(x).tolist() == pytest.approx([-1.0, 1.0, 128 / 127.5 - 1], abs=1e-6)


def test_mnist_is_padded_to_32_and_split(mnist):
    data = load_dataset("mnist", mnist)
    assert data.train_x.shape == (60000, 1, 32, 32) and data.train_x.dtype == torch.uint8
    assert data.test_x.shape == (10000, 1, 32, 32)
    assert data.train_y.bincount().tolist()[:3] == [5923, 6742, 5958]  # MNIST's known class counts
    border = torch.cat([data.train_x[:, :, :2].flatten(), data.train_x[:, :, :, -2:].flatten()])
    assert border.max() == 0  # the 2-pixel padding is background
    small = data.subset(500, 100)
    assert len(small.train_x) == 500 and len(small.test_x) == 100
    assert torch.equal(small.train_x, data.subset(500, 100).train_x)  # the same subset every time


def test_a_corrupt_file_is_refused_by_its_content(mnist, tmp_path):
    shutil.copytree(mnist / "MNIST" / "raw", tmp_path / "MNIST" / "raw",
                    ignore=shutil.ignore_patterns("*ubyte"))  # only the .gz files
    target = tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    labels = gzip.decompress(target.read_bytes())
    target.write_bytes(gzip.compress(labels[:-1] + bytes([labels[-1] ^ 1])))  # one label changed, well gzipped
    with pytest.raises(BenchError, match=r"t10k-labels-idx1-ubyte.gz is corrupt \(SHA-256 of its content .*ff7bcfd4"):
        load_dataset("mnist", tmp_path)


def test_missing_files_without_network_say_where_to_put_them(tmp_path, monkeypatch):
    import torchvision.datasets.utils as tv_utils

    def no_network(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\n<urlopen error no network>")

    monkeypatch.setattr(tv_utils, "download_url", no_network)
    monkeypatch.setattr("torchvision.datasets.mnist.download_and_extract_archive", no_network)
    with pytest.raises(BenchError) as err:
        load_dataset("mnist", tmp_path / "empty")
    message = str(err.value)
    assert "\n" not in message
    assert "urlopen error no network" in message
    assert "put train-images-idx3-ubyte.gz" in message and str(tmp_path / "empty" / "MNIST" / "raw") in message
