"""Answer formats for OpenAI-compatible servers: JSON schema first, JSON mode when the server cannot.

sheets-ai asks for ``response_format: json_schema`` (strict structured outputs). Some compatible servers
refuse it with a 400 (older vLLM), others ignore it and answer in free text or in a Markdown fence (older
Ollama, LM Studio, small local models). Fences and text around the JSON are read leniently by
:func:`sheets_ai.prompts.parse_answer`; for the rest this module keeps one run-wide, thread-safe state:

* ``json_schema`` until the server refuses it (HTTP 400/422 about ``response_format``/``json_schema``) or
  an answer comes back that holds no JSON object before any answer in that mode could be read: then, once
  per run, ``json_object`` (JSON mode) with the schema stated in the prompt, and one notice naming the
  server. The request that showed the problem is sent again in the new mode.
* in ``json_object`` mode the same evidence (a refusal, or no JSON before any answer could be read) stops
  the run with one line that names the server and what it does not support.

Once an answer in the current mode has been read, a later unreadable answer is an ordinary bad answer:
the pipeline re-asks its rows (and its circuit breaker stops a run whose requests keep failing alike).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..errors import ProviderError
from ..prompts import schema_message
from ..redact import safe_url

log = logging.getLogger("sheets_ai")

JSON_SCHEMA, JSON_OBJECT = "json_schema", "json_object"
_FORMAT_WORDS = ("response_format", "json_schema", "json_object")


class FormatRefusedError(ProviderError):
    """The server refused the request's ``response_format`` (HTTP 400/422)."""


def about_response_format(status: int, param: str | None, message: str) -> bool:
    """Whether an HTTP error refuses the answer format (rather than the rows, the key or the model)."""
    if status not in (400, 422):
        return False
    if param and param.startswith("response_format"):
        return True
    text = message.lower()
    return any(word in text for word in _FORMAT_WORDS)


class AnswerFormat:
    """The run's answer format, switched at most once from json_schema to json_object."""

    def __init__(self, base_url: str, notices: list[str] | None) -> None:
        self.server = safe_url(base_url)
        self.mode = JSON_SCHEMA
        self._read: set[str] = set()  # modes in which at least one answer held a JSON object
        self._notices = notices
        self._lock = threading.Lock()

    def apply(self, params: dict[str, Any]) -> str:
        """Adapt fresh request parameters to the current mode; return the mode they were built for."""
        with self._lock:
            mode = self.mode
        if mode == JSON_OBJECT:
            fmt = params["response_format"]
            params["messages"].insert(1, schema_message(fmt))
            params["response_format"] = {"type": "json_object"}
        return mode

    def answer_read(self, mode: str) -> None:
        with self._lock:
            self._read.add(mode)

    def refused(self, mode: str, detail: str) -> None:
        """The server refused ``mode`` with a 400: switch (the caller sends again) or stop the run."""
        self._fail(mode, f"refused response_format {mode} (HTTP 400: {detail[:160]})", refused=True)

    def unreadable(self, mode: str, content: str) -> bool:
        """An answer in ``mode`` held no JSON object. True: send the request again (the mode changed)."""
        with self._lock:
            if mode in self._read:
                return False  # the mode works: an ordinary bad answer, re-asked by the pipeline
        sample = " ".join(content.split())[:40]
        self._fail(
            mode, f"ignored response_format {mode} (an answer was not JSON: {sample!r})", refused=False
        )
        return True

    def _fail(self, mode: str, reason: str, *, refused: bool) -> None:
        with self._lock:
            if mode == JSON_SCHEMA and self.mode == JSON_SCHEMA:
                self.mode = JSON_OBJECT
                notice = (
                    f"The server at {self.server} {reason}; sheets-ai asks for JSON mode (response_format "
                    "json_object) with the answer's schema in the prompt for the rest of this run."
                )
                log.warning("%s", notice)
                if self._notices is not None:
                    self._notices.append(notice)
                return
            if mode == JSON_SCHEMA:
                return  # another request switched already: the caller sends again in json_object mode
        what = "supports neither" if refused else "does not follow"
        raise ProviderError(
            f"The server at {self.server} {what} JSON answer formats (json_schema or json_object): it {reason}. "
            "sheets-ai needs one of them. Use a model/server that supports structured outputs."
        )
