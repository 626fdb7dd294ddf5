"""Benchmark: rows/min against the fake OpenAI server at 1 s latency, 500 requests/min, 200,000 tokens/min.

The limit for a run is min(500 × rows per request, 200,000 / tokens per row) rows/min, with rows per request
and tokens per row measured from the run itself. Target: ≥ 90% of it. The server charges tokens as OpenAI
does (prompt + ``max_tokens`` when a request arrives, the unused part given back with the answer). The
client is told the same limits (``--rpm 500 --tpm 200000``) and also follows the server's rate-limit
headers. Run from the repo root:

    python benchmarks/throughput.py --write BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _markdown import machine, update_section
from cost_per_row import notes, reviews

import sheets_ai
from sheets_ai.testing.openai_server import FakeOpenAI

RPM, TPM, LATENCY, BURST = 500, 200_000, 1.0, 5.0


def measure(task: str, texts: list[str], concurrency: int) -> dict[str, float]:
    with FakeOpenAI(port=0, latency=LATENCY, rpm=RPM, tpm=TPM, burst_seconds=BURST) as server:
        started = time.monotonic()
        _, report = sheets_ai.run_texts(
            texts, task, provider="openai", base_url=server.url, api_key="bench", cache=False,
            concurrency=concurrency, rpm=RPM, tpm=TPM, max_chars=200,
        )  # fmt: skip
        seconds = time.monotonic() - started
        limited = server.counts()["rate_limited"]
        served = len(server.requests)
    assert report.server_requests == served, (report.server_requests, served)
    assert report.rows_processed == len(texts) and report.rows_failed == 0, report
    rows, requests = len(texts), report.requests
    tokens_per_row = (report.prompt_tokens + report.completion_tokens) / rows
    rows_per_request = rows / requests
    limit = min(RPM * rows_per_request, TPM / tokens_per_row)
    achieved = rows / seconds * 60
    # What the server's buckets let through in this wall time: the per-minute rate plus the starting burst.
    allowed = limit * (seconds + BURST) / 60
    return {
        "rows": rows,
        "requests": requests,
        "seconds": seconds,
        "rows_per_request": rows_per_request,
        "tokens_per_row": tokens_per_row,
        "limit": limit,
        "achieved": achieved,
        "share": achieved / limit,
        "strict": rows / allowed,
        "rate_limited": limited,
        "server_requests": served,
        "concurrency": concurrency,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=80.0, help="Aim for runs of about this long.")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--write", type=Path, help="Update this markdown file (e.g. BENCHMARKS.md).")
    args = parser.parse_args()
    short, long_ = reviews(), notes()
    # Size each run so that, at the limit, it lasts about --seconds (tokens/row from the cost benchmark).
    runs = [("sentiment", 14.6, short), ("summarize", 205.0, long_)]
    results = []
    for task, tokens_per_row, pool in runs:
        count = int(TPM / tokens_per_row * args.seconds / 60)
        texts = [pool[i % len(pool)] for i in range(count)]
        results.append((task, measure(task, texts, args.concurrency)))
        print(task, results[-1][1], flush=True)
    lines = [
        "Command: `python benchmarks/throughput.py --write BENCHMARKS.md`  ",
        f"Machine: {machine()}.  ",
        f"Fake server: {LATENCY:g} s latency per request, {RPM} requests/min, {TPM:,} tokens/min (token buckets "
        f"holding {BURST:g} s of quota, charging prompt + `max_tokens` when a request arrives and giving back the "
        f"unused part with the answer, as OpenAI does; 429 + retry-after beyond them). Client: `--rpm {RPM} --tpm {TPM}` "
        f"and `--concurrency {args.concurrency}`, default batch sizes. Rows/min is rows ÷ wall time of the whole "
        "run (start-up and the last in-flight requests included); the limit is min(500 × rows per request, "
        "200,000 ÷ tokens per row), both measured in the run. Target ≥ 90%. *Share* is rows/min ÷ that limit; "
        f"*strict share* also credits the server's {BURST:g} s starting allowance (rows ÷ what the buckets let "
        "through in the same wall time), so it cannot exceed 100%.",
        "",
        "| task | rows | requests | rows/request | tokens/row | wall time | rows/min | limit rows/min | share | strict share | 429s | HTTP requests |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for task, r in results:
        lines.append(
            f"| {task} | {r['rows']:,} | {r['requests']} | {r['rows_per_request']:.1f} | {r['tokens_per_row']:.1f} | "
            f"{r['seconds']:.1f} s | {r['achieved']:,.0f} | {r['limit']:,.0f} | {r['share']:.0%} | {r['strict']:.0%} | "
            f"{r['rate_limited']} | {r['server_requests']} |"
        )
    body = "\n".join(lines)
    print(body)
    if args.write:
        update_section(args.write, "OpenAI throughput under rate limits", body)


if __name__ == "__main__":
    main()
