"""Token log-probabilities for the fake OpenAI server, shaped as Chat Completions returns them.

With ``"logprobs": true`` the real API adds to ``choices[0]``::

    "logprobs": {"content": [{"token": "p", "logprob": -0.13, "bytes": [112],
                              "top_logprobs": [{"token": "p", "logprob": -0.13, "bytes": [112]}, …]}, …],
                 "refusal": null}

one entry per output token (o200k tokens of the answer, here from the server's own tokenizer); ``top_logprobs``
holds ``top_logprobs`` alternatives (0–20, empty when not asked for), most likely first, the chosen token among
them. A token that is not whole UTF-8 is shown as ``bytes:\\xe3\\x81`` with its raw ``bytes``. A refusal
fills ``refusal`` instead of ``content``. Without ``logprobs`` the field is ``null``.

The values are deterministic. In a label answer (``{"a":"1p2n3u"}``) each code token carries the certainty the
answer rules give that row (:func:`._openai_answers.certainty`), its alternatives the other codes sharing the
rest; every other token (braces, the key, ids) is near-certain (-1e-6). In a text answer each token gets a
small logprob derived from a hash of the token and its position. Nothing here is read from the client.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from . import _openai_tokens as tokens

#: The logprob of a token the answer's structure forces (JSON punctuation, the key, an id).
FORCED = -1e-6
#: How the probability left over by a code is shared among the other codes, most likely first.
SHARES = (0.6, 0.25, 0.1, 0.05)
_FILLERS = (
    " ",
    "\n",
    "\t",
    ".",
    ",",
    ":",
    ";",
    "!",
    "?",
    "-",
    "_",
    "(",
    ")",
    "[",
    "]",
    "'",
    "*",
    "#",
    "/",
    "|",
)
_LABEL_VALUE = re.compile(r'"a"\s*:\s*"([^"]*)"')
_ID_CODE = re.compile(r"([0-9]+)([A-Za-z]+)")


def _shown(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "bytes:" + "".join(f"\\x{b:02x}" for b in raw)


def _entry(raw: bytes, logprob: float) -> dict[str, Any]:
    return {"token": _shown(raw), "logprob": logprob, "bytes": list(raw)}


def _split(content: str) -> list[tuple[bytes, int, int]]:
    """(token bytes, start, end) with byte offsets into ``content.encode()``."""
    enc = tokens.encoding()
    out, pos = [], 0
    for token in enc.encode_ordinary(content):
        raw = enc.decode_single_token_bytes(token)
        out.append((raw, pos, pos + len(raw)))
        pos += len(raw)
    return out


def _code_spans(content: str, certainty: Mapping[str, float]) -> list[tuple[int, int, float, str]]:
    """(byte start, byte end, certainty, code) of every code in a label answer's ``"a"`` value."""
    match = _LABEL_VALUE.search(content)
    if match is None:
        return []
    spans = []
    base = match.start(1)
    for m in _ID_CODE.finditer(match.group(1)):
        start = len(content[: base + m.start(2)].encode())
        end = len(content[: base + m.end(2)].encode())
        spans.append((start, end, certainty.get(str(int(m.group(1))), 0.5), m.group(2)))
    return spans


def _text_logprob(raw: bytes, index: int) -> float:
    digest = hashlib.sha256(raw + index.to_bytes(4, "big")).digest()
    return -round(0.3 * digest[0] / 255, 6)


def _alternatives(
    chosen: bytes, logprob: float, others: Sequence[tuple[bytes, float]], top: int
) -> list[dict[str, Any]]:
    if top <= 0:
        return []
    listed = [(chosen, logprob)]
    for raw, lp in others:
        if raw != chosen and all(raw != r for r, _ in listed):
            listed.append((raw, lp))
    k = 0
    while len(listed) < top and k < len(_FILLERS):
        raw = _FILLERS[k].encode()
        if all(raw != r for r, _ in listed):
            listed.append((raw, -20.0 - len(listed)))
        k += 1
    listed.sort(key=lambda pair: -pair[1])
    return [_entry(raw, lp) for raw, lp in listed[:top]]


def content_logprobs(
    content: str, *, codes: Sequence[str], certainty: Mapping[str, float], top: int
) -> list[dict[str, Any]]:
    """The ``logprobs.content`` list for an answer. ``codes``: the request's label codes (empty for text
    answers); ``certainty``: id -> probability of that row's code."""
    spans = _code_spans(content, certainty) if codes else []
    entries = []
    for index, (raw, start, end) in enumerate(_split(content)):
        covering = [s for s in spans if s[0] < end and start < s[1]]
        if covering:
            _, _, p, code = covering[0]
            pieces = len(_split(code)) or 1
            lp = math.log(max(p, 1e-9)) / pieces
            rest = [c for c in codes if c != code]
            others = [
                (c.encode(), math.log(max((1 - p) * share, 1e-12)))
                for c, share in zip(rest, SHARES, strict=False)
            ]
        elif codes:
            lp, others = FORCED, []
        else:
            lp, others = _text_logprob(raw, index), []
        entry = _entry(raw, lp)
        entry["top_logprobs"] = _alternatives(raw, lp, others, top)
        entries.append(entry)
    return entries


def logprobs_field(
    body: Mapping[str, Any],
    content: str | None,
    refusal: str | None,
    *,
    codes: Sequence[str],
    certainty: Mapping[str, float],
) -> dict[str, Any] | None:
    """``choices[0].logprobs`` for this request: None unless it asked for ``logprobs``."""
    if not body.get("logprobs"):
        return None
    top = int(body.get("top_logprobs") or 0)
    if refusal:
        return {"content": None, "refusal": content_logprobs(refusal, codes=(), certainty={}, top=top)}
    return {
        "content": content_logprobs(content or "", codes=codes, certainty=certainty, top=top),
        "refusal": None,
    }
