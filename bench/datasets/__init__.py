"""Datasets: whole in-memory tensors (`base`), the built-in ones, which register
themselves when this package is imported (procedural: dsprites and its variants; from the
user's files: MNIST, Fashion-MNIST, DeepMind's dSprites file, Shapes3D, CIFAR-10, CelebA),
and any `.npz` file named with `npz:PATH`."""

from bench.datasets import (  # noqa: F401  (they register themselves)
    dsprites,
    dsprites_file,
    fashion_mnist,
    mixtures,
    mnist,
    shapes3d,
    torchvision_sets,
)
from bench.datasets.base import BatchSampler, ImageDataset, default_data_root, load_dataset, to_float
from bench.datasets.npz import resolve_dataset

__all__ = ["BatchSampler", "ImageDataset", "default_data_root", "load_dataset", "resolve_dataset", "to_float"]
