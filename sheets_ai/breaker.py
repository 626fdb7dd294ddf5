"""The circuit breaker: stop a run whose requests keep failing the same way for every row.

The re-ask policy (:mod:`sheets_ai.reask`) assumes bad answers are bad luck: it asks again in smaller
batches, then row by row. When the cause is the model or the server (answers that are never JSON, never
hold the ids, always cut off), that turns N rows into about 2N requests that all fail. So: when
``BREAKER_LIMIT`` answered requests in a row fail alike (no row done, one reason for every row), the run
stops with one line instead. Any request that finishes a row resets the count; requests split for other
reasons (a refusal, a cut-off batch being halved) neither count nor reset.
"""

from __future__ import annotations

from .errors import ProviderError
from .reask import Verdict

BREAKER_LIMIT = 5


class Breaker:
    """Counts requests that failed alike, in a row; ``observe`` returns the error that stops the run."""

    def __init__(self, limit: int = BREAKER_LIMIT) -> None:
        self.limit = limit
        self.reason: str | None = None
        self.count = 0

    def observe(self, verdict: Verdict) -> ProviderError | None:
        if verdict.done:
            self.reason, self.count = None, 0
            return None
        if verdict.alike is None:
            return None
        self.count = self.count + 1 if verdict.alike == self.reason else 1
        self.reason = verdict.alike
        if self.count < self.limit:
            return None
        return ProviderError(
            f"{self.count} requests in a row failed the same way for every row ({self.reason}); sheets-ai "
            "stopped instead of asking again row by row. Check that the model and server (--model, "
            "--base-url) answer in the format sheets-ai asks for; finished rows are saved."
        )
