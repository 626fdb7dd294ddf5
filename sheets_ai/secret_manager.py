"""The OpenAI key from Google Secret Manager: ``SHEETS_AI_OPENAI_API_KEY_SECRET``.

``SHEETS_AI_OPENAI_API_KEY_SECRET=projects/P/secrets/S/versions/V`` (``V`` a number or ``latest``; a bare
``projects/P/secrets/S`` means ``latest``) stands in for ``OPENAI_API_KEY`` when that variable is not set:
the key rule (:mod:`sheets_ai.keys`) asks here only where it would have sent ``OPENAI_API_KEY``.

* Read once per process (:func:`openai_key_from_secret` keeps the answer per secret name), with
  ``google-cloud-secret-manager`` over its REST transport and Application Default Credentials
  (``google.auth.default()``: on Cloud Run the job's service account, from the metadata server).
* The payload's CRC32C is checked against ``payload.data_crc32c`` (google-crc32c); the key is the payload
  as UTF-8 text, surrounding whitespace (the newline ``echo`` adds) removed. It is remembered by
  :mod:`sheets_ai.redact`, so it never appears in a message, log line or report.
* ``SHEETS_AI_SECRETMANAGER_ENDPOINT=http://127.0.0.1:PORT`` sends the call to the emulator
  (``sheets_ai.testing.secretmanager_server``); anything but a loopback address is refused.
* Every failure is a :class:`SecretManagerError` (exit code 2) whose one line names the secret and the fix.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError
from .keys import is_loopback

SECRET_ENV = "SHEETS_AI_OPENAI_API_KEY_SECRET"
ENDPOINT_ENV = "SHEETS_AI_SECRETMANAGER_ENDPOINT"
ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
#: Seconds for the whole access call, the client library's own retries of 503/429 included.
TIMEOUT = 30.0

# Project ids: 6-30 of a-z, 0-9, "-" (a legacy one may carry a "domain:" prefix) or a project number;
# secret ids: letters, digits, "-" and "_".
_NAME = re.compile(
    r"^projects/(?P<project>(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]+)/secrets/(?P<secret>[A-Za-z0-9_-]{1,255})"
    r"(?:/versions/(?P<version>latest|[1-9][0-9]*))?$"
)

log = logging.getLogger("sheets_ai")
_cache: dict[str, str] = {}
_lock = threading.Lock()


class SecretManagerError(ConfigError):
    """The OpenAI key could not be read from Secret Manager (``SHEETS_AI_OPENAI_API_KEY_SECRET``)."""


class SecretNameError(SecretManagerError):
    """The variable does not hold a secret version's resource name."""


class SecretNotFoundError(SecretManagerError):
    """No such secret or version (404)."""


class SecretPermissionError(SecretManagerError):
    """The credentials may not read the secret (403)."""


class SecretVersionStateError(SecretManagerError):
    """The version is DISABLED or DESTROYED (400 FAILED_PRECONDITION)."""


class SecretChecksumError(SecretManagerError):
    """The payload does not match its CRC32C: it was damaged on the way."""


class SecretCredentialsError(SecretManagerError):
    """No Application Default Credentials, or Google refused them (401, token refresh failed)."""


class SecretUnreachableError(SecretManagerError):
    """Secret Manager (or the emulator) could not be reached."""


@dataclass(frozen=True)
class SecretName:
    project: str
    secret: str
    version: str

    @property
    def version_name(self) -> str:
        return f"projects/{self.project}/secrets/{self.secret}/versions/{self.version}"

    @property
    def secret_name(self) -> str:
        return f"projects/{self.project}/secrets/{self.secret}"


def parse_secret_name(value: str) -> SecretName:
    """``projects/P/secrets/S/versions/V`` (V a number or ``latest``) or ``projects/P/secrets/S``."""
    text = value.strip()
    match = _NAME.match(text)
    if not match and "/locations/" in text:
        raise SecretNameError(
            f"{SECRET_ENV}={text!r} names a regional secret, which sheets-ai cannot read yet. Use a global "
            "secret (projects/PROJECT/secrets/SECRET/versions/VERSION), or Cloud Run's --set-secrets."
        )
    if not match:
        raise SecretNameError(
            f"{SECRET_ENV}={text!r} is not a secret version name. Use "
            "projects/PROJECT/secrets/SECRET/versions/VERSION (a number or latest), e.g. "
            "projects/my-project/secrets/openai-api-key/versions/latest."
        )
    return SecretName(match["project"], match["secret"], match["version"] or "latest")


