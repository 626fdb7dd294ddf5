"""Prices per model from a dated table (``data/pricing.json``) and the cost of a request from its usage.

Cost counts ``prompt_tokens_details.cached_tokens`` at the cached-input price, the rest of the prompt at the
input price and every completion token (reasoning tokens included, as OpenAI bills them) at the output price.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from .tokens import counts_are_exact


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens."""

    model: str
    input: float
    cached_input: float
    output: float

    def cost(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> float:
        cached = min(max(cached_tokens, 0), prompt_tokens)
        return (
            (prompt_tokens - cached) * self.input
            + cached * self.cached_input
            + completion_tokens * self.output
        ) / 1_000_000


@lru_cache(maxsize=1)
def price_table() -> dict[str, Any]:
    """The raw table: ``source``, ``as_of``, ``models`` and ``alternatives``."""
    text = resources.files("sheets_ai").joinpath("data/pricing.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def known_models() -> list[str]:
    return list(price_table()["models"])


def price_for(model: str) -> Price | None:
    """The price of ``model``; dated snapshots (``gpt-4.1-mini-2025-04-14``) use their base model's price."""
    models: dict[str, dict[str, float]] = price_table()["models"]
    name = model.strip().lower()
    if name not in models:
        candidates = [m for m in models if name.startswith(m + "-")]
        if not candidates:
            return None
        name = max(candidates, key=len)
    entry = models[name]
    return Price(name, float(entry["input"]), float(entry["cached_input"]), float(entry["output"]))


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


def cost_by_model(model: str, prompt_tokens: int, completion_tokens: int) -> dict[str, float | None]:
    """The same token counts priced for ``model`` and its alternatives (None: no price known)."""
    names = [model, *alternatives(model)]
    return {
        m: (None if (c := cost_usd(m, prompt_tokens, completion_tokens)) is None else round(c, 6))
        for m in names
    }


def estimate_lines(
    model: str, rows: int, requests: int, prompt_tokens: int, completion_tokens: int
) -> list[str]:
    """The human block ``sheets-ai estimate`` prints: counts, then the cost on this and other models."""
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
    lines.append(f"  ({source_line()}; reasoning models also bill reasoning tokens)")
    return lines
