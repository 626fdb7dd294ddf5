"""Benchmark: what reading the --monthly-budget ledger costs as it grows (issue 12 §4).

Every run with a monthly budget reads its ledger whole twice before it sends anything (the month so far, then
again after appending its claim). This fills a ledger with N rows — claims and costs of runs spread over the
last twelve months — and times one read and tally of this month:

* the file ledger (``ledger.sqlite3``, as in the cache folder);
* the Google Sheets ledger (the run-log worksheet) through real gspread against the Sheets emulator over
  loopback, with the size of the ``values.get`` answer. The emulator is not Google: the time says little
  about the real API, the bytes are what Google would send.

Run from the repo root:

    python benchmarks/ledger.py --write BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _markdown import machine, update_section

from sheets_ai.config import build_config
from sheets_ai.ledger import CLAIM, COST, Entry, FileLedger, SheetLedger, month_of, now, stamp, tally
from sheets_ai.tables.gsheets import LOG_HEADER, GoogleSheetTable
from sheets_ai.testing.sheets_server import SheetsEmulator

COMMAND = "python benchmarks/ledger.py --write BENCHMARKS.md"
SIZES = (1_000, 10_000, 100_000)


def entries(n: int) -> list[tuple[Entry, str]]:
    """n ledger entries: half claims, half costs, of n/2 runs over the last 12 months; (entry, its time)."""
    today = now()
    out = []
    for i in range(n // 2):
        moment = today - dt.timedelta(days=365 * i / (n // 2))
        month, run = month_of(moment), f"run{i:08d}"
        until = moment + dt.timedelta(hours=2)
        out.append((Entry(CLAIM, run, month, 0.05, until), stamp(moment)))
        out.append((Entry(COST, run, month, 0.0312), stamp(moment)))
    return out


def timed(fn: object, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def file_ledger(n: int, folder: Path) -> float:
    ledger = FileLedger(folder / str(n))
    rows = [
        (t, e.kind, e.run, e.month, e.usd, e.until.isoformat() if e.until else None) for e, t in entries(n)
    ]
    ledger._db.executemany(  # filled in one go; a run appends one row at a time
        "INSERT INTO ledger (time, kind, run, month, usd, until, what) VALUES (?, ?, ?, ?, ?, ?, 'bench')",
        rows,
    )
    month = month_of(now())
    seconds = timed(lambda: tally(ledger.entries(), month, now()))
    ledger.close()
    return seconds


def sheet_rows(n: int) -> list[list[object]]:
    rows: list[list[object]] = [LOG_HEADER]
    for e, t in entries(n):
        row = {"time": t, "task": "sentiment", "model": "openai:gpt-4.1-mini", "where": "bench"}
        row.update(run=e.run, month=e.month)
        if e.kind == CLAIM:
            row.update(status="claim", claim_usd=e.usd, claim_until=stamp(e.until or now()))
        else:
            row.update(status="ok", processed=100, prompt_tokens=5000, completion_tokens=900, cost_usd=e.usd)
        rows.append([row.get(k, "") for k in LOG_HEADER])
    return rows


def sheet_ledger(n: int, emu: SheetsEmulator) -> tuple[float, int]:
    sid = emu.add_spreadsheet("Bench", {"Sheet1": [["Review"], ["x"]], "Log": sheet_rows(n)})
    table = GoogleSheetTable(build_config({"source": sid}))
    ledger = SheetLedger(table, "Log")
    month = month_of(now())
    seconds = timed(lambda: tally(ledger.entries(), month, now()), repeat=3)
    answer = emu.serve(
        "GET", f"/v4/spreadsheets/{sid}/values/Log!A:Q?valueRenderOption=UNFORMATTED_VALUE", b""
    )
    size = len(json.dumps(answer[1]).encode())
    table.close()
    return seconds, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", type=Path, help="update this BENCHMARKS.md section")
    args = parser.parse_args()
    lines = [
        "| ledger rows | file ledger: read + tally | Sheets ledger: read + tally (emulator) | Sheets `values.get` answer |",
        "| --- | --- | --- | --- |",
    ]
    with tempfile.TemporaryDirectory() as tmp, SheetsEmulator(port=0) as emu:
        os.environ["SHEETS_AI_SHEETS_ENDPOINT"] = emu.url
        for n in SIZES:
            file_s = file_ledger(n, Path(tmp))
            sheet_s, size = sheet_ledger(n, emu)
            lines.append(
                f"| {n:,} | {file_s * 1000:,.0f} ms | {sheet_s * 1000:,.0f} ms | {size / 1e6:,.1f} MB |"
            )
            print(lines[-1], flush=True)
    body = (
        "Every run with `--monthly-budget` reads its ledger whole twice before sending anything. A ledger of N "
        "rows (claims and costs of N/2 runs over the last 12 months), one read and tally of this month, median "
        f"of 3-5. Machine: {machine()}.  \nCommand: `{COMMAND}`\n\n" + "\n".join(lines) + "\n\n"
        "The emulator's time is not Google's; the answer size is what Google would send (JSON, before gzip). "
        "Each run adds two rows: an hourly job of 10 tasks reaches 100,000 rows in about 7 months — delete "
        "past months' rows now and then (docs/openai.md, *A monthly budget*)."
    )
    if args.write:
        update_section(args.write, "Monthly budget: reading the ledger", body)


if __name__ == "__main__":
    main()
