"""Progress bars for what a run does, training and every stage after it (evaluation,
k-means, morphometrics, t-SNE, disentanglement metrics), on stderr.

Whether bars show is set once per run by the runner (`shown`), not passed down: the
adapters' `after_training` (where k-means runs) takes no progress argument, and the
stages sit three calls below the runner. Outside a `shown(True)` block nothing is drawn,
so library calls and tests stay quiet. Stage bars stay on screen when they end
(`leave=True`), so the terminal keeps what ran and how long it took. On a stderr that is
not a terminal (a log file) bars redraw at most every 30 s instead of ten times a second.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from typing import Iterator

from tqdm.auto import tqdm

_SHOWN: contextvars.ContextVar[tuple[bool, str]] = contextvars.ContextVar("bench_progress", default=(False, ""))


@contextlib.contextmanager
def shown(on: bool, label: str = "") -> Iterator[None]:
    """Bars inside this block show (or not), each prefixed with `label` (e.g. 'infogan s0')."""
    token = _SHOWN.set((on, label))
    try:
        yield
    finally:
        _SHOWN.reset(token)


def bar(what: str, total: int | None = None, unit: str = "it", leave: bool = True, initial: int = 0) -> tqdm:
    """A tqdm bar on stderr described as '<label> · <what>'; a disabled one when bars are off."""
    on, label = _SHOWN.get()
    tty = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    return tqdm(total=total, initial=initial, desc=f"{label} · {what}" if label else what, unit=unit,
                disable=not on, leave=leave, file=sys.stderr, dynamic_ncols=True,
                mininterval=0.1 if tty else 30.0)


@contextlib.contextmanager
def stage(what: str) -> Iterator[None]:
    """A one-step bar for a stage with no count of its own (sklearn's k-means, t-SNE):
    it says what runs while it runs, and how long it took once done."""
    with bar(what, total=1, unit="stage") as progress:
        yield
        progress.update(1)
