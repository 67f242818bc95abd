"""Turn Ctrl-C / SIGTERM into a request to stop between training steps.

Stopping mid-step would leave a half-updated model (D stepped, G not); the trainer
checks the flag after each whole step, checkpoints, and records the run as interrupted.
A second Ctrl-C stops at once.
"""

from __future__ import annotations

import signal
import threading


class StopRequested:
    def __init__(self):
        self.signal: int | None = None
        self._previous: dict[int, object] = {}

    def __bool__(self) -> bool:
        return self.signal is not None

    def _handle(self, signum, frame):
        if self.signal is not None:  # second request: give up on a clean stop
            raise KeyboardInterrupt
        self.signal = signum

    def __enter__(self) -> "StopRequested":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
