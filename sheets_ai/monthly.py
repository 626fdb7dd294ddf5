"""--monthly-budget: a cap on the calendar month's spend (UTC), shared by every run that keeps the same ledger.

How a run uses it (the ledger itself is sheets_ai.ledger):

1. The month so far: ``cost`` entries of the month plus the live claims of runs still going. If this run's
   estimate (what ``sheets-ai estimate`` shows) does not fit what is left, it stops before sending anything.
2. The claim: the run appends a claim of ``min(what is left, --max-cost, twice the worst case of its planned
   requests)``, then reads the ledger back and counts only the entries placed *before* its claim. What fits
   beside them is the run's cap; if the estimate no longer fits (another run claimed first), it stops before
   sending. A later run counts this claim, so two runs never both get the same remainder.
3. The run: every request reserves its worst case against the cap (sheets_ai.budget), so the run stays inside
   its claim; a claim lasts two hours and the run renews it every 30 minutes while it sends requests.
4. The end: a ``cost`` entry with what the run spent (requests abandoned in flight at their worst case)
   replaces the claim. A run that crashed leaves its claim, which stops counting when it expires.

The offline analyzer costs nothing: runs with it neither read nor write the ledger.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cache import default_cache_dir
from .config import RunConfig
from .errors import BudgetExceededError, SheetsAIError
from .ledger import (
    CLAIM,
    COST,
    LEDGER_SHEET,
    RENEW,
    Entry,
    FileLedger,
    Ledger,
    SheetLedger,
    Tally,
    month_of,
    next_month,
    now,
    tally,
)
from .planning import PlannedRow
from .providers.base import Provider
from .reask import items_for
from .tasks import Task

log = logging.getLogger("sheets_ai")
CLAIM_LASTS = dt.timedelta(hours=2)
RENEW_AFTER = dt.timedelta(minutes=30)
#: A run claims at most this many times the worst case of its planned requests (room for re-asks).
SHARE = 2.0


class MonthlyBudgetError(BudgetExceededError):
    """A run would take the month's spend past --monthly-budget: it stopped before sending anything."""


def _usd(amount: float) -> str:
    """$1.2346, or six decimals below a cent, so that small amounts that differ do not print alike."""
    return f"${amount:.4f}" if abs(amount) >= 0.01 else f"${amount:.6f}"


def _resets(moment: dt.datetime) -> str:
    return next_month(moment).strftime("%Y-%m-%d 00:00 UTC")


@dataclass(frozen=True)
class Need:
    """What a run's planned requests cost: expected, at worst, and the first request at worst."""

    estimate: float
    worst: float
    first: float

    @classmethod
    def of(cls, task: Task, provider: Provider, batches: Sequence[Sequence[PlannedRow]]) -> Need:
        worst = [provider.worst_case(task, items_for(b)).cost_usd for b in batches]
        estimate = sum(provider.estimate(task, items_for(b)).cost_usd for b in batches)
        return cls(estimate, sum(worst), worst[0] if worst else 0.0)

    def fits(self, left: float) -> bool:
        """The run starts only if its estimate fits, and its first request can be sent at all."""
        return self.estimate <= left and self.first <= left


