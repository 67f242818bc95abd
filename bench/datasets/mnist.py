"""MNIST as the papers feed it: 28x28 digits zero-padded to 32x32, verified by the content
of the files (see `idx`), downloaded by torchvision only when the files are absent."""

from __future__ import annotations

from pathlib import Path

from bench.datasets.base import ImageDataset
from bench.datasets.idx import load_idx
from bench.registry import register_dataset

# SHA-256 of each decompressed file (the originals, whose .gz files match torchvision's md5)
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


@register_dataset("mnist")
def load_mnist(root: Path) -> ImageDataset:
    """MNIST via torchvision, files in <root>/MNIST/raw (gzipped or not)."""
    from torchvision.datasets import MNIST

    return load_idx(MNIST, "mnist", root, SHA256)
