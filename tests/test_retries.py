"""Retries and rate limits, through the real openai SDK against the fake OpenAI server over loopback.

The fake answers 429s the ways real servers do: with OpenAI's headers, with no header at all (only the
"Please try again in 200ms" of the body), or with Azure's ``-1`` headers; and it charges tokens per minute
as OpenAI does: prompt + ``max_tokens`` when a request arrives, the unused part given back at the answer.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openai
import pytest
from conftest import run_cli, run_json
from tenacity import Retrying

from sheets_ai.config import build_config
from sheets_ai.providers.base import BatchItem
from sheets_ai.providers.openai import OpenAIProvider
from sheets_ai.tasks import build_task
from sheets_ai.testing.openai_server import FakeOpenAI

REVIEW_ARGS = ("--task", "sentiment", "--input", "Review", "--output", "Sentiment")


def env_for(server: FakeOpenAI, **extra: str) -> dict[str, str]:
    return {"OPENAI_API_KEY": "test", "SHEETS_AI_REQUEST_TIMEOUT": "5", **extra}


def run_reviews(work: Path, server: FakeOpenAI, *args: str, **extra: str) -> tuple[Any, dict[str, Any]]:
    return run_json(
        "run", work / "reviews.xlsx", *REVIEW_ARGS, "--provider", "openai", "--base-url", server.url, *args,
        env=env_for(server, **extra),
    )  # fmt: skip


def arrivals(server: FakeOpenAI) -> list[float]:
    return [float(r["time"]) for r in list(server.requests)]


# ---------------------------------------------------------------- 429 without any header
def test_429s_without_headers_wait_as_the_body_says_and_the_run_finishes(work: Path) -> None:
    # OpenAI sometimes sends neither retry-after nor x-ratelimit-*: only "Please try again in 200ms."
    with FakeOpenAI(rate_limit_headers="none", retry_after=0.2) as fake:
        fake.script(*["429"] * 7)
        proc, report = run_reviews(work, fake, "--concurrency", "1")
        times = arrivals(fake)
        served = len(fake.requests)
    assert proc.returncode == 0, proc.stderr
    assert report["rows_processed"] == 59 and report["rows_failed"] == 0
    # Every retry came after the wait the body asked for, not after a blind (and here shorter) backoff.
    gaps = [later - earlier for earlier, later in itertools.pairwise(times[:8])]
    assert min(gaps) >= 0.19, gaps
    # The report counts what the server saw.
    assert report["rate_limited"] == 7 and report["retries"] == 7
    assert report["server_requests"] == served == report["requests"] + 7


def test_a_429_pauses_every_worker_not_only_the_one_that_got_it(work: Path) -> None:
    with FakeOpenAI(rate_limit_headers="none", retry_after=1.0, latency=0.3) as fake:
        fake.script("429")
        proc, _report = run_reviews(work, fake, "--batch-size", "5", "--concurrency", "4")
        limited = next(r for r in fake.requests if r["outcome"] == "429")
        times = arrivals(fake)
    assert proc.returncode == 0, proc.stderr
    # Requests sent together with the refused one arrive with it; every later one waited out the 1 s.
    later = [t - limited["time"] for t in times if t - limited["time"] > 0.15]
    assert later and min(later) >= 0.95, later


# ---------------------------------------------------------------- Azure's -1 headers
def test_azure_minus_one_headers_do_not_slow_the_limiter() -> None:
    with FakeOpenAI(rate_limit_headers="-1") as fake:
        config = build_config(
            {"provider": "openai", "base_url": fake.url, "api_key": "test", "rpm": 600, "tpm": 60_000}
        )
        provider = OpenAIProvider(config)
        task = build_task(config)
        for i in range(3):
            answer = provider.run(task, [BatchItem("1", i + 2, "Love it, great sound.")])
            assert answer.answers == {"1": "positive"}
        raw = openai.OpenAI(api_key="x", base_url=fake.url, max_retries=0).models.with_raw_response.list()
        assert raw.headers.get("x-request-id")
        state = provider.limiter.snapshot()
        provider.close()
    assert all(r.get("status") == 200 for r in fake.requests)
    # The headers said -1 for every limit and every remaining count: nothing of it may be believed.
    assert state["rpm"] == 600 and state["tpm"] == 60_000
    assert state["hold_seconds"] == 0
    assert state["requests_available"] >= 50 - 3  # a 5 s bucket of 600/min, three requests taken
    assert state["tokens_available"] >= 5_000 - 3 * 1_000


# ---------------------------------------------------------------- TPM charged on max_tokens
def test_tokens_are_reserved_as_openai_charges_them_so_a_tight_tpm_makes_no_429_storm(work: Path) -> None:
    # A reasoning model asks for max_completion_tokens ~1,000 more than the answer needs; OpenAI counts all
    # of it against tokens/min when the request arrives. A client reserving only the expected answer
    # sends too much at once and the server refuses it again and again (9-10 429s for these 12 requests).
    with FakeOpenAI(tpm=60_000, burst_seconds=5, latency=1.0, retry_after=0.05) as fake:
        proc, report = run_reviews(
            work, fake, "--model", "gpt-5-mini", "--batch-size", "5", "--concurrency", "8", "--tpm", "60000"
        )
        counts = fake.counts()
        served = len(fake.requests)
    assert proc.returncode == 0, proc.stderr
    assert report["rows_processed"] == 59
    assert counts["rate_limited"] <= 1, counts
    assert report["rate_limited"] == counts["rate_limited"]
    assert report["server_requests"] == served


def test_a_request_larger_than_the_tokens_per_minute_limit_stops_at_once(work: Path) -> None:
    # OpenAI: "Request too large for … on tokens per min (TPM)": waiting cannot help, smaller requests can.
    with FakeOpenAI(tpm=1_000) as fake:
        proc, report = run_reviews(work, fake, "--concurrency", "1")
        served = len(fake.requests)
    assert proc.returncode == 2
    assert served == 1
    assert "tokens per minute" in report["error"] and "--batch-size" in report["error"]


# ---------------------------------------------------------------- what a user sees
def test_debug_logs_each_retry_with_its_request_id_and_the_summary_counts_them(work: Path) -> None:
    with FakeOpenAI(retry_after=0.05) as fake:
        fake.script("429", "500")
        proc = run_cli(
            "run", work / "reviews.xlsx", *REVIEW_ARGS, "--provider", "openai", "--base-url", fake.url,
            "--concurrency", "1", "--debug", env=env_for(fake),
        )  # fmt: skip
        failed = [r["request_id"] for r in fake.requests if r["status"] != 200]
    assert proc.returncode == 0, proc.stderr
    assert len(failed) == 2
    retry_lines = [line for line in proc.stderr.splitlines() if "retry" in line.lower()]
    for request_id, status in zip(failed, ("429", "500"), strict=True):
        assert any(request_id in line and status in line for line in retry_lines), proc.stderr
    assert "3 HTTP requests (2 retries, 1 answered 429)" in proc.stdout


def test_the_retry_budget_stops_with_a_message_that_says_what_happened(work: Path) -> None:
    with FakeOpenAI(rate_limit_headers="none", retry_after=0.2) as fake:
        fake.script(*["429"] * 100)
        proc, report = run_reviews(work, fake, "--concurrency", "1", "--retry-seconds", "1")
        served = len(fake.requests)
    assert proc.returncode == 1
    message = report["error"]
    assert f"{served} answers of 429" in message, message
    assert "--retry-seconds" in message and "--concurrency" in message and "--tpm" in message
    # Waits of 0.2 s within a 1 s budget: a few tries, then a stop instead of waiting on.
    assert 2 <= served <= 7
    assert report["rate_limited"] == served == report["server_requests"]
    assert report["retries"] == served - 1


def test_retry_seconds_comes_from_the_config_file_and_old_settings_still_work(tmp_path: Path) -> None:
    (tmp_path / "sheets-ai.toml").write_text("retry_seconds = 42\n")
    assert build_config({}, config_path=tmp_path / "sheets-ai.toml", env={}).retry_seconds == 42
    old = build_config({}, env={"SHEETS_AI_RETRY_MAX_SECONDS": "10"})
    assert old.retry_seconds == 10
    assert build_config({}, env={}).retry_seconds >= 120  # a few minutes by default


# ---------------------------------------------------------------- the policy under tenacity
class Clock:
    """Virtual time: tenacity's sleeps advance it, so budget tests take no real time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def refusal(hint_seconds: float, mode: str, headers: dict[str, str] | None = None) -> openai.RateLimitError:
    """A real 429 from the fake server, read by the SDK; ``headers`` replace the ones it sent."""
    with FakeOpenAI(rate_limit_headers=mode, retry_after=hint_seconds) as fake:
        fake.script("429")
        client = openai.OpenAI(api_key="x", base_url=fake.url, max_retries=0)
        with pytest.raises(openai.RateLimitError) as caught:
            client.chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": "hi"}])
    exc = caught.value
    if headers is None:
        return exc
    response = type(exc.response)(429, headers=headers, content=exc.response.content, request=exc.request)
    return openai.RateLimitError(exc.message, response=response, body=exc.body)


