"""The key rule: which API key is sent to which server.

``OPENAI_API_KEY`` (or the ``api_key`` given to ``run()``/``enrich()``) is sent only to

* OpenAI's API (``https://api.openai.com``, or a regional ``https://<region>.api.openai.com``),
* a loopback address (``localhost``, ``127.0.0.0/8``, ``::1``), or
* a base URL the user set: ``--base-url`` / a keyword argument, ``SHEETS_AI_BASE_URL`` or ``OPENAI_BASE_URL``.

Where ``OPENAI_API_KEY`` would be sent but is not set, the key stored in the Secret Manager secret that
``SHEETS_AI_OPENAI_API_KEY_SECRET`` names is sent instead (:mod:`.secret_manager`), under the same rule;
``OPENAI_API_KEY`` wins when both are set.

A base URL that comes from a config file (``./sheets-ai.toml``, loaded automatically from the current folder,
or ``--config``/``SHEETS_AI_CONFIG``) gets a key only from the variable that the *same file* names with
``api_key_env = "MY_SERVER_KEY"``, and that variable may not be ``OPENAI_API_KEY``. Otherwise no key is sent
at all (a server that needs none still works; one that answers 401 gets an error saying why).

``api_key_env`` set anywhere else (flag-less: ``SHEETS_AI_API_KEY_ENV``, or a keyword argument) chooses the
variable for a base URL the user set. A key inside the URL itself (``http://user:KEY@host``,
``?api-key=KEY``) is part of that URL and travels with it; it is never printed (see :mod:`.redact`).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from .config import RunConfig
from .errors import ConfigError
from .redact import remember, remember_url, safe_url

OPENAI_KEY_VARIABLE = "OPENAI_API_KEY"
OPENAI_API_HOST = "api.openai.com"


@dataclass(frozen=True)
class KeyChoice:
    """The key to send to one base URL, and why."""

    key: str | None
    #: Where the key comes from: an environment variable's name, ``"api_key"`` (given to run()/enrich()),
    #: or None when no key is sent.
    variable: str | None
    #: Set when the rule keeps OPENAI_API_KEY from this URL: the sentence that says why and what to do.
    withheld: str | None = None
    #: The config file that named ``variable`` with api_key_env, when one did.
    named_in: str | None = None
    #: The Secret Manager secret version the key was read from (``variable`` is then
    #: SHEETS_AI_OPENAI_API_KEY_SECRET), when OPENAI_API_KEY was not set.
    secret: str | None = None


def _host(url: str) -> str:
    try:
        parts = urlsplit(url if "://" in url else f"//{url}")
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number: no host we trust
        return (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def is_loopback(url: str) -> bool:
    """True for ``localhost`` (and ``*.localhost``), ``127.0.0.0/8`` and ``::1``."""
    host = _host(url)
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def is_openai_host(url: str) -> bool:
    """True for OpenAI's own API over https: api.openai.com or a regional <region>.api.openai.com."""
    if not url.lower().startswith("https://"):
        return False
    host = _host(url)
    return host == OPENAI_API_HOST or host.endswith("." + OPENAI_API_HOST)


def is_plain_http_remote(url: str) -> bool:
    """A base URL whose traffic (key and rows) crosses the network unencrypted."""
    return url.lower().startswith("http://") and not is_loopback(url)


def clear_text_warning(url: str) -> str:
    return (
        f"{safe_url(url)} is not encrypted: the API key and your rows travel in clear text. "
        "Use an https:// base URL unless this network is yours."
    )


