"""A client-side limiter on requests/min and tokens/min, shared by every worker thread of a run.

Two token buckets refill continuously at ``rpm/60`` and ``tpm/60`` per second and hold a few seconds' worth
(``burst_seconds``), so requests are spread out instead of sent in one burst that the server would refuse.
After each response, tokens reserved but not used are given back, and the limiter follows the server's
``x-ratelimit-*`` headers (applied after the refund, so the server has the last word): a lower ``limit`` lowers the
refill rate, a lower ``remaining`` lowers the bucket, and a 429's ``retry-after`` holds every worker back.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str | None) -> float | None:
    """OpenAI's reset durations: ``"1s"``, ``"6m0s"``, ``"120ms"``, ``"0.5s"``; a bare number is seconds."""
    if value is None:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts:
        return None
    return sum(float(n) * _UNIT[unit] for n, unit in parts)


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


class _Bucket:
    def __init__(self, per_minute: float, burst_seconds: float, now: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * burst_seconds)
        self.level = self.capacity
        self.stamp = now
        self.burst_seconds = burst_seconds

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` may be taken (a request larger than the bucket waits for a full bucket)."""
        need = min(amount, self.capacity) - self.level
        return 0.0 if need <= 0 else need / self.rate

    def set_limit(self, per_minute: float) -> None:
        rate = per_minute / 60.0
        if rate < self.rate:
            self.rate = rate
            self.capacity = max(1.0, rate * self.burst_seconds)
            self.level = min(self.level, self.capacity)


class RateLimiter:
    """Thread-safe request and token limiter. ``acquire`` blocks until a request may be sent."""

    def __init__(
        self,
        rpm: float,
        tpm: float,
        *,
        burst_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        now = clock()
        self._requests = _Bucket(rpm, burst_seconds, now)
        self._tokens = _Bucket(tpm, burst_seconds, now)
        self._hold_until = 0.0
        self._cond = threading.Condition()
        self.waited_seconds = 0.0

    def acquire(self, tokens: int) -> float:
        """Take one request and ``tokens`` tokens, waiting as needed. Returns the seconds waited."""
        started = self._clock()
        with self._cond:
            while True:
                now = self._clock()
                self._requests.refill(now)
                self._tokens.refill(now)
                wait = max(self._hold_until - now, self._requests.wait_for(1), self._tokens.wait_for(tokens))
                if wait <= 0:
                    self._requests.level -= 1
                    self._tokens.level -= tokens
                    waited = self._clock() - started
                    self.waited_seconds += waited
                    return waited
                self._cond.wait(timeout=min(wait, 1.0))

    def hold(self, seconds: float) -> None:
        """Keep every worker from sending for ``seconds`` (after a 429 with retry-after)."""
        with self._cond:
            self._hold_until = max(self._hold_until, self._clock() + max(0.0, seconds))

    def settle(self, reserved: int, used: int) -> None:
        """Give back tokens reserved for a request but not used (the answer was shorter than expected)."""
        if used >= reserved:
            return
        with self._cond:
            self._tokens.refill(self._clock())
            self._tokens.level = min(self._tokens.capacity, self._tokens.level + reserved - used)
            self._cond.notify_all()

    def update(self, headers: Mapping[str, str]) -> None:
        """Follow the server's ``x-ratelimit-limit/remaining/reset-{requests,tokens}`` headers."""
        with self._cond:
            now = self._clock()
            for kind, bucket in (("requests", self._requests), ("tokens", self._tokens)):
                limit = _int(headers.get(f"x-ratelimit-limit-{kind}"))
                if limit is not None and limit > 0:
                    bucket.set_limit(limit)
                remaining = _int(headers.get(f"x-ratelimit-remaining-{kind}"))
                if remaining is None:
                    continue
                bucket.refill(now)
                bucket.level = min(bucket.level, float(remaining))
                if remaining <= 0 and kind == "requests":  # tokens: the bucket level already waits
                    reset = parse_duration(headers.get(f"x-ratelimit-reset-{kind}"))
                    if reset is not None:
                        self._hold_until = max(self._hold_until, now + min(reset, 60.0))
            self._cond.notify_all()
