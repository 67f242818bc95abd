"""Datasets: whole in-memory tensors (`base`), the built-in ones, which register
themselves when this package is imported, and any `.npz` file named with `npz:PATH`."""

from bench.datasets import dsprites, fashion_mnist, mixtures, mnist  # noqa: F401  (they register themselves)
from bench.datasets.base import BatchSampler, ImageDataset, default_data_root, load_dataset, to_float
from bench.datasets.npz import resolve_dataset

__all__ = ["BatchSampler", "ImageDataset", "default_data_root", "load_dataset", "resolve_dataset", "to_float"]