def retry_run(failures: Sequence[Exception], retry_seconds: float) -> tuple[list[float], int]:
    """Drive the provider's retry policy with the installed tenacity over ``failures``, then success."""
    provider = OpenAIProvider(build_config({"provider": "openai", "retry_seconds": retry_seconds}))
    clock = Clock()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.sleep(seconds)

    retrying = Retrying(**provider.retry_policy(clock=clock).tenacity_kwargs(), sleep=sleep)
    calls = iter(failures)

    def attempt() -> str:
        failure = next(calls, None)
        if failure is not None:
            raise failure
        return "ok"

    with contextlib.suppress(openai.RateLimitError):
        retrying(attempt)
    return slept, int(retrying.statistics.get("attempt_number", 0))


@pytest.mark.parametrize(
    ("hint", "mode", "headers", "expected"),
    [
        (0.85, "none", None, 0.85),  # "Please try again in 850ms."
        (1.482, "none", None, 1.482),  # "Please try again in 1.482s."
        (0.3, "normal", None, 0.3),  # retry-after-ms: 300
        (9.0, "none", {"x-ratelimit-reset-requests": "2s", "x-ratelimit-reset-tokens": "-1"}, 9.0),
        (None, "none", {"x-ratelimit-reset-requests": "2s", "x-ratelimit-reset-tokens": "-1"}, 2.0),
    ],
)
def test_each_wait_is_what_the_server_asked_for_from_the_first_retry_on(
    hint: float | None, mode: str, headers: dict[str, str] | None, expected: float
) -> None:
    exc = refusal(hint if hint is not None else 0.5, mode, headers)
    if hint is None:  # no hint in the body either: only the reset header is left
        body = {**exc.body, "message": "Rate limit reached."} if isinstance(exc.body, dict) else exc.body
        exc = openai.RateLimitError("Rate limit reached.", response=exc.response, body=body)
    slept, attempts = retry_run([exc] * 3, retry_seconds=60)
    assert slept == pytest.approx([expected] * 3)
    assert attempts == 4


def test_without_any_hint_the_backoff_is_jittered_capped_and_ends_within_the_budget() -> None:
    bare = refusal(0.5, "none", {})
    bare = openai.RateLimitError("Rate limit reached.", response=bare.response, body={"message": "Busy."})
    slept, attempts = retry_run([bare] * 40, retry_seconds=200)
    assert slept and all(0 <= s <= 60 for s in slept)
    assert len(set(slept)) > 1  # jittered, not one fixed step
    assert sum(slept) <= 200 < sum(slept) + 60  # stopped only when one more wait could cross the budget
    assert attempts == len(slept) + 1 < 40


def test_a_budget_shorter_than_the_asked_wait_stops_without_waiting() -> None:
    slept, attempts = retry_run([refusal(5.0, "none")] * 3, retry_seconds=4)
    assert slept == [] and attempts == 1