class MonthlyBudget:
    def __init__(self, limit: float, ledger: Ledger) -> None:
        self.limit, self.ledger = limit, ledger
        self.run = secrets.token_hex(6)
        self.started = now()
        self.month = month_of(self.started)
        self.share: float | None = None  # what this run claimed (None: no claim placed)
        self.before = Tally(0.0, 0.0)  # spent and claimed ahead of this run's claim
        self.binding: str | None = None  # "month" or "share" when that, not --max-cost, caps the run
        self.renewed = self.started

    @classmethod
    def for_run(cls, config: RunConfig, provider: Provider, table: Any) -> MonthlyBudget | None:
        """The run's monthly budget; None without one, or with the free offline analyzer."""
        if config.monthly_budget is None or not provider.cacheable:  # not cacheable: free and offline
            return None
        model = f"{provider.name}:{provider.model}"
        # A pass's combined step runs on an in-memory table that names the source's (sheets_ai.multitask).
        table, log_sheet = getattr(table, "ledger_home", None) or (table, config.log_sheet)
        if hasattr(table, "log_rows"):  # Google Sheets: the run-log worksheet
            about = {"task": config.task, "model": model}
            return cls(config.monthly_budget, SheetLedger(table, log_sheet or LEDGER_SHEET, about))
        folder = Path(config.cache_dir) if config.cache_dir else default_cache_dir()
        return cls(config.monthly_budget, FileLedger(folder, f"{config.task} {model}"))

    # ------------------------------------------------------------------ before the run
    def status(self, need: Need | None = None) -> dict[str, Any]:
        """The month so far, for ``sheets-ai estimate``; with ``need``, whether the run would start."""
        so_far = tally(self.ledger.entries(), self.month, now())
        left = max(0.0, self.limit - so_far.spent - so_far.claimed)
        status: dict[str, Any] = {
            "month": self.month,
            "budget_usd": self.limit,
            "spent_usd": round(so_far.spent, 6),
            "claimed_usd": round(so_far.claimed, 6),
            "left_usd": round(left, 6),
            "resets": _resets(self.started),
            "ledger": self.ledger.where,
        }
        if need is not None:
            status["fits"] = need.fits(left)
        return status

    def claim(
        self, task: Task, provider: Provider, batches: Sequence[Sequence[PlannedRow]], max_cost: float | None
    ) -> float | None:
        """Claim this run's share before anything is sent and return the run's cap (min with ``max_cost``).
        Raises MonthlyBudgetError, before sending anything, when the estimate (or the first request's worst
        case) does not fit."""
        need = Need.of(task, provider, batches)
        so_far = tally(self.ledger.entries(), self.month, now())
        left = self.limit - so_far.spent - so_far.claimed
        if not need.fits(left):
            raise MonthlyBudgetError(self._refusal(so_far, need))
        share = min(left, SHARE * need.worst)  # the month's part; --max-cost may allow less still
        amount = share if max_cost is None else min(share, max_cost)
        until = now() + CLAIM_LASTS
        self.share = amount
        self.ledger.append(Entry(CLAIM, self.run, self.month, amount, until))
        entries = self.ledger.entries()
        mine = [e.position for e in entries if e.kind == CLAIM and e.run == self.run]
        if not mine:  # the append was lost or overwritten: do not trust a claim nobody else can see
            raise MonthlyBudgetError(
                f"monthly budget: the claim this run appended to {self.ledger.where} is not there; "
                "nothing was sent. Run the same command again."
            )
        self.before = tally(entries, self.month, now(), run=self.run, before=mine[0])
        room = self.limit - self.before.spent - self.before.claimed
        if not need.fits(room):  # another run claimed first
            raise MonthlyBudgetError(self._refusal(self.before, need))
        if max_cost is None or min(share, room) < max_cost:
            self.binding = "share" if SHARE * need.worst < min(left, room) else "month"
        return min(amount, room)

    def _refusal(self, so_far: Tally, need: Need) -> str:
        left = max(0.0, self.limit - so_far.spent - so_far.claimed)
        claimed = f" and {_usd(so_far.claimed)} claimed by runs in progress" if so_far.claimed else ""
        what = (
            f"this run's estimate {_usd(need.estimate)} does not fit"
            if need.estimate > left
            else f"this run's first request could cost up to {_usd(need.first)} (its worst case), more than"
        )
        return (
            f"monthly budget: {_usd(so_far.spent)} spent this month ({self.month}, UTC){claimed} of "
            f"--monthly-budget {_usd(self.limit)}; {what} the {_usd(left)} left, so nothing was sent. The "
            f"budget resets on {_resets(self.started)}; raise --monthly-budget to run now."
        )

    # ------------------------------------------------------------------ during the run
    def keep(self) -> None:
        """Renew the claim when it is due (before a request is reserved)."""
        if self.share is None:
            return
        moment = now()
        if moment - self.renewed >= RENEW_AFTER:
            self.ledger.append(Entry(RENEW, self.run, self.month, self.share, moment + CLAIM_LASTS))
            self.renewed = moment

    def stop_message(self, rows_left: int, spent: float) -> str:
        if self.binding == "share":
            return (
                f"budget: this run used its share of the monthly budget ({_usd(self.share or 0)}, twice the worst "
                f"case of its planned requests; re-asks took the rest); {rows_left} rows not sent. Run the "
                "same command again to continue."
            )
        ahead = self.before.spent + self.before.claimed
        return (
            f"monthly budget: the next request could take this month's spend past --monthly-budget "
            f"{_usd(self.limit)} ({_usd(ahead)} spent or claimed this month before this run, {_usd(spent)} by this "
            f"run, each request counted at its worst case before it is sent); {rows_left} rows not sent. The "
            f"budget resets on {_resets(self.started)}; raise --monthly-budget or run again then."
        )

    # ------------------------------------------------------------------ after the run
    def settle(self, cost: float, report: Any, status: str) -> bool:
        """Replace the claim by what the run spent. True when that entry is the run's --log-sheet row."""
        if self.share is None:
            return False
        sheet = isinstance(self.ledger, SheetLedger)
        row = None
        if sheet:
            from .tables.gsheets import log_entry

            row = log_entry(report, status)
        try:
            self.ledger.append(Entry(COST, self.run, self.month, cost), row)
        except (SheetsAIError, sqlite3.Error) as exc:
            log.warning(
                "Could not record this run's cost in %s (its claim expires): %s", self.ledger.where, exc
            )
        return sheet

    def close(self) -> None:
        if isinstance(self.ledger, FileLedger):
            self.ledger.close()
