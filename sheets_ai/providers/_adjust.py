"""A server rejected a parameter we chose: adjust it once, for the rest of the run, and say so once.

OpenAI answers a parameter a model does not take with 400 and a machine-readable ``param`` and ``code``::

    {"error": {"message": "Unsupported value: 'minimal' is not supported with the 'gpt-5.1' model.
               Supported values are: 'none', 'low', 'medium', and 'high'.",
               "type": "invalid_request_error", "param": "reasoning_effort", "code": "unsupported_value"}}
    {"error": {"message": "Unsupported parameter: 'max_tokens' is not supported with this model.
               Use 'max_completion_tokens' instead.", ..., "param": "max_tokens", "code": "unsupported_parameter"}}

For the parameters sheets-ai picks from its model table (``reasoning_effort``, ``temperature``, the token
limit), the request is sent again once: with the nearest supported effort (parsed from the message), under
the name the server asks for, or without the parameter. The change holds for every later request of the run
(shared by all workers) and is logged and added to the report's notices once. A value the user forced
(``--reasoning-effort``) is never changed behind their back: the run stops with what the server supports.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import openai

from ..errors import ProviderError
from ..models import effort_choices, nearest_effort

log = logging.getLogger("sheets_ai")

#: Parameters sheets-ai chooses per model family, and so may adjust.
ADJUSTABLE = ("reasoning_effort", "temperature", "max_tokens", "max_completion_tokens", "logprobs")
TOKEN_PARAMS = ("max_tokens", "max_completion_tokens")
CODES = ("unsupported_value", "unsupported_parameter")
_SUPPORTED = re.compile(r"[Ss]upported values are:?\s*(?P<values>[^.]*)")
_QUOTED = re.compile(r"'([^']+)'")
_INSTEAD = re.compile(r"[Uu]se '(?P<name>[a-z_.]+)' instead")
_NAMED = re.compile(r"Unsupported (?:parameter|value): '(?P<name>[a-z_.]+)'")


class UnsupportedParameterError(ProviderError):
    """A 400 ``unsupported_value`` / ``unsupported_parameter`` for one request parameter."""

    def __init__(
        self, message: str, *, param: str, code: str, supported: list[str], use_instead: str | None
    ) -> None:
        super().__init__(message)
        self.param = param
        self.code = code
        self.supported = supported
        self.use_instead = use_instead


def rejection(exc: openai.APIStatusError, message: str) -> UnsupportedParameterError | None:
    """The parameter a 400 rejects, with what the server supports instead; None for any other error."""
    body: Mapping[str, Any] = exc.body if isinstance(exc.body, dict) else {}
    code = getattr(exc, "code", None) or body.get("code")
    if exc.status_code != 400 or code not in CODES:
        return None
    text = str(body.get("message") or "")
    param = getattr(exc, "param", None) or body.get("param")
    if not param:
        named = _NAMED.search(text)
        param = named.group("name") if named else None
    if not param:
        return None
    supported = []
    if listed := _SUPPORTED.search(text):
        supported = _QUOTED.findall(listed.group("values"))
    instead = _INSTEAD.search(text)
    return UnsupportedParameterError(
        message,
        param=str(param).replace("reasoning.effort", "reasoning_effort"),
        code=str(code),
        supported=supported,
        use_instead=instead.group("name") if instead else None,
    )


@dataclass(frozen=True)
class Change:
    """What to do with one parameter from now on: ``set`` a value, ``rename`` it, or ``drop`` it."""

    action: str
    value: Any = None

    def describe(self, param: str, sent: Any) -> str:
        shown = f"{param} {sent!r}" if param not in TOKEN_PARAMS else param
        if self.action == "set":
            return f"does not accept {shown}; using {self.value!r}"
        if self.action == "rename":
            return f"does not accept {param}; using {self.value} instead"
        return f"does not accept {shown}; sending no {param} (the server's default applies)"


class ParamAdjuster:
    """The run's adjustments, shared by every worker thread."""

    def __init__(self, model: str, *, forced: Collection[str] = (), notices: list[str] | None = None) -> None:
        self.model = model
        self.forced = set(forced)
        self.notices = notices
        self._changes: dict[str, Change] = {}
        self._lock = threading.Lock()

    def apply(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` with every adjustment made so far (a new dict)."""
        with self._lock:
            changes = dict(self._changes)
        out = dict(params)
        for param, change in changes.items():
            if param not in out:
                continue
            value = out.pop(param)
            if change.action == "set":
                out[param] = change.value
            elif change.action == "rename":
                out[change.value] = value
        return out

    def value(self, param: str, default: Any) -> Any:
        """The value ``param`` is sent with now (``default`` unless adjusted; None once dropped)."""
        with self._lock:
            change = self._changes.get(param)
        if change is None:
            return default
        return change.value if change.action == "set" else None

    def renamed(self, param: str) -> str | None:
        with self._lock:
            change = self._changes.get(param)
        return change.value if change is not None and change.action == "rename" else None

    def adjust(self, params: dict[str, Any], rejected: UnsupportedParameterError) -> dict[str, Any]:
        """The parameters to send again, or ``rejected`` raised when there is nothing we may change."""
        param = rejected.param
        if param not in params:
            raise rejected
        sent = params[param]
        if param in self.forced:
            raise self._forced_error(param, sent, rejected)
        if param not in ADJUSTABLE:
            raise rejected
        change = self._decide(param, sent, rejected)
        with self._lock:
            known = self._changes.get(param)
            if known is None:
                self._changes[param] = change
            elif known != change:  # the adjusted value was rejected too: nothing more to try
                raise rejected
        if known is None:
            message = f"{self.model} {change.describe(param, sent)}"
            log.warning("%s", message)
            if self.notices is not None:
                self.notices.append(message)
        adjusted = self.apply(params)
        if adjusted == params:  # another worker's adjustment was this one: it was rejected all the same
            raise rejected
        return adjusted

    @staticmethod
    def _decide(param: str, sent: Any, rejected: UnsupportedParameterError) -> Change:
        if param == "reasoning_effort" and rejected.code == "unsupported_value":
            nearest = nearest_effort(str(sent), rejected.supported)
            return Change("set", nearest) if nearest and nearest != sent else Change("drop")
        if param in TOKEN_PARAMS and rejected.code == "unsupported_parameter":
            other = next(p for p in TOKEN_PARAMS if p != param)
            instead = rejected.use_instead if rejected.use_instead in TOKEN_PARAMS else other
            return Change("rename", instead)
        if param in TOKEN_PARAMS:  # a value (e.g. too large) is not ours to guess
            raise rejected
        return Change("drop")

    def _forced_error(self, param: str, sent: Any, rejected: UnsupportedParameterError) -> ProviderError:
        option = "--" + param.replace("_", "-")
        if rejected.supported:
            takes = f"the server supports {effort_choices(tuple(rejected.supported))}"
        else:
            takes = f"the server says: {rejected.message}"
        return ProviderError(
            f"{self.model} does not accept {option} {sent}: {takes}. "
            f"Run again with one of those, or without {option} to let sheets-ai choose."
        )
