"""Shapes3D (Burgess & Kim 2018, DeepMind's `3dshapes.h5`) as the `shapes3d` dataset: 480,000
64x64 RGB images, every combination of floor hue, wall hue, object hue (10 each), scale (8),
shape (4) and orientation (15) once, the factors of disentanglement-lib's `shapes3d`.

The file goes in `<data root>/3dshapes/` and is checked by its MD5 (099a2078...: the digest
published with the release, which loaders of it check); h5py reads its `images` (N, 64, 64,
3) uint8 and `labels` (N, 6) float64, whose values become factor indices column by column.
A fixed 10,000 images are the test split, the rest for training (dlib trains on all);
labels are the shape (4 classes). The metrics sample all images (`FactorGrid`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from bench.datasets.base import ImageDataset
from bench.datasets.dsprites_file import held_out_split
from bench.datasets.factor_grid import FactorGrid
from bench.datasets.verified import verified_file
from bench.errors import BenchError
from bench.registry import register_dataset

FILE = "3dshapes.h5"
MD5 = "099a2078d58cec4daad0702c55d06868"
SOURCE = "DeepMind's 3dshapes.h5 (https://github.com/deepmind/3d-shapes)"
FACTOR_NAMES = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
SHAPE = FACTOR_NAMES.index("shape")


def read_shapes3d_file(path: Path, md5: str | None = MD5) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 3, 64, 64), factor indices (N, 6)) of a verified file."""
    verified_file(path, md5, "shapes3d", SOURCE)
    try:
        import h5py
    except ImportError:
        raise BenchError("shapes3d needs h5py (pip install h5py)") from None
    try:
        with h5py.File(path, "r") as f:
            images, labels = f["images"][()], f["labels"][()]
    except (OSError, KeyError) as exc:
        raise BenchError(f"cannot read {path} as Shapes3D ({type(exc).__name__}: {exc})") from None
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3 or labels.shape != (len(images), 6):
        raise BenchError(f"{path}: expected images uint8 N x H x W x 3 and labels N x 6, got "
                         f"{images.dtype} {images.shape} and {labels.shape}")
    factors = np.stack([np.unique(labels[:, j], return_inverse=True)[1].ravel() for j in range(6)], axis=1)
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2)), factors.astype(np.int64)


def load_shapes3d_file(path: Path, md5: str | None = MD5, name: str = "shapes3d") -> ImageDataset:
    images, factors = read_shapes3d_file(path, md5)
    truth = FactorGrid(images, factors, FACTOR_NAMES, where=str(path))
    train, test = held_out_split(len(images))
    x, y = torch.from_numpy(images), torch.from_numpy(factors[:, SHAPE])
    return ImageDataset(name, x[train], y[train], x[test], y[test], n_classes=truth.factors_num_values[SHAPE],
                        ground_truth=truth)


@register_dataset("shapes3d")
def load_shapes3d(root: Path) -> ImageDataset:
    """DeepMind's 3dshapes.h5 from <root>/3dshapes/, verified by MD5."""
    return load_shapes3d_file(Path(root) / "3dshapes" / FILE)
