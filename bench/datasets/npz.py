"""A dataset from one `.npz` file, named on the command line: `--dataset npz:PATH`.

Arrays (numpy's `np.savez`, read without pickle):
- `x`: uint8 images, N x H x W (grey) or N x H x W x C (channel-last, C = 1 or 3);
- `y`: N integer labels in [0, classes), used for scoring only, never in training;
- `x_test`, `y_test` (optional): the test split; without them a fixed random seventh of
  the images is held out (MNIST's 10,000 of 70,000), the same for every run;
- `factors` (optional): N x F integer ground-truth factors, values 0..n_f - 1. When every
  combination of factor values has an image (a grid, as dSprites), runs also record the
  disentanglement metrics, sampling images by factors (`FactorGrid`, from the images of
  `x`); `factor_names` may name them.

The run's dataset name is `npz_<file stem>` (what records, run ids and tables carry); the
record keeps the file's path and SHA-256, and `bench plot` finds the file again by them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from bench.datasets.base import ImageDataset
from bench.datasets.factor_grid import FactorGrid
from bench.errors import BenchError
from bench.files import sha256_of
from bench.names import MAX_LENGTH
from bench.registry import DATASETS

PREFIX = "npz:"
SPLIT_SEED = 0
_PATHS: dict[str, Path] = {}  # dataset name -> its file, for the names registered here


def is_npz(spec: str) -> bool:
    return spec.startswith(PREFIX)


def dataset_name(path: Path) -> str:
    return "npz_" + re.sub(r"[^A-Za-z0-9_]", "_", Path(path).stem)


def register_npz(spec: str) -> str:
    """Register the file of `npz:PATH` as a dataset; returns its name (`npz_<stem>`)."""
    try:
        path = Path(spec[len(PREFIX):] if is_npz(spec) else spec).expanduser().resolve()
        found = path.is_file()
    except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte, a link loop, no such user (~x)
        raise BenchError(f"--dataset {spec!r} does not name a file: {exc}") from None
    if not found:
        raise BenchError(f"no .npz file at {path} (from --dataset {spec})")
    name = dataset_name(path)
    if len(name) > MAX_LENGTH:
        raise BenchError(f"{path}: its dataset name {name} would be longer than {MAX_LENGTH} characters; "
                         "rename the file")
    if name in _PATHS:
        if _PATHS[name] != path:
            raise BenchError(f"{path} and {_PATHS[name]} would both be dataset {name}; rename one")
        return name
    DATASETS.register(name)(lambda root, _path=path: load_npz(_path))
    _PATHS[name] = path
    return name


def source_of(name: str) -> dict | None:
    """{'path', 'sha256'} of an npz dataset registered here, for the run record."""
    path = _PATHS.get(name)
    return {"path": str(path), "sha256": sha256_of(path)} if path else None


def _images(x: np.ndarray, key: str, path: Path) -> torch.Tensor:
    """uint8 N x H x W [x C] -> N x C x H x W."""
    if (x.dtype != np.uint8 or x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[3] not in (1, 3))
            or not all(1 <= side <= MAX_SIDE for side in x.shape[1:3])):
        raise BenchError(f"{path}: {key!r} must be uint8 N x H x W or N x H x W x C (C = 1 or 3, "
                         f"sides 1..{MAX_SIDE}), not {x.dtype} {tuple(x.shape)}")
    x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(x))


MAX_CLASSES = 10_000  # labels score clusterings; a confusion matrix is classes x clusters
MAX_SIDE = 4096  # pixels per image side


def _labels(y: np.ndarray, n: int, key: str, path: Path) -> torch.Tensor:
    if (not np.issubdtype(y.dtype, np.integer) or y.shape != (n,) or (n and y.min() < 0)
            or (n and y.max() >= MAX_CLASSES)):
        raise BenchError(f"{path}: {key!r} must hold {n} integer labels in 0..{MAX_CLASSES - 1}, "
                         f"not {y.dtype} {tuple(y.shape)}")
    return torch.from_numpy(y.astype(np.int64))


@lru_cache(maxsize=4)
def _arrays(path: Path) -> dict[str, np.ndarray]:
    """The file's arrays, read without pickle; anything that is not an .npz archive of plain
    arrays (a lone .npy array, a damaged zip, a member that does not decompress) is one line."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError("it holds one array, not an archive of named arrays (save it with np.savez)")
        with loaded as f:
            return {k: f[k] for k in f.files}
    except Exception as exc:  # noqa: BLE001 -- zipfile, zlib, numpy's format errors: one line each
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BenchError(f"cannot read {path} as an .npz file: {first}") from None


def load_npz(path: Path) -> ImageDataset:
    arrays = _arrays(Path(path))
    missing = [k for k in ("x", "y") if k not in arrays]
    if missing:
        raise BenchError(f"{path} has no {' or '.join(map(repr, missing))} array (it has {', '.join(arrays)})")
    x = _images(arrays["x"], "x", path)
    y = _labels(arrays["y"], len(x), "y", path)
    if "x_test" in arrays:
        test_x = _images(arrays["x_test"], "x_test", path)
        test_y = _labels(arrays.get("y_test", np.zeros(0, np.int64)), len(test_x), "y_test", path)
        if test_x.shape[1:] != x.shape[1:]:
            raise BenchError(f"{path}: x_test images are {tuple(test_x.shape[1:])}, x images {tuple(x.shape[1:])}")
        train_x, train_y = x, y
        if len(test_x) == 0:
            raise BenchError(f"{path}: 'x_test' holds no image; leave it out to hold out a seventh of 'x'")
    else:
        if len(x) < 2:
            raise BenchError(f"{path}: {len(x)} image(s); a train and a test split need at least 2")
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(SPLIT_SEED))
        n_test = max(1, len(x) // 7)
        test, train = order[:n_test], order[n_test:]
        train_x, train_y, test_x, test_y = x[train], y[train], x[test], y[test]
    if len(train_x) == 0:
        raise BenchError(f"{path}: 'x' holds no training image")
    # a malformed or incomplete factor grid fails now, not after training
    truth = _ground_truth(arrays, path) if "factors" in arrays else None
    n_classes = int(max(train_y.max(), test_y.max())) + 1 if len(test_y) else int(train_y.max()) + 1
    return ImageDataset(dataset_name(path), train_x, train_y, test_x, test_y, n_classes=n_classes, ground_truth=truth)


def _ground_truth(arrays: dict[str, np.ndarray], path: Path) -> FactorGrid:
    """The file's images (all of them, both splits' source) as ground-truth data."""
    names = arrays.get("factor_names")
    return FactorGrid(_images(arrays["x"], "x", path).numpy(), arrays["factors"],
                      [str(n) for n in names] if names is not None else None, where=str(path))


def resolve_dataset(spec: str) -> str:
    """`--dataset` -> a registered dataset name: `npz:PATH` registers the file, any other
    name must be registered already (one line listing the available ones otherwise)."""
    if is_npz(spec):
        return register_npz(spec)
    DATASETS.get(spec)
    return spec
