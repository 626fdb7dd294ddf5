"""The OpenAI provider: the official SDK, chat completions, compact batches, one retry layer.

* The SDK's own retries are off (``max_retries=0``); tenacity is the only retry layer: 408, 409, 429, 5xx,
  timeouts and connection errors, exponential backoff with jitter, honouring ``retry-after-ms`` /
  ``retry-after``, bounded by ``retry_attempts`` and ``retry_max_seconds``.
* 400, 401, 403, 404 and 429 ``insufficient_quota`` stop at once with a message that says what to do.
* The key is read from the config or ``OPENAI_API_KEY`` when the first request is made, and is never part
  of a message, a log line or the cache.
"""

from __future__ import annotations

import logging
import math
import os
import random
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import openai
from tenacity import RetryCallState, Retrying, stop_after_attempt, stop_before_delay

from .. import pricing
from ..config import RunConfig
from ..errors import (
    AuthenticationError,
    ContentRejectedError,
    ProviderError,
    QuotaExhaustedError,
    RateLimitError,
)
from ..prompts import build_messages, label_codes, parse_answer, response_format
from ..tasks import Task
from ..tokens import chat_prompt_tokens, count_tokens
from ._compat import AnswerFormat, FormatRefusedError, about_response_format
from .base import BatchAnswer, BatchItem, Provider, Usage
from .limits import RateLimiter

log = logging.getLogger("sheets_ai")

