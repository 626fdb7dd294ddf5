"""Keep secrets out of everything sheets-ai prints, reports, logs or writes to a shared sheet.

What counts as a secret, and when it is collected:

* the value of every environment variable whose **name** contains ``KEY``, ``TOKEN``, ``SECRET`` or
  ``PASSWORD`` (any case), read from ``os.environ`` each time text is scrubbed, so a variable set after
  start-up counts too. Values shorter than :data:`MIN_SECRET_LENGTH` characters are ignored: they are words
  (``KEYBOARD=us``, ``…_TOKENS=4000``), and masking them everywhere would garble messages;
* values handed to :func:`remember` — ``run()`` remembers the ``api_key`` it was given, the key it sends
  and the secrets inside its base URL, for the life of the process;
* inside any URL found in the text: the user-info (``user:password@``) and the value of every query
  parameter whose name looks secret (``api-key``, ``token``, ``sig``, ``password`` …).

Each is replaced by ``***`` (also in its percent-encoded form). :func:`safe_url` is how a URL is *shown*:
scheme, host, port and path; no user-info, no query, no fragment.

Where it is applied: the CLI's error line, summary and ``--json`` report, every log record of the
``sheets_ai`` logger (:class:`SecretFilter`), the report and exception ``run()`` hands back, the
``--log-sheet`` row, and provider error messages.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import TypeVar
from urllib.parse import quote, quote_plus, unquote

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "Redactor",
    "SecretFilter",
    "environment_secrets",
    "install_log_filter",
    "redact_exception",
    "remember",
    "remember_url",
    "safe_url",
    "scrub",
    "scrub_data",
    "url_secrets",
]

MASK = "***"
MIN_SECRET_LENGTH = 8
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD", re.IGNORECASE)
#: Query parameters whose values are credentials (``?api-key=``, ``?token=``, Azure SAS ``sig=`` …).
SECRET_PARAM = re.compile(r"key|token|secret|sig|passw|pwd|auth|credential|session", re.IGNORECASE)
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s<>\"'`]+")
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)[^/\s]*@")
#: Variables whose name looks secret but whose value is not: the *name* of a Secret Manager secret and the
#: emulator's address. Error messages must be able to say which secret failed.
NOT_SECRET = frozenset({"SHEETS_AI_OPENAI_API_KEY_SECRET", "SHEETS_AI_SECRETMANAGER_ENDPOINT"})
_QUERY_PAIR = re.compile(r"([?&;])([^=&;#\s]+)=([^&;#\s]*)")

_remembered: set[str] = set()
_lock = threading.Lock()
T = TypeVar("T")


# ------------------------------------------------------------------------------------ URLs
def _split(url: str) -> tuple[str, str, str]:
    """(scheme + '://', authority, path) of ``url`` with query and fragment cut; no parsing errors."""
    text = str(url).strip()
    prefix = ""
    if "://" in text:
        scheme, text = text.split("://", 1)
        prefix = scheme + "://"
    # The authority ends at the first "/"; its user-info at the last "@" before that "/", so a sloppy
    # password holding "?" or "#" is never mistaken for the host.
    slash = text.find("/")
    authority, path = (text, "") if slash < 0 else (text[:slash], text[slash:])
    after_at = authority.rpartition("@")[2]
    host = re.split(r"[?#]", after_at, maxsplit=1)[0]
    if host != after_at:  # the query began inside the authority: that "/" belonged to the query
        path = ""
    path = re.split(r"[?#]", path, maxsplit=1)[0]
    if "@" in path:  # a password holding "/": the path may carry the rest of it
        path = ""
    return prefix, host, path


def safe_url(url: str) -> str:
    """``url`` as it may be shown: scheme, host, port and path; user-info, query and fragment dropped."""
    prefix, host, path = _split(url)
    name, colon, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
    if colon and not port.isdigit():  # "user:pass" with the "@" lost: never show the part after ":"
        host = f"{name}:{MASK}"
    return f"{prefix}{host}{path}"


def url_secrets(url: str) -> list[str]:
    """The credentials inside a URL: the user-info's password (or lone user name) and secret query values."""
    found: list[str] = []
    text = str(url).strip()
    rest = text.split("://", 1)[1] if "://" in text else text
    slash = rest.find("/")
    authority = rest if slash < 0 else rest[:slash]
    if "@" in authority:
        userinfo = authority.rpartition("@")[0]
        user, _, password = userinfo.partition(":")
        found.extend(unquote(p) for p in (password or user, userinfo) if p)
    for _, name, value in _QUERY_PAIR.findall(text):
        if SECRET_PARAM.search(unquote(name)) and value:
            found.append(unquote(value))
    return found


