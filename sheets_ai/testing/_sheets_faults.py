"""Fault scripting pieces of the Sheets API emulator: recorded requests, scripts, canned error bodies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sheets_ai.testing._sheets_cells import ApiError

FAULT_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("Request contains an invalid argument.", "INVALID_ARGUMENT"),
    401: (
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
        "other valid authentication credential.",
        "UNAUTHENTICATED",
    ),
    403: ("The caller does not have permission", "PERMISSION_DENIED"),
    404: ("Requested entity was not found.", "NOT_FOUND"),
    408: ("Request timed out.", "DEADLINE_EXCEEDED"),
    500: ("Internal error encountered.", "INTERNAL"),
    502: ("Bad Gateway.", "UNAVAILABLE"),
    503: ("The service is currently unavailable.", "UNAVAILABLE"),
    504: ("Deadline expired before operation could complete.", "DEADLINE_EXCEEDED"),
}


#: Google's front end refuses a request body over 10 MiB with a 400 (the Sheets API itself documents no hard
#: limit, and recommends bodies under 2 MB).
PAYLOAD_LIMIT = 10_485_760


def payload_too_large(limit: int) -> ApiError:
    """The 400 Google answers for a request body over ``limit`` bytes."""
    return ApiError(400, f"Request payload size exceeds the limit: {limit} bytes.", "INVALID_ARGUMENT")


def quota_error(kind: str = "read", limit: int = 60) -> ApiError:
    """The 429 RESOURCE_EXHAUSTED error the real API answers when a per-minute quota is used up."""
    metric = "Read" if kind == "read" else "Write"
    message = (
        f"Quota exceeded for quota metric '{metric} requests' and limit '{metric} requests per minute per user' "
        "of service 'sheets.googleapis.com' for consumer 'project_number:000000000000'."
    )
    details = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "RATE_LIMIT_EXCEEDED",
            "domain": "googleapis.com",
            "metadata": {
                "quota_location": "global",
                "quota_metric": f"sheets.googleapis.com/{metric.lower()}_requests",
                "quota_limit": f"{metric}RequestsPerMinutePerUser",
                "quota_limit_value": str(limit),
                "consumer": "projects/000000000000",
                "service": "sheets.googleapis.com",
            },
        },
        {
            "@type": "type.googleapis.com/google.rpc.Help",
            "links": [
                {
                    "description": "Request a higher quota limit.",
                    "url": "https://cloud.google.com/docs/quotas/help/request_increase",
                }
            ],
        },
    ]
    return ApiError(429, message, "RESOURCE_EXHAUSTED", details)


@dataclass
class RecordedRequest:
    """One request as the emulator saw it. ``status`` is filled in once it has been answered.

    ``timestamp`` is when it arrived (``time.time()``); ``size`` is its body's length in bytes as sent.
    """

    method: str
    path: str
    query: str
    timestamp: float
    body: Any = None
    status: int | None = None
    method_id: str | None = None
    size: int = 0

    @property
    def is_read(self) -> bool:
        return self.method == "GET"


@dataclass
class Script:
    """A scripted fault or delay for the next ``remaining`` requests whose path+query contains a string."""

    remaining: int
    path_contains: str | None
    status: int = 0
    seconds: float = 0.0
    message: str | None = None
    retry_after: float | None = None

    def matches(self, record: RecordedRequest) -> bool:
        return self.path_contains is None or self.path_contains in f"{record.path}?{record.query}"


def take(scripts: list[Script], record: RecordedRequest) -> Script | None:
    for script in scripts:
        if script.matches(record):
            script.remaining -= 1
            if script.remaining <= 0:
                scripts.remove(script)
            return script
    return None
