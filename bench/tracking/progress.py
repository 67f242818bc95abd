"""Progress for what a run does, training and every stage after it (evaluation, k-means,
morphometrics, t-SNE, disentanglement metrics), on stderr.

Whether progress shows is set once per run by the runner (`shown`), not passed down: the
adapters' `after_training` (where k-means runs) takes no progress argument, and the
stages sit three calls below the runner. Outside a `shown(True)` block nothing is written,
so library calls and tests stay quiet. On a terminal, tqdm bars (stage bars stay on screen
when they end). Where tqdm would draw nothing or a mess (stderr not a terminal: a log file,
a pipe, a notebook; or a terminal that reports width 0), plain lines instead (`LineBar`):
one when a stage starts, one every 30 s while it runs, one when it ends.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import threading
import time
from typing import Iterator

from tqdm import tqdm

_SHOWN: contextvars.ContextVar[tuple[bool, str]] = contextvars.ContextVar("bench_progress", default=(False, ""))
LINE_EVERY_S = 30.0  # a plain line's interval while a stage runs
SLOW_S = 2.0  # a stage without a bar is named once it has run this long


@contextlib.contextmanager
def shown(on: bool, label: str = "") -> Iterator[None]:
    """Progress inside this block shows (or not), each line prefixed with `label` (e.g. 'infogan s0')."""
    token = _SHOWN.set((on, label))
    try:
        yield
    finally:
        _SHOWN.reset(token)


def drawable(stream) -> bool:
    """Whether tqdm can draw bars on `stream`: a terminal with a width."""
    try:
        return bool(stream.isatty()) and os.get_terminal_size(stream.fileno()).columns > 0
    except (AttributeError, OSError, ValueError):  # no fileno (a notebook's stream), closed, ...
        return False


class LineBar:
    """tqdm's interface (update, set_postfix, close, a context manager) as plain lines."""

    def __init__(self, desc: str, total: int | None, unit: str, initial: int = 0, file=None,
                 every: float = LINE_EVERY_S):
        self.desc, self.total, self.unit, self.n = desc, total, unit, initial
        self.file, self.every, self.postfix = file, every, ""
        self.start = self.last = time.monotonic()
        self.closed = False
        self._line("started" if not initial else f"resumed at {self._count()}")

    def _count(self) -> str:
        if not self.total:
            return f"{self.n} {self.unit}"
        return f"{self.n}/{self.total} {self.unit} ({100 * self.n / self.total:.0f}%)"

    def _line(self, what: str) -> None:
        print(f"{self.desc}: {what}{self.postfix}", file=self.file or sys.stderr, flush=True)

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self._line(f"{self._count()}, {now - self.start:.0f}s")

    def set_postfix(self, values: dict, refresh: bool = True) -> None:
        self.postfix = ", " + ", ".join(f"{k}={v}" for k, v in values.items()) if values else ""

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._line(f"{self._count()}, done in {time.monotonic() - self.start:.1f}s")

    def __enter__(self) -> LineBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def bar(what: str, total: int | None = None, unit: str = "it", leave: bool = True, initial: int = 0):
    """A progress bar on stderr described as '<label> · <what>': tqdm on a terminal, plain
    lines elsewhere (`LineBar`), a disabled tqdm when progress is off."""
    on, label = _SHOWN.get()
    desc = f"{label} · {what}" if label else what
    if on and not drawable(sys.stderr):
        return LineBar(desc, total, unit, initial)
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, disable=not on, leave=leave, file=sys.stderr,
                dynamic_ncols=True, mininterval=0.1)


@contextlib.contextmanager
def stage(what: str) -> Iterator[None]:
    """A one-step bar for a stage with no count of its own (sklearn's k-means, t-SNE):
    it says what runs while it runs, and how long it took once done."""
    with bar(what, total=1, unit="stage") as progress:
        yield
        progress.update(1)


def _write(line: str) -> None:
    if drawable(sys.stderr):
        tqdm.write(line, file=sys.stderr)  # above any bar on screen
    else:
        print(line, file=sys.stderr, flush=True)


def note(what: str) -> None:
    """One line before a stage that has no bar of its own (a training stage), when shown."""
    on, label = _SHOWN.get()
    if on:
        _write(f"{label} · {what}" if label else what)


@contextlib.contextmanager
def slow(what: str, after_s: float = SLOW_S) -> Iterator[None]:
    """A line saying what runs once a stage without a bar (loading a dataset, which may
    extract files) has taken `after_s` seconds, when shown: a quick stage, or one that fails
    at once with its one-line error, prints nothing."""
    on, label = _SHOWN.get()
    timer = threading.Timer(after_s, _write, [f"{label} · {what}" if label else what]) if on else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.cancel()
