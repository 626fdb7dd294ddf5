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


def test_negative_and_missing_header_values_change_nothing() -> None:
    # Some Azure OpenAI deployments send -1 for every x-ratelimit-* header.
    clock = Clock()
    limiter = RateLimiter(rpm=600, tpm=60_000, clock=clock)
    before = limiter.snapshot()
    limiter.update(
        {
            f"x-ratelimit-{n}-{k}": "-1"
            for n in ("limit", "remaining", "reset")
            for k in ("requests", "tokens")
        }
    )
    limiter.update({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "-1s"})
    assert limiter.snapshot()["rpm"] == before["rpm"] and limiter.snapshot()["tpm"] == before["tpm"]
    assert limiter.snapshot()["tokens_available"] == before["tokens_available"]
    assert limiter.snapshot()["hold_seconds"] == 0


def test_remaining_counted_at_arrival_is_aged_to_the_answer() -> None:
    # The server counted "remaining" when the request arrived, charging its whole output cap; the answer
    # comes a second later, after a second of refill and with most of the cap given back.
    clock = Clock()
    limiter = RateLimiter(rpm=600, tpm=60_000, clock=clock)  # 1,000 tokens/s, 5,000 in the bucket
    limiter.acquire(3_000)
    clock.now += 1.0
    limiter.settle(3_000, 1_000)
    limiter.update({"x-ratelimit-remaining-tokens": "2000"}, age=1.0, refund=2_000)
    assert limiter.snapshot()["tokens_available"] == pytest.approx(5_000)
    limiter.update({"x-ratelimit-remaining-tokens": "2000"})  # a fresh count (a 429) is taken as it is
    assert limiter.snapshot()["tokens_available"] == pytest.approx(2_000)
