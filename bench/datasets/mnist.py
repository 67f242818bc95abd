"""MNIST as the papers feed it: 28x28 digits zero-padded to 32x32, verified by md5,
downloaded by torchvision only when the files are absent."""

from __future__ import annotations

import contextlib
import hashlib
import io
from pathlib import Path

import torch.nn.functional as F

from bench.datasets.base import ImageDataset
from bench.errors import BenchError
from bench.registry import register_dataset


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
    return ImageDataset("mnist", train_x, train_y, test_x, test_y, n_classes=10, native_shape=(1, 28, 28))
