"""The Secret Manager emulator's state: secrets, versions, who may read them, and Google's error shapes.

Independent of sheets-ai's client code on purpose (the emulator is the oracle the client is tested against):
CRC32C is computed here from its definition, not with the library the client uses.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

ACCESS_PERMISSION = "secretmanager.versions.access"
ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
STATES = ("ENABLED", "DISABLED", "DESTROYED")

_SECRET = re.compile(r"^projects/([^/]+)/secrets/([^/]+)$")
_VERSION = re.compile(r"^projects/([^/]+)/secrets/([^/]+)/versions/([^/]+)$")

# --------------------------------------------------------------------------------------------- CRC32C
_CRC32C_TABLE: list[int] = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C_TABLE.append(_c)


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum Secret Manager returns as ``payload.dataCrc32c``."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = (crc >> 8) ^ _CRC32C_TABLE[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFFFFFF


# --------------------------------------------------------------------------------------------- errors
class ApiError(Exception):
    """An error answer in Google's JSON shape: ``{"error": {"code", "message", "status"}}``."""

    def __init__(self, code: int, message: str, status: str) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


def unauthenticated(*, missing: bool) -> ApiError:
    """Google's 401: no ``Authorization: Bearer`` at all (``missing``), or a token it does not know."""
    opening = (
        "Request is missing required authentication credential."
        if missing
        else "Request had invalid authentication credentials."
    )
    return ApiError(
        401,
        f"{opening} Expected OAuth 2 access token, login cookie or other valid authentication credential. "
        "See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        "UNAUTHENTICATED",
    )


def permission_denied(resource: str) -> ApiError:
    return ApiError(
        403,
        f"Permission '{ACCESS_PERMISSION}' denied for resource '{resource}' (or it may not exist).",
        "PERMISSION_DENIED",
    )


# --------------------------------------------------------------------------------------------- model
def project_number(project: str) -> str:
    """A stable 12-digit project number for a project id (real answers name projects by number)."""
    if project.isdigit():
        return project
    return str(100_000_000_000 + int(hashlib.sha256(project.encode()).hexdigest(), 16) % 900_000_000_000)


def member(principal: str) -> str:
    """An IAM member string: ``serviceAccount:EMAIL``, ``user:EMAIL`` (a bare email is a service account
    when it ends in ``gserviceaccount.com``, else a user)."""
    if ":" in principal:
        return principal
    kind = "serviceAccount" if principal.endswith("gserviceaccount.com") else "user"
    return f"{kind}:{principal}"


@dataclass
class Version:
    number: int
    data: bytes
    state: str = "ENABLED"


@dataclass
class Secret:
    project: str
    secret_id: str
    versions: list[Version] = field(default_factory=list)
    #: IAM members holding roles/secretmanager.secretAccessor on this secret.
    accessors: set[str] = field(default_factory=set)

    def add(self, data: bytes, state: str = "ENABLED") -> Version:
        if state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}, not {state!r}")
        version = Version(len(self.versions) + 1, data, state)
        self.versions.append(version)
        return version

    def access(self, wanted: str, *, corrupt: bool = False) -> dict[str, Any]:
        """The ``versions:access`` answer for version ``wanted`` (a number or ``latest``: the newest version,
        whatever its state, as Google resolves it); ``corrupt`` sends a wrong checksum."""
        if wanted == "latest":
            version = self.versions[-1]
        elif wanted.isdigit() and 0 < int(wanted) <= len(self.versions):
            version = self.versions[int(wanted) - 1]
        else:
            raise ApiError(404, f"Secret Version [{self.resource(wanted)}] not found.", "NOT_FOUND")
        if version.state != "ENABLED":
            raise ApiError(
                400,
                f"Secret Version [{self.resource(version.number)}] is in {version.state} state.",
                "FAILED_PRECONDITION",
            )
        checksum = crc32c(version.data) ^ (1 if corrupt else 0)
        return {
            "name": self.resource(version.number),
            "payload": {
                "data": base64.b64encode(version.data).decode("ascii"),
                "dataCrc32c": str(checksum),  # int64 is a JSON string in proto3's mapping
            },
        }

    def resource(self, number: int | str, *, by_number: bool = True) -> str:
        project = project_number(self.project) if by_number else self.project
        return f"projects/{project}/secrets/{self.secret_id}/versions/{number}"


def split_secret(name: str) -> tuple[str, str]:
    """``projects/P/secrets/S`` -> (P, S); ValueError for anything else."""
    match = _SECRET.match(name)
    if not match:
        raise ValueError(f"not a secret name (projects/PROJECT/secrets/SECRET): {name!r}")
    return match.group(1), match.group(2)


def split_version(name: str) -> tuple[str, str, str]:
    """``projects/P/secrets/S/versions/V`` -> (P, S, V); ValueError for anything else."""
    match = _VERSION.match(name)
    if not match:
        raise ValueError(f"not a secret version name: {name!r}")
    return match.group(1), match.group(2), match.group(3)


def as_bytes(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)
