"""Google Sheets API requests and wall time: sheets-ai against a naive one-cell-per-row writer.

Both run against the local Sheets API emulator (real HTTP on loopback, real gspread) with the real API's
default quotas switched on: 60 read and 60 write requests per minute.

    python benchmarks/sheets_requests.py                       # 1,000 / 10,000 / 50,000 rows, prints a table
    python benchmarks/sheets_requests.py --write BENCHMARKS.md  # also (re)writes that file's section

sheets-ai runs as ``python -m sheets_ai run <sheet URL> --task sentiment --input Review --output Sentiment
--log-sheet Runs`` in a child process with ``SHEETS_AI_SHEETS_ENDPOINT`` set and no OpenAI key (the offline
analyzer), so the figures are the Sheets traffic of a real run, log row included.

The naive writer reads the column once, then calls gspread's ``worksheet.update_acell`` for each row. It is
run for ``--naive-sample`` rows with the quota on until the first 429 (to show where it breaks), then the
sample is completed without the quota to time the requests themselves; for the full sizes its time is
*computed* from the quota (one write per row at 60 writes/min) rather than waited out for hours.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from gspread.exceptions import APIError

from sheets_ai.testing.sheets_server import SheetsEmulator

SECTION = "## Google Sheets API requests"
QUOTA = 60  # requests per minute per user, read and write each: the Sheets API default


def rows_for(n: int) -> list[list[Any]]:
    words = ["great", "awful", "fine but slow", "broke after a week", "love it"]
    return [["Review"]] + [[f"Review {i}: {words[i % len(words)]}"] for i in range(n)]


def run_sheets_ai(n: int) -> dict[str, Any]:
    with SheetsEmulator(port=0) as emu:
        sid = emu.add_spreadsheet("Reviews", {"Sheet1": rows_for(n)})
        emu.set_quota(QUOTA, QUOTA)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SHEETS_AI_"))}
        env["SHEETS_AI_SHEETS_ENDPOINT"] = emu.url
        cmd = [
            sys.executable, "-m", "sheets_ai", "run",
            f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid=0",
            "--task", "sentiment", "--input", "Review", "--output", "Sentiment", "--log-sheet", "Runs", "--json",
        ]  # fmt: skip
        started = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"sheets-ai failed ({proc.returncode}): {proc.stderr}")
        report = json.loads(proc.stdout)
        filled = sum(1 for r in emu.values(sid, "Sheet1")[1:] if len(r) > 1 and r[1])
        statuses = [r.status for r in emu.requests]
        return {
            "rows": n,
            "requests": len(statuses),
            "throttled": statuses.count(429),
            "reads": sum(1 for r in emu.requests if r.method == "GET"),
            "seconds": seconds,
            "filled": filled,
            "processed": report["rows_processed"],
        }


def run_naive(sample: int) -> dict[str, Any]:
    """update_acell per row: requests per row, the point where the quota stops it, loopback time per row."""
    with SheetsEmulator(port=0) as emu:
        sid = emu.add_spreadsheet("Reviews", {"Sheet1": rows_for(sample)})
        ws = emu.gspread_client().open_by_key(sid).sheet1
        emu.reset_counts()
        emu.set_quota(QUOTA, QUOTA)
        texts = ws.col_values(1)[1:]
        refused_at = None
        for i, text in enumerate(texts, start=2):
            try:
                ws.update_acell(f"B{i}", "positive" if "great" in text or "love" in text else "negative")
            except APIError as exc:
                if exc.code != 429:
                    raise
                refused_at = emu.request_count
                break
        # Time the whole sample without the quota (what the requests cost when nothing throttles).
        emu.set_quota(None, None)
        emu.reset_counts()
        started = time.perf_counter()
        texts = ws.col_values(1)[1:]
        for i, text in enumerate(texts, start=2):
            ws.update_acell(f"B{i}", "positive" if "great" in text or "love" in text else "negative")
        seconds = time.perf_counter() - started
        return {
            "sample": sample,
            "requests": emu.request_count,
            "refused_at": refused_at,
            "seconds_per_row": seconds / sample,
        }


def naive_minimum_seconds(n: int, per_row: float) -> float:
    """At 60 writes/min, n single-cell writes take at least (n - 60) / 60 minutes after the first burst."""
    return max(n * per_row, (max(0, n - QUOTA) / QUOTA) * 60 + n * per_row)


def human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def render(results: list[dict[str, Any]], naive: dict[str, Any], command: str) -> str:
    machine = f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}, Python {platform.python_version()}"
    lines = [
        SECTION,
        "",
        f"Command: `{command}`",
        f"Machine: {machine}. Emulator on loopback with quotas on: {QUOTA} read + {QUOTA} write requests per minute.",
        "sheets-ai: `sheets-ai run <sheet URL> --task sentiment --input Review --output Sentiment --log-sheet Runs` "
        "(offline analyzer) as a child process; wall time includes Python start-up and the analysis. "
        f"Naive writer: gspread `col_values` once, then `worksheet.update_acell` per row; measured for "
        f"{naive['sample']} rows, larger sizes **computed** from the quota (not waited out).",
        "",
        "| rows | sheets-ai requests | sheets-ai wall time | 429s | naive requests | naive time |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    per_row = naive["seconds_per_row"]
    for r in results:
        n = r["rows"]
        naive_requests = n + 1
        lines.append(
            f"| {n:,} | {r['requests']} ({r['reads']} reads) | {r['seconds']:.1f} s | {r['throttled']} | "
            f"{naive_requests:,} | ≥ {human(naive_minimum_seconds(n, per_row))} (computed) |"
        )
    refused = naive["refused_at"]
    lines += [
        "",
        f"Naive writer, measured: {naive['requests']} requests for {naive['sample']} rows "
        f"({naive['seconds_per_row'] * 1000:.1f} ms per row on loopback without the quota); "
        + (
            f"with the quota on, request {refused} was refused with `429 RESOURCE_EXHAUSTED`. "
            if refused
            else "the quota was not reached. "
        )
        + f"Its minimum time is (rows − {QUOTA}) / {QUOTA} minutes at {QUOTA} writes/min. "
        "sheets-ai makes 2 reads, then 2 requests per chunk (a re-read of the chunk's input cells and one "
        "`values.batchUpdate`, RAW, < 2 MB), plus 2 for the log row (`addSheet` the first time, `values.append`).",
        "",
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="1000,10000,50000", help="comma-separated sizes")
    parser.add_argument("--naive-sample", type=int, default=200, help="rows the naive writer really writes")
    parser.add_argument("--write", type=Path, help="replace the section in this Markdown file")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.rows.split(",")]
    results = []
    for n in sizes:
        result = run_sheets_ai(n)
        assert result["filled"] == n == result["processed"], result
        print(
            f"sheets-ai {n:>6} rows: {result['requests']} requests, {result['seconds']:.1f} s",
            file=sys.stderr,
        )
        results.append(result)
    naive = run_naive(args.naive_sample)
    print(f"naive {naive}", file=sys.stderr)
    command = (
        "python benchmarks/sheets_requests.py"
        + (f" --rows {args.rows}" if args.rows != "1000,10000,50000" else "")
        + (" --write BENCHMARKS.md" if args.write else "")
    )
    section = render(results, naive, command)
    print(section)
    if args.write:
        write_section(args.write, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
