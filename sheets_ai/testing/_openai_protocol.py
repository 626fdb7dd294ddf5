"""The server side of sheets-ai's batch protocol, written from the protocol's description, not its code.

The fake server must not share the client's parser: an emulator that reads requests with the client's own
functions can only agree with it. What this module relies on is the wire format as the prompts state it
(docs/openai.md, *The batch protocol*):

* the **system message** holds the task's instructions, an optional ``Question: <text>`` line, the input
  rules, and for label tasks a line ``Label codes: p="positive" n="negative" …`` — each code,
  ``=``, then the label as a JSON string. A summary's limit is stated as ``at most N characters``.
* the **last user message** holds the rows, one per line: ``<id> <text>``, where backslashes and line breaks
  inside a text are escaped (``\\\\``, ``\\n``, ``\\r``, ``\\u2028``, ``\\u2029``, ``\\x85``).
* an earlier user message (a re-ask) starts with one line of explanation, then ``<id>: <reason>`` lines.
* the **answer**: label tasks ``{"a":"1p2n3u"}`` (each id, then its code); text tasks ``{"1":"…","2":"…"}``.
* the **self-reported confidence** variant of a label answer, ``{"a":"1p92n73u8"}`` (each id, its code, then
  one digit 0-9): asked for by the answer line (``…then its code, then one digit 0-9…``) and by the schema's
  pattern (``^([0-9]+[codes][0-9])+$``). Under a strict JSON schema the pattern decides, as constrained
  decoding does on the real API: a model cannot write what the pattern forbids, whatever the prompt says
  (:func:`answers_with_digits`).
* **several tasks in one request**: the system message starts ``Do several tasks for each text``; each task
  has a line ``Task <name>: <instructions>`` (its limit as ``at most N characters``), and where it applies
  ``Task <name> question: <text>`` and ``Task <name> label codes: p="positive" …``. The rows and re-ask
  lines are as above. The answer holds each task under its name: a label task's code string, a text task's
  object of ids, e.g. ``{"sentiment":"1p2n","summarize":{"1":"…","2":"…"}}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._openai_tokens import message_text

SENTIMENT = ("positive", "negative", "neutral", "mixed")
_ESCAPED = {"\\\\": "\\", "\\n": "\n", "\\r": "\r", "\\u2028": "\u2028", "\\u2029": "\u2029", "\\x85": "\x85"}
_ESCAPED_RE = re.compile(r"\\(?:\\|n|r|u2028|u2029|x85)")
_CODES_PREFIX = "Label codes:"
_CODE_PAIR = re.compile(r'([a-z]+)=("(?:[^"\\]|\\.)*")')
_LIMIT = re.compile(r"at most (\d+) characters")
_DIGIT_LINE = re.compile(r"^Answer JSON: each id, then its code, then one digit 0-9", re.MULTILINE)


@dataclass
class BatchRequest:
    """What the server understands of one batch request."""

    task: str  # sentiment, classify, summarize, extract
    labels: list[str] = field(default_factory=list)
    codes: dict[str, str] = field(default_factory=dict)  # label -> code
    max_chars: int | None = None
    question: str | None = None
    items: list[tuple[str, str]] = field(default_factory=list)
    feedback: dict[str, str] = field(default_factory=dict)
    #: The answer line asks for a confidence digit after each code (see :func:`answers_with_digits`).
    asks_digits: bool = False

    @property
    def kind(self) -> str:
        return "labels" if self.codes else "text"


def unescape(text: str) -> str:
    return _ESCAPED_RE.sub(lambda m: _ESCAPED[m.group(0)], text)


def _codes(system: str) -> dict[str, str]:
    """label -> code from the codes line; labels quoted as JSON strings (an older client wrote them bare,
    which only works for one-word labels: read that too, word by word, as a model would have to)."""
    codes: dict[str, str] = {}
    for line in system.split("\n"):
        if not line.startswith(_CODES_PREFIX):
            continue
        pairs = line[len(_CODES_PREFIX) :]
        for code, quoted in _CODE_PAIR.findall(pairs):
            try:
                label = json.loads(quoted)
            except ValueError:
                continue
            if isinstance(label, str):
                codes[label] = code
        if not codes:
            for word in pairs.split():
                code, _, label = word.partition("=")
                codes[unescape(label)] = code
    return codes


def read_request(messages: Sequence[Mapping[str, Any]]) -> BatchRequest:
    """Read a batch request back into its parts (unknown shapes give an empty batch, not an error)."""
    systems = [message_text(m) for m in messages if m.get("role") in ("system", "developer")]
    system = systems[0] if systems else ""
    users = [message_text(m) for m in messages if m.get("role") == "user"]
    items = []
    if users and users[-1]:
        for line in users[-1].split("\n"):
            item_id, _, text = line.partition(" ")
            items.append((item_id, unescape(text)))
    feedback: dict[str, str] = {}
    for block in users[:-1]:
        for line in block.split("\n")[1:]:
            item_id, _, reason = line.partition(": ")
            feedback[item_id] = unescape(reason)
    codes = _codes(system)
    question = next((unescape(x[10:]) for x in system.split("\n") if x.startswith("Question: ")), None)
    limit = _LIMIT.search(system)
    if codes:
        task = "sentiment" if tuple(codes) == SENTIMENT else "classify"
    else:
        task = "extract" if question else "summarize"
    return BatchRequest(
        task=task,
        labels=list(codes),
        codes=codes,
        max_chars=int(limit.group(1)) if limit else None,
        question=question,
        items=items,
        feedback=feedback,
        asks_digits=bool(codes) and _DIGIT_LINE.search(system) is not None,
    )


def _strict_pattern(body: Mapping[str, Any]) -> str | None:
    """The ``pattern`` of the ``"a"`` string in a strict ``json_schema`` response format, if any."""
    fmt = body.get("response_format")
    spec = fmt.get("json_schema") if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema" else None
    if not isinstance(spec, Mapping) or spec.get("strict") is not True:
        return None
    schema = spec.get("schema")
    props = schema.get("properties") if isinstance(schema, Mapping) else None
    a = props.get("a") if isinstance(props, Mapping) else None
    pattern = a.get("pattern") if isinstance(a, Mapping) else None
    return pattern if isinstance(pattern, str) else None


def answers_with_digits(body: Mapping[str, Any], request: BatchRequest) -> bool:
    """Whether this label answer carries a confidence digit after each code: under a strict schema with a
    pattern, whether the pattern takes one (constrained decoding); otherwise what the answer line asks."""
    if request.kind != "labels":
        return False
    pattern = _strict_pattern(body)
    if pattern is None:
        return request.asks_digits
    code = next(iter(request.codes.values()))
    try:
        return re.fullmatch(pattern, f"1{code}5") is not None
    except re.error:  # refused before this by the schema checks
        return False


def render_json(
    request: BatchRequest, pairs: Sequence[tuple[str, str]], digits: Mapping[str, int] | None = None
) -> str:
    """The answer in the protocol's JSON shape; duplicates and gaps pass through as given. ``digits``
    (id -> 0-9): the self-reported confidence variant, each code followed by its row's digit."""
    if request.kind == "labels":
        sure = digits or {}
        body = "".join(f"{i}{request.codes.get(v, v)}{sure.get(i, '')}" for i, v in pairs)
        return json.dumps({"a": body}, separators=(",", ":"))
    inner = ",".join(f"{json.dumps(i)}:{json.dumps(v, ensure_ascii=False)}" for i, v in pairs)
    return "{" + inner + "}"


