"""The month's spend, kept where every run that shares a budget can see it (``--monthly-budget``).

A ledger is an append-only list of entries, in the order the store accepted them:

* ``claim``: a run reserves ``usd`` of the month before it sends anything, valid ``until`` a time (renewed by a
  ``renew`` entry while the run lasts, so a crashed run's claim expires instead of holding the budget);
* ``cost``: what a run really spent; it replaces the run's claim.

Two stores, one format:

* :class:`FileLedger`: ``ledger.sqlite3`` in the cache folder, for runs over files on one machine (SQLite
  serialises writers between processes; the entry id is the order).
* :class:`SheetLedger`: rows of the ``--log-sheet`` worksheet of a Google Sheet (or ``sheets-ai ledger`` when no
  log sheet is given). The run-log row each run appends at its end is its ``cost`` entry; claims are rows with
  status ``claim``. Their order is the order the Sheets API appended them (their row numbers).

No entry holds a secret: amounts, times, a random run id, the task and model, the host name.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import socket
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

#: Tests only: the ledger's clock, an ISO 8601 UTC time (e.g. ``2026-12-31T23:59:00``). Unset: the real clock.
#: It only moves which month a run counts in and when claims expire, never what a run spends.
NOW_ENV = "SHEETS_AI_TEST_NOW"
#: Columns the ledger adds after the run log's own (sheets_ai.tables.gsheets.LOG_HEADER).
LEDGER_COLUMNS = ["run", "month", "claim_usd", "claim_until"]
#: The worksheet that holds the ledger of a Google Sheet when no --log-sheet is given.
LEDGER_SHEET = "sheets-ai ledger"
CLAIM = "claim"
RENEW = "renew"
COST = "cost"


def now() -> dt.datetime:
    """The current time in UTC (``SHEETS_AI_TEST_NOW`` when a test sets it)."""
    fixed = os.environ.get(NOW_ENV, "").strip()
    if fixed:
        moment = dt.datetime.fromisoformat(fixed.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC)


def month_of(moment: dt.datetime) -> str:
    """``2026-12``: the calendar month in UTC."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m")


def next_month(moment: dt.datetime) -> dt.datetime:
    """The first instant of the next calendar month (UTC): when a monthly budget starts afresh."""
    moment = moment.astimezone(dt.UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return dt.datetime(year, month, 1, tzinfo=dt.UTC)


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _parse_time(text: Any) -> dt.datetime | None:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip().removesuffix(" UTC").replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip().lstrip("$"))
    except ValueError:
        return None


@dataclass(frozen=True)
class Entry:
    kind: str  # claim, renew or cost
    run: str  # a random id per run ('' for run-log rows written before the ledger existed)
    month: str
    usd: float
    until: dt.datetime | None = None  # claims and renewals
    position: int = 0  # the order the store accepted it


@dataclass(frozen=True)
class Tally:
    spent: float  # cost entries of the month
    claimed: float  # live claims of the month, of runs that have no cost entry yet


def tally(
    entries: Iterable[Entry], month: str, moment: dt.datetime, *, run: str = "", before: int | None = None
) -> Tally:
    """The month's spend and its live claims, leaving out ``run``'s own claim and claims placed after
    position ``before``. A claim is live until its latest ``until`` (renewals extend it) unless its run has a
    cost entry."""
    entries = list(entries)
    finished = {e.run for e in entries if e.kind == COST and e.run}
    spent = sum(e.usd for e in entries if e.kind == COST and e.month == month)
    claims: dict[str, Entry] = {}
    until: dict[str, dt.datetime] = {}
    for e in entries:
        if e.kind == CLAIM and e.run and e.run not in claims:
            claims[e.run] = e
        if e.kind in (CLAIM, RENEW) and e.run and e.until is not None:
            until[e.run] = max(until.get(e.run, e.until), e.until)
    claimed = sum(
        c.usd
        for r, c in claims.items()
        if r != run
        and r not in finished
        and c.month == month
        and until.get(r, moment) > moment
        and (before is None or c.position < before)
    )
    return Tally(spent=spent, claimed=claimed)


