"""Wire-level pieces of the fake OpenAI server: replies, error bodies, rate-limit buckets, masked keys."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def duration(seconds: float) -> str:
    """OpenAI's (Go's) way to write a wait: ``6ms``, ``850ms``, ``1.482s``, ``20s``, ``6m0s``."""
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    minutes, rest = divmod(round(seconds, 3), 60)
    text = f"{rest:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{int(minutes)}m{text}" if minutes else text


def mask_key(key: str) -> str:
    """How OpenAI echoes a rejected key: a few characters at each end, never the whole key."""
    return key[:3] + "*" * max(0, len(key) - 7) + key[-4:] if len(key) > 10 else "*" * len(key)


@dataclass
class Bucket:
    per_minute: float
    burst_seconds: float
    level: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.capacity = self.per_minute * self.burst_seconds / 60.0
        self.level = self.capacity

    def refill(self, now: float) -> None:
        """Refill up to ``now``; a moment before the last refill (requests handled out of order) adds nothing."""
        if now <= self.stamp:
            return
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.per_minute / 60.0)
        self.stamp = now

    def seconds_until(self, amount: float) -> float:
        need = min(amount, self.capacity) - self.level
        return max(0.0, need * 60.0 / self.per_minute)


@dataclass
class Reply:
    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    #: Runs when the answer is about to be sent, after ``delay`` (e.g. refund tokens charged at arrival).
    after: Callable[[], None] | None = None
    #: A ``str`` body is sent as is with this type (a file's content); a dict always as JSON.
    content_type: str = "application/json"


def error(
    status: int,
    message: str,
    kind: str,
    code: str | None,
    retry_after: float | None = None,
    *,
    param: str | None = None,
) -> Reply:
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["retry-after-ms"] = str(round(retry_after * 1000))
        headers["retry-after"] = str(max(1, round(retry_after)))
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return Reply(status, body, headers)
