"""The fake OpenAI server's own model table: which parameters each model takes, and how it reasons.

Written from OpenAI's public documentation, independently of the client's ``sheets_ai/models.py`` (an
emulator that shared the client's rules could only agree with it). Like the real API, it knows exact model
ids (openai-python's ``ChatModel`` list, 2026-08) rather than name patterns, and answers a parameter a model
does not take with the real 400 shapes:

* ``max_tokens`` to o-series / gpt-5: "Unsupported parameter: 'max_tokens' is not supported with this model.
  Use 'max_completion_tokens' instead." (``param`` max_tokens, ``code`` unsupported_parameter);
* a temperature or top_p other than 1 to a reasoning model: "Unsupported value: 'temperature' does not
  support 0 with this model. Only the default (1) value is supported." (``unsupported_value``); gpt-5.2
  takes them only at reasoning effort none;
* a reasoning_effort the model does not take: "Unsupported value: 'minimal' is not supported with the
  'gpt-5.1' model. Supported values are: 'none', 'low', 'medium', and 'high'." (``unsupported_value``), or
  "Unsupported parameter: 'reasoning_effort' is not supported with this model." for non-reasoning models;
* ``json_schema`` to a model without structured outputs (gpt-4o-2024-05-13, gpt-4-turbo, ...);
* Responses-only models (o1-pro, o3-pro, gpt-5-pro, gpt-5.2-pro): 404 "This model is only supported in
  v1/responses and not in v1/chat/completions." (``param`` model);
* an argument Chat Completions does not have: "Unrecognized request argument supplied: NAME".

Reasoning: openai-python's docstrings for ``reasoning_effort`` (2025-08 .. 2025-12: gpt-5 minimal..high,
default medium; gpt-5.1 none..high, default none; xhigh after gpt-5.1-codex-max; gpt-5-pro high only),
OpenAI's GPT-5.2 announcement (none, low, medium, high, xhigh) and the per-model matrix on
community.openai.com/t/1371738 (the chat-latest aliases take only medium; the o-series low, medium, high).
Reasoning tokens count in ``completion_tokens`` and ``completion_tokens_details.reasoning_tokens`` and against
``max_completion_tokens``: when reasoning uses the whole cap the answer is empty with ``finish_reason``
"length", as on the real API.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ._openai_wire import Reply

#: Chat Completions request fields (openai-python ``CompletionCreateParams``, 2026-08).
CHAT_PARAMS = frozenset(
    [
        "messages", "model", "audio", "frequency_penalty", "function_call", "functions", "logit_bias",
        "logprobs", "max_completion_tokens", "max_tokens", "metadata", "modalities", "moderation", "n",
        "parallel_tool_calls", "prediction", "presence_penalty", "prompt_cache_key", "prompt_cache_options",
        "prompt_cache_retention", "reasoning_effort", "response_format", "safety_identifier", "seed",
        "service_tier", "stop", "store", "stream", "stream_options", "temperature", "tool_choice", "tools",
        "top_logprobs", "top_p", "user", "verbosity", "web_search_options",
    ]
)  # fmt: skip
SAMPLING = ("temperature", "top_p")
#: ``service_tier`` values of Chat Completions (openai-python ``completion_create_params``).
SERVICE_TIERS = ("auto", "default", "flex", "scale", "priority")
#: Reasoning tokens a request spends at each effort when the server is not told a number.
DEFAULT_SPEND = {"none": 0, "minimal": 8, "low": 64, "medium": 256, "high": 1024, "xhigh": 2048, "max": 4096}


@dataclass(frozen=True)
class Rules:
    family: str
    #: The legacy ``max_tokens`` is accepted (reasoning models take only ``max_completion_tokens``).
    max_tokens: bool = True
    #: temperature / top_p: "any", "none-effort" (only at reasoning effort none) or "default" (only 1).
    sampling: str = "any"
    #: Accepted reasoning_effort values; empty: the parameter is not supported.
    efforts: tuple[str, ...] = ()
    #: The effort used when none is sent (None: the model does not reason).
    default_effort: str | None = None
    json_schema: bool = True
    logprobs: bool = True
    chat: bool = True
    #: ``service_tier: "flex"`` is offered (OpenAI's flex processing guide: o3, o4-mini, the gpt-5 family).
    flex: bool = False


_PLAIN = Rules("chat")
_NO_SCHEMA = replace(_PLAIN, json_schema=False)
_REASONING = Rules("reasoning", max_tokens=False, sampling="default", logprobs=False)
_GPT5 = replace(
    _REASONING, family="gpt-5", efforts=("minimal", "low", "medium", "high"), default_effort="medium"
)
_GPT51 = replace(
    _REASONING, family="gpt-5.1", efforts=("none", "low", "medium", "high"), default_effort="none"
)
_GPT52 = replace(
    _REASONING,
    family="gpt-5.2",
    efforts=("none", "low", "medium", "high", "xhigh"),
    default_effort="none",
    sampling="none-effort",
)
_CHAT_LATEST = replace(_REASONING, family="chat-latest", efforts=("medium",), default_effort="medium")
_O = replace(_REASONING, family="o-series", efforts=("low", "medium", "high"), default_effort="medium")
_PRO = replace(_O, family="pro", chat=False)

RULES: dict[str, Rules] = {
    **dict.fromkeys(
        ["gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4.1-2025-04-14", "gpt-4.1-mini-2025-04-14",
         "gpt-4.1-nano-2025-04-14", "gpt-4o", "gpt-4o-2024-11-20", "gpt-4o-2024-08-06", "gpt-4o-mini",
         "gpt-4o-mini-2024-07-18"],
        _PLAIN,
    ),
    **dict.fromkeys(
        ["gpt-4o-2024-05-13", "chatgpt-4o-latest", "gpt-4-turbo", "gpt-4-turbo-2024-04-09", "gpt-4",
         "gpt-3.5-turbo", "gpt-3.5-turbo-0125"],
        _NO_SCHEMA,
    ),
    **dict.fromkeys(
        ["gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5-2025-08-07", "gpt-5-mini-2025-08-07",
         "gpt-5-nano-2025-08-07"],
        replace(_GPT5, flex=True),
    ),
    "gpt-5-chat-latest": replace(_PLAIN, family="gpt-5-chat", logprobs=False),
    **dict.fromkeys(["gpt-5.1", "gpt-5.1-2025-11-13"], replace(_GPT51, flex=True)),
    **dict.fromkeys(["gpt-5.2", "gpt-5.2-2025-12-11"], replace(_GPT52, flex=True)),
    **dict.fromkeys(["gpt-5.1-chat-latest", "gpt-5.2-chat-latest"], _CHAT_LATEST),
    **dict.fromkeys(
        ["o1", "o1-2024-12-17", "o3-mini", "o3-mini-2025-01-31"],
        _O,
    ),
    **dict.fromkeys(["o3", "o3-2025-04-16", "o4-mini", "o4-mini-2025-04-16"], replace(_O, flex=True)),
    **dict.fromkeys(["o1-pro", "o1-pro-2025-03-19", "o3-pro", "o3-pro-2025-06-10"], _PRO),
    **dict.fromkeys(
        ["gpt-5-pro", "gpt-5-pro-2025-10-06", "gpt-5.2-pro", "gpt-5.2-pro-2025-12-11"],
        replace(_PRO, efforts=("high",), default_effort="high"),
    ),
}  # fmt: skip


def known_models() -> list[str]:
    return sorted(RULES)


def _reply(status: int, message: str, param: str | None, code: str | None) -> Reply:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}
    return Reply(status, body)


def _listed(values: tuple[str, ...]) -> str:
    quoted = [f"'{v}'" for v in values]
    if len(quoted) < 3:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def _unsupported(param: str) -> Reply:
    return _reply(
        400,
        f"Unsupported parameter: '{param}' is not supported with this model.",
        param,
        "unsupported_parameter",
    )


def check_request(model: str, rules: Rules, body: Mapping[str, Any]) -> Reply | None:
    """The error the real API gives this request, or None when the model takes every parameter."""
    if not rules.chat:
        return _reply(404, "This model is only supported in v1/responses and not in v1/chat/completions.",
                      "model", None)  # fmt: skip
    for name in body:
        if name not in CHAT_PARAMS:
            return _reply(400, f"Unrecognized request argument supplied: {name}", None, None)
    tier = body.get("service_tier")
    if tier is not None and tier not in SERVICE_TIERS:
        return _reply(400, f"Invalid value: '{tier}'. Supported values are: {_listed(SERVICE_TIERS)}.",
                      "service_tier", "invalid_value")  # fmt: skip
    if tier == "flex" and not rules.flex:
        return _reply(400, f"Flex processing is not available for model '{model}'.", "service_tier",
                      "invalid_value")  # fmt: skip
    if "max_tokens" in body and not rules.max_tokens:
        return _reply(
            400,
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            "max_tokens",
            "unsupported_parameter",
        )
    effort = body.get("reasoning_effort")
    if effort is not None:
        if not rules.efforts:
            return _unsupported("reasoning_effort")
        if effort not in rules.efforts:
            return _reply(
                400,
                f"Unsupported value: '{effort}' is not supported with the '{model}' model. "
                f"Supported values are: {_listed(rules.efforts)}.",
                "reasoning_effort",
                "unsupported_value",
            )
    sampling_ok = rules.sampling == "any" or (
        rules.sampling == "none-effort" and (effort or rules.default_effort) == "none"
    )
    for name in SAMPLING:
        value = body.get(name)
        if value is not None and value != 1 and not sampling_ok:
            return _reply(
                400,
                f"Unsupported value: '{name}' does not support {json.dumps(value)} with this model. "
                "Only the default (1) value is supported.",
                name,
                "unsupported_value",
            )
    logprobs_ok = rules.logprobs or (rules.sampling == "none-effort" and sampling_ok)
    if body.get("logprobs") and not logprobs_ok:
        return _unsupported("logprobs")
    top = body.get("top_logprobs")
    if top is not None:
        if not logprobs_ok:
            return _unsupported("top_logprobs")
        if not isinstance(top, int) or isinstance(top, bool) or not 0 <= top <= 20:
            return _reply(
                400,
                f"Invalid 'top_logprobs': integer between 0 and 20 expected, got {json.dumps(top)}.",
                "top_logprobs",
                "invalid_value",
            )
        if not body.get("logprobs"):
            return _reply(
                400,
                "Invalid value for 'top_logprobs': 'logprobs' must be set to true when 'top_logprobs' is used.",
                "top_logprobs",
                "invalid_value",
            )
    response_format = body.get("response_format")
    schema = isinstance(response_format, dict) and response_format.get("type") == "json_schema"
    if schema and not rules.json_schema:
        return _reply(
            400,
            "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model. "
            "Learn more about supported models at the Structured Outputs guide: "
            "https://platform.openai.com/docs/guides/structured-outputs",
            "response_format",
            None,
        )
    return None


def reasoning_spend(rules: Rules, body: Mapping[str, Any], per_request: int | None) -> int:
    """Reasoning tokens this request spends: ``per_request`` when set, else an amount for its effort."""
    effort = body.get("reasoning_effort") or rules.default_effort
    if effort is None or effort == "none":
        return 0
    return per_request if per_request is not None else DEFAULT_SPEND.get(effort, DEFAULT_SPEND["medium"])


def fit_in_cap(
    content: str, reasoning: int, body: Mapping[str, Any], count: Callable[[str], int]
) -> tuple[str, int, int, bool]:
    """(content, completion_tokens, reasoning_tokens, cut) once the completion cap is applied.

    Reasoning comes first and counts against ``max_completion_tokens`` (or ``max_tokens``); the visible answer
    gets what is left, cut at a token boundary. ``cut`` means ``finish_reason`` "length".
    """
    answer = count(content)
    cap = body.get("max_completion_tokens") or body.get("max_tokens")
    if not isinstance(cap, int) or cap <= 0 or reasoning + answer <= cap:
        return content, reasoning + answer, reasoning, False
    if reasoning >= cap:
        return "", cap, cap, True
    room = cap - reasoning
    low, high = 0, len(content)
    while low < high:  # the longest prefix within ``room`` tokens
        mid = (low + high + 1) // 2
        if count(content[:mid]) <= room:
            low = mid
        else:
            high = mid - 1
    visible = content[:low]
    return visible, reasoning + count(visible), reasoning, True
