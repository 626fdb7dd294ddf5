"""Prompt caching on purpose: what OpenAI's automatic prompt cache saves a run, measured and foreseen.

Every request of a run starts with the same system message (:func:`sheets_ai.prompts.system_prompt`: task
instructions, ``--instructions``, worked examples, label codes), so once that prefix reaches OpenAI's cache
threshold (1,024 tokens) the requests after the first are billed its cached part (whole 128-token steps) at
the cached-input price. A short system prompt never reaches it: the rows come after it and differ per batch.

- :func:`cache_savings` prices the ``usage.prompt_tokens_details.cached_tokens`` a run was sent.
- :func:`prefix_tokens` / :func:`foresee` tell ``sheets-ai estimate`` whether the prefix passes the threshold
  and what caching would save (an upper bound: the cache is best effort, kept for minutes, and requests sent
  at the same moment as the first may all miss it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .pricing import price_for
from .prompts import system_prompt
from .tasks import Task
from .tokens import TOKENS_PER_REPLY, chat_prompt_tokens

if TYPE_CHECKING:
    from .report import RunReport

#: OpenAI caches prompts of at least this many tokens, in steps of CACHE_STEP tokens.
CACHE_THRESHOLD = 1024
CACHE_STEP = 128


def _discount(model: str) -> float:
    """USD saved per cached prompt token (input price minus cached-input price; 0 when not priced)."""
    price = price_for(model)
    return 0.0 if price is None else (price.input - price.cached_input) / 1_000_000


def cache_savings(model: str, cached_tokens: int) -> float:
    """What ``cached_tokens`` saved against the full input price of ``model``, in USD."""
    return round(cached_tokens * _discount(model), 6)


def prefix_tokens(task: Task) -> int:
    """Tokens of the stable prefix every request starts with: the system message."""
    return chat_prompt_tokens([{"role": "system", "content": system_prompt(task)}]) - TOKENS_PER_REPLY


@dataclass(frozen=True)
class Foresight:
    prefix_tokens: int
    cacheable_tokens: int  # per request after the first (0: below the threshold)
    savings_usd: float  # at most, over the run's requests


def foresee(task: Task, model: str, requests: int) -> Foresight:
    prefix = prefix_tokens(task)
    cacheable = (prefix // CACHE_STEP) * CACHE_STEP if prefix >= CACHE_THRESHOLD else 0
    saving = cacheable * max(requests - 1, 0) * _discount(model)
    return Foresight(prefix, cacheable, round(saving, 6))


def cache_line(report: RunReport) -> str:
    """The ``sheets-ai estimate`` line: does the system prompt pass the cache threshold, and what it saves."""
    prefix, saving = report.system_prompt_tokens or 0, report.estimated_cache_savings_usd or 0.0
    if prefix < CACHE_THRESHOLD:
        return (
            f"  prompt cache: the system prompt is {prefix:,} tokens, below OpenAI's {CACHE_THRESHOLD:,}-token "
            "cache threshold: no cached-input discount (it is not worth making it longer for that)"
        )
    cacheable = (prefix // CACHE_STEP) * CACHE_STEP
    return (
        f"  prompt cache: the system prompt is {prefix:,} tokens, past OpenAI's {CACHE_THRESHOLD:,}-token "
        f"threshold: {cacheable:,} tokens of each request after the first can be served from the cache, "
        f"saving up to ${saving:.4f} over {report.requests} requests (not taken off the estimate above)"
    )
