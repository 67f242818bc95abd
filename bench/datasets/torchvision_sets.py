"""CIFAR-10 and CelebA through torchvision's own classes, from files a user already has (the
learned-prior AAE reports on CIFAR-10, LatentGAN-AE on CelebA).

torchvision checks the files itself: CIFAR-10's python batches by the MD5s in its class,
CelebA's five annotation files by theirs (and that `img_align_celeba/` exists). Those
digests are the defaults; a test that writes small files in the real formats passes its own
(`md5s`), through a subclass that carries them, so the check is never switched off. A
missing or damaged file is one line saying where the files go. Nothing is downloaded.

The long form (readings, departures, history): docs/notes.md, `bench.datasets.torchvision_sets`."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from bench.datasets.base import ImageDataset
from bench.errors import BenchError
from bench.files import write_atomic
from bench.registry import register_dataset

CIFAR10_SOURCE = ("the python version of CIFAR-10 (cifar-10-python.tar.gz from "
                  "https://www.cs.toronto.edu/~kriz/cifar.html, extracted)")
CELEBA_SOURCE = ("CelebA's img_align_celeba/ and its list_attr_celeba.txt, identity_CelebA.txt, list_bbox_celeba.txt, "
                 "list_landmarks_align_celeba.txt, list_eval_partition.txt "
                 "(https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html)")
CELEBA_LABEL = "Smiling"


def _with_md5s(cls, md5s: dict[str, str] | None):
    """torchvision's class, or a subclass whose file lists carry `md5s` (file name -> MD5)."""
    if md5s is None:
        return cls
    attrs = {}
    for name in ("train_list", "test_list"):
        if hasattr(cls, name):
            attrs[name] = [[f, md5s[f]] for f, _ in getattr(cls, name)]
    if hasattr(cls, "meta"):
        attrs["meta"] = {**cls.meta, "md5": md5s[cls.meta["filename"]]}
    if hasattr(cls, "file_list"):
        attrs["file_list"] = [(i, md5s.get(f, md5), f) for i, md5, f in cls.file_list]
    return type(cls.__name__, (cls,), attrs)


def load_cifar10(root: Path, md5s: dict[str, str] | None = None) -> ImageDataset:
    """CIFAR-10 via torchvision from <root>/cifar-10-batches-py (verified by MD5)."""
    from torchvision.datasets import CIFAR10

    cls = _with_md5s(CIFAR10, md5s)
    folder = Path(root) / CIFAR10.base_folder
    try:
        train, test = (cls(str(root), train=split, download=False) for split in (True, False))
    except (RuntimeError, OSError) as exc:
        raise BenchError(f"cifar10: no verified CIFAR-10 batches in {folder} ({str(exc).splitlines()[0]}); "
                         f"put {CIFAR10_SOURCE} there (or pass --data-root / set BENCH_DATA)") from None

    def images(split):
        return torch.from_numpy(np.ascontiguousarray(split.data.transpose(0, 3, 1, 2)))

    return ImageDataset("cifar10", images(train), torch.tensor(train.targets), images(test),
                        torch.tensor(test.targets), n_classes=len(train.classes))


@register_dataset("cifar10")
def load_cifar10_default(root: Path) -> ImageDataset:
    """CIFAR-10's 60,000 32x32 RGB images (torchvision's files, by MD5)."""
    return load_cifar10(root)


def _square(image, size: int) -> np.ndarray:
    """A PIL image resized (bilinear, antialiased) so its shorter side is `size`, centre-cropped:
    uint8 (3, size, size)."""
    from PIL import Image

    w, h = image.size
    scale = size / min(w, h)
    image = image.convert("RGB").resize((max(size, round(w * scale)), max(size, round(h * scale))),
                                        Image.Resampling.BILINEAR)
    w, h = image.size
    left, top = (w - size) // 2, (h - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size))).transpose(2, 0, 1)


def _celeba_split(cls, root: Path, split: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    from bench.tracking import progress

    data = cls(str(root), split=split, target_type="attr", download=False)
    label = data.attr[:, data.attr_names.index(CELEBA_LABEL)].numpy().astype(np.int64)
    folder = Path(root) / cls.base_folder / "img_align_celeba"
    out = np.empty((len(data.filename), 3, size, size), dtype=np.uint8)
    with progress.bar(f"CelebA {split}: decoding", total=len(out), unit="img") as bar:
        for i, name in enumerate(data.filename):
            with Image.open(folder / name) as image:
                out[i] = _square(image, size)
            bar.update(1)
    return out, label


def load_celeba(root: Path, size: int = 64, md5s: dict[str, str] | None = None, cache: bool = True) -> ImageDataset:
    """CelebA via torchvision from <root>/celeba (annotation files verified by MD5), images
    `size` x `size`; the decoded arrays cached in <root>/celeba/bench-celeba-SxS.npz."""
    from torchvision.datasets import CelebA

    cls = _with_md5s(CelebA, md5s)
    folder = Path(root) / CelebA.base_folder
    name = "celeba" if size == 64 else f"celeba{size}"
    try:
        cls(str(root), split="test", target_type=[], download=False)  # torchvision's own file check
    except (RuntimeError, OSError) as exc:
        raise BenchError(f"{name}: no verified CelebA files in {folder} ({str(exc).splitlines()[0]}); "
                         f"put {CELEBA_SOURCE} there (or pass --data-root / set BENCH_DATA)") from None
    cached = folder / f"bench-celeba-{size}x{size}.npz"
    arrays = _read_cache(cached) if cache and cached.is_file() else None
    if arrays is None:
        (train_x, train_y), (test_x, test_y) = (_celeba_split(cls, root, split, size) for split in ("train", "test"))
        arrays = {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y}
        if cache:
            try:
                write_atomic(cached, lambda tmp: _save(tmp, arrays))
            except BenchError as exc:  # a read-only data root: decode again next time
                print(f"bench: warning: {exc}", file=sys.stderr)
    t = {k: torch.from_numpy(v) for k, v in arrays.items()}
    return ImageDataset(name, t["train_x"], t["train_y"], t["test_x"], t["test_y"], n_classes=2)


def _save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as f:  # a file object: np.savez would add .npz to the temporary name
        np.savez(f, **arrays)


def _read_cache(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in ("train_x", "train_y", "test_x", "test_y")}
    except (OSError, ValueError, KeyError) as exc:
        raise BenchError(f"{path} is not a readable CelebA cache ({type(exc).__name__}); delete it and it is "
                         "rebuilt from the images") from None


@register_dataset("celeba")
def load_celeba64(root: Path) -> ImageDataset:
    """CelebA's aligned faces at 64x64 (torchvision's files, by MD5); labelled by Smiling."""
    return load_celeba(root, 64)


@register_dataset("celeba32")
def load_celeba32(root: Path) -> ImageDataset:
    """CelebA's aligned faces at 32x32 (LatentGAN-AE's Table 4 size); labelled by Smiling."""
    return load_celeba(root, 32)
