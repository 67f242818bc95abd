"""Datasets as whole in-memory tensors, and batches as index slices of them.

The papers' MNIST input: 28x28 digits zero-padded to 32x32, scaled to [-1, 1].
Images stay uint8 (on the training device) and are scaled per batch, so the full
training split costs 60 MB, and a batch is a gather, not a DataLoader worker trip.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F

from bench.errors import BenchError
from bench.registry import DATASETS, register_dataset

SUBSET_SEED = 0  # the same subset of images for every run seed, so seeds are comparable


@dataclass
class ImageDataset:
    name: str
    train_x: torch.Tensor  # uint8 (N, C, H, W)
    train_y: torch.Tensor  # int64 (N,) -- used by evaluation only
    test_x: torch.Tensor
    test_y: torch.Tensor
    n_classes: int

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])

    def to(self, device: torch.device | str) -> "ImageDataset":
        return replace(
            self,
            train_x=self.train_x.to(device),
            train_y=self.train_y.to(device),
            test_x=self.test_x.to(device),
            test_y=self.test_y.to(device),
        )

    def subset(self, train_size: int | None, test_size: int | None) -> "ImageDataset":
        """A fixed random subset (the same for every run seed)."""

        def pick(x, y, n):
            if n is None or n >= len(x):
                return x, y
            g = torch.Generator().manual_seed(SUBSET_SEED)
            idx = torch.randperm(len(x), generator=g)[:n].to(x.device)
            return x[idx], y[idx]

        train_x, train_y = pick(self.train_x, self.train_y, train_size)
        test_x, test_y = pick(self.test_x, self.test_y, test_size)
        return replace(self, train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y)


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range every generator's tanh produces, in the
    default dtype (float32; float64 in the tests that compare trajectories exactly)."""
    return x.to(torch.get_default_dtype()).div_(127.5).sub_(1.0)


class BatchSampler:
    """Batch `step` of a run: slice `step % steps_per_epoch` of epoch `step // steps_per_epoch`'s
    permutation. A pure function of (seed, step), so a resumed run sees the same batches."""

    def __init__(self, n: int, batch_size: int, seed: int, device: torch.device | str = "cpu"):
        if batch_size > n:
            raise BenchError(f"batch_size {batch_size} exceeds the {n} training images")
        self.n, self.batch_size, self.seed, self.device = n, batch_size, seed, device
        self.steps_per_epoch = n // batch_size
        self._epoch, self._perm = -1, None

    def indices(self, step: int) -> torch.Tensor:
        epoch, i = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = torch.randperm(self.n, generator=g).to(self.device)
            self._epoch = epoch
        return self._perm[i * self.batch_size : (i + 1) * self.batch_size]


def default_data_root(cli_value: str | None) -> Path:
    """--data-root, else $BENCH_DATA, else ./data."""
    return Path(cli_value or os.environ.get("BENCH_DATA") or "data")


def load_dataset(name: str, root: Path) -> ImageDataset:
    return DATASETS.create(name, Path(root))


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@register_dataset("mnist")
def load_mnist(root: Path) -> ImageDataset:
    """MNIST via torchvision, verified by md5; downloads only when the files are absent."""
    from torchvision.datasets import MNIST

    raw = Path(root) / "MNIST" / "raw"
    names = [name for name, _ in MNIST.resources]
    for name, md5 in MNIST.resources:
        path = raw / name
        if path.exists() and _md5(path) != md5:
            raise BenchError(
                f"{path} is corrupt (md5 {_md5(path)}, expected {md5}); "
                "delete it and copy the original file again"
            )
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            train = MNIST(str(root), train=True, download=True)
            test = MNIST(str(root), train=False, download=True)
    except Exception as exc:  # no network, unwritable root, ...
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = lines[-1] if lines else type(exc).__name__
        raise BenchError(
            f"MNIST is not in {raw} and could not be downloaded ({reason}); "
            f"put {', '.join(names)} in {raw} (or pass --data-root / set BENCH_DATA)"
        ) from None

    def prepare(split):
        x = F.pad(split.data, (2, 2, 2, 2)).unsqueeze(1).contiguous()  # (N, 1, 32, 32) uint8
        return x, split.targets.long()

    train_x, train_y = prepare(train)
    test_x, test_y = prepare(test)
    return ImageDataset("mnist", train_x, train_y, test_x, test_y, n_classes=10)
