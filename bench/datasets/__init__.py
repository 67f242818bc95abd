"""Datasets: whole in-memory tensors (`base`), and the built-in ones, which register
themselves when this package is imported."""

from bench.datasets import dsprites, mnist  # noqa: F401  (they register themselves)
from bench.datasets.base import BatchSampler, ImageDataset, default_data_root, load_dataset, to_float

__all__ = ["BatchSampler", "ImageDataset", "default_data_root", "load_dataset", "to_float"]
