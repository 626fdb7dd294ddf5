"""The client-side limiter: spreads requests, follows rate-limit headers and retry-after."""

from __future__ import annotations

import pytest

from sheets_ai.providers.limits import RateLimiter, parse_duration


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("6m0s", 360.0), ("120ms", 0.12), ("0.5s", 0.5), ("2", 2.0), ("x", None)],
)
def test_parse_openai_durations(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_requests_beyond_the_burst_wait_for_the_refill() -> None:
    clock = Clock()
    limiter = RateLimiter(rpm=60, tpm=1_000_000, burst_seconds=2, clock=clock)
    assert limiter.acquire(10) == 0 and limiter.acquire(10) == 0
    assert limiter._requests.wait_for(1) == pytest.approx(1.0)  # one request a second after the burst


def test_headers_lower_the_rate_and_the_remaining_quota() -> None:
    clock = Clock()
    limiter = RateLimiter(rpm=600, tpm=600_000, clock=clock)
    limiter.update({"x-ratelimit-limit-tokens": "60000", "x-ratelimit-remaining-tokens": "100"})
    assert limiter._tokens.rate == pytest.approx(1000.0)
    assert limiter._tokens.wait_for(1100) == pytest.approx(1.0)
    limiter.update({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1.5s"})
    assert limiter._hold_until == pytest.approx(1.5)


def test_retry_after_holds_every_worker() -> None:
    clock = Clock()
    limiter = RateLimiter(rpm=600, tpm=600_000, clock=clock)
    limiter.hold(2.0)
    assert limiter._hold_until == 2.0