def clear_cache() -> None:
    """Forget the keys read so far: the next :func:`openai_key_from_secret` reads Secret Manager again."""
    with _lock:
        _cache.clear()


def openai_key_from_secret(env: Mapping[str, str]) -> str | None:
    """The key in the secret ``SHEETS_AI_OPENAI_API_KEY_SECRET`` names; None when the variable is unset.

    Read once per process and secret name; raises a :class:`SecretManagerError` when it cannot be read.
    """
    value = (env.get(SECRET_ENV) or "").strip()
    if not value:
        return None
    with _lock:  # one read even when several threads ask at once
        if value not in _cache:
            name = parse_secret_name(value)
            _cache[value], resolved = _read(name, env.get(ENDPOINT_ENV))
            log.info("OpenAI key from Secret Manager: %s (version %s).", name.secret_name, resolved)
        return _cache[value]


def _api_endpoint(endpoint: str | None) -> str | None:
    if not endpoint:
        return None
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not is_loopback(endpoint):
        raise SecretManagerError(
            f"{ENDPOINT_ENV}={endpoint!r} is not a loopback URL: it only points sheets-ai at a local "
            f"emulator (http://127.0.0.1:PORT). Unset it to use Google's Secret Manager."
        )
    return endpoint.strip().rstrip("/")


def read_secret(name: SecretName, endpoint: str | None = None) -> str:
    """Access one secret version and return its payload as text (CRC32C checked); see the module doc."""
    return _read(name, endpoint)[0]


def _read(name: SecretName, endpoint: str | None) -> tuple[str, str]:
    """The payload as text, and the number of the version Secret Manager resolved the name to."""
    import google_crc32c
    import requests
    from google.api_core import exceptions as core
    from google.api_core.client_options import ClientOptions
    from google.auth import exceptions as auth_errors
    from google.cloud import secretmanager

    from .redact import remember

    api_endpoint = _api_endpoint(endpoint)
    credentials = _credentials(name)
    options = ClientOptions(api_endpoint=api_endpoint) if api_endpoint else None
    try:
        client = secretmanager.SecretManagerServiceClient(
            credentials=credentials, transport="rest", client_options=options
        )
        response = client.access_secret_version(name=name.version_name, timeout=TIMEOUT)
    except core.GoogleAPICallError as exc:
        raise _api_error(name, exc, credentials) from None
    except (auth_errors.RefreshError, auth_errors.TransportError) as exc:
        raise SecretCredentialsError(
            f"Google issued no access token for reading secret {name.version_name} ({_first_line(exc)}). "
            f"{_adc_fix()}"
        ) from None
    except core.RetryError:
        raise SecretUnreachableError(
            f"Secret Manager kept answering 'unavailable' for secret {name.version_name}. Try again later, "
            "or set OPENAI_API_KEY instead."
        ) from None
    except requests.RequestException as exc:
        where = api_endpoint or "secretmanager.googleapis.com"
        raise SecretUnreachableError(
            f"Cannot reach Secret Manager at {where} to read secret {name.version_name} "
            f"({type(exc).__name__}). Check the network{' and ' + ENDPOINT_ENV if api_endpoint else ''}."
        ) from None
    data = bytes(response.payload.data)
    if response.payload.data_crc32c != google_crc32c.value(data):
        raise SecretChecksumError(
            f"The payload of secret {name.version_name} does not match its CRC32C checksum: it was damaged "
            "on the way. Run again; if it persists, add the key again as a new version."
        )
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise SecretManagerError(
            f"Secret {name.version_name} does not hold text (not UTF-8). Store the OpenAI API key itself: "
            f'printf %s "$KEY" | gcloud secrets versions add {name.secret} --project {name.project} '
            "--data-file=-"
        ) from None
    remember(text)
    if not text:
        raise SecretManagerError(
            f"Secret {name.version_name} is empty. Add the OpenAI API key as a new version: "
            f'printf %s "$KEY" | gcloud secrets versions add {name.secret} --project {name.project} '
            "--data-file=-"
        )
    return text, str(response.name).rpartition("/")[2] or name.version


def _credentials(name: SecretName) -> Any:
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    # Off Google Cloud, google-auth's look for a metadata server logs a warning per try; the error below
    # says it all in one line.
    quiet = logging.getLogger("google.auth.compute_engine._metadata")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        credentials, _project = google.auth.default(scopes=SCOPES)
    except DefaultCredentialsError:
        raise SecretCredentialsError(
            f"No Application Default Credentials to read secret {name.version_name}. {_adc_fix()}"
        ) from None
    finally:
        quiet.setLevel(level)
    return credentials


