"""Datasets as whole in-memory tensors, and batches as index slices of them.

Images stay uint8 (on the training device) and are scaled to [-1, 1] per batch, so
MNIST's whole training split costs 60 MB, and a batch is a gather, not a DataLoader
worker trip.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from bench.errors import BenchError
from bench.registry import DATASETS

SUBSET_SEED = 0  # the same subset of images for every run seed, so seeds are comparable


@dataclass
class ImageDataset:
    name: str
    train_x: torch.Tensor  # uint8 (N, C, H, W); float (N, 2) for 2-D points (`mixtures.PointDataset`)
    train_y: torch.Tensor  # int64 (N,) -- used by evaluation only
    test_x: torch.Tensor
    test_y: torch.Tensor
    n_classes: int
    # the images' own size when they are stored padded (MNIST: 28x28 digits padded to 32x32),
    # for methods that train on the native size (`Method.input_shape`)
    native_shape: tuple[int, int, int] | None = None
    # for images made from known factors (dSprites, Shapes3D): disentanglement-lib's
    # `GroundTruthData` view that the disentanglement metrics sample (None: no factors)
    ground_truth: object | None = None
    root: Path | None = None  # the data root it was loaded from (measures keep their caches there)
    # training-split images held out from training, to label clusters (`subset`); labels read
    # by evaluation only
    valid_x: torch.Tensor | None = None
    valid_y: torch.Tensor | None = None

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])

    def cropped(self, shape: tuple[int, int, int]) -> "ImageDataset":
        """The same images center-cropped to `shape` (a padded dataset's native size)."""
        if tuple(shape) == self.image_shape:
            return self
        if len(shape) != 3 or len(self.image_shape) != 3:
            raise BenchError(f"cannot reshape {self.name}'s {self.image_shape} data to {tuple(shape)}")
        c, h, w = self.image_shape
        if shape[0] != c or shape[1] > h or shape[2] > w:
            raise BenchError(f"cannot crop {self.name}'s {c}x{h}x{w} images to {shape[0]}x{shape[1]}x{shape[2]}")
        top, left = (h - shape[1]) // 2, (w - shape[2]) // 2

        def crop(x):
            return None if x is None else x[:, :, top:top + shape[1], left:left + shape[2]].contiguous()

        return replace(self, train_x=crop(self.train_x), test_x=crop(self.test_x), valid_x=crop(self.valid_x))

    def to(self, device: torch.device | str) -> "ImageDataset":
        def move(t):
            return None if t is None else t.to(device)

        return replace(self, train_x=move(self.train_x), train_y=move(self.train_y), test_x=move(self.test_x),
                       test_y=move(self.test_y), valid_x=move(self.valid_x), valid_y=move(self.valid_y))

    def subset(self, train_size: int | None, test_size: int | None, validation_size: int = 0) -> "ImageDataset":
        """A fixed random subset (the same for every run seed), and `validation_size` held-out
        training-split images (at most a sixth of the split) in `valid_x`: the last ones of
        the same fixed permutation, so that they are never among the training images, which
        stay what they are without a validation set unless the run trains on the whole split
        (then they give up the validation images)."""
        n = len(self.train_x)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(SUBSET_SEED))

        def pick(x, y, size, idx):
            if size is None or size >= len(x):
                return x, y
            idx = idx[:size].to(x.device)
            return x[idx], y[idx]

        held = min(validation_size, n // 6)
        valid = {}
        train_x, train_y = self.train_x, self.train_y
        if held:
            last = order[n - held:].to(self.train_x.device)
            valid = {"valid_x": self.train_x[last], "valid_y": self.train_y[last]}
            if train_size is None or train_size > n - held:
                train_size = n - held
        train_x, train_y = pick(train_x, train_y, train_size, order)
        g = torch.Generator().manual_seed(SUBSET_SEED)
        test_x, test_y = pick(self.test_x, self.test_y, test_size, torch.randperm(len(self.test_x), generator=g))
        return replace(self, train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y, **valid)


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range every generator's tanh produces, in the
    default dtype (float32; float64 in the tests that compare trajectories exactly). Data
    stored as floats (2-D points) keeps its values."""
    if x.is_floating_point():
        return x.to(torch.get_default_dtype())
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
    return replace(DATASETS.create(name, Path(root)), root=Path(root))
