"""Stand-ins for OpenAI-compatible servers that do not honour ``response_format`` (``FakeOpenAI(compat=…)``).

Each mode imitates a behaviour seen in the field, so the client's handling can be tested end to end:

* ``fenced`` — the answer is right but wrapped in a Markdown code fence (```` ```json … ``` ````), as many
  local models do when a server passes the schema on as a hint only (older Ollama, LM Studio).
* ``freetext`` — the schema and JSON mode are ignored: one ``<id>. <answer>`` line per row (``1. positive``).
* ``no-json-schema`` — ``response_format`` of type ``json_schema`` is refused with HTTP 400 in the shape of
  vLLM before 0.5.5 (its request model only knew ``text`` and ``json_object``: a pydantic literal error in
  vLLM's ``{"object": "error", …}`` body); ``json_object`` works.
* ``no-json-object`` — ``{"type": "json_object"}`` is refused with HTTP 400 in LM Studio's shape
  (``{"error": "'response_format.type' must be 'json_schema' or 'text'"}``). With ``no-json-schema`` as well
  (``compat="no-json-schema,no-json-object"``) the server takes neither JSON format: a text-only server.

``usage=False`` (no ``usage`` in answers) is a separate option of the server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._openai_protocol import render_numbered
from ._openai_wire import Reply

COMPAT_MODES = ("fenced", "freetext", "no-json-schema", "no-json-object")


def compat_modes(value: str | Iterable[str] | None) -> frozenset[str]:
    """``"fenced"``, ``"fenced,no-json-schema"`` or an iterable of names; unknown names are an error."""
    if value is None:
        return frozenset()
    names = value.split(",") if isinstance(value, str) else list(value)
    modes = frozenset(n.strip() for n in names if n.strip())
    unknown = sorted(modes - set(COMPAT_MODES))
    if unknown:
        raise ValueError(f"Unknown compat mode(s) {', '.join(unknown)}; known: {', '.join(COMPAT_MODES)}")
    return modes


def refusal(modes: frozenset[str], body: Mapping[str, Any]) -> Reply | None:
    """The 400 a server sends for a ``response_format`` it does not know (older vLLM, LM Studio)."""
    fmt = body.get("response_format")
    kind = fmt.get("type") if isinstance(fmt, Mapping) else None
    if kind == "json_object" and "no-json-object" in modes:
        return Reply(400, {"error": "'response_format.type' must be 'json_schema' or 'text'"})
    if kind != "json_schema" or "no-json-schema" not in modes:
        return None
    detail = (
        "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': \"Input should be "
        "'text' or 'json_object'\", 'input': 'json_schema', 'ctx': {'expected': \"'text' or 'json_object'\"}}]"
    )
    return Reply(
        400, {"object": "error", "message": detail, "type": "BadRequestError", "param": None, "code": 400}
    )


def dress(modes: frozenset[str], content: str, pairs: Sequence[tuple[str, str]]) -> str:
    """The answer as the stand-in server sends it: numbered free text, or JSON in a code fence."""
    if "freetext" in modes:
        return render_numbered(pairs)
    if "fenced" in modes:
        return f"```json\n{content}\n```"
    return content
