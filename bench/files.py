"""Files a run writes, written so that nothing is half-written or trampled: atomic
replacement under a unique temporary name (removed on failure, and a killed writer's
removed when its run starts again), a lock per run, a check up front that the folders can
be written at all (before hours of training, not after), and a check that every write
lands inside the folder it was meant for."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Callable, Iterator

from bench.errors import BenchError


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """The hex digest of a file's bytes, read in 1 MiB chunks (a dataset file may be gigabytes);
    `algorithm` as hashlib names it (the publishers of some datasets give MD5s)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_of(path: Path) -> str:
    return file_digest(path, "sha256")


def write_atomic(path: Path, write: Callable[[Path], None], within: Path | None = None) -> Path:
    """`write(tmp)` writes the content to a temporary file beside `path`, which then
    replaces `path` in one step. The temporary name is unique to this process and call,
    so two writers never share one. On any failure while writing (an OSError such as a
    full disk, or the RuntimeError torch.save's zip writer raises) the temporary file is
    removed, `path` keeps its previous content, and the error is one line naming `path`.
    With `within`, `path` must resolve inside that folder (`inside`)."""
    path = Path(path)
    if within is not None:
        inside(path, within)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:
        reason = _reason(exc, path.parent)  # before the temporary file frees its space
        with contextlib.suppress(OSError):
            tmp.unlink()
        kept = " (its previous version is kept)" if path.exists() else ""
        raise BenchError(f"cannot write {path}: {reason}{kept}") from None
    return path


def _reason(exc: BaseException, folder: Path) -> str:
    """The first line of why a write failed, and whether the disk it was on is full."""
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    first = (text.strip().splitlines() or [type(exc).__name__])[0]
    if getattr(exc, "errno", None) != errno.ENOSPC and _free_bytes(folder) == 0:
        first += " (no space left on its disk)"
    return first


def _free_bytes(folder: Path) -> int | None:
    for candidate in (Path(folder), *Path(folder).parents):
        try:
            return shutil.disk_usage(candidate).free
        except OSError:
            continue
    return None


def inside(path: Path, folder: Path) -> Path:
    """`path` if it resolves (links followed) inside `folder`, else one line: names from a run
    record are checked before they become file names, and this catches any that were not."""
    resolved, root = Path(path).resolve(), Path(folder).resolve()
    if resolved != root and root not in resolved.parents:
        raise BenchError(f"refusing to write {path}: it lies outside {folder}")
    return Path(path)


# `write_atomic`'s temporary files: .<name>.<pid>.<8 hex>.tmp
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def remove_leftovers(folder: Path, name: str | None = None) -> list[Path]:
    """Remove the temporary files in `folder` (of the file `name`, or of any) that a killed
    writer left: those whose writing process is gone. Returns what was removed."""
    removed = []
    if not Path(folder).is_dir():
        return removed
    for path in Path(folder).glob(".*.tmp"):
        match = _TEMPORARY.fullmatch(path.name)
        if match and (name is None or match["name"] == name) and not _alive(int(match["pid"])):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


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