DEFAULT_MODEL = "gpt-4.1-mini"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
BILLING_URL = "https://platform.openai.com/settings/organization/billing"
RETRY_STATUSES = {408, 409, 429, 500, 502, 503, 504}


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


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Seconds a server asked us to wait: ``retry-after-ms`` first, then ``retry-after`` (seconds)."""
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            continue
    return None


class OpenAIProvider(Provider):
    name = "openai"
    cacheable = True

    def __init__(self, config: RunConfig, notices: list[str] | None = None) -> None:
        self.config = config
        self.model = config.model or DEFAULT_MODEL
        self.base_url = (config.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.max_concurrency = config.concurrency
        self.reasoning = is_reasoning_model(self.model)
        self.price = pricing.price_for(self.model)
        self.limiter = RateLimiter(config.rpm, config.tpm)
        self._client: openai.OpenAI | None = None
        self._lock = threading.Lock()
        self._reached = False  # a request got an HTTP answer: later connection errors are transient
        self.answer_format = AnswerFormat(self.base_url, notices)  # json_schema, or json_object once refused

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
    def prompt_tokens(
        messages: Sequence[Mapping[str, str]], response_format: Mapping[str, Any] | None = None
    ) -> int:
        """Exact o200k tokens of a request's prompt as OpenAI bills it (:func:`~sheets_ai.tokens.chat_prompt_tokens`)."""
        return chat_prompt_tokens(messages, response_format)

    def _prompt_of(self, task: Task, items: Sequence[BatchItem]) -> int:
        """The prompt tokens of a request for these items, in the run's current answer format."""
        params: dict[str, Any] = {
            "messages": build_messages(task, [(i.id, i.text) for i in items]),
            "response_format": response_format(task, [i.id for i in items]),
        }
        self.answer_format.apply(params)
        return self.prompt_tokens(params["messages"], params["response_format"])

    def worst_case(self, task: Task, items: Sequence[BatchItem]) -> Usage:
        """The most one request can cost: its prompt plus every output token it allows (reasoning included)."""
        prompt = self._prompt_of(task, items)
        completion = self._max_completion(task, items)
        cost = self.price.cost(prompt, completion) if self.price else 0.0
        return Usage(requests=1, prompt_tokens=prompt, completion_tokens=completion, cost_usd=cost)

    def estimate(self, task: Task, items: Sequence[BatchItem]) -> Usage:
        prompt = self._prompt_of(task, items)
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
        # A second request only when the answer format changes under this one (once per run, for the
        # requests then in flight); both are in the usage returned, which the budget charges.
        spent = Usage()
        while True:
            params = self.request_params(task, items, feedback)
            mode = self.answer_format.apply(params)
            prompt = self.prompt_tokens(params["messages"], params.get("response_format"))
            try:
                completion = self._call(params, prompt + self._expected_completion(task, items))
            except FormatRefusedError as exc:
                self.answer_format.refused(mode, str(exc))  # switches to json_object, or stops the run
                continue
            answer, content, readable = self._answer(task, items, completion)
            spent.add(answer.usage)
            spent.reported = spent.reported and answer.usage.reported
            if readable is False and self.answer_format.unreadable(mode, content):
                continue  # the first answers hold no JSON: asked again in JSON mode
            if readable:
                self.answer_format.answer_read(mode)
            answer.usage = spent
            return answer

    def _answer(
        self, task: Task, items: Sequence[BatchItem], completion: Any
    ) -> tuple[BatchAnswer, str, bool | None]:
        """The answer, its text, and whether a JSON object was found in it (None: nothing to read)."""
        usage = self._usage(completion)
        if not completion.choices:
            return (
                BatchAnswer(problems={i.id: "the reply had no choices" for i in items}, usage=usage),
                "",
                None,
            )
        choice = completion.choices[0]
        message = choice.message
        refusal = getattr(message, "refusal", None)
        if refusal:
            return BatchAnswer(refusal=str(refusal), usage=usage), "", None
        if choice.finish_reason == "content_filter":
            return BatchAnswer(refusal="the answer was blocked by the content filter", usage=usage), "", None
        if choice.finish_reason == "length":
            return BatchAnswer(truncated=True, usage=usage), "", None
        content = message.content or ""
        parsed = parse_answer(task, content, [i.id for i in items])
        answer = BatchAnswer(answers=dict(parsed.answers), problems=dict(parsed.problems), usage=usage)
        return answer, content, not parsed.not_json

    def _usage(self, completion: Any) -> Usage:
        u = completion.usage
        if u is None:  # some compatible servers send none: the budget then charges the worst case
            return Usage(requests=1, reported=False)
        details = getattr(u, "prompt_tokens_details", None)
        cached = int(getattr(details, "cached_tokens", 0) or 0) if details is not None else 0
        prompt, output = int(u.prompt_tokens or 0), int(u.completion_tokens or 0)
        cost = self.price.cost(prompt, output, cached) if self.price else 0.0
        return Usage(1, prompt, output, cached, cost)

    # ------------------------------------------------------------ transport and the retry layer
    def _should_retry(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, openai.APITimeoutError):
            return True
        if isinstance(exc, openai.APIConnectionError):
            return self._reached or state.attempt_number < 2  # unreachable from the start: say so soon
        if isinstance(exc, openai.APIStatusError):
            if exc.status_code == 429 and _error_code(exc) == "insufficient_quota":
                return False
            return exc.status_code in RETRY_STATUSES or exc.status_code >= 500
        return False

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        headers = exc.response.headers if isinstance(exc, openai.APIStatusError) else None
        asked = retry_after_seconds(headers)
        if asked is not None:
            if isinstance(exc, openai.APIStatusError) and exc.status_code == 429:
                self.limiter.hold(asked)
            return asked
        base = min(30.0, 0.5 * 2 ** (state.attempt_number - 1))
        return random.uniform(base / 2, base)

    def _call(self, params: dict[str, Any], tokens: int) -> Any:
        client = self._get_client()
        retrying = Retrying(
            retry=self._should_retry,
            wait=self._wait,
            stop=stop_after_attempt(self.config.retry_attempts)
            | stop_before_delay(self.config.retry_max_seconds),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    self.limiter.acquire(tokens)
                    try:
                        raw = client.chat.completions.with_raw_response.create(**params)
                    except openai.APIStatusError as exc:
                        self._reached = True
                        self.limiter.update(exc.response.headers)
                        raise
                    self._reached = True
                    completion = raw.parse()
                    if completion.usage is not None:
                        self.limiter.settle(tokens, completion.usage.total_tokens)
                    self.limiter.update(raw.headers)
                    return completion
        except openai.APIError as exc:
            raise self._translate(exc, retrying.statistics.get("attempt_number", 1)) from None
        raise ProviderError("The OpenAI request was not attempted.")  # pragma: no cover

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
        if about_response_format(status, getattr(exc, "param", None), detail) and not _about_content(exc):
            return FormatRefusedError(detail)
        if status == 400 and _about_content(exc):
            return ContentRejectedError(f"the server refused this row ({_error_code(exc)}): {detail}")
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
        if status == 429:
            return RateLimitError(
                f"Still rate limited by OpenAI {where} after {attempts} attempts. Lower --concurrency, --rpm "
                "or --tpm, or run again later; finished rows are saved."
            )
        if status in RETRY_STATUSES or status >= 500:
            return RateLimitError(
                f"The OpenAI API {where} kept failing (HTTP {status}) after {attempts} attempts. Run again "
                "later; finished rows are saved."
            )
        return ProviderError(f"The OpenAI API {where} refused the request (HTTP {status}): {detail}")


#: 400 codes that are about what the rows say, not about the request's shape: only those rows fail.
CONTENT_CODES = {"invalid_prompt", "context_length_exceeded", "content_policy_violation", "content_filter"}


def _about_content(exc: openai.APIStatusError) -> bool:
    if _error_code(exc) in CONTENT_CODES:
        return True
    text = _error_message(exc).lower()
    return "maximum context length" in text or "context window" in text


def _error_code(exc: openai.APIStatusError) -> str | None:
    code = getattr(exc, "code", None)
    if code:
        return str(code)
    body = exc.body if isinstance(exc.body, dict) else {}
    inner = body.get("error", body) if isinstance(body.get("error", body), dict) else {}
    return str(inner.get("code") or inner.get("type") or "") or None


def _error_message(exc: openai.APIStatusError) -> str:
    if isinstance(exc.body, str) and exc.body.strip():  # {"error": "text"}, as some compatible servers send
        return exc.body.strip()[:300]
    body = exc.body if isinstance(exc.body, dict) else {}
    message = body.get("message") if isinstance(body.get("message"), str) else None
    return (message or str(exc))[:300]
