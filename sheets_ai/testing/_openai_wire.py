"""Wire-level pieces of the fake OpenAI server: replies, error bodies, rate-limit buckets, masked keys."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


def duration(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms" if seconds < 1 else f"{seconds:.3f}s"


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
