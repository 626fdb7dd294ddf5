"""The retry rule of the OpenAI provider: how long to wait after a failed request, and when to give up.

Wait, in this order of preference:

1. the server's ``retry-after-ms`` / ``retry-after`` header;
2. the hint in a 429's message (OpenAI: ``Please try again in 850ms.`` / ``in 1.482s`` / ``in 6m0s``;
   Azure: ``Please retry after 6 seconds.``) — OpenAI sometimes sends it without any header;
3. for a 429, the positive ``x-ratelimit-reset-requests`` / ``-tokens`` (``-1`` and ``0`` are ignored),
   at most ``cap`` seconds;
4. exponential backoff with full jitter: a random wait in ``[0, min(cap, base·2^(n-1))]``.

Give up when the next wait would end past the time budget (``--retry-seconds``) counted from the
request's first failure, or after ``max_attempts`` tries when that is set.

tenacity asks ``wait`` before ``stop`` since 8.3 and ``stop`` before ``wait`` in 8.2: both come from one
decision per attempt here, so the order does not matter.
"""

from __future__ import annotations

import email.utils
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import openai
from tenacity import RetryCallState

from ..errors import RateLimitError
from .base import Traffic
from .limits import parse_duration

LIMITS_URL = "https://platform.openai.com/settings/organization/limits"

_GO_DURATION = r"(?:\d+(?:\.\d+)?(?:ms|h|m|s))+"
_WORDS = r"\d+(?:\.\d+)?\s*(?:milliseconds?|seconds?|minutes?)"
_HINT = re.compile(rf"(?:try again|retry)\s+(?:in|after)\s+({_GO_DURATION}|{_WORDS})\b", re.IGNORECASE)
_WORD_UNITS = {"millisecond": 0.001, "second": 1.0, "minute": 60.0}


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Seconds a server asked us to wait: ``retry-after-ms`` first, then ``retry-after`` (seconds or a date)."""
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def hint_seconds(message: str) -> float | None:
    """The wait a rate-limit message asks for: "try again in 850ms", "retry after 6 seconds"."""
    match = _HINT.search(message)
    if match is None:
        return None
    text = match.group(1)
    words = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(millisecond|second|minute)s?", text, re.IGNORECASE)
    if words:
        return float(words.group(1)) * _WORD_UNITS[words.group(2).lower()]
    return parse_duration(text)


def reset_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The longest positive ``x-ratelimit-reset-*``; negative (Azure's ``-1``), zero or missing: None."""
    if not headers:
        return None
    waits = [parse_duration(headers.get(f"x-ratelimit-reset-{kind}")) for kind in ("requests", "tokens")]
    positive = [w for w in waits if w is not None and w > 0]
    return max(positive) if positive else None


def error_text(exc: BaseException) -> str:
    """The server's own message of an API error (the ``error.message`` of its body), else the exception text."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return str(getattr(exc, "message", None) or exc)


def status_of(exc: BaseException | None) -> int | None:
    return exc.status_code if isinstance(exc, openai.APIStatusError) else None


def request_too_large(exc: BaseException) -> bool:
    """OpenAI's 429 "Request too large … on tokens per min": waiting cannot help, only a smaller request."""
    return status_of(exc) == 429 and "request too large" in error_text(exc).lower()


def describe_failure(exc: BaseException, code: str | None = None) -> str:
    """A failed attempt for the debug log: the status and code, and the server's x-request-id."""
    if isinstance(exc, openai.APIStatusError):
        request_id = exc.response.headers.get("x-request-id") or "none"
        return f"HTTP {exc.status_code}" + (f" {code}" if code else "") + f" (x-request-id {request_id})"
    return f"{type(exc).__name__} (x-request-id none: no answer)"


