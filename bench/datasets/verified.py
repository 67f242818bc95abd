"""Real data sets from files a user already has: found where docs/how-to/add-dataset.md says
to put them, checked against the digest the file's publisher's release has, refused in one line
otherwise. Nothing here downloads (CelebA's host needs a browser; the others are a single
file to copy), so a missing file says where to put it and where to get it.

A loader takes the expected digest as an argument whose default is the official file's;
the tests write small files in each real format and pass their own files' digests, so the
check itself is never switched off.
"""

from __future__ import annotations

from pathlib import Path

from bench.errors import BenchError
from bench.files import file_digest


def md5_of(path: Path) -> str:
    return file_digest(path, "md5")


def verified_file(path: Path, md5: str | None, dataset: str, source: str) -> Path:
    """`path` if it is a file whose MD5 is `md5` (any file when `md5` is None), else a
    one-line BenchError saying where the original file goes and where it comes from."""
    path = Path(path)
    if not path.is_file():
        raise BenchError(f"{dataset}: no {path.name} at {path}; put {source} there "
                         "(or pass --data-root / set BENCH_DATA to the folder that holds it)")
    if md5 is not None:
        digest = md5_of(path)
        if digest != md5:
            raise BenchError(f"{path} is damaged or not the original (MD5 {digest}, expected {md5}); "
                             f"replace it with {source}")
    return path
