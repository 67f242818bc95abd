"""DeepMind's dSprites file (Matthey et al. 2017), `dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`,
as the `dsprites_full` dataset (disentanglement-lib's name for it): 737,280 64x64 binary
images, every combination of shape (3), scale (6), orientation (40), posX and posY (32
each) once; the constant colour factor is dropped, as dlib's `dsprites_full` does.

The long form (readings, departures, history): docs/notes.md, `bench.datasets.dsprites_file`."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from bench.datasets.base import ImageDataset
from bench.datasets.dsprites import FACTOR_NAMES, FACTOR_SIZES, SHAPES, render
from bench.datasets.factor_grid import FactorGrid
from bench.datasets.verified import verified_file
from bench.errors import BenchError
from bench.registry import register_dataset

FILE = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
MD5 = "7da33b31b13a06f4b04a70402ce90c2e"
SOURCE = f"DeepMind's {FILE} (https://github.com/deepmind/dsprites-dataset)"
TEST_SIZE, SPLIT_SEED = 10_000, 0


def held_out_split(n: int, test_size: int = TEST_SIZE, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices: a fixed random `test_size` (at most a seventh of n) held out."""
    order = np.random.RandomState(seed).permutation(n)
    n_test = min(test_size, max(1, n // 7))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def read_dsprites_file(path: Path, md5: str | None = MD5) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 1, 64, 64) in {0, 255}, factors (N, 5)) of a verified file."""
    verified_file(path, md5, "dsprites_full", SOURCE)
    try:
        with np.load(path, allow_pickle=False) as f:
            images, classes = f["imgs"], f["latents_classes"]
    except (OSError, ValueError, KeyError) as exc:
        raise BenchError(f"cannot read {path} as DeepMind's dSprites file ({type(exc).__name__}: {exc})") from None
    if images.dtype != np.uint8 or images.ndim != 3 or classes.shape != (len(images), 6) or images.max() > 1:
        raise BenchError(f"{path}: expected imgs uint8 N x 64 x 64 in {{0, 1}} and latents_classes N x 6, got "
                         f"{images.dtype} {images.shape} and {classes.shape}")
    np.multiply(images, 255, out=images)
    return images[:, None], classes[:, 1:].astype(np.int64)


def load_dsprites_file(path: Path, md5: str | None = MD5, name: str = "dsprites_full") -> ImageDataset:
    images, factors = read_dsprites_file(path, md5)
    truth = FactorGrid(images, factors, FACTOR_NAMES, where=str(path))
    train, test = held_out_split(len(images))
    x, y = torch.from_numpy(images), torch.from_numpy(factors[:, 0])
    return ImageDataset(name, x[train], y[train], x[test], y[test], n_classes=len(SHAPES), ground_truth=truth)


@register_dataset("dsprites_full")
def load_dsprites_full(root: Path) -> ImageDataset:
    """DeepMind's dSprites file from <root>/dsprites/, verified by MD5."""
    return load_dsprites_file(Path(root) / "dsprites" / FILE)


def procedural_agreement(truth: FactorGrid, n: int = 5000, seed: int = 0) -> dict[str, float]:
    """IoU of the white pixels of the file's image and the procedural render at the same
    factors, for n factor combinations drawn uniformly: overall and per shape."""
    if any(n > size for n, size in zip(truth.factors_num_values, FACTOR_SIZES)) or truth.num_factors != 5:
        raise BenchError(f"the procedural dSprites has factor sizes {FACTOR_SIZES}, the file "
                         f"{tuple(truth.factors_num_values)}")
    factors = truth.sample_factors(n, np.random.RandomState(seed))
    ours = render(factors).numpy() > 0
    theirs = truth.images[truth.indices(factors)] > 0
    inter = (ours & theirs).reshape(n, -1).sum(axis=1)
    union = (ours | theirs).reshape(n, -1).sum(axis=1)
    iou = inter / np.maximum(union, 1)
    out = {"iou": float(iou.mean())}
    for k, shape in enumerate(SHAPES):
        out[f"iou_{shape}"] = float(iou[factors[:, 0] == k].mean())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="the procedural dSprites against DeepMind's file")
    parser.add_argument("path", type=Path, help=FILE)
    parser.add_argument("--samples", type=int, default=5000)
    args = parser.parse_args()
    images, factors = read_dsprites_file(args.path)
    for key, value in procedural_agreement(FactorGrid(images, factors), args.samples).items():
        print(f"{key}: {value:.4f}")


if __name__ == "__main__":
    main()
