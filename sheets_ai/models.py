"""What each OpenAI model family takes: token-limit parameter, temperature, reasoning effort, outputs.

A model name is matched in this order: the exact name (``gpt-4o-2024-05-13`` has rules of its own), the name
without a date suffix (``gpt-5.1-2025-11-13`` -> ``gpt-5.1``), then family patterns (``gpt-5-mini`` -> gpt-5,
``gpt-5.9`` -> the newer gpt-5.x rules, ``o5-mini`` -> the o-series). Anything else (a compatible server's
``llama3``, a future ``gpt-6``) gets :data:`UNKNOWN`: the older, widely understood parameters, and no
reasoning effort unless the user sets one. When a server rejects a parameter we chose, the provider adjusts
it once for the rest of the run (:mod:`sheets_ai.providers._adjust`).

Sources, read 2026-12-01 (copies in the search corpora; OpenAI's pages themselves were not reachable):

* ``reasoning_effort`` in openai-python ``types/chat/completion_create_params.py``: 2025-08-07 "minimal, low,
  medium, high" (gpt-5); 2025-11-13 "gpt-5.1 defaults to none ... supported values for gpt-5.1 are none, low,
  medium, and high ... models before gpt-5.1 default to medium and do not support none ... gpt-5-pro only
  high"; 2025-12-11 "xhigh is supported for all models after gpt-5.1-codex-max" (so gpt-5.2 takes xhigh).
* OpenAI's GPT-5.2 announcement as quoted in stdapi-ai/stdapi.ai#8 (2025-12-12): "reasoning effort ... none,
  low, medium, high, and ... xhigh"; the default for gpt-5.2 is none (gwdg/chat-ai#113).
* A per-model matrix verified against the API, community.openai.com/t/1371738 (Dec 2025): gpt-5/-mini/-nano
  minimal..high; gpt-5.1 none, low..high; gpt-5.2 none, low..xhigh; gpt-5.x-chat-latest medium only;
  o1/o3/o3-mini/o4-mini/o1-pro/o3-pro low..high; "reasoning models generally allow no sampling parameters".
* The real 400s: "Unsupported value: 'minimal' is not supported with the 'gpt-5.1' model. Supported values
  are: 'none', 'low', 'medium', and 'high'." (openai/openai-agents-python#2089); "Unsupported parameter:
  'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead." (o-series, gpt-5).
* o1-pro and o3-pro (and the gpt-5 pro models) answer Chat Completions with 404 "This model is only supported
  in v1/responses and not in v1/chat/completions." (simonw/llm#1169, 2025-06-10).
* Structured outputs (``json_schema``) came with gpt-4o-2024-08-06; gpt-4o-2024-05-13, gpt-4-turbo, o1-mini
  and o1-preview do not take it (OpenAI structured-outputs guide, as quoted on community.openai.com/t/1110750).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from .errors import UsageError

#: Every reasoning_effort value OpenAI's API knows, cheapest first (openai-python ``ReasoningEffort``).
EFFORT_LEVELS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
#: Completion tokens to leave for reasoning at each effort, on top of the answer's own cap. Reasoning tokens
#: count against max_completion_tokens; too little room ends an answer with finish_reason "length".
REASONING_HEADROOM = {
    "none": 0,
    "minimal": 1024,
    "low": 4096,
    "medium": 8192,
    "high": 16384,
    "xhigh": 32768,
    "max": 65536,
}
DATE_SUFFIX = re.compile(r"^(?P<base>.+?)-(?:\d{4}-\d{2}-\d{2}|\d{4})$")

TokenParam = Literal["max_tokens", "max_completion_tokens"]
#: "any": temperature=0 is accepted; "none-effort": only with reasoning_effort none; "no": only the default.
Temperature = Literal["any", "none-effort", "no"]


@dataclass(frozen=True)
class Capabilities:
    """What one model family takes on ``/v1/chat/completions``."""

    family: str
    token_param: TokenParam = "max_completion_tokens"
    temperature: Temperature = "no"
    #: reasoning_effort values the family takes, cheapest first; empty: the parameter is not accepted.
    efforts: tuple[str, ...] = ()
    #: What we send when the user sets nothing: the cheapest value (None: send no reasoning_effort).
    default_effort: str | None = None
    #: What the server uses when no reasoning_effort is sent (None: the model does not reason).
    server_effort: str | None = None
    structured_outputs: bool = True
    logprobs: bool = False
    #: Served on Chat Completions (False: only on the Responses API).
    chat_completions: bool = True
    #: False for family patterns and :data:`UNKNOWN`: a guess, adjusted when the server says otherwise.
    known: bool = True
    #: Takes ``service_tier: "flex"`` (OpenAI's flex processing guide: o3, o4-mini, the gpt-5 family).
    flex: bool = False

    @property
    def reasoning(self) -> bool:
        """The family can spend reasoning tokens (billed as output)."""
        return self.server_effort is not None or bool(self.efforts)

    def effort(self, requested: str | None = None) -> str | None:
        """The reasoning_effort to send: the user's, else the family's default (None: send none)."""
        return requested if requested is not None else self.default_effort

    def effective_effort(self, sent: str | None) -> str | None:
        """The effort the model works at when we send ``sent`` (None: it does not reason)."""
        return sent if sent is not None else self.server_effort

    def spends_reasoning_tokens(self, sent: str | None) -> bool:
        effort = self.effective_effort(sent)
        return effort is not None and effort != "none"

    def reasoning_headroom(self, sent: str | None) -> int:
        effort = self.effective_effort(sent)
        return 0 if effort is None else REASONING_HEADROOM.get(effort, REASONING_HEADROOM["high"])

    def sends_temperature(self, sent_effort: str | None) -> bool:
        return self.temperature == "any" or (self.temperature == "none-effort" and sent_effort == "none")


# ------------------------------------------------------------------ the table
_CHAT = Capabilities("chat", token_param="max_tokens", temperature="any", logprobs=True)
_GPT5 = Capabilities(
    "gpt-5",
    efforts=("minimal", "low", "medium", "high"),
    default_effort="minimal",
    server_effort="medium",
)
_GPT5_NEWER = Capabilities(
    "gpt-5.x",
    efforts=("none", "low", "medium", "high", "xhigh"),
    default_effort="none",
    server_effort="none",
)
_CHAT_LATEST = Capabilities("gpt-5.x-chat", efforts=("medium",), server_effort="medium")
_O_SERIES = Capabilities(
    "o-series", efforts=("low", "medium", "high"), default_effort="low", server_effort="medium"
)
_RESPONSES_ONLY = replace(_O_SERIES, family="responses-only", chat_completions=False)

FAMILIES: dict[str, Capabilities] = {
    "gpt-4o": replace(_CHAT, family="gpt-4o"),
    "gpt-4o-2024-05-13": replace(_CHAT, family="gpt-4o-2024-05-13", structured_outputs=False),
    "gpt-4o-mini": replace(_CHAT, family="gpt-4o-mini"),
    "chatgpt-4o-latest": replace(_CHAT, family="chatgpt-4o-latest", structured_outputs=False),
    "gpt-4.1": replace(_CHAT, family="gpt-4.1"),
    "gpt-4.1-mini": replace(_CHAT, family="gpt-4.1"),
    "gpt-4.1-nano": replace(_CHAT, family="gpt-4.1"),
    "gpt-4-turbo": replace(_CHAT, family="gpt-4", structured_outputs=False),
    "gpt-4": replace(_CHAT, family="gpt-4", structured_outputs=False),
    "gpt-3.5-turbo": replace(_CHAT, family="gpt-3.5", structured_outputs=False),
    "gpt-5": replace(_GPT5, flex=True),
    "gpt-5-mini": replace(_GPT5, flex=True),
    "gpt-5-nano": replace(_GPT5, flex=True),
    "gpt-5-chat-latest": Capabilities("gpt-5-chat", temperature="any"),
    "gpt-5-pro": replace(_RESPONSES_ONLY, efforts=("high",), default_effort=None, server_effort="high"),
    "gpt-5.1": replace(_GPT5_NEWER, family="gpt-5.1", efforts=("none", "low", "medium", "high"), flex=True),
    "gpt-5.2": replace(_GPT5_NEWER, family="gpt-5.2", temperature="none-effort", flex=True),
    "o1": replace(_O_SERIES, family="o1"),
    "o1-mini": Capabilities("o1-mini", server_effort="medium", structured_outputs=False),
    "o1-preview": Capabilities("o1-preview", server_effort="medium", structured_outputs=False),
    "o3": replace(_O_SERIES, family="o3", flex=True),
    "o3-mini": replace(_O_SERIES, family="o3-mini"),
    "o4-mini": replace(_O_SERIES, family="o4-mini", flex=True),
    "o1-pro": replace(_RESPONSES_ONLY, family="o1-pro"),
    "o3-pro": replace(_RESPONSES_ONLY, family="o3-pro"),
}
#: Family patterns for names not in FAMILIES, tried in order. Their rows are guesses (``known=False``):
#: --reasoning-effort is not checked against them, and the server's answer corrects them.
PATTERNS: tuple[tuple[re.Pattern[str], Capabilities], ...] = tuple(
    (re.compile(pattern), replace(caps, known=False))
    for pattern, caps in (
        (r"gpt-5(\.\d+)?-chat(-latest)?", _CHAT_LATEST),
        (r"gpt-5(\.\d+)?-pro(-.*)?", FAMILIES["gpt-5-pro"]),
        (r"gpt-5\.1-.*", FAMILIES["gpt-5.1"]),
        (r"gpt-5\.\d+(-.*)?", _GPT5_NEWER),
        (r"gpt-5-(mini|nano)-.*", _GPT5),
        (r"gpt-4\.1(-.*)?", FAMILIES["gpt-4.1"]),
        (r"gpt-4o-mini(-.*)?", FAMILIES["gpt-4o-mini"]),
        (r"o\d+-pro(-.*)?", _RESPONSES_ONLY),
        (r"o\d+(-(mini|preview))?-deep-research(-.*)?", _RESPONSES_ONLY),
        (r"o\d+(-.*)?", _O_SERIES),
    )
)
UNKNOWN = Capabilities(
    "unknown", token_param="max_tokens", temperature="any", structured_outputs=True, known=False
)


def base_name(model: str) -> str:
    """``openai/gpt-4o`` -> ``gpt-4o``; a fine-tuned ``ft:gpt-4o-mini-2024-07-18:org::id`` -> its base model."""
    name = model.strip().lower()
    if name.startswith("ft:"):
        name = name[3:].split(":", 1)[0]
    return name.rsplit("/", 1)[-1]


def capabilities(model: str) -> Capabilities:
    """The capability row for ``model`` (exact name, then without its date, then family patterns)."""
    name = base_name(model)
    if name in FAMILIES:
        return FAMILIES[name]
    dated = DATE_SUFFIX.match(name)
    if dated and dated.group("base") in FAMILIES:
        return FAMILIES[dated.group("base")]
    for pattern, caps in PATTERNS:
        if pattern.fullmatch(name):
            return caps
    return UNKNOWN


def is_reasoning_model(model: str) -> bool:
    """The model can spend reasoning tokens (gpt-5 except the chat models, the o-series)."""
    return capabilities(model).reasoning


def check_effort(model: str, effort: str | None) -> None:
    """Raise UsageError when ``--reasoning-effort`` is not one ``model`` takes (unknown models: any)."""
    caps = capabilities(model)
    if effort is None or not caps.known or effort in caps.efforts:
        return
    if caps.efforts:
        raise UsageError(f"{model} takes --reasoning-effort {effort_choices(caps.efforts)}; got {effort!r}.")
    if caps.reasoning:
        raise UsageError(f"{model} takes no --reasoning-effort: its effort is fixed. Leave the option out.")
    raise UsageError(
        f"{model} is not a reasoning model: it takes no --reasoning-effort. Leave the option out."
    )


def flex_models() -> list[str]:
    """The named models that take ``service_tier: "flex"``."""
    return [name for name, caps in FAMILIES.items() if caps.flex]


def check_service_tier(model: str, tier: str | None) -> None:
    """Raise UsageError for ``--service-tier flex`` on a model OpenAI offers no flex processing for."""
    caps = capabilities(model)
    if tier != "flex" or caps.flex or not caps.known:
        return
    raise UsageError(
        f"{model} has no flex processing (--service-tier flex); models that do: {', '.join(flex_models())}. "
        "Choose one of them with --model, use --batch-api for half price on any model, or leave the option out."
    )


def not_a_chat_model(model: str) -> str | None:
    """Why ``model`` cannot be used on OpenAI's Chat Completions API, or None when it can."""
    if capabilities(model).chat_completions:
        return None
    return (
        f"{model} is served only by OpenAI's Responses API, and sheets-ai uses Chat Completions. "
        "Choose a chat model, e.g. --model o3, gpt-5 or gpt-4.1."
    )


def effort_choices(values: tuple[str, ...]) -> str:
    """``('none', 'low', 'high')`` -> ``none, low or high``."""
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"


def nearest_effort(wanted: str, allowed: list[str] | tuple[str, ...]) -> str | None:
    """The allowed effort closest to ``wanted``; on a tie the higher one (an answer no worse than asked for)."""
    known = [a for a in allowed if a in EFFORT_LEVELS]
    if not known:
        return None
    if wanted not in EFFORT_LEVELS:
        return known[0]
    rank = EFFORT_LEVELS.index(wanted)
    return min(known, key=lambda a: (abs(EFFORT_LEVELS.index(a) - rank), -EFFORT_LEVELS.index(a)))


def table_rows() -> list[tuple[str, Capabilities]]:
    """Every named row, for documentation and tests."""
    return list(FAMILIES.items())
