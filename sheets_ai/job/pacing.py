"""Pacing: the tasks of one execution share the Sheets write quota (60 write requests per minute per user),
so each spaces its own write requests to its share, ``60 / CLOUD_RUN_TASK_COUNT`` per minute."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..signals import stopping

#: Google Sheets API: write requests per minute per user (the service account every task runs as).
SHEETS_WRITES_PER_MINUTE = 60
_SLICE = 0.05


class WritePacer:
    """Call it before each write request: it waits until ``60 / per_minute`` seconds have passed since the
    previous one, so any 60-second window holds at most ``per_minute`` of this process's writes.

    A stop signal (SIGTERM) ends the wait at once: the last save must land within the 10 s Cloud Run gives
    before SIGKILL, and one write over the share costs less than finished rows lost (a 429 is retried).
    """

    def __init__(
        self,
        per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.interval = 60.0 / per_minute
        self._clock, self._sleep = clock, sleep
        self._last: float | None = None
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds spent waiting, for the report's notices

    def __call__(self) -> None:
        with self._lock:
            if self._last is not None:
                due = self._last + self.interval
                while (now := self._clock()) < due and not stopping():
                    pause = min(_SLICE, due - now)
                    self._sleep(pause)
                    self.waited += pause
            self._last = self._clock()
