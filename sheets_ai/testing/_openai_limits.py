"""Rate limits of the fake OpenAI server, charged the way OpenAI charges them.

* **Requests** per minute: one per request, at arrival.
* **Tokens** per minute: at arrival, the prompt plus the request's ``max_completion_tokens`` / ``max_tokens``
  (the most it may produce; without either, the answer's size); when the answer is sent, the difference
  between that cap and the tokens really produced is given back. A client that reserves only the answer it
  *expects* therefore gets 429s that a client reserving the cap does not.
* A request larger than the whole tokens-per-minute limit is refused at once (429 "Request too large"),
  as OpenAI does: waiting cannot help it.
* A 429 says in its body how long to wait (``Please try again in 850ms.``, OpenAI's wording), and — depending
  on ``headers`` — carries the rate-limit headers:

  ``normal``  ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}`` on every answer, ``retry-after-ms``
              and ``retry-after`` on a 429 (OpenAI);
  ``none``    no rate-limit header and no ``retry-after``: only the body says when to try again (OpenAI
              answers like this too);
  ``-1``      every ``x-ratelimit-*`` header is ``-1`` (some Azure OpenAI deployments), ``retry-after`` on a
              429 as usual.

Nothing here is shared with the client: the server keeps its own buckets and its own duration format.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from ._openai_wire import Bucket, Reply, duration, error

HEADER_MODES = ("normal", "none", "-1")
_KINDS = {"requests": "requests per min (RPM)", "tokens": "tokens per min (TPM)"}


def completion_cap(body: Mapping[str, Any]) -> int | None:
    """The request's output cap as OpenAI reads it: ``max_completion_tokens``, else ``max_tokens``."""
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


class ServerLimits:
    """Requests and tokens per minute for one fake server, shared by all its handler threads."""

    def __init__(
        self,
        rpm: int | None,
        tpm: int | None,
        *,
        burst_seconds: float = 60.0,
        headers: str = "normal",
    ) -> None:
        if headers not in HEADER_MODES:
            raise ValueError(f"rate_limit_headers must be one of {', '.join(HEADER_MODES)}, not {headers!r}")
        self.mode = headers
        self._requests = Bucket(rpm, burst_seconds) if rpm else None
        self._tokens = Bucket(tpm, burst_seconds) if tpm else None
        self._lock = threading.Lock()

    # ------------------------------------------------------------ charging
    def admit(self, model: str, tokens: int, arrived: float | None = None) -> tuple[Reply | None, str]:
        """Charge one request of ``tokens`` (prompt + cap) as of its arrival, or answer the 429 it gets instead.

        ``arrived`` (``time.monotonic()``) is when the request came in: reading and counting it takes this
        server a moment (the first token count loads the encoding), but OpenAI charges on arrival.
        Returns ``(None, "ok")`` when admitted, else the reply and the outcome to record.
        """
        with self._lock:
            now = time.monotonic() if arrived is None else arrived
            if self._tokens is not None and tokens > self._tokens.per_minute:
                limit = int(self._tokens.per_minute)
                reply = error(
                    429,
                    f"Request too large for {model} in organization org-fake on tokens per min (TPM): "
                    f"Limit {limit}, Requested {tokens}. The input or output tokens must be reduced in order "
                    "to run successfully. Visit https://platform.openai.com/account/rate-limits to learn more.",
                    "tokens",
                    "rate_limit_exceeded",
                )
                reply.headers.update(self._headers_locked())
                return reply, "too_large"
            short: tuple[str, Bucket, float] | None = None
            for kind, bucket, amount in (("requests", self._requests, 1), ("tokens", self._tokens, tokens)):
                if bucket is None:
                    continue
                bucket.refill(now)
                wait = bucket.seconds_until(amount)
                if wait > 0 and (short is None or wait > short[2]):
                    short = (kind, bucket, wait)
            if short is not None:
                kind, bucket, wait = short
                used = round(bucket.capacity - bucket.level)
                asked = 1 if kind == "requests" else tokens
                message = (
                    f"Rate limit reached for {model} in organization org-fake on {_KINDS[kind]}: "
                    f"Limit {int(bucket.per_minute)}, Used {used}, Requested {asked}. "
                    f"Please try again in {duration(wait)}. "
                    "Visit https://platform.openai.com/account/rate-limits to learn more."
                )
                return self._limited_locked(message, kind, wait), "rate_limited"
            if self._requests is not None:
                self._requests.level -= 1
            if self._tokens is not None:
                self._tokens.level -= tokens
            return None, "ok"

    def settle(self, charged: int, used: int) -> None:
        """The answer is out: give back what was charged beyond the tokens really used (or charge more)."""
        if self._tokens is None or charged == used:
            return
        with self._lock:
            self._tokens.refill(time.monotonic())
            self._tokens.level = min(self._tokens.capacity, self._tokens.level + charged - used)

    # ------------------------------------------------------------ answers
    def scripted_429(self, model: str, retry_after: float) -> Reply:
        """The ``429`` fault: a rate-limit answer that asks for ``retry_after`` seconds."""
        message = (
            f"Rate limit reached for {model} in organization org-fake on requests per min (RPM): "
            f"Limit 3, Used 3, Requested 1. Please try again in {duration(retry_after)}. "
            "Visit https://platform.openai.com/account/rate-limits to learn more."
        )
        with self._lock:
            return self._limited_locked(message, "requests", retry_after)

    def _limited_locked(self, message: str, kind: str, wait: float) -> Reply:
        reply = error(429, message, kind, "rate_limit_exceeded", None if self.mode == "none" else wait)
        reply.headers.update(self._headers_locked())
        return reply

    def headers(self) -> dict[str, str]:
        """The ``x-ratelimit-*`` headers of an answer, in this server's mode."""
        with self._lock:
            return self._headers_locked()

    def _headers_locked(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.mode == "none":
            return headers
        for kind, bucket in (("requests", self._requests), ("tokens", self._tokens)):
            if self.mode == "-1":
                for name in ("limit", "remaining", "reset"):
                    headers[f"x-ratelimit-{name}-{kind}"] = "-1"
                continue
            if bucket is None:
                continue
            headers[f"x-ratelimit-limit-{kind}"] = str(int(bucket.per_minute))
            headers[f"x-ratelimit-remaining-{kind}"] = str(max(0, int(bucket.level)))
            headers[f"x-ratelimit-reset-{kind}"] = duration(bucket.seconds_until(bucket.capacity))
        return headers