def _adc_fix() -> str:
    return (
        "On Cloud Run the job's service account is used; elsewhere run `gcloud auth application-default "
        "login` or set GOOGLE_APPLICATION_CREDENTIALS, or set OPENAI_API_KEY instead."
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    return (text.splitlines() or [type(exc).__name__])[0][:200]


def _status(exc: Any) -> str:
    """Google's status string (``NOT_FOUND`` …) from the REST error body, else from the exception."""
    response = getattr(exc, "response", None)
    try:
        status = response.json()["error"]["status"] if response is not None else None
    except Exception:
        status = None
    if isinstance(status, str) and status:
        return status
    code = getattr(exc, "grpc_status_code", None)
    return str(getattr(code, "name", "") or "")


def _who(credentials: Any) -> str:
    email = getattr(credentials, "service_account_email", None)
    if isinstance(email, str) and "@" in email:
        return f"the service account {email}"
    account = getattr(credentials, "account", None)
    if isinstance(account, str) and "@" in account:
        return f"the account {account}"
    return "the account in your Application Default Credentials"


def _member(credentials: Any) -> str:
    email = getattr(credentials, "service_account_email", None)
    if isinstance(email, str) and "@" in email:
        return f"serviceAccount:{email}"
    account = getattr(credentials, "account", None)
    return f"user:{account}" if isinstance(account, str) and "@" in account else "user:YOUR_EMAIL"


def _api_error(name: SecretName, exc: Any, credentials: Any) -> SecretManagerError:
    status, message = _status(exc), str(getattr(exc, "message", "") or exc)
    code = getattr(exc, "code", None)
    where = name.version_name
    if status == "PERMISSION_DENIED" or code == 403:
        if "SERVICE_DISABLED" in message or "has not been used" in message or "is disabled" in message:
            return SecretPermissionError(
                f"The Secret Manager API is not enabled in project {name.project} (reading secret {where}). "
                f"Enable it: gcloud services enable secretmanager.googleapis.com --project {name.project}"
            )
        return SecretPermissionError(
            f"Permission denied reading secret {where}: {_who(credentials)} needs the role {ACCESSOR_ROLE} "
            f"on it (gcloud secrets add-iam-policy-binding {name.secret} --project {name.project} "
            f"--member {_member(credentials)} --role {ACCESSOR_ROLE}); Google answers the same when the "
            "secret does not exist, so check the name too."
        )
    if status == "NOT_FOUND" or code == 404:
        if name.version == "latest":
            return SecretNotFoundError(
                f"Secret {name.secret_name} not found or has no versions. Check the project and secret in "
                f'{SECRET_ENV}, or create it: printf %s "$KEY" | gcloud secrets create {name.secret} '
                f"--project {name.project} --data-file=-"
            )
        return SecretNotFoundError(
            f"Secret version {where} not found. Check {SECRET_ENV} (`gcloud secrets versions list "
            f"{name.secret} --project {name.project}` lists the versions), or use versions/latest."
        )
    if status == "FAILED_PRECONDITION" or "state." in message:
        state = (
            "destroyed" if "DESTROYED" in message else "disabled" if "DISABLED" in message else "not enabled"
        )
        found = re.search(r"/versions/(\d+)\]", message)
        number = found.group(1) if found else name.version
        which = f"version {number} (latest)" if name.version == "latest" else f"version {number}"
        fix = (
            f"enable it (gcloud secrets versions enable {number} --secret {name.secret} --project "
            f"{name.project})"
            if state == "disabled"
            else f"add the key as a new version (gcloud secrets versions add {name.secret} --project "
            f"{name.project} --data-file=-)"
        )
        return SecretVersionStateError(
            f"Secret {name.secret_name} {which} is {state}: {fix}, or point {SECRET_ENV} at an enabled "
            "version."
        )
    if status == "UNAUTHENTICATED" or code == 401:
        return SecretCredentialsError(
            f"Secret Manager refused the credentials used to read secret {where} (401 UNAUTHENTICATED: "
            f"expired or revoked). {_adc_fix()}"
        )
    return SecretManagerError(
        f"Secret Manager could not read secret {where} ({code} {status or type(exc).__name__}: "
        f"{_first_line(exc)}). Check {SECRET_ENV}, or set OPENAI_API_KEY instead."
    )
