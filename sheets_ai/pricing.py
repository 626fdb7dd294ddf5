"""Prices per model from a dated table (``data/pricing.json``) and the cost of a request from its usage.

Cost counts ``prompt_tokens_details.cached_tokens`` at the cached-input price, the rest of the prompt at the
input price and every completion token (reasoning tokens included, as OpenAI bills them) at the output price.

Lookup: the exact model name, then a dated snapshot's base name (``gpt-4.1-mini-2025-04-14`` ->
``gpt-4.1-mini``), nothing else: ``gpt-4o-2024-05-13`` has its own (higher) entry, and ``o3-pro`` or
``gpt-4o-audio-preview`` are never priced as ``o3`` or ``gpt-4o``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from .models import DATE_SUFFIX, capabilities
from .tokens import counts_are_exact


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens."""

    model: str
    input: float
    cached_input: float
    output: float

    def discounted(self, factor: float) -> Price:
        """The same model at ``factor`` of every price (Batch API and flex: :data:`BATCH_DISCOUNT`)."""
        return Price(self.model, self.input * factor, self.cached_input * factor, self.output * factor)

    def cost(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> float:
        cached = min(max(cached_tokens, 0), prompt_tokens)
        return (
            (prompt_tokens - cached) * self.input
            + cached * self.cached_input
            + completion_tokens * self.output
        ) / 1_000_000


#: Batch API and flex processing bill every token at half the standard price (OpenAI's pricing page: "Batch"
#: and "Flex" columns; the Batch API guide: "50% cost discount compared to synchronous APIs").
BATCH_DISCOUNT = 0.5
TIER_LABELS = {"batch": "Batch API", "flex": "flex tier"}


@lru_cache(maxsize=1)
def price_table() -> dict[str, Any]:
    """The raw table: ``source``, ``as_of``, ``models`` and ``alternatives``."""
    text = resources.files("sheets_ai").joinpath("data/pricing.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def known_models() -> list[str]:
    return list(price_table()["models"])


def price_for(model: str) -> Price | None:
    """The price of ``model``: its own entry, else (a dated snapshot only) its base name's; None if neither."""
    models: dict[str, dict[str, float | None]] = price_table()["models"]
    name = model.strip().lower()
    if name not in models:
        dated = DATE_SUFFIX.match(name)
        if dated is None or dated.group("base") not in models:
            return None
        name = dated.group("base")
    entry = models[name]
    inp, out, cached = entry["input"], entry["output"], entry.get("cached_input")
    assert inp is not None and out is not None, f"pricing.json: {name} needs input and output prices"
    return Price(name, float(inp), float(inp if cached is None else cached), float(out))


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> float | None:
    """The cost of a request, or None when the model is not in the table."""
    price = price_for(model)
    return None if price is None else price.cost(prompt_tokens, completion_tokens, cached_tokens)


def alternatives(model: str) -> list[str]:
    """A few other models worth comparing with ``model`` (never ``model`` itself)."""
    chosen = price_for(model)
    names: list[str] = list(price_table()["alternatives"])
    return [m for m in names if chosen is None or m != chosen.model]


def source_line() -> str:
    table = price_table()
    return f"prices as of {table['as_of']} from {table['source']}"


def as_of() -> str:
    """The date of the price table."""
    return str(price_table()["as_of"])


def cost_by_model(model: str, prompt_tokens: int, completion_tokens: int) -> dict[str, float | None]:
    """The same token counts priced for ``model`` and its alternatives (None: no price known)."""
    names = [model, *alternatives(model)]
    return {
        m: (None if (c := cost_usd(m, prompt_tokens, completion_tokens)) is None else round(c, 6))
        for m in names
    }


def estimate_lines(
    model: str,
    rows: int,
    requests: int,
    prompt_tokens: int,
    completion_tokens: int,
    *,
    reasoning_effort: str | None = None,
    max_cost: float | None = None,
    tier: str | None = None,
) -> list[str]:
    """The human block ``sheets-ai estimate`` prints: counts, then the cost on this and other models.

    ``reasoning_effort`` is what the run would send (None: nothing); ``max_cost`` the cost if every request
    used its whole completion cap, the most reasoning tokens could add.
    """
    counting = "exact o200k counts" if counts_are_exact() else "approximate counts: no o200k encoding here"
    lines = [
        f"  estimate: {rows} rows to process in {requests} requests, {prompt_tokens:,} prompt tokens, "
        f"{completion_tokens:,} completion tokens ({counting}; completion expected)",
    ]
    width = max(len(m) for m in [model, *alternatives(model)])
    for name, cost in cost_by_model(model, prompt_tokens, completion_tokens).items():
        shown = "no price in the table" if cost is None else f"${cost:.4f}"
        mark = "  <- chosen (--model)" if name == model else ""
        lines.append(f"    {name:<{width}}  {shown}{mark}")
    if tier in TIER_LABELS and (cost := cost_usd(model, prompt_tokens, completion_tokens)) is not None:
        lines.append(
            f"  {model} at {TIER_LABELS[tier]} prices (half of standard): ${cost * BATCH_DISCOUNT:.4f} "
            f"instead of ${cost:.4f}"
        )
    caps = capabilities(model)
    if caps.spends_reasoning_tokens(reasoning_effort):
        effort = caps.effective_effort(reasoning_effort)
        worst = (
            f"; if every request used its whole completion cap: at most ${max_cost:.4f}" if max_cost else ""
        )
        lines.append(
            f"  {model} is a reasoning model (reasoning_effort {effort}): this figure cannot include the "
            "reasoning tokens"
        )
        lines.append(f"  it will spend (billed as output){worst}")
        lines.append(f"  ({source_line()})")
    elif caps.known:
        lines.append(f"  ({source_line()})")
    else:
        lines.append(
            f"  ({source_line()}; if {model} is a reasoning model, its reasoning tokens come on top)"
        )
    return lines