class Ledger(Protocol):
    where: str

    def append(self, entry: Entry, log_row: Mapping[str, Any] | None = None) -> None:
        """Add an entry (a Sheets ledger writes ``log_row``, the run-log row, for a cost entry)."""

    def entries(self) -> list[Entry]:
        """Every entry, in order, each with its position."""


class FileLedger:
    """``ledger.sqlite3`` in the cache folder: one machine, any number of processes."""

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, "
        "kind TEXT NOT NULL, run TEXT NOT NULL, month TEXT NOT NULL, usd REAL NOT NULL, until TEXT, "
        "what TEXT)"
    )

    def __init__(self, folder: Path, what: str = "") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "ledger.sqlite3"
        self.where = str(self.path)
        self.what = what
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(self.SCHEMA)

    def append(self, entry: Entry, log_row: Mapping[str, Any] | None = None) -> None:
        until = entry.until.isoformat() if entry.until else None
        self._db.execute(
            "INSERT INTO ledger (time, kind, run, month, usd, until, what) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (now().isoformat(), entry.kind, entry.run, entry.month, entry.usd, until, self.what),
        )

    def entries(self) -> list[Entry]:
        rows = self._db.execute("SELECT id, kind, run, month, usd, until FROM ledger ORDER BY id").fetchall()
        return [Entry(k, r, m, float(u), _parse_time(t), position=i) for i, k, r, m, u, t in rows]

    def close(self) -> None:
        self._db.close()


class SheetLedger:
    """The run-log worksheet of a Google Sheet; ``table`` is the GoogleSheetTable the run writes to."""

    def __init__(self, table: Any, name: str, about: Mapping[str, Any] | None = None) -> None:
        self.table, self.name = table, name
        self.about = dict(about or {})  # what claim rows say about the run: its task and model
        self.where = f"worksheet {name!r}"

    def append(self, entry: Entry, log_row: Mapping[str, Any] | None = None) -> None:
        row: dict[str, Any] = dict(log_row or {})
        if log_row is None:  # a claim or renewal: a run-log row that says so
            row.update(self.about, time=stamp(now()), status=entry.kind, where=socket.gethostname())
        row.update(run=entry.run, month=entry.month)
        if entry.kind == COST:  # with requests abandoned in flight counted at their worst case
            row["cost_usd"] = _up(entry.usd)
        else:
            row.update(claim_usd=_up(entry.usd), claim_until=stamp(entry.until or now()))
        self.table.append_log(self.name, row)

    def entries(self) -> list[Entry]:
        parsed = (_entry_of(cell, number) for number, cell in self.table.log_rows(self.name))
        return [e for e in parsed if e is not None]


def _up(usd: float) -> float:
    """Six decimals, rounded up: what other runs read is never less than what was claimed or spent."""
    return math.ceil(round(usd * 1e6, 3)) / 1e6


def _entry_of(cell: Mapping[str, Any], position: int) -> Entry | None:
    """One log row as a ledger entry; rows a person typed into the log that do not parse are left out."""
    status = str(cell.get("status", "")).strip()
    run = str(cell.get("run", "") or "").strip()
    month = str(cell.get("month", "") or "").strip()
    if not re.fullmatch(r"\d{4}-\d{2}", month):
        moment = _parse_time(cell.get("time"))
        if moment is None:
            return None
        month = month_of(moment)
    if status in (CLAIM, RENEW):
        usd = _number(cell.get("claim_usd"))
        until = _parse_time(cell.get("claim_until"))
        if usd is None or until is None or not run:
            return None
        return Entry(status, run, month, usd, until, position)
    usd = _number(cell.get("cost_usd"))
    if usd is None:
        return None
    return Entry(COST, run, month, usd, None, position)