def _scrub_url(match: re.Match[str]) -> str:
    url = _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", match.group(0))
    return _QUERY_PAIR.sub(
        lambda m: (
            f"{m.group(1)}{m.group(2)}={MASK}" if SECRET_PARAM.search(unquote(m.group(2))) else m.group(0)
        ),
        url,
    )


# ------------------------------------------------------------------------------------ the secret set
def environment_secrets(environ: Mapping[str, str] | None = None) -> set[str]:
    """Values of the variables whose name contains KEY, TOKEN, SECRET or PASSWORD (long enough to matter)."""
    env = os.environ if environ is None else environ
    return {
        v
        for k, v in env.items()
        if SECRET_NAME.search(k) and k not in NOT_SECRET and len(v.strip()) >= MIN_SECRET_LENGTH
    }


def remember(*secrets: str | None) -> None:
    """Scrub these values from every later message of this process (short and empty values are ignored)."""
    with _lock:
        _remembered.update(s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH)


def remember_url(url: str | None) -> None:
    """Remember the credentials inside a base URL, so they are scrubbed even where they appear alone."""
    if url:
        remember(*url_secrets(url))


class Redactor:
    """Masks a fixed set of secrets, and the credentials inside any URL, in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            secret = secret.strip() if secret else ""
            if len(secret) < MIN_SECRET_LENGTH:
                continue
            forms.update({secret, quote(secret, safe=""), quote_plus(secret, safe="")})
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted(forms, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        if not text:
            return text
        out = _URL.sub(_scrub_url, text) if "://" in text else text
        for secret in self.secrets:
            if secret in out:
                out = out.replace(secret, MASK)
        return out

    def scrub_data(self, data: T) -> T:
        """``data`` with every string inside (dict values and keys, lists, tuples) scrubbed."""
        if isinstance(data, str):
            return self.scrub(data)  # type: ignore[return-value]
        if isinstance(data, dict):
            return {self.scrub_data(k): self.scrub_data(v) for k, v in data.items()}  # type: ignore[return-value]
        if isinstance(data, list):
            return [self.scrub_data(v) for v in data]  # type: ignore[return-value]
        if isinstance(data, tuple):
            return tuple(self.scrub_data(v) for v in data)  # type: ignore[return-value]
        return data


def current() -> Redactor:
    """A redactor for the secrets known now: the environment's and the remembered ones."""
    with _lock:
        remembered = set(_remembered)
    return Redactor(environment_secrets() | remembered)


def scrub(text: str) -> str:
    """``text`` with every known secret and every credential inside a URL replaced by ``***``."""
    return current().scrub(text)


def scrub_data(data: T) -> T:
    """:func:`scrub` applied to every string inside ``data``."""
    return current().scrub_data(data)


def redact_exception(exc: BaseException) -> BaseException:
    """Scrub an exception's message in place (``str(exc)`` and ``exc.args``); returns it."""
    redactor = current()
    message = getattr(exc, "message", None)
    if isinstance(message, str):
        exc.message = redactor.scrub(message)  # type: ignore[attr-defined]
    exc.args = tuple(redactor.scrub_data(a) for a in exc.args)
    return exc


# ------------------------------------------------------------------------------------ logging
class SecretFilter(logging.Filter):
    """Scrubs every record: the formatted message and any traceback text."""

    def filter(self, record: logging.LogRecord) -> bool:
        redactor = current()
        message = record.getMessage()
        clean = redactor.scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redactor.scrub(record.exc_text)
        return True


def install_log_filter(logger: logging.Logger | logging.Handler | None = None) -> None:
    """Add one :class:`SecretFilter` to ``logger`` (default: the ``sheets_ai`` logger); idempotent."""
    target = logger if logger is not None else logging.getLogger("sheets_ai")
    if not any(isinstance(f, SecretFilter) for f in target.filters):
        target.addFilter(SecretFilter())
