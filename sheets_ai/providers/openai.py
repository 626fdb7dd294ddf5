"""The OpenAI provider: the official SDK, chat completions, compact batches, one retry layer.

* The SDK's own retries are off (``max_retries=0``); tenacity is the only retry layer: 408, 409, 429, 5xx,
  timeouts and connection errors, waiting what the server asks (headers, else the "try again in" of a 429)
  or a jittered exponential backoff, within ``retry_seconds`` per request (:mod:`._retry`). A 429 pauses
  every worker; the limiter reserves tokens as OpenAI charges them (prompt + the request's output cap).
* 400, 401, 403, 404 and 429 ``insufficient_quota`` (or a hard spend limit's ``project_spend_limit_exceeded`` /
  ``organization_spend_limit_exceeded``) stop at once with a message that says what to do.
* The key is read from the config or ``OPENAI_API_KEY`` when the first request is made, and is never part
  of a message, a log line or the cache. Which key goes to which server is the key rule in
  :mod:`sheets_ai.keys`; the server is shown as :func:`sheets_ai.redact.safe_url`.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import openai
from tenacity import Retrying

from .. import models, pricing
from ..confidence import from_completion, from_digits
from ..config import RunConfig
from ..errors import (
    AuthenticationError,
    ContentRejectedError,
    ProviderError,
    QuotaExhaustedError,
    RateLimitError,
)
from ..keys import (
    KeyChoice,
    choose_key,
    clear_text_warning,
    drop_bearer,
    is_plain_http_remote,
    missing_variable_message,
    split_query,
)
from ..prompts import build_messages, label_codes, parse_answer, response_format
from ..redact import safe_url, scrub
from ..tasks import CompositeTask, Task
from ..tokens import chat_prompt_tokens, count_tokens
from ._adjust import ParamAdjuster, UnsupportedParameterError, rejection
from ._compat import AnswerFormat, FormatRefusedError, about_response_format
from ._retry import RetryPolicy, TrafficCounter, budget_spent_error, describe_failure, request_too_large
from .base import BatchAnswer, BatchItem, Provider, Traffic, Usage
from .limits import RateLimiter

log = logging.getLogger("sheets_ai")

DEFAULT_MODEL = "gpt-4.1-mini"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
BILLING_URL = "https://platform.openai.com/settings/organization/billing"
#: 429 codes that retrying cannot fix: the account's quota, or a hard spend limit set in OpenAI's settings.
SPENT_CODES = ("insufficient_quota", "organization_spend_limit_exceeded", "project_spend_limit_exceeded")
RETRY_STATUSES = {408, 409, 429, 500, 502, 503, 504}
#: Flex requests can queue for minutes (OpenAI's flex guide raises the SDK's timeout to 15 minutes).
FLEX_TIMEOUT_SECONDS = 900.0
#: Refill the client-side limiter keeps in hand, so requests it spaced out still find quota at the server.
LIMIT_MARGIN_SECONDS = 0.5


def is_reasoning_model(model: str) -> bool:
    """The model can spend reasoning tokens (see :mod:`sheets_ai.models`)."""
    return models.is_reasoning_model(model)


def missing_key_message() -> str:
    return (
        "No OpenAI API key: set OPENAI_API_KEY (e.g. export OPENAI_API_KEY=sk-…) or run offline with "
        "--provider local (sentiment and summarize only)."
    )


class OpenAIProvider(Provider):
    name = "openai"
    cacheable = True
    isolates_instructions = True

    def __init__(self, config: RunConfig, *, notices: list[str] | None = None) -> None:
        self.config = config
        self.model = config.model or DEFAULT_MODEL
        self.base_url = (config.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.max_concurrency = config.concurrency
        self.caps = models.capabilities(self.model)
        #: What we send (None: no reasoning_effort): the user's --reasoning-effort, else the family's cheapest.
        self.reasoning_effort = self.caps.effort(config.reasoning_effort)
        self.notices: list[str] = notices if notices is not None else []
        forced = {"reasoning_effort"} if config.reasoning_effort is not None else set()
        self.adjuster = ParamAdjuster(self.model, forced=forced, notices=self.notices)
        self.price = pricing.price_for(self.model)
        self.flex = config.service_tier == "flex"
        if self.flex and self.price is not None:  # flex bills at Batch API prices
            self.price = self.price.discounted(pricing.BATCH_DISCOUNT)
        #: A flex request may wait for capacity: at least FLEX_TIMEOUT_SECONDS, or the user's longer timeout.
        self.timeout = (
            max(config.request_timeout, FLEX_TIMEOUT_SECONDS) if self.flex else config.request_timeout
        )
        self.limiter = RateLimiter(config.rpm, config.tpm, margin_seconds=LIMIT_MARGIN_SECONDS)
        self._client: openai.OpenAI | None = None
        self._lock = threading.Lock()
        self._reached = False  # a request got an HTTP answer: later connection errors are transient
        self._key_choice: KeyChoice | None = None
        self._traffic = TrafficCounter()
        self.answer_format = AnswerFormat(
            self.base_url, self.notices
        )  # json_schema, or json_object once refused

    @property
    def cache_namespace(self) -> str:
        # The fake server, Azure, Ollama and OpenAI can serve the same model name with different answers.
        # Shown form only: a key in the URL's user-info or query must not be part of it (nor split the cache).
        return f"openai@{safe_url(self.base_url)}"

    # ------------------------------------------------------------ setup
    def _choice(self) -> KeyChoice:
        if self._key_choice is None:
            self._key_choice = choose_key(self.config, self.base_url)
        return self._key_choice

    def _key(self) -> str | None:
        """The key to send to this base URL under the key rule (sheets_ai.keys); None: send none."""
        return self._choice().key

    def _missing_key_message(self) -> str:
        return missing_variable_message(self._choice(), self.base_url) or missing_key_message()

    def check(self, task: Task) -> None:
        self._check_model()
        if self.price is None:
            log.warning(
                "No price for model %r in the price table (%s); costs show as $0. Known: %s",
                self.model,
                pricing.source_line(),
                ", ".join(pricing.known_models()),
            )
            capped = "--max-cost" if self.config.max_cost is not None else None
            capped = capped or ("--monthly-budget" if self.config.monthly_budget is not None else None)
            if capped and self.base_url == DEFAULT_BASE_URL:
                raise ProviderError(
                    f"{capped} needs a price for model {self.model!r}, which is not in the price table. "
                    f"Known models: {', '.join(pricing.known_models())}."
                )
        if is_plain_http_remote(self.base_url):
            log.warning("%s", clear_text_warning(self.base_url))
        choice = self._choice()
        if choice.withheld:
            log.info("%s.", choice.withheld)
        elif choice.key and choice.named_in:
            log.info(
                "Sending %s (api_key_env in %s) to %s.",
                choice.variable,
                choice.named_in,
                safe_url(self.base_url),
            )
        if not self.config.dry_run and not choice.key and not choice.withheld:
            raise ProviderError(self._missing_key_message())

    def _check_model(self) -> None:
        """--reasoning-effort against the model's values; models Chat Completions does not serve."""
        models.check_effort(self.model, self.config.reasoning_effort)
        models.check_service_tier(self.model, self.config.service_tier)
        refusal = models.not_a_chat_model(self.model) if self.base_url == DEFAULT_BASE_URL else None
        if refusal and not self.config.dry_run:
            raise ProviderError(refusal)
        if refusal:
            log.warning("%s", refusal)

    def client(self) -> openai.OpenAI:
        """The SDK client (made once, its own retries off); the Batch API pass (sheets_ai.batch_api) uses it too."""
        with self._lock:
            if self._client is None:
                choice = self._choice()
                if not choice.key and not choice.withheld:
                    raise ProviderError(self._missing_key_message())
                base_url, query = split_query(self.base_url)
                extra: dict[str, Any] = {"default_query": query} if query else {}
                if not choice.key:
                    # The SDK insists on a key: give it a placeholder and take the Bearer header off every
                    # request, so nothing of ours reaches a server the key rule keeps it from.
                    extra["http_client"] = openai.DefaultHttpxClient(event_hooks={"request": [drop_bearer]})
                self._client = openai.OpenAI(
                    api_key=choice.key or "no-key-sent",
                    base_url=base_url,
                    max_retries=0,
                    timeout=self.timeout,
                    **extra,
                )
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def confidence_plan(self, task: Task, wanted: bool) -> tuple[Task, str | None]:
        """Label tasks: log-probabilities where the model returns them (no extra tokens); else, only when
        a confidence is wanted, the self-reported digit (sheets_ai.confidence); else none."""
        if not task.is_label_task:
            return task, None
        if self.caps.logprobs:
            return task, "logprobs"
        return (replace(task, rates_confidence=True), "self-reported") if wanted else (task, None)

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
        if isinstance(task, CompositeTask):  # several tasks in one answer: each part's, under its name
            return sum(self._expected_completion(p, items) + count_tokens(f'"{p.name}":') for p in task.parts)
        if task.is_label_task:
            code = next(iter(label_codes(task.labels).values())) + ("9" if task.rates_confidence else "")
            return count_tokens('{"a":"' + "".join(f"{i.id}{code}" for i in items) + '"}')
        per_row = sum(self._answer_tokens(task, i.text) + count_tokens(f'"{i.id}":"",') for i in items)
        return per_row + 2

    def _max_completion(self, task: Task, items: Sequence[BatchItem]) -> int:
        if isinstance(task, CompositeTask):  # room for every part's answer, and reasoning once
            caps = sum(self._max_completion(p, items) - self._reasoning_headroom() + 8 for p in task.parts)
            return caps + self._reasoning_headroom()
        if task.is_label_task:
            limit = 4 * len(items) + 32
        else:
            limit = 32 + sum(
                math.ceil(1.5 * (task.max_chars or 200) * count_tokens(i.text) / max(1, len(i.text))) + 8
                for i in items
            )
        return limit + self._reasoning_headroom()

    def _reasoning_headroom(self) -> int:
        """Completion tokens left for reasoning at the effort sent now (they count against the cap)."""
        sent = self.adjuster.value("reasoning_effort", self.reasoning_effort)
        if sent is None and self.reasoning_effort is not None:  # dropped: the server's default applies
            return models.REASONING_HEADROOM[self.caps.server_effort or "medium"]
        if not self.caps.known and self.adjuster.renamed("max_tokens") == "max_completion_tokens":
            return models.REASONING_HEADROOM["medium"]  # an unknown model that wants OpenAI's reasoning cap
        return self.caps.reasoning_headroom(sent)

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

    def estimate(self, task: Task, items: Sequence[BatchItem]) -> Usage:
        return self._priced(task, items, self._expected_completion(task, items))

    def worst_case(self, task: Task, items: Sequence[BatchItem]) -> Usage:
        """The most one request can cost: its prompt plus its whole completion cap (reasoning included)."""
        return self._priced(task, items, self._max_completion(task, items))

    def _priced(self, task: Task, items: Sequence[BatchItem], completion: int) -> Usage:
        prompt = self._prompt_of(task, items)
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
        caps, effort = self.caps, self.reasoning_effort
        params[caps.token_param] = self._max_completion(task, items)
        if effort is not None:
            params["reasoning_effort"] = effort
        if caps.sends_temperature(effort):
            params["temperature"] = 0
        if caps.logprobs and task.is_label_task:  # confidence per row, no extra tokens (sheets_ai.confidence)
            params["logprobs"] = True
        if self.config.service_tier is not None:
            params["service_tier"] = self.config.service_tier
        params = self.adjuster.apply(params)
        if caps.temperature == "none-effort" and params.get("reasoning_effort") != "none":
            params.pop("temperature", None)
        return params

    def run(
        self, task: Task, items: Sequence[BatchItem], feedback: Mapping[str, str] | None = None
    ) -> BatchAnswer:
        # A second request only when the answer format changes under this one (once per run, for the
        # requests then in flight); both are in the usage returned, which the budget charges.
        spent = Usage()
        while True:
            params, mode = self.formatted_request(task, items, feedback)
            # Reserve what OpenAI counts against tokens/min on arrival: the prompt plus the request's output cap.
            cap = params.get("max_completion_tokens") or params.get("max_tokens")
            reserve = self.prompt_tokens(params["messages"], params.get("response_format")) + int(
                cap or self._max_completion(task, items)
            )
            try:
                completion = self._send(
                    params, reserve, lambda: self.formatted_request(task, items, feedback)[0]
                )
            except FormatRefusedError as exc:
                self.answer_format.refused(mode, str(exc))  # switches to json_object, or stops the run
                continue
            answer, content, readable = self.read_completion(task, items, completion)
            spent.add(answer.usage)
            spent.reported = spent.reported and answer.usage.reported
            if readable is False and self.answer_format.unreadable(mode, content):
                continue  # the first answers hold no JSON: asked again in JSON mode
            if readable:
                self.answer_format.answer_read(mode)
            answer.usage = spent
            return answer

    def formatted_request(
        self, task: Task, items: Sequence[BatchItem], feedback: Mapping[str, str] | None
    ) -> tuple[dict[str, Any], str]:
        """``request_params`` in the run's answer format, and that format's name."""
        params = self.request_params(task, items, feedback)
        return params, self.answer_format.apply(params)

    def read_completion(
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
        if task.is_label_task:
            rated = task.rates_confidence
            answer.confidences = from_digits(parsed.digits) if rated else from_completion(content, choice)
        return answer, content, not parsed.not_json

    def _usage(self, completion: Any) -> Usage:
        u = completion.usage
        if u is None:  # some compatible servers send none: the budget then charges the worst case
            return Usage(requests=1, reported=False)
        details = getattr(u, "prompt_tokens_details", None)
        cached = int(getattr(details, "cached_tokens", 0) or 0) if details is not None else 0
        prompt, output = int(u.prompt_tokens or 0), int(u.completion_tokens or 0)
        out_details = getattr(u, "completion_tokens_details", None)
        reasoning = int(getattr(out_details, "reasoning_tokens", 0) or 0) if out_details is not None else 0
        cost = self.price.cost(prompt, output, cached) if self.price else 0.0
        return Usage(1, prompt, output, cached, cost, reasoning_tokens=reasoning)

    def _send(self, params: dict[str, Any], tokens: int, rebuild: Callable[[], dict[str, Any]]) -> Any:
        """``_call``, sent again once per parameter a server rejects as unsupported (see ``_adjust``).

        After an adjustment the request is rebuilt, so its completion cap follows the effort now sent.
        """
        adjusted: set[str] = set()
        while True:
            try:
                return self._call(params, tokens)
            except UnsupportedParameterError as exc:
                if exc.param in adjusted:
                    raise
                self.adjuster.adjust(params, exc)
                adjusted.add(exc.param)
                params = rebuild()

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
                return _error_code(exc) not in SPENT_CODES and not request_too_large(exc)
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
        client = self.client()
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
            flex_full = isinstance(exc, openai.APIStatusError) and _error_code(exc) == "resource_unavailable"
            spent = (
                policy.gave_up
                and not flex_full
                and budget_spent_error(
                    exc,
                    policy,
                    where=f"at {self.base_url}",
                    retry_seconds=self.config.retry_seconds,
                    request_timeout=self.timeout,
                )
            )
            if spent:
                raise spent from None
            raise self.translate_error(exc, retrying.statistics.get("attempt_number", 1)) from None
        raise ProviderError("The OpenAI request was not attempted.")  # pragma: no cover

    def _used_tokens(self, params: Mapping[str, Any], completion: Any) -> int:
        """Tokens the answer really cost: ``usage``, else our count of the prompt and the answer's text."""
        if completion.usage is not None:
            return int(completion.usage.total_tokens or 0)
        text = "".join(str(c.message.content or "") for c in completion.choices or [])
        return self.prompt_tokens(params["messages"], params.get("response_format")) + count_tokens(text)

    def _scrub(self, text: str) -> str:
        """The shared redaction (sheets_ai.redact): the key in use, secret variables, URL credentials."""
        return scrub(text)

    def translate_error(self, exc: openai.APIError, attempts: int) -> ProviderError:
        where = f"at {safe_url(self.base_url)}"
        if isinstance(exc, openai.APITimeoutError):
            return RateLimitError(
                f"OpenAI requests {where} timed out ({self.timeout:g}s) {attempts} times. "
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
            choice = self._choice()
            if choice.withheld:
                return AuthenticationError(
                    f"The server {where} asks for an API key (401 Unauthorized): {choice.withheld}."
                )
            if choice.secret:
                return AuthenticationError(
                    f"The OpenAI API {where} rejected the API key from Secret Manager secret {choice.secret} "
                    "(401 Unauthorized). Add a valid key as a new version of that secret "
                    "(https://platform.openai.com/api-keys)."
                )
            if choice.variable not in (None, "api_key", "OPENAI_API_KEY"):
                return AuthenticationError(
                    f"The server {where} rejected the key in {choice.variable} (401 Unauthorized). Check that "
                    "variable's value."
                )
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
        if status == 429 and (code := _error_code(exc)) in SPENT_CODES[1:]:
            scope = code.split("_", 1)[0]
            return QuotaExhaustedError(
                f"OpenAI says this {scope} has reached the hard spend limit set in its settings (429 {code}); "
                f"retrying will not help. Raise the limit at {BILLING_URL.removesuffix('billing')}limits or wait "
                "for it to reset, then run the same command again."
            )
        if status == 429 and _error_code(exc) == "insufficient_quota":
            return QuotaExhaustedError(
                "OpenAI says this account has run out of quota (429 insufficient_quota); retrying will not help. "
                f"Add credit or raise the usage limit at {BILLING_URL}, then run the same command again."
            )
        if status == 429 and _error_code(exc) == "resource_unavailable":
            return RateLimitError(
                f"The flex tier had no capacity for {self.model} {where} (429 resource_unavailable) for "
                f"{self.config.retry_seconds:g}s and {attempts} attempts. Run again later (finished rows are saved), "
                "raise --retry-seconds, or leave out --service-tier flex (standard price) or use --batch-api."
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
        refused = f"The OpenAI API {where} refused the request (HTTP {status}): {detail}"
        return rejection(exc, refused) or ProviderError(refused)


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
    return scrub(message or str(exc))[:300]  # scrub before cutting: half a key is not caught afterwards
