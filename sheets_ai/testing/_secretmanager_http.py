"""HTTP plumbing of the Secret Manager emulator, and the metadata-server answers google-auth's ADC uses."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, cast

from sheets_ai.testing._secretmanager_model import project_number

log = logging.getLogger("sheets_ai.testing.secretmanager_server")

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
Answer = tuple[int, Any, dict[str, str]]


class Serves(Protocol):
    def serve(self, method: str, target: str, headers: Mapping[str, str]) -> Answer: ...


def metadata_answer(
    path: str, headers: Mapping[str, str], *, service_account: str, project: str, issue: Callable[[], str]
) -> Answer:
    """The GCE / Cloud Run metadata server subset google-auth reads: the ping, the service account's token,
    email and scopes, the project, the universe domain. Requests must carry ``Metadata-Flavor: Google``."""
    flavor = {"Metadata-Flavor": "Google"}
    if path == "/":  # google-auth's "are we on Google Cloud?" ping
        return 200, "", flavor
    if (headers.get("Metadata-Flavor") or headers.get("metadata-flavor")) != "Google":
        return 403, "Missing required header: Metadata-Flavor", {}
    rest = path[len("/computeMetadata/v1/") :].rstrip("/")
    if rest.startswith("instance/service-accounts/"):
        parts = rest.split("/")
        if (parts[2] if len(parts) > 2 else "") not in ("default", service_account):
            return 404, "Not Found", {}
        leaf = "/".join(parts[3:])
        if leaf == "token":
            return 200, {"access_token": issue(), "expires_in": 3599, "token_type": "Bearer"}, flavor
        if leaf == "email":
            return 200, service_account, flavor
        if leaf == "":
            return 200, {"aliases": ["default"], "email": service_account, "scopes": [SCOPE]}, flavor
    simple = {
        "project/project-id": project,
        "project/numeric-project-id": project_number(project),
        "universe/universe-domain": "googleapis.com",
    }
    if rest in simple:
        return 200, simple[rest], flavor
    return 404, "Not Found", {}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: Serves


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SecretManagerEmulator/1.0"
    disable_nagle_algorithm = True

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        emulator = cast(Server, self.server).emulator
        status, payload, headers = emulator.serve(self.command, self.path, dict(self.headers.items()))
        if isinstance(payload, dict | list):
            data, kind = json.dumps(payload, indent=2).encode("utf-8"), "application/json; charset=UTF-8"
        else:
            data, kind = str(payload).encode("utf-8"), "text/plain; charset=UTF-8"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _handle

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)
