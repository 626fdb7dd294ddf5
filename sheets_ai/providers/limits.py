"""A client-side limiter on requests/min and tokens/min, shared by every worker thread of a run.

Two token buckets refill continuously at ``rpm/60`` and ``tpm/60`` per second and hold a few seconds' worth
(``burst_seconds``), so requests are spread out instead of sent in one burst that the server would refuse.
A request reserves what OpenAI charges when it arrives: the prompt plus the request's ``max_tokens`` /
``max_completion_tokens``; after the answer the reservation is settled to the tokens really used. The
limiter follows the server's ``x-ratelimit-*`` headers (applied after the settlement, so the server has the
last word): a lower ``limit`` lowers the refill rate, a lower ``remaining`` lowers the bucket. Values that
are missing, negative or unreadable (Azure sends ``-1``) are ignored. A 429 holds every worker back
(:meth:`RateLimiter.hold`) for as long as the retry waits.
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
    if text.startswith("-"):  # Azure's -1, or any negative duration: nothing to wait for
        return 0.0
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
    def __init__(
        self, per_minute: float, burst_seconds: float, now: float, margin_seconds: float = 0.0
    ) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * burst_seconds)
        self.level = self.capacity
        self.stamp = now
        self.burst_seconds = burst_seconds
        self.margin_seconds = margin_seconds

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` may be taken (a request larger than the bucket waits for a full bucket).

        ``margin_seconds`` of refill stay in the bucket: requests spaced here can arrive closer together at
        the server (connection set-up, network jitter), and the server must still find its bucket not empty.
        """
        need = min(amount + self.rate * self.margin_seconds, self.capacity) - self.level
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
        margin_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        now = clock()
        self._requests = _Bucket(rpm, burst_seconds, now, margin_seconds)
        self._tokens = _Bucket(tpm, burst_seconds, now, margin_seconds)
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
        """Keep every worker from sending for ``seconds`` (after a 429: the pause is shared)."""
        with self._cond:
            self._hold_until = max(self._hold_until, self._clock() + max(0.0, seconds))

    def settle(self, reserved: int, used: int) -> None:
        """Settle a reservation to the tokens really used: give back the rest, or take what was missing."""
        if used == reserved:
            return
        with self._cond:
            self._tokens.refill(self._clock())
            self._tokens.level = min(self._tokens.capacity, self._tokens.level + reserved - used)
            self._cond.notify_all()

    def snapshot(self) -> dict[str, float]:
        """The limits in force and what may be sent now (for tests and debug logs)."""
        with self._cond:
            now = self._clock()
            self._requests.refill(now)
            self._tokens.refill(now)
            return {
                "rpm": round(self._requests.rate * 60.0, 6),
                "tpm": round(self._tokens.rate * 60.0, 6),
                "requests_available": self._requests.level,
                "tokens_available": self._tokens.level,
                "hold_seconds": max(0.0, self._hold_until - now),
            }

    def update(self, headers: Mapping[str, str], *, age: float = 0.0, refund: int = 0) -> None:
        """Follow the server's ``x-ratelimit-limit/remaining/reset-{requests,tokens}`` headers.

        A server counts ``remaining`` when the request arrives; the answer comes ``age`` seconds later
        (the request's latency), by which time the server has refilled ``age`` seconds' worth and given back
        ``refund`` tokens of this request's reservation. Both are added before the bucket is lowered to it,
        or every slow answer would throw away the refill of its own latency.
        """
        with self._cond:
            now = self._clock()
            for kind, bucket in (("requests", self._requests), ("tokens", self._tokens)):
                limit = _int(headers.get(f"x-ratelimit-limit-{kind}"))
                if limit is not None and limit > 0:
                    bucket.set_limit(limit)
                remaining = _int(headers.get(f"x-ratelimit-remaining-{kind}"))
                if remaining is None or remaining < 0:  # missing, or Azure's -1: says nothing
                    continue
                bucket.refill(now)
                since = max(0.0, age) * bucket.rate + (max(0, refund) if kind == "tokens" else 0)
                bucket.level = min(bucket.level, remaining + since)
                if remaining == 0 and kind == "requests":  # tokens: the bucket level already waits
                    reset = parse_duration(headers.get(f"x-ratelimit-reset-{kind}"))
                    if reset:  # None, or 0 from a negative value: no wait to honour
                        self._hold_until = max(self._hold_until, now + min(reset, 60.0))
            self._cond.notify_all()