class TrafficCounter:
    """Thread-safe counts of HTTP requests sent, retries and 429s, for the report."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._traffic = Traffic()

    def add(self, *, sent: int = 0, retries: int = 0, rate_limited: int = 0) -> None:
        with self._lock:
            t = self._traffic
            self._traffic = Traffic(
                t.server_requests + sent, t.retries + retries, t.rate_limited + rate_limited
            )

    def snapshot(self) -> Traffic:
        with self._lock:
            return self._traffic


@dataclass(frozen=True)
class Decision:
    attempt: int
    wait: float
    stop: bool


class RetryPolicy:
    """One request's retries: pass ``tenacity_kwargs()`` to ``tenacity.Retrying``.

    ``retryable(exc, attempt)`` says whether an error is worth another try; ``on_retry(exc, attempt, wait)``
    runs before each sleep (count it, log it, pause the other workers).
    """

    def __init__(
        self,
        *,
        budget_seconds: float,
        retryable: Callable[[BaseException, int], bool],
        on_retry: Callable[[BaseException, int, float], None] | None = None,
        max_attempts: int | None = None,
        base: float = 0.5,
        cap: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.budget = budget_seconds
        self.max_attempts = max_attempts
        self.base, self.cap = base, cap
        self._retryable = retryable
        self._on_retry = on_retry
        self._clock = clock
        self._rng = rng or random.Random()
        self._decision: Decision | None = None
        self.first_failure: float | None = None
        self.last_failure: float | None = None
        self.statuses: list[int | None] = []  # one per failed attempt (None: timeout, connection error)
        self.gave_up = False

    def tenacity_kwargs(self) -> dict[str, Any]:
        return {
            "retry": self.retry,
            "wait": self.wait,
            "stop": self.stop,
            "before_sleep": self.before_sleep,
            "reraise": True,
        }

    # ------------------------------------------------------------ tenacity's hooks
    def retry(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome is not None else None
        return exc is not None and self._retryable(exc, state.attempt_number)

    def wait(self, state: RetryCallState) -> float:
        return self._decide(state).wait

    def stop(self, state: RetryCallState) -> bool:
        return self._decide(state).stop

    def before_sleep(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        if self._on_retry is not None and exc is not None:
            self._on_retry(exc, state.attempt_number, self._decide(state).wait)

    # ------------------------------------------------------------ the rule
    def wait_after(self, exc: BaseException | None, attempt: int) -> float:
        """Seconds to wait after ``attempt`` failed with ``exc`` (see the module's docstring)."""
        headers = exc.response.headers if isinstance(exc, openai.APIStatusError) else None
        asked = retry_after_seconds(headers)
        if asked is not None:
            return asked
        if status_of(exc) == 429:
            hinted = hint_seconds(error_text(exc)) if exc is not None else None
            if hinted is not None:
                return hinted
            reset = reset_seconds(headers)
            if reset is not None:
                return min(reset, self.cap)
        return self._rng.uniform(0.0, min(self.cap, self.base * 2 ** (attempt - 1)))

    def _decide(self, state: RetryCallState) -> Decision:
        if self._decision is not None and self._decision.attempt == state.attempt_number:
            return self._decision
        exc = state.outcome.exception() if state.outcome is not None else None
        now = self._clock()
        if self.first_failure is None:
            self.first_failure = now
        self.last_failure = now
        self.statuses.append(status_of(exc))
        wait = self.wait_after(exc, state.attempt_number)
        over_budget = now - self.first_failure + wait > self.budget
        too_many = self.max_attempts is not None and state.attempt_number >= self.max_attempts
        self._decision = Decision(state.attempt_number, wait, over_budget or too_many)
        self.gave_up = self._decision.stop
        return self._decision

    # ------------------------------------------------------------ for the message when it gives up
    @property
    def failed_for(self) -> float:
        """Seconds from the first failure to the last one."""
        if self.first_failure is None or self.last_failure is None:
            return 0.0
        return self.last_failure - self.first_failure

    def count(self, status: int | None) -> int:
        return sum(1 for s in self.statuses if s == status)


def budget_spent_error(
    exc: BaseException, policy: RetryPolicy, *, where: str, retry_seconds: float, request_timeout: float
) -> RateLimitError | None:
    """The retry budget is spent: what happened, for how long, and what to change (None: not ours to say)."""
    tries, span = len(policy.statuses), f"over {policy.failed_for:.1f}s"
    budget = f"--retry-seconds {retry_seconds:g}"
    if status_of(exc) == 429:
        return RateLimitError(
            f"Rate limited by the OpenAI API {where}: {policy.count(429)} answers of 429 {span} for one "
            f"request, and {budget} is spent. Lower --concurrency, --rpm or --tpm, raise --retry-seconds, "
            f"or check the account's rate limits at {LIMITS_URL}; finished rows are saved."
        )
    if isinstance(exc, openai.APITimeoutError):
        return RateLimitError(
            f"OpenAI requests {where} timed out ({request_timeout:g}s) {tries} times {span}, and {budget} is "
            "spent. Run again later, lower --concurrency, or raise --retry-seconds or SHEETS_AI_REQUEST_TIMEOUT; "
            "finished rows are saved."
        )
    if isinstance(exc, openai.APIStatusError):
        return RateLimitError(
            f"The OpenAI API {where} kept failing (HTTP {exc.status_code}, {tries} answers {span}), and "
            f"{budget} is spent. Run again later or raise --retry-seconds; finished rows are saved."
        )
    return None
