"""Errors raised by sheets-ai.

Library code raises these; only the CLI turns them into one-line messages and exit codes.
Every message names the problem and the fix.
"""

from __future__ import annotations


class SheetsAIError(Exception):
    """Base class for every error sheets-ai raises on purpose."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(SheetsAIError):
    """Bad flags or option combinations."""


class ArgumentTypeError(UsageError, TypeError):
    """A Python API function got the wrong kind of value (a DataFrame for a column …). Also a TypeError."""


class ConfigError(SheetsAIError):
    """A configuration file or environment variable is invalid."""


class SourceError(SheetsAIError):
    """The input file or spreadsheet cannot be opened or used."""


class SheetNotFoundError(SourceError):
    """The named worksheet does not exist."""

    def __init__(self, name: str, available: list[str]) -> None:
        super().__init__(f"Sheet {name!r} not found. Sheets: {', '.join(available) or '(none)'}")
        self.name = name
        self.available = available


class ColumnNotFoundError(SourceError):
    """A column given by header text is not in the header row."""

    def __init__(self, name: str, headers: list[str], header_row: int = 1) -> None:
        shown = ", ".join(h for h in headers if h) or "(the header row is empty)"
        super().__init__(
            f"Column {name!r} not found in header row {header_row}. Headers: {shown}. "
            "Use a header text or a column letter such as B."
        )
        self.name = name
        self.headers = headers


class LockedError(SourceError):
    """Another sheets-ai run is working on the same file."""


class ProviderError(SheetsAIError):
    """The AI provider cannot be used (missing key, bad model, unreachable, ...)."""


class ContentRejectedError(ProviderError):
    """The server refused a request because of what a row says (``invalid_prompt``, too long …).

    The pipeline narrows the batch down to that row and fails only it; the run goes on.
    """


class AuthenticationError(ProviderError):
    """Credentials were rejected."""


class QuotaExhaustedError(ProviderError):
    """The account has no quota left; retrying will not help."""


class RateLimitError(ProviderError):
    """Retries for a transient error (rate limit, server error) ran out."""

    exit_code = 1


class BudgetExceededError(SheetsAIError):
    """The next batch would cross --max-cost."""

    exit_code = 1


class Interrupted(SheetsAIError):
    """Ctrl-C or SIGTERM; finished rows were saved."""

    exit_code = 130
