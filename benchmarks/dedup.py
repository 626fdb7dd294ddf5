"""Benchmark: requests and cost on a survey-like sheet with and without duplicates sent once (issue 12 §2).

A CSV of 10,000 answers with 1,200 distinct texts (seeded): "Good" 2,000 times, "N/A" 1,500, "同上" 1,000,
" good " (whitespace around) 300, and 5,200 rows spread over 1,196 other answers. ``sheets-ai run … --task
sentiment --model gpt-4.1-mini --no-cache`` runs as a child process against the fake OpenAI server (which
reports usage like OpenAI) once with this checkout and once with the code in ``--before SRC`` (a source tree
of the commit before deduplication). Run from the repo root:

    git archive 354db2b sheets_ai | (mkdir -p /tmp/dedup-before && tar -x -C /tmp/dedup-before)
    python benchmarks/dedup.py --before /tmp/dedup-before --write BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _markdown import machine, update_section

from sheets_ai.testing._openai_protocol import read_request
from sheets_ai.testing.openai_server import FakeOpenAI

REPO = Path(__file__).resolve().parents[1]
ROWS, DISTINCT = 10_000, 1_200
COMMAND = (
    "git archive 354db2b sheets_ai | (mkdir -p /tmp/dedup-before && tar -x -C /tmp/dedup-before) && "
    "python benchmarks/dedup.py --before /tmp/dedup-before --write BENCHMARKS.md"
)


def survey(seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    others = [
        f"{rng.choice(['Delivery', 'Support', 'Price', 'The app', 'Checkout'])} was "
        f"{rng.choice(['fine', 'slow', 'great', 'confusing', 'ok'])} (case {i})"
        for i in range(DISTINCT - 4)
    ]
    rows = ["Good"] * 2000 + ["N/A"] * 1500 + ["同上"] * 1000 + [" good "] * 300
    rows += others + [rng.choice(others) for _ in range(ROWS - len(rows) - len(others))]
    rng.shuffle(rows)
    return rows


def run(client: Path, rows: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI(port=0, retry_after=0.01) as server:
        source = Path(tmp) / "survey.csv"
        with source.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["Answer"])
            writer.writerows([r] for r in rows)
        env = {**os.environ, "OPENAI_API_KEY": "bench", "PYTHONPATH": str(client), "HOME": tmp}
        args = ["run", str(source), "--task", "sentiment", "--input", "Answer", "--output", "Sentiment"]
        args += ["--provider", "openai", "--base-url", server.url, "--model", "gpt-4.1-mini", "--no-cache"]
        proc = subprocess.run(
            [sys.executable, "-m", "sheets_ai", *args, "--json"],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp,
        )
        report: dict[str, Any] = json.loads(proc.stdout)
        report["sent_rows"] = sum(
            len(read_request(r["body"]["messages"]).items) for r in server.requests if "body" in r
        )
        return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="source tree of the code before dedup")
    parser.add_argument("--write", type=Path, help="update this BENCHMARKS.md section")
    args = parser.parse_args()
    rows = survey()
    assert len(rows) == ROWS and len({" ".join(r.split()) for r in rows}) == DISTINCT
    lines = [
        "| code | rows filled | rows sent | requests | prompt tokens | completion tokens | cost |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, client in (("before (every row sent)", args.before.resolve()), ("duplicates sent once", REPO)):
        r = run(client, rows)
        lines.append(
            f"| {name} | {r['rows_processed']:,} | {r['sent_rows']:,} | {r['requests']:,} | "
            f"{r['prompt_tokens']:,} | {r['completion_tokens']:,} | ${r['cost_usd']:.4f} |"
        )
    body = (
        f'A survey-like CSV: {ROWS:,} rows, {DISTINCT:,} distinct answers ("Good" ×2,000, "N/A" ×1,500, '
        '"同上" ×1,000, " good " ×300), sentiment on gpt-4.1-mini against the fake OpenAI server, '
        f"--no-cache. Machine: {machine()}.  \nCommand: `{COMMAND}`\n(354db2b: the commit before duplicates were sent once).\n\n"
        + "\n".join(lines)
        + "\n"
    )
    print(body)
    if args.write:
        update_section(args.write, "Duplicates sent once", body)


if __name__ == "__main__":
    main()