def render_numbered(pairs: Sequence[tuple[str, str]]) -> str:
    """A model that ignores the answer format: ``1. positive`` lines, labels spelled out."""
    return "\n".join(f"{i}. {v}" for i, v in pairs)


# ------------------------------------------------------------------ several tasks in one request
COMBINED_HEAD = "Do several tasks for each text"
_TASK_LINE = re.compile(r"^Task ([a-z]+)( question| label codes)?: (.*)$")


@dataclass
class CombinedRequest:
    """A request that asks several tasks for the same rows: one BatchRequest per task, in prompt order."""

    parts: list[BatchRequest]
    items: list[tuple[str, str]] = field(default_factory=list)


def read_combined(messages: Sequence[Mapping[str, Any]]) -> CombinedRequest | None:
    """The tasks of a several-task request, or None when the request asks one task."""
    systems = [message_text(m) for m in messages if m.get("role") in ("system", "developer")]
    if not systems or not systems[0].startswith(COMBINED_HEAD):
        return None
    rows = read_request(messages)  # the rows and re-ask lines are read as for one task
    parts: dict[str, BatchRequest] = {}
    for line in systems[0].split("\n"):
        match = _TASK_LINE.match(line)
        if match is None:
            continue
        name, kind, rest = match.groups()
        part = parts.setdefault(name, BatchRequest(task=name, items=rows.items, feedback=rows.feedback))
        if kind is None:
            limit = _LIMIT.search(rest)
            part.max_chars = int(limit.group(1)) if limit else None
        elif kind == " question":
            part.question = unescape(rest)
        else:
            part.codes = _codes(f"{_CODES_PREFIX} {rest}")
            part.labels = list(part.codes)
    return CombinedRequest(parts=list(parts.values()), items=rows.items)


def render_combined(request: CombinedRequest, answers: Mapping[str, Sequence[tuple[str, str]]]) -> str:
    """The answer to a several-task request: each task's answer (as :func:`render_json` shapes it) under its
    name, in compact JSON."""
    pieces = []
    for part in request.parts:
        pairs = answers[part.task]
        if part.kind == "labels":
            value = json.dumps("".join(f"{i}{part.codes.get(v, v)}" for i, v in pairs))
        else:
            value = render_json(part, pairs)
        pieces.append(f"{json.dumps(part.task)}:{value}")
    return "{" + ",".join(pieces) + "}"
