"""MNIST-format datasets (torchvision's MNIST and FashionMNIST classes) under the same
offline rules: the four IDX files in `<root>/<Class name>/raw/`, gzipped or not, checked by
the SHA-256 of their *decompressed* content, so a recompressed copy (Debian's
dataset-fashion-mnist, whose .gz files fail torchvision's md5) is accepted and a corrupt one
is refused in one line. Verified files are unpacked beside themselves, where torchvision
reads them with `download=False`; torchvision downloads only when the files are absent
everywhere. Images are zero-padded from 28x28 to 32x32, as the papers feed MNIST.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import zlib
from pathlib import Path

import torch.nn.functional as F

from bench.datasets.base import ImageDataset
from bench.errors import BenchError
from bench.files import write_atomic


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> bytes:
    """The decompressed bytes of `path` (a .gz file) or its bytes (an unpacked file)."""
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise BenchError(f"{path} is corrupt (not a readable gzip file: {exc}); "
                         "delete it and copy the original file again") from None


def _find(raw: Path, unpacked: str, fallbacks: tuple[Path, ...]) -> Path | None:
    for folder in (raw, *fallbacks):
        for name in (unpacked, unpacked + ".gz"):
            if (folder / name).is_file():
                return folder / name
    return None


def prepare_raw(raw: Path, sha256: dict[str, str], fallbacks: tuple[Path, ...] = ()) -> bool:
    """Make `raw` hold every file of `sha256` (unpacked name -> digest of its content),
    unpacked and verified, from `raw` itself or the first of `fallbacks` that has it.
    Returns False when some file is absent everywhere (the caller may download)."""
    sources = {name: _find(raw, name, fallbacks) for name in sha256}
    if any(path is None for path in sources.values()):
        return False
    for name, path in sources.items():
        data = _read(path)
        if _sha256(data) != sha256[name]:
            raise BenchError(f"{path} is corrupt (SHA-256 of its content {_sha256(data)[:16]}..., expected "
                             f"{sha256[name][:16]}...); delete it and copy the original file again")
        target = raw / name
        if path != target:  # one line naming the file if `raw` cannot be written
            write_atomic(target, lambda tmp: tmp.write_bytes(data))
    return True


def load_idx(torchvision_class, dataset_name: str, root: Path, sha256: dict[str, str],
             fallbacks: tuple[Path, ...] = ()) -> ImageDataset:
    """`torchvision_class` (MNIST, FashionMNIST) from `<root>/<its name>/raw`, verified as above,
    as an ImageDataset of 1x32x32 uint8 images (native 28x28)."""
    raw = Path(root) / torchvision_class.__name__ / "raw"
    if not prepare_raw(raw, sha256, fallbacks):
        _download(torchvision_class, dataset_name, root, raw)
        prepare_raw(raw, sha256)  # torchvision checked its md5; ours checks the content
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            splits = [torchvision_class(str(root), train=train, download=False) for train in (True, False)]
    except RuntimeError as exc:
        raise BenchError(f"{dataset_name}: torchvision cannot read {raw} ({exc})") from None
    (train_x, train_y), (test_x, test_y) = [
        (F.pad(s.data, (2, 2, 2, 2)).unsqueeze(1).contiguous(), s.targets.long()) for s in splits]  # (N, 1, 32, 32)
    return ImageDataset(dataset_name, train_x, train_y, test_x, test_y, n_classes=len(splits[0].classes),
                        native_shape=(1, 28, 28))  # a method may train on the unpadded digits


def _download(torchvision_class, dataset_name: str, root: Path, raw: Path) -> None:
    names = [name for name, _ in torchvision_class.resources]
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            torchvision_class(str(root), train=True, download=True)
    except Exception as exc:  # no network, unwritable root, ...
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = lines[-1] if lines else type(exc).__name__
        raise BenchError(
            f"{dataset_name} is not in {raw} and could not be downloaded ({reason}); "
            f"put {', '.join(names)} in {raw} (or pass --data-root / set BENCH_DATA)"
        ) from None
