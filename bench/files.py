"""Files a run writes, written so that nothing is half-written or trampled: atomic
replacement under a unique temporary name, a lock per run, and a check up front that
the folders can be written at all (before hours of training, not after)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import uuid
from pathlib import Path
from typing import Callable, Iterator

from bench.errors import BenchError


def write_atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """`write(tmp)` writes the content to a temporary file beside `path`, which then
    replaces `path` in one step. The temporary name is unique to this process and call,
    so two writers never share one. On failure (a full disk) the temporary file is
    removed, `path` keeps its previous content, and the error is one line naming `path`."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        kept = " (its previous version is kept)" if path.exists() else ""
        raise BenchError(f"cannot write {path}: {exc.strerror or exc}{kept}") from None
    return path


def check_writable(folder: Path, what: str) -> None:
    """Fail in one line now if `folder` cannot be created or written."""
    folder = Path(folder)
    probe = folder / f".write-check-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise BenchError(f"cannot write to the {what} {folder}: {exc.strerror or exc}") from None


class RunLocked(Exception):
    """Another process holds this run's lock."""


@contextlib.contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """Hold `folder/.lock` exclusively while one run trains, so that two identical `bench
    run` commands on the same folders do not train (and checkpoint) the same run at once.
    The lock is the kernel's (flock): it goes away with the process, even after kill -9."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise RunLocked(str(folder)) from None
            raise
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# A results folder holding this file is a shipped reference (the repository's results/):
# new runs, speed measurements and figures go there only when asked with --reference.
REFERENCE_MARK = "REFERENCE"


def default_results_dir() -> Path:
    """$BENCH_RESULTS, else ./bench-results: a user's own runs, apart from the reference."""
    return Path(os.environ.get("BENCH_RESULTS") or "bench-results")


def reference_folder(folder: Path) -> Path | None:
    """The reference results folder that `folder` is or lies in, if any."""
    folder = Path(folder).absolute()
    for candidate in (folder, *folder.parents):
        if (candidate / REFERENCE_MARK).is_file():
            return candidate
    return None


def check_not_reference(folder: Path, allowed: bool, what: str) -> None:
    """Refuse to write `what` into a reference results folder unless `allowed` (--reference)."""
    reference = reference_folder(folder)
    if reference is not None and not allowed:
        raise BenchError(f"{folder} is in the reference results {reference} (marked by its {REFERENCE_MARK} file): "
                         f"{what} go there only with --reference; write yours elsewhere (the default results "
                         f"folder is {default_results_dir()})")
