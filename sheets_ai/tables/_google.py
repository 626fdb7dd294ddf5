"""Google Sheets plumbing: credentials, an endpoint override for the emulator, and one bounded retry layer.

gspread's own ``BackOffHTTPClient`` retries without end; ours (tenacity) retries 429 and 5xx a bounded number
of times and seconds, honouring ``Retry-After``, then stops with a message that says what happened.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import gspread
import requests
from google.auth.exceptions import RefreshError, TransportError
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient
from tenacity import RetryCallState, Retrying

from ..errors import ProviderError, SourceError, UsageError

log = logging.getLogger("sheets_ai")

#: Least privilege: read and write spreadsheets, nothing in Drive.
SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
ENDPOINT_ENV = "SHEETS_AI_SHEETS_ENDPOINT"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
GOOGLE_ORIGIN = "https://sheets.googleapis.com"
RETRY_STATUSES = {429, 500, 502, 503, 504}
SAVED_HINT = "Rows written before this stop are kept; run the same command again to finish the rest."


class SheetsRetriesExhaustedError(ProviderError):
    """The Sheets API kept answering 429/5xx."""

    exit_code = 1


class NoGoogleCredentialsError(SourceError):
    """Neither --credentials, GOOGLE_APPLICATION_CREDENTIALS nor Application Default Credentials exist."""


class SheetsUnreachableError(SourceError):
    """The Sheets API (or the emulator at SHEETS_AI_SHEETS_ENDPOINT) could not be reached."""

    def __init__(self, message: str, *, where: str) -> None:
        super().__init__(message)
        self.where = where


class SpreadsheetNotFoundError(SourceError):
    """The Sheets API has no spreadsheet with this id (404)."""


def _retry_after(response: requests.Response | None, attempt: int, *, quota: bool = False) -> float:
    """Seconds to wait: the server's ``Retry-After`` when given, else exponential backoff.

    The real API sends no ``Retry-After`` with a 429; its quotas are per minute, so 429 waits grow to 60 s
    (1, 2, 4 … 32, 60) while 5xx waits stay short (0.5, 1, 2 … 30).
    """
    if response is not None:
        value = response.headers.get("Retry-After")
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                pass
    if quota:
        return min(60.0, 2.0**attempt) + random.uniform(0, 0.25)
    return min(30.0, 0.5 * (2**attempt))


class _RetryPolicy:
    """One bounded retry layer (tenacity): 429 and 5xx, honouring Retry-After.

    429s are bounded by time only (a per-minute quota frees up within a minute); 5xx and connection errors
    also by ``attempts``. Every wait is counted against ``max_seconds`` before it is slept.

    The wait after a failed try is worked out once, from that try's own answer, and both ``wait`` and
    ``stop`` read it: tenacity < 8.3 calls ``stop`` before ``wait``, later versions ``wait`` before
    ``stop``, so neither may depend on the other having run.
    """

    def __init__(self, attempts: int, max_seconds: float, idempotent: bool) -> None:
        self.attempts, self.max_seconds, self.idempotent = attempts, max_seconds, idempotent
        self.started = time.monotonic()
        self._waits: dict[int, float] = {}  # attempt number -> the wait after it failed

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def retry(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, APIError):
            return exc.code == 429 or (exc.code in RETRY_STATUSES and self.idempotent)
        return isinstance(exc, requests.ConnectionError | requests.Timeout) and self.idempotent

    def _wait_after(self, state: RetryCallState) -> float:
        """The wait after try ``state.attempt_number`` failed: its Retry-After, else the backoff step."""
        attempt = state.attempt_number
        if attempt not in self._waits:
            exc = state.outcome.exception() if state.outcome else None
            response = exc.response if isinstance(exc, APIError) else None
            self._waits[attempt] = _retry_after(response, attempt - 1, quota=_is_quota(exc))
        return self._waits[attempt]

    def stop(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if not _is_quota(exc) and state.attempt_number >= self.attempts:
            return True
        return self.elapsed() + self._wait_after(state) > self.max_seconds

    def wait(self, state: RetryCallState) -> float:
        return self._wait_after(state)

    def before_sleep(self, state: RetryCallState) -> None:
        """Log a retry only once tenacity has decided to make it."""
        exc = state.outcome.exception() if state.outcome else None
        what = f"{exc.code} {_short(exc)}" if isinstance(exc, APIError) else type(exc).__name__
        log.info(
            "Google Sheets busy (%s); retrying in %.1fs (attempt %d)",
            what,
            self._wait_after(state),
            state.attempt_number + 1,
        )


def _tries(count: int) -> str:
    return "1 try" if count == 1 else f"{count} tries"


def _is_quota(exc: BaseException | None) -> bool:
    return isinstance(exc, APIError) and exc.code == 429


def make_http_client(
    endpoint: str | None,
    *,
    attempts: int,
    max_seconds: float,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
) -> type[HTTPClient]:
    """An HTTPClient class with our retry layer, sending requests to ``endpoint`` when one is set.

    ``sleep`` is what waits between tries (tenacity's ``sleep`` hook): tests pass ``list.append`` to see
    the waits without sleeping them.
    """
    target = endpoint.rstrip("/") if endpoint else None

    class SheetsHTTPClient(HTTPClient):
        def __init__(self, auth: Any, session: Any = None) -> None:
            super().__init__(auth, session)
            self.timeout = timeout

        def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> requests.Response:
            if target and endpoint.startswith(GOOGLE_ORIGIN):
                endpoint = target + endpoint[len(GOOGLE_ORIGIN) :]
            # An append that failed with a 5xx or timed out may have been applied: retrying could add the
            # row twice. A 429 was refused before anything happened, so that one is retried.
            idempotent = not (method.lower() == "post" and ":append" in endpoint)
            policy = _RetryPolicy(attempts, max_seconds, idempotent)
            retrying = Retrying(
                retry=policy.retry,
                stop=policy.stop,
                wait=policy.wait,
                before_sleep=policy.before_sleep,
                sleep=sleep,
                reraise=True,
            )
            try:
                for attempt in retrying:
                    with attempt:
                        return super().request(method, endpoint, *args, **kwargs)
            except APIError as exc:
                if exc.code not in RETRY_STATUSES:
                    raise
                tries = _tries(retrying.statistics.get("attempt_number", 1))
                raise SheetsRetriesExhaustedError(
                    f"Google Sheets kept answering {exc.code} ({_short(exc)}) after {tries}. {SAVED_HINT}"
                ) from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                tries = _tries(retrying.statistics.get("attempt_number", 1))
                raise SheetsUnreachableError(
                    f"Cannot reach Google Sheets at {target or GOOGLE_ORIGIN} ({type(exc).__name__}) "
                    f"after {tries}. Check the network, then run again. {SAVED_HINT}",
                    where=target or GOOGLE_ORIGIN,
                ) from None
            except RefreshError as exc:
                raise SourceError(
                    f"Google did not issue an access token for these credentials ({_first_line(exc)}). "
                    "Check that the key is current (not deleted) or run "
                    "`gcloud auth application-default login` again."
                ) from None
            except TransportError as exc:
                raise SourceError(
                    f"Cannot reach Google's token service ({_first_line(exc)}). Check the network."
                ) from None
            raise AssertionError("unreachable")  # pragma: no cover

    return SheetsHTTPClient


def _short(exc: APIError) -> str:
    return str(exc.error.get("status") or exc.error.get("message") or exc.code)


def _first_line(exc: Exception) -> str:
    """The first line of an auth error, without the token server's full response body."""
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    return text.splitlines()[0][:200] if text else type(exc).__name__


def load_credentials(path: Path | None) -> tuple[Any, str | None]:
    """Credentials for the Sheets API and the service account email (for 403 messages), if known.

    Order: the emulator endpoint (anonymous) > ``--credentials`` > GOOGLE_APPLICATION_CREDENTIALS > ADC.
    """
    if os.environ.get(ENDPOINT_ENV) and path is None:
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials(), None
    if path is None and os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        path = Path(os.environ["GOOGLE_APPLICATION_CREDENTIALS"])
    if path is not None:
        return _from_file(path)
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        creds, _project = google.auth.default(scopes=SCOPES)
    except DefaultCredentialsError:
        raise NoGoogleCredentialsError(
            "No Google credentials found. Pass --credentials KEY.json (a service-account key), set "
            "GOOGLE_APPLICATION_CREDENTIALS, or run `gcloud auth application-default login`."
        ) from None
    return creds, getattr(creds, "service_account_email", None)


def _from_file(path: Path) -> tuple[Any, str | None]:
    where = f"Credentials file {str(path)!r}"
    if not path.is_file():
        raise SourceError(f"{where} not found. Check --credentials or GOOGLE_APPLICATION_CREDENTIALS.")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SourceError(
            f"{where} is not JSON. Download a service-account key (JSON) from the Cloud console."
        ) from None
    if not isinstance(info, dict):
        raise SourceError(f"{where} is not a service-account key (expected a JSON object).")
    kind = info.get("type")
    if kind == "service_account":
        missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
        if missing:
            raise SourceError(
                f"{where} is missing {', '.join(missing)}; download a new key for the service account."
            )
        from google.oauth2 import service_account

        try:
            creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
        except (ValueError, TypeError) as exc:
            raise SourceError(
                f"{where} has an invalid private key ({type(exc).__name__}); download a new key."
            ) from None
        return creds, info["client_email"]
    if kind == "authorized_user":
        from google.oauth2.credentials import Credentials as UserCredentials

        return UserCredentials.from_authorized_user_info(info, scopes=SCOPES), None
    raise SourceError(
        f'{where} has type {kind!r}; expected a service-account key ("type": "service_account").'
    )


def make_client(
    path: Path | None, *, attempts: int, max_seconds: float, timeout: float
) -> tuple[gspread.Client, str | None]:
    endpoint = os.environ.get(ENDPOINT_ENV)
    explicit = path or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if endpoint and explicit and urlparse(endpoint).hostname not in LOOPBACK_HOSTS:
        raise UsageError(
            f"{ENDPOINT_ENV} points at {urlparse(endpoint).hostname}, which is not this machine: refusing to "
            "send Google credentials there. Unset it to use Google, or point it at a local emulator."
        )
    creds, email = load_credentials(path)
    http = make_http_client(endpoint, attempts=attempts, max_seconds=max_seconds, timeout=timeout)
    return gspread.Client(creds, http_client=http), email
