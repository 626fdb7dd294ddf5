"""A local Google Secret Manager v1 emulator (and the metadata server that issues its tokens), on loopback.

What it serves, over real HTTP on ``http://127.0.0.1:PORT``:

* ``GET /v1/projects/P/secrets/S/versions/V:access`` — the call ``SecretManagerServiceClient`` makes over
  its REST transport. Answers ``{"name": "projects/NUMBER/secrets/S/versions/N", "payload": {"data":
  base64, "dataCrc32c": "decimal"}}``; ``latest`` is the newest version whatever its state (as Google's is);
  a DISABLED or DESTROYED version gets 400 FAILED_PRECONDITION, an unknown one 404 NOT_FOUND. Project ids
  and numbers both work; answers name the project by number, as Google's do.
* Authorization: no ``Authorization: Bearer`` gets 401 UNAUTHENTICATED, a token it did not issue 401 too,
  a principal without ``roles/secretmanager.secretAccessor`` on the secret (or its project) 403
  PERMISSION_DENIED — checked before existence, so a missing secret looks the same to a stranger, as on
  Google. Errors are Google's JSON shape ``{"error": {"code", "message", "status"}}``.
* ``/computeMetadata/v1/...`` — the GCE/Cloud Run metadata server subset google-auth uses for Application
  Default Credentials (requires ``Metadata-Flavor: Google``): the service account's token and email, the
  project id. Point google-auth at it with ``GCE_METADATA_HOST=127.0.0.1:PORT`` and
  ``GCE_METADATA_IP=127.0.0.1:PORT``: ``google.auth.default()`` then finds "Compute Engine" credentials for
  ``service_account`` exactly as it does on Cloud Run, offline.

Run it as a process::

    python -m sheets_ai.testing.secretmanager_server --port 8091 --seed secrets.json

or in-process::

    with SecretManagerEmulator(secrets={"projects/demo/secrets/openai-key": "sk-test"}) as emu:
        env = emu.adc_env()  # GCE_METADATA_HOST / GCE_METADATA_IP for google-auth
        ...
        assert emu.access_count("projects/demo/secrets/openai-key") == 1

Seed files are JSON (see :meth:`SecretManagerEmulator.load`). This module imports nothing from sheets-ai's
client code. See docs/secret-manager.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets as _random
import signal
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sheets_ai.testing._loopback import LoopbackServer
from sheets_ai.testing._secretmanager_http import Answer, Handler, Server, metadata_answer
from sheets_ai.testing._secretmanager_model import (
    ACCESSOR_ROLE,
    ApiError,
    Secret,
    as_bytes,
    crc32c,
    member,
    permission_denied,
    project_number,
    split_secret,
    split_version,
    unauthenticated,
)

__all__ = ["ACCESSOR_ROLE", "AccessRecord", "ApiError", "SecretManagerEmulator", "crc32c", "main"]

log = logging.getLogger(__name__)

DEFAULT_PROJECT = "demo-project"
DEFAULT_SERVICE_ACCOUNT = f"sheets-ai-job@{DEFAULT_PROJECT}.iam.gserviceaccount.com"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_ACCESS_SUFFIX = ":access"


@dataclass(frozen=True)
class AccessRecord:
    """One ``versions:access`` request: the name asked for, who asked (None: no valid token), the status."""

    name: str
    principal: str | None
    status: int


class SecretManagerEmulator(LoopbackServer):
    """In-memory secrets served as Secret Manager v1 REST on ``http://127.0.0.1:PORT``; thread-safe.

    ``secrets`` seeds it: ``{"projects/P/secrets/S": "value"}`` (one enabled version) or
    ``{"projects/P/secrets/S": {"versions": [{"data": "v1", "state": "DISABLED"}, "v2"], "accessors":
    ["serviceAccount:a@p.iam.gserviceaccount.com"]}}``. Without ``accessors`` the emulator's own
    ``service_account`` (the identity its metadata server hands out) may read the secret.
    """

    thread_name = "secretmanager"
    label = "Secret Manager emulator"

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        secrets: Mapping[str, Any] | None = None,
        service_account: str = DEFAULT_SERVICE_ACCOUNT,
        project: str = DEFAULT_PROJECT,
    ) -> None:
        if host not in LOOPBACK:
            raise ValueError(f"the emulator listens on loopback only, not {host!r}")
        self.host, self.port = host, port
        self.service_account = service_account
        self.project = project
        self._lock = threading.RLock()
        self._secrets: dict[tuple[str, str], Secret] = {}
        self._project_accessors: dict[str, set[str]] = {}
        self._tokens: dict[str, str] = {}  # access token -> IAM member
        self._expired = False
        self._corrupt: int | None = 0  # answers left whose CRC is corrupted (None: every one)
        self._accesses: list[AccessRecord] = []
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        for name, spec in (secrets or {}).items():
            self._seed(name, spec)

    # ---------------------------------------------------------------------------------- lifecycle
    def _new_server(self) -> Server:
        return Server((self.host, self.port), Handler)

    @property
    def url(self) -> str:
        """The endpoint: ``SHEETS_AI_SECRETMANAGER_ENDPOINT`` (the API lives under ``/v1``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def metadata_host(self) -> str:
        """``host:port`` for ``GCE_METADATA_HOST`` / ``GCE_METADATA_IP``."""
        return f"{self.host}:{self.port}"

    def adc_env(self) -> dict[str, str]:
        """The variables that make google-auth's ADC find this emulator's metadata server."""
        return {"GCE_METADATA_HOST": self.metadata_host, "GCE_METADATA_IP": self.metadata_host}

    # ---------------------------------------------------------------------------------- secrets
    def _seed(self, name: str, spec: Any) -> None:
        if isinstance(spec, str | bytes):
            spec = {"versions": [spec]}
        if not isinstance(spec, Mapping):
            raise ValueError(f"{name}: expected a value or an object with 'versions', got {spec!r}")
        self.add_secret(name, accessors=spec.get("accessors"))
        for version in spec.get("versions", []):
            if isinstance(version, str | bytes):
                version = {"data": version}
            self.add_version(name, version["data"], state=version.get("state", "ENABLED"))

    def add_secret(self, name: str, *, accessors: Iterable[str] | None = None) -> Secret:
        """Create ``projects/P/secrets/S`` (no versions yet). ``accessors`` default: the service account."""
        project, secret_id = split_secret(name)
        members = {member(a) for a in (accessors if accessors is not None else [self.service_account])}
        with self._lock:
            secret = Secret(project, secret_id, accessors=members)
            self._secrets[(project_number(project), secret_id)] = secret
            return secret

    def add_version(self, name: str, data: str | bytes, *, state: str = "ENABLED") -> str:
        """Add a version to a secret (created if new); returns ``projects/P/secrets/S/versions/N``."""
        with self._lock:
            secret = self._find(*split_secret(name)) or self.add_secret(name)
            version = secret.add(as_bytes(data), state)
            return secret.resource(version.number, by_number=False)

    def set_state(self, version_name: str, state: str) -> None:
        """ENABLED, DISABLED or DESTROYED (a destroyed version's data is gone)."""
        project, secret_id, number = split_version(version_name)
        with self._lock:
            secret = self._find(project, secret_id)
            if secret is None or not number.isdigit() or not 0 < int(number) <= len(secret.versions):
                raise KeyError(version_name)
            version = secret.versions[int(number) - 1]
            version.state = state
            if state == "DESTROYED":
                version.data = b""

    def grant(self, principal: str, resource: str) -> None:
        """Give ``principal`` roles/secretmanager.secretAccessor on a secret or a whole ``projects/P``."""
        with self._lock:
            if resource.count("/") == 1:
                self._project_accessors.setdefault(project_number(resource.split("/")[1]), set()).add(
                    member(principal)
                )
                return
            secret = self._find(*split_secret(resource))
            if secret is None:
                raise KeyError(resource)
            secret.accessors.add(member(principal))

    def revoke(self, principal: str, resource: str) -> None:
        with self._lock:
            if resource.count("/") == 1:
                self._project_accessors.get(project_number(resource.split("/")[1]), set()).discard(
                    member(principal)
                )
                return
            secret = self._find(*split_secret(resource))
            if secret is not None:
                secret.accessors.discard(member(principal))

    def load(self, path: str | Path) -> None:
        """Seed from JSON: ``{"service_account": "...", "project": "...", "secrets": {name: spec}}`` (the
        ``secrets`` object alone works too; specs as in the constructor)."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("a seed file holds a JSON object")
        if "secrets" in data:
            self.service_account = data.get("service_account", self.service_account)
            self.project = data.get("project", self.project)
            data = data["secrets"]
        for name, spec in data.items():
            self._seed(name, spec)

    def _find(self, project: str, secret_id: str) -> Secret | None:
        return self._secrets.get((project_number(project), secret_id))

    # ---------------------------------------------------------------------------------- tokens, faults
    def issue_token(self, principal: str | None = None) -> str:
        """A bearer token for ``principal`` (default: the service account), as the metadata server gives."""
        token = "ya29.emulated-" + _random.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = member(principal or self.service_account)
        return token

    def expire_tokens(self, expired: bool = True) -> None:
        """While ``expired``, every token (issued before or after) gets 401, as a revoked or expired one does."""
        with self._lock:
            self._expired = expired

    def corrupt_crc(self, count: int | None = 1) -> None:
        """The next ``count`` successful answers (None: all of them) carry a wrong ``dataCrc32c``."""
        with self._lock:
            self._corrupt = count

    # ---------------------------------------------------------------------------------- counters
    @property
    def accesses(self) -> list[AccessRecord]:
        with self._lock:
            return list(self._accesses)

    def access_count(self, name: str | None = None) -> int:
        """``versions:access`` requests made (for one secret, ``projects/P/secrets/S``, or all)."""
        if name is None:
            return len(self.accesses)
        project, secret_id = split_secret(name)
        count = 0
        for record in self.accesses:
            try:
                p, s, _ = split_version(record.name)
            except ValueError:
                continue
            count += project_number(p) == project_number(project) and s == secret_id
        return count

    # ---------------------------------------------------------------------------------- HTTP
    def serve(self, method: str, target: str, headers: Mapping[str, str]) -> Answer:
        path = unquote(urlsplit(target).path)
        if path == "/" or path.startswith("/computeMetadata/"):
            return self._metadata(path, headers)
        if method == "GET" and path.startswith("/v1/") and path.endswith(_ACCESS_SUFFIX):
            return self._access(path[len("/v1/") : -len(_ACCESS_SUFFIX)], headers)
        err = ApiError(404, f"The requested URL {path} was not found on this server.", "NOT_FOUND")
        return err.code, err.body(), {}

    def _access(self, name: str, headers: Mapping[str, str]) -> Answer:
        principal: str | None = None
        try:
            principal = self._principal(headers)
            status, body = 200, self._payload(name, principal)
        except ApiError as err:
            status, body = err.code, err.body()
        with self._lock:
            self._accesses.append(AccessRecord(name, principal, status))
        return status, body, {}

    def _principal(self, headers: Mapping[str, str]) -> str:
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            raise unauthenticated(missing=True)
        with self._lock:
            principal = None if self._expired else self._tokens.get(auth[7:].strip())
        if principal is None:
            raise unauthenticated(missing=False)
        return principal

    def _payload(self, name: str, principal: str) -> dict[str, Any]:
        try:
            project, secret_id, wanted = split_version(name)
        except ValueError:
            raise ApiError(
                400,
                f"Invalid resource field value in the request. Resource name [{name}] does not match "
                "projects/*/secrets/*/versions/*.",
                "INVALID_ARGUMENT",
            ) from None
        with self._lock:
            secret = self._find(project, secret_id)
            allowed = principal in self._project_accessors.get(project_number(project), set()) or (
                secret is not None and principal in secret.accessors
            )
            if not allowed:
                raise permission_denied(name)
            if secret is None or not secret.versions:
                number = project_number(project)
                raise ApiError(
                    404,
                    f"Secret [projects/{number}/secrets/{secret_id}] not found or has no versions.",
                    "NOT_FOUND",
                )
            corrupt = self._corrupt is None or self._corrupt > 0
            if corrupt and self._corrupt is not None:
                self._corrupt -= 1
            return secret.access(wanted, corrupt=corrupt)

    def _metadata(self, path: str, headers: Mapping[str, str]) -> Answer:
        return metadata_answer(
            path, headers, service_account=self.service_account, project=self.project, issue=self.issue_token
        )


# ------------------------------------------------------------------------------------------------ CLI
def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sheets_ai.testing.secretmanager_server",
        description="Serve Secret Manager v1 (versions:access) and a metadata server for ADC on 127.0.0.1.",
        epilog="example: python -m sheets_ai.testing.secretmanager_server --port 8091 --seed secrets.json "
        "--secret projects/demo-project/secrets/openai-key=sk-test",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0 = pick a free one)")
    parser.add_argument(
        "--seed", action="append", default=[], metavar="FILE", help="JSON seed file (repeatable)"
    )
    parser.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a secret with one enabled version the service account may read (repeatable)",
    )
    parser.add_argument(
        "--service-account", default=None, help=f"identity of issued tokens ({DEFAULT_SERVICE_ACCOUNT})"
    )
    parser.add_argument("--corrupt-crc", action="store_true", help="every answer carries a wrong dataCrc32c")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    emulator = SecretManagerEmulator(args.port)
    try:
        for path in args.seed:
            emulator.load(path)
        if args.service_account:
            emulator.service_account = args.service_account
        for item in args.secret:
            name, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"--secret takes NAME=VALUE, got {item!r}")
            emulator.add_version(name, value)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.corrupt_crc:
        emulator.corrupt_crc(None)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    emulator.start()
    print(f"listening on {emulator.url}", flush=True)
    print(f"export SHEETS_AI_SECRETMANAGER_ENDPOINT={emulator.url}", file=sys.stderr)
    for name, value in emulator.adc_env().items():
        print(f"export {name}={value}", file=sys.stderr)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
