"""--max-cost that holds under concurrency.

Before a request is sent, its worst case is reserved: the prompt's tokens plus every output token the
request allows (``max_tokens`` / ``max_completion_tokens``, which include a reasoning model's hidden
reasoning), at the model's prices. A request whose reservation does not fit beside what is spent and what
is reserved for the requests in flight is not sent. When the answer arrives its reservation is released and
its real cost charged; a server that reports no usage is charged the whole reservation, so the cap still
holds (and the report says the cost is an upper bound).

With --monthly-budget (sheets_ai.monthly) the run first claims its share of what is left this month; the cap
becomes the smaller of --max-cost and that share, and the run's cost replaces the claim when it ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .config import RunConfig
from .monthly import MonthlyBudget, Need
from .planning import PlannedRow
from .providers.base import Provider, Usage
from .tasks import Task


@dataclass
class Budget:
    cap: float | None
    spent: float = 0.0
    reserved: float = 0.0
    unreported: int = 0  # answers that came without usage, charged at their worst case
    month: MonthlyBudget | None = None
    #: Collected Batch API answers: the run that submitted them already entered their worst case in the
    #: month's ledger (sheets_ai.batch_api), so they count towards --max-cost but not into the ledger again.
    prepaid: float = 0.0

    # ------------------------------------------------------------ --monthly-budget
    def claim_month(
        self,
        config: RunConfig,
        provider: Provider,
        table: Any,
        task: Task,
        batches: Sequence[Sequence[PlannedRow]],
    ) -> None:
        """Before the first request: claim this run's share of the month (raises MonthlyBudgetError if the
        estimate does not fit what is left); the cap becomes min(--max-cost, the share)."""
        if batches and (month := MonthlyBudget.for_run(config, provider, table)) is not None:
            self.month = month
            self.cap = month.claim(task, provider, batches, self.cap)

    @staticmethod
    def show_month(
        config: RunConfig, provider: Provider, table: Any, task: Task, batches: Sequence[Sequence[PlannedRow]]
    ) -> dict[str, Any] | None:
        """sheets-ai estimate: the month's spend, what is left and whether the run would start, when a monthly
        budget is set."""
        if (month := MonthlyBudget.for_run(config, provider, table)) is None:
            return None
        try:
            return month.status(Need.of(task, provider, batches))
        finally:
            month.close()

    def settle_month(self, report: Any, status: str) -> bool:
        """At the end: the run's cost (in-flight requests at their worst case) replaces its claim. True when
        that ledger entry is also the run's --log-sheet row (Google Sheets)."""
        if self.month is None:
            return False
        try:
            return self.month.settle(max(0.0, self.spent + self.reserved - self.prepaid), report, status)
        finally:
            self.month.close()

    def note_unreported(self, notices: list[str]) -> None:
        if self.unreported:
            notices.append(
                f"The server sent no token usage with {self.unreported} answers; each was counted at "
                "its worst case (prompt + every output token it allowed), so cost_usd is an upper bound."
            )

    # ------------------------------------------------------------ requests
    def reserve(self, worst: Usage) -> bool:
        """Reserve a request's worst case; False when it would take the run past the cap."""
        if self.month is not None:
            self.month.keep()
        if self.cap is None:
            return True
        if self.spent + self.reserved + worst.cost_usd > self.cap:
            return False
        self.reserved += worst.cost_usd
        return True

    def release(self, worst: Usage) -> None:
        """A reserved request that never got an answer (an error): it is not charged."""
        if self.cap is not None:
            self.reserved = max(0.0, self.reserved - worst.cost_usd)

    def settle(self, worst: Usage, actual: Usage, *, prepaid: bool = False) -> Usage:
        """The answer arrived: release its reservation and return the usage to charge (``prepaid``: a batch
        answer whose worst case the submitting run already entered in the month's ledger)."""
        self.release(worst)
        if not actual.reported:
            self.unreported += 1
            actual = Usage(
                requests=actual.requests,
                prompt_tokens=worst.prompt_tokens,
                completion_tokens=worst.completion_tokens,
                cost_usd=worst.cost_usd,
                reported=False,
            )
        self.spent += actual.cost_usd
        if prepaid:
            self.prepaid += actual.cost_usd
        return actual

    def stop_message(self, rows_left: int) -> str:
        assert self.cap is not None
        if self.month is not None and self.month.binding is not None:
            return self.month.stop_message(rows_left, self.spent)
        return (
            f"budget: the next request could take the cost past --max-cost ${self.cap:.4f} "
            f"(spent ${self.spent:.4f}, counting each request at its worst case before it is sent); "
            f"{rows_left} rows not sent. Raise --max-cost and run again to continue."
        )