def choose_key(config: RunConfig, base_url: str, env: Mapping[str, str] | None = None) -> KeyChoice:
    """The key for ``base_url`` (the effective one: ``config.base_url``, else OPENAI_BASE_URL, else OpenAI's).

    Raises :class:`ConfigError` when a config file names OPENAI_API_KEY as the key for its own server.
    """
    env = os.environ if env is None else env
    origin = config.origin_of("base_url") if config.base_url else None
    if (
        origin is not None
        and origin.kind == "file"
        and not (is_openai_host(base_url) or is_loopback(base_url))
    ):
        named = config.api_key_env
        if named and config.origin_of("api_key_env") == origin:
            if named == OPENAI_KEY_VARIABLE:
                raise ConfigError(
                    f'{origin.where} sets base_url = "{safe_url(base_url)}" and api_key_env = "{named}": a '
                    f"config file cannot send your OpenAI key to a server it names. Pass --base-url (or set "
                    "OPENAI_BASE_URL) if you trust that server, or name another variable with api_key_env."
                )
            return _remembered(KeyChoice(env.get(named) or None, named, named_in=origin.where))
        return KeyChoice(
            None,
            None,
            withheld=(
                f"base_url comes from {origin.where}; {OPENAI_KEY_VARIABLE} is not sent there. Name the "
                f'variable to send with api_key_env = "..." in that file, or pass --base-url'
            ),
        )
    if config.api_key is not None and config.api_key.get_secret_value():
        return _remembered(KeyChoice(config.api_key.get_secret_value(), "api_key"))
    variable = config.api_key_env or OPENAI_KEY_VARIABLE
    origin_of_name = config.origin_of("api_key_env") if config.api_key_env else None
    named_in = origin_of_name.where if origin_of_name is not None else None
    key = env.get(variable) or None
    if key is None and variable == OPENAI_KEY_VARIABLE and not config.dry_run:
        # Where OPENAI_API_KEY would go and it is not set: the key in Secret Manager, if a secret is named
        # (a dry run sends nothing, so it reads no secret either).
        from .secret_manager import SECRET_ENV, openai_key_from_secret

        key = openai_key_from_secret(env)
        if key is not None:
            return _remembered(KeyChoice(key, SECRET_ENV, secret=env[SECRET_ENV].strip()))
    return _remembered(KeyChoice(key, variable, named_in=named_in))


def _remembered(choice: KeyChoice) -> KeyChoice:
    remember(choice.key)  # whatever its variable is called, the key in use is never printed
    return choice


def remember_run_secrets(config: RunConfig, env: Mapping[str, str] | None = None) -> None:
    """At the start of a run: the api_key given and the credentials inside any base URL are secrets."""
    env = os.environ if env is None else env
    if config.api_key is not None:
        remember(config.api_key.get_secret_value())
    remember_url(config.base_url)
    remember_url(env.get("OPENAI_BASE_URL"))


def missing_variable_message(choice: KeyChoice, base_url: str) -> str | None:
    """The error for a variable named by api_key_env that is not set (None for OPENAI_API_KEY's own)."""
    if choice.key or choice.variable in (None, "api_key", OPENAI_KEY_VARIABLE):
        return None
    where = f" (api_key_env in {choice.named_in})" if choice.named_in else " (api_key_env)"
    return (
        f"No API key for {safe_url(base_url)}: {choice.variable}{where} is not set. "
        f"Set it (export {choice.variable}=…) or remove api_key_env."
    )


def split_query(url: str) -> tuple[str, dict[str, str]]:
    """A base URL without its query, and the query as parameters the SDK adds to every request.

    The SDK appends paths to the base URL's raw path, query included (``/v1?api-key=K`` became
    ``/v1/?api-key=Kchat/completions``); as ``default_query`` it lands where it belongs. This is also how
    ``?api-version=`` URLs (Azure) work.
    """
    parts = urlsplit(url)
    if not parts.query:
        return url, {}
    return urlunsplit(parts._replace(query="", fragment="")), dict(
        parse_qsl(parts.query, keep_blank_values=True)
    )


def drop_bearer(request: Any) -> None:
    """httpx request hook: no Bearer token (a user-info URL's own Basic credentials stay)."""
    if request.headers.get("authorization", "").startswith("Bearer "):
        del request.headers["authorization"]
