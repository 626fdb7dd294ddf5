"""Stop signals: Ctrl-C and SIGTERM stop a run, but never in the middle of a save.

From the moment a run starts until it returns, SIGINT and SIGTERM (Cloud Run's, a task timeout's, ``kill``'s)
raise :class:`KeyboardInterrupt` in the main thread, so the pipeline saves the finished rows and exits with
its report. While a save is being written (:meth:`StopSignals.shield`), a signal is only recorded: the save
completes, then the signal is honoured. After the first signal, more signals are recorded but not raised,
so a second Ctrl-C cannot break the save the first one started.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

#: Set from the first stop signal of a run until the next run starts: work that only waits (pacing a write
#: to a quota) checks it and stops waiting, so the last save fits in the 10 s Cloud Run gives after SIGTERM.
_STOPPING = threading.Event()


def stopping() -> bool:
    """Whether a stop signal arrived during the current run."""
    return _STOPPING.is_set()


class StopSignals:
    """A context manager that owns SIGINT and SIGTERM for the length of a run."""

    def __init__(self) -> None:
        self._previous: dict[int, Any] = {}
        self._shielded = 0
        self.pending: int | None = None  # a signal that arrived while shielded
        self.received: int | None = None  # the first signal of the run

    def __enter__(self) -> StopSignals:
        _STOPPING.clear()
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        _STOPPING.set()
        if self._shielded or self.received is not None:
            self.pending = signum
            return
        self.received = signum
        raise KeyboardInterrupt

    @contextmanager
    def shield(self) -> Iterator[None]:
        """Run a save to its end; a signal that arrives meanwhile is raised right after it."""
        self._shielded += 1
        try:
            yield
        except BaseException:
            self._shielded -= 1
            raise
        self._shielded -= 1
        if not self._shielded and self.pending is not None and self.received is None:
            self.received, self.pending = self.pending, None
            raise KeyboardInterrupt
