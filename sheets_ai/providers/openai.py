"""The OpenAI provider: the official SDK, chat completions, compact batches, one retry layer.

* The SDK's own retries are off (``max_retries=0``); tenacity is the only retry layer: 408, 409, 429, 5xx,
  timeouts and connection errors, waiting what the server asks (headers, else the "try again in" of a 429)
  or a jittered exponential backoff, within ``retry_seconds`` per request (:mod:`._retry`). A 429 pauses
  every worker; the limiter reserves tokens as OpenAI charges them (prompt + the request's output cap).
* 400, 401, 403, 404 and 429 ``insufficient_quota`` stop at once with a message that says what to do.
* The key is read from the config or ``OPENAI_API_KEY`` when the first request is made, and is never part
  of a message, a log line or the cache.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import openai
from tenacity import Retrying

from .. import pricing
from ..config import RunConfig
from ..errors import AuthenticationError, ProviderError, QuotaExhaustedError, RateLimitError
from ..prompts import build_messages, label_codes, parse_answer, response_format
from ..tasks import Task
from ..tokens import count_tokens
from ._retry import RetryPolicy, TrafficCounter, budget_spent_error, describe_failure, request_too_large
from .base import BatchAnswer, BatchItem, Provider, Traffic, Usage
from .limits import RateLimiter

log = logging.getLogger("sheets_ai")

DEFAULT_MODEL = "gpt-4.1-mini"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
BILLING_URL = "https://platform.openai.com/settings/organization/billing"
RETRY_STATUSES = {408, 409, 429, 500, 502, 503, 504}
#: Refill the client-side limiter keeps in hand, so requests it spaced out still find quota at the server.
LIMIT_MARGIN_SECONDS = 0.5
#: Chat format overhead per message and per reply (the cookbook's counting rule for o200k models).
TOKENS_PER_MESSAGE, TOKENS_PER_REPLY = 3, 3


def is_reasoning_model(model: str) -> bool:
    """gpt-5 family (not the -chat variants) and o-series: no temperature, reasoning effort, completion cap."""
    name = model.lower().rsplit("/", 1)[-1]
    if name.startswith("gpt-5"):
        return "chat" not in name
    return name[:2] in {"o1", "o3", "o4"}


def missing_key_message() -> str:
    return (
        "No OpenAI API key: set OPENAI_API_KEY (e.g. export OPENAI_API_KEY=sk-…) or run offline with "
        "--provider local (sentiment and summarize only)."
    )


class OpenAIProvider(Provider):
    name = "openai"
    cacheable = True

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.model = config.model or DEFAULT_MODEL
        self.base_url = (config.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.max_concurrency = config.concurrency
        self.reasoning = is_reasoning_model(self.model)
        self.price = pricing.price_for(self.model)
        self.limiter = RateLimiter(config.rpm, config.tpm, margin_seconds=LIMIT_MARGIN_SECONDS)
        self._client: openai.OpenAI | None = None
        self._lock = threading.Lock()
        self._reached = False  # a request got an HTTP answer: later connection errors are transient
        self._traffic = TrafficCounter()

    @property
    def cache_namespace(self) -> str:
        # The fake server, Azure, Ollama and OpenAI can serve the same model name with different answers.
        return f"openai@{self.base_url}"

    # ------------------------------------------------------------ setup
    def _key(self) -> str | None:
        if self.config.api_key is not None and self.config.api_key.get_secret_value():
            return self.config.api_key.get_secret_value()
        return os.environ.get("OPENAI_API_KEY") or None

    def check(self, task: Task) -> None:
        if self.price is None:
            log.warning(
                "No price for model %r in the price table (%s); costs show as $0. Known: %s",
                self.model,
                pricing.source_line(),
                ", ".join(pricing.known_models()),
            )
            if self.config.max_cost is not None and self.base_url == DEFAULT_BASE_URL:
                raise ProviderError(
                    f"--max-cost needs a price for model {self.model!r}, which is not in the price table. "
                    f"Known models: {', '.join(pricing.known_models())}."
                )
        if not self.config.dry_run and not self._key():
            raise ProviderError(missing_key_message())

    def _get_client(self) -> openai.OpenAI:
        with self._lock:
            if self._client is None:
                key = self._key()
                if not key:
                    raise ProviderError(missing_key_message())
                self._client = openai.OpenAI(
                    api_key=key,
                    base_url=self.base_url,
                    max_retries=0,
                    timeout=self.config.request_timeout,
                )
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # ------------------------------------------------------------ sizes and estimates
    def default_batch_size(self, task: Task) -> int:
        return 100 if task.is_label_task else 8

    def default_max_batch_tokens(self, task: Task) -> int:
        return 8000 if task.is_label_task else 6000

    def default_max_row_tokens(self, task: Task) -> int:
        return 1000 if task.is_label_task else 4000

    def _answer_tokens(self, task: Task, text: str) -> int:
        """Expected tokens of one free-text answer: at most ``max_chars`` in the row's own tokens per char."""
        tokens = count_tokens(text)
        per_char = tokens / max(1, len(text))
        cap = math.ceil((task.max_chars or 200) * per_char)
        return max(1, min(tokens, cap) if task.name == "summarize" else min(tokens, cap, 24))

    def _expected_completion(self, task: Task, items: Sequence[BatchItem]) -> int:
        if task.is_label_task:
            code = next(iter(label_codes(task.labels).values()))
            return count_tokens('{"a":"' + "".join(f"{i.id}{code}" for i in items) + '"}')
        per_row = sum(self._answer_tokens(task, i.text) + count_tokens(f'"{i.id}":"",') for i in items)
        return per_row + 2

    def _max_completion(self, task: Task, items: Sequence[BatchItem]) -> int:
        if task.is_label_task:
            limit = 4 * len(items) + 32
        else:
            limit = 32 + sum(
                math.ceil(1.5 * (task.max_chars or 200) * count_tokens(i.text) / max(1, len(i.text))) + 8
                for i in items
            )
        if self.reasoning:
            limit += 1024 if self.model.lower().startswith("gpt-5") else 4096
        return limit

    @staticmethod
    def prompt_tokens(messages: Sequence[Mapping[str, str]]) -> int:
        """Exact o200k tokens of the messages plus the chat format's per-message overhead."""
        return TOKENS_PER_REPLY + sum(TOKENS_PER_MESSAGE + count_tokens(m["content"]) for m in messages)

    def estimate(self, task: Task, items: Sequence[BatchItem]) -> Usage:
        messages = build_messages(task, [(i.id, i.text) for i in items])
        prompt = self.prompt_tokens(messages)
        completion = self._expected_completion(task, items)
        cost = self.price.cost(prompt, completion) if self.price else 0.0
        return Usage(requests=1, prompt_tokens=prompt, completion_tokens=completion, cost_usd=cost)

    # ------------------------------------------------------------ one batch
    def request_params(
        self, task: Task, items: Sequence[BatchItem], feedback: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """The keyword arguments of ``chat.completions.create`` for one batch (fresh objects every time)."""
        params: dict[str, Any] = {
            "model": self.model,
            "messages": build_messages(task, [(i.id, i.text) for i in items], feedback),
            "response_format": response_format(task, [i.id for i in items]),
        }
        limit = self._max_completion(task, items)
        if self.reasoning:
            params["max_completion_tokens"] = limit
            params["reasoning_effort"] = "minimal" if self.model.lower().startswith("gpt-5") else "low"
        else:
            params["max_tokens"] = limit
            params["temperature"] = 0
        return params

    def run(
        self, task: Task, items: Sequence[BatchItem], feedback: Mapping[str, str] | None = None
    ) -> BatchAnswer:
        params = self.request_params(task, items, feedback)
        # Reserve what OpenAI counts against tokens/min on arrival: the prompt plus the request's output cap.
        cap = params.get("max_completion_tokens") or params.get("max_tokens")
        reserve = self.prompt_tokens(params["messages"]) + int(cap or self._max_completion(task, items))
        completion = self._call(params, reserve)
        usage = self._usage(completion)
        if not completion.choices:
            return BatchAnswer(problems={i.id: "the reply had no choices" for i in items}, usage=usage)
        choice = completion.choices[0]
        message = choice.message
        refusal = getattr(message, "refusal", None)
        if refusal:
            return BatchAnswer(refusal=str(refusal), usage=usage)
        if choice.finish_reason == "content_filter":
            return BatchAnswer(refusal="the answer was blocked by the content filter", usage=usage)
        if choice.finish_reason == "length":
            return BatchAnswer(truncated=True, usage=usage)
        parsed = parse_answer(task, message.content or "", [i.id for i in items])
        return BatchAnswer(answers=dict(parsed.answers), problems=dict(parsed.problems), usage=usage)

    def _usage(self, completion: Any) -> Usage:
        u = completion.usage
        if u is None:
            return Usage(requests=1)
        details = getattr(u, "prompt_tokens_details", None)
        cached = int(getattr(details, "cached_tokens", 0) or 0) if details is not None else 0
        prompt, output = int(u.prompt_tokens or 0), int(u.completion_tokens or 0)
        cost = self.price.cost(prompt, output, cached) if self.price else 0.0
        return Usage(1, prompt, output, cached, cost)

    # ------------------------------------------------------------ transport and the retry layer
    def traffic(self) -> Traffic:
        return self._traffic.snapshot()

    def _retryable(self, exc: BaseException, attempt: int) -> bool:
        if isinstance(exc, openai.APITimeoutError):
            return True
        if isinstance(exc, openai.APIConnectionError):
            return self._reached or attempt < 2  # unreachable from the start: say so soon
        if isinstance(exc, openai.APIStatusError):
            if exc.status_code == 429:
                return _error_code(exc) != "insufficient_quota" and not request_too_large(exc)
            return exc.status_code in RETRY_STATUSES or exc.status_code >= 500
        return False

    def _on_retry(self, exc: BaseException, attempt: int, wait: float) -> None:
        """Before each retry: count it, pause every worker after a 429, and log it for --debug."""
        self._traffic.add(retries=1)
        limited = isinstance(exc, openai.APIStatusError) and exc.status_code == 429
        if limited:
            self.limiter.hold(wait)  # the shared pause: no worker sends before this one retries
        code = _error_code(exc) if isinstance(exc, openai.APIStatusError) else None
        log.debug(
            "retry %d of a request to %s in %.2fs after %s%s",
            attempt,
            self.base_url,
            wait,
            describe_failure(exc, code),
            "; every worker paused" if limited else "",
        )

    def retry_policy(self, clock: Callable[[], float] = time.monotonic) -> RetryPolicy:
        """The retry rule for one request (see :mod:`sheets_ai.providers._retry`)."""
        return RetryPolicy(
            budget_seconds=self.config.retry_seconds,
            max_attempts=self.config.retry_attempts,
            retryable=self._retryable,
            on_retry=self._on_retry,
            clock=clock,
        )

    def _call(self, params: dict[str, Any], tokens: int) -> Any:
        client = self._get_client()
        policy = self.retry_policy()
        retrying = Retrying(**policy.tenacity_kwargs())
        try:
            for attempt in retrying:
                with attempt:
                    self.limiter.acquire(tokens)
                    self._traffic.add(sent=1)
                    sent = time.monotonic()
                    try:
                        raw = client.chat.completions.with_raw_response.create(**params)
                    except openai.APIStatusError as exc:
                        self._reached = True
                        self._traffic.add(rate_limited=int(exc.status_code == 429))
                        self.limiter.update(exc.response.headers, age=time.monotonic() - sent)
                        raise
                    self._reached = True
                    completion = raw.parse()
                    used = self._used_tokens(params, completion)
                    self.limiter.settle(tokens, used)
                    self.limiter.update(raw.headers, age=time.monotonic() - sent, refund=tokens - used)
                    return completion
        except openai.APIError as exc:
            spent = policy.gave_up and budget_spent_error(
                exc,
                policy,
                where=f"at {self.base_url}",
                retry_seconds=self.config.retry_seconds,
                request_timeout=self.config.request_timeout,
            )
            if spent:
                raise spent from None
            raise self._translate(exc, retrying.statistics.get("attempt_number", 1)) from None
        raise ProviderError("The OpenAI request was not attempted.")  # pragma: no cover

    def _used_tokens(self, params: Mapping[str, Any], completion: Any) -> int:
        """Tokens the answer really cost: ``usage``, else our count of the prompt and the answer's text."""
        if completion.usage is not None:
            return int(completion.usage.total_tokens or 0)
        text = "".join(str(c.message.content or "") for c in completion.choices or [])
        return self.prompt_tokens(params["messages"]) + count_tokens(text)

    def _scrub(self, text: str) -> str:
        key = self._key()
        return text.replace(key, "***") if key else text

    def _translate(self, exc: openai.APIError, attempts: int) -> ProviderError:
        where = f"at {self.base_url}"
        if isinstance(exc, openai.APITimeoutError):
            return RateLimitError(
                f"OpenAI requests {where} timed out ({self.config.request_timeout:g}s) {attempts} times. "
                "Try again later, lower --concurrency, or raise SHEETS_AI_REQUEST_TIMEOUT."
            )
        if isinstance(exc, openai.APIConnectionError):
            return ProviderError(
                f"Cannot reach the OpenAI API {where} ({type(exc.__cause__ or exc).__name__}). "
                "Check --base-url / OPENAI_BASE_URL and the network connection."
            )
        if not isinstance(exc, openai.APIStatusError):  # pragma: no cover - e.g. a malformed response body
            return ProviderError(f"Unexpected answer from the OpenAI API {where}: {self._scrub(str(exc))}")
        status, detail = exc.status_code, self._scrub(_error_message(exc))
        if status == 401:
            return AuthenticationError(
                f"The OpenAI API {where} rejected the API key (401 Unauthorized). Check OPENAI_API_KEY: "
                "create or copy a valid key at https://platform.openai.com/api-keys."
            )
        if status == 403:
            return AuthenticationError(
                f"The API key has no access to model {self.model!r} {where} (403 Forbidden): {detail}"
            )
        if status == 404:
            return ProviderError(
                f"Model {self.model!r} was not found {where} (404). Check --model; models with known prices: "
                f"{', '.join(pricing.known_models())}."
            )
        if status == 429 and _error_code(exc) == "insufficient_quota":
            return QuotaExhaustedError(
                "OpenAI says this account has run out of quota (429 insufficient_quota); retrying will not help. "
                f"Add credit or raise the usage limit at {BILLING_URL}, then run the same command again."
            )
        if status == 429 and request_too_large(exc):
            return ProviderError(
                f"One request needs more tokens than the account's tokens per minute allow {where} (429: "
                f"{detail}). Send smaller requests: lower --batch-size or --max-batch-tokens (summaries: "
                "--max-chars), or raise the account's limit."
            )
        if status == 429:
            return RateLimitError(
                f"Still rate limited by OpenAI {where} after {attempts} attempts. Lower --concurrency, --rpm "
                "or --tpm, raise --retry-seconds, or run again later; finished rows are saved."
            )
        if status in RETRY_STATUSES or status >= 500:
            return RateLimitError(
                f"The OpenAI API {where} kept failing (HTTP {status}) after {attempts} attempts. Run again "
                "later; finished rows are saved."
            )
        return ProviderError(f"The OpenAI API {where} refused the request (HTTP {status}): {detail}")


def _error_code(exc: openai.APIStatusError) -> str | None:
    code = getattr(exc, "code", None)
    if code:
        return str(code)
    body = exc.body if isinstance(exc.body, dict) else {}
    inner = body.get("error", body) if isinstance(body.get("error", body), dict) else {}
    return str(inner.get("code") or inner.get("type") or "") or None


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    message = body.get("message") if isinstance(body.get("message"), str) else None
    return (message or str(exc))[:300]
