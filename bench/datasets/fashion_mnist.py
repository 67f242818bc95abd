"""Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747): ten classes of 28x28
clothing images in MNIST's format, zero-padded to 32x32 like MNIST, so every MNIST method
and setting applies unchanged. Files in <root>/FashionMNIST/raw, else Debian's package
(`apt-get install dataset-fashion-mnist`), else torchvision's download; verified by content
(`idx`), since Debian's .gz files are recompressed and fail torchvision's md5."""

from __future__ import annotations

from pathlib import Path

from bench.datasets.base import ImageDataset
from bench.datasets.idx import load_idx
from bench.registry import register_dataset

# SHA-256 of each decompressed file, from Debian's dataset-fashion-mnist
# (0.0~git20200523.55506a9-1, Zalando's repository at that commit)
SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
DEBIAN = Path("/usr/share/datasets/fashion-mnist")


@register_dataset("fashion_mnist")
def load_fashion_mnist(root: Path) -> ImageDataset:
    """Fashion-MNIST via torchvision, files in <root>/FashionMNIST/raw or Debian's package folder."""
    from torchvision.datasets import FashionMNIST

    return load_idx(FashionMNIST, "fashion_mnist", root, SHA256, fallbacks=(DEBIAN,))
