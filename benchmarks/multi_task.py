"""Benchmark: sentiment + summarize in one pass against two separate runs (issue 12, item 3).

The same corpora as ``cost_per_row.py`` (1,000 generated short reviews, 100 generated meeting notes), each
written to a CSV and run through the real CLI pipeline (``sheets_ai.run``), the real SDK and the fake OpenAI
server, with the result cache off:

* one pass: ``--task sentiment,summarize --output Sentiment,Summary``;
* two runs: ``--task sentiment --output Sentiment``, then ``--task summarize --output Summary``.

Requests and tokens are the server's own exact o200k counts of what arrived; both ways must write the same
two columns (checked). Run from the repo root:

    python benchmarks/multi_task.py --write BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _markdown import machine, update_section
from cost_per_row import notes, reviews

import sheets_ai
from sheets_ai.config import build_config
from sheets_ai.pricing import price_for
from sheets_ai.providers.openai import DEFAULT_MODEL
from sheets_ai.testing.openai_server import FakeOpenAI

COMMAND = "python benchmarks/multi_task.py --write BENCHMARKS.md"


def write_csv(path: Path, texts: list[str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Text"])
        w.writerows([t] for t in texts)
    return path


def columns(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [(r["Sentiment"], r["Summary"]) for r in csv.DictReader(f)]


def run(server: FakeOpenAI, source: Path, task: str, output: str, **options: Any) -> None:
    config = build_config(
        {
            "source": str(source), "task": task, "input": "Text", "output": output, "provider": "openai",
            "base_url": server.url, "api_key": "bench", "cache": False, "concurrency": 4, "rpm": 100_000,
            "tpm": 100_000_000, **options,
        }
    )  # fmt: skip
    report = sheets_ai.run(config)
    assert report.exit_code == 0 and not report.rows_failed, report


def measure(server: FakeOpenAI, texts: list[str], folder: Path, **options: Any) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    results = {}
    for way in ("one pass", "two runs"):
        source = write_csv(folder / f"{way.replace(' ', '_')}.csv", texts)
        server.reset()
        if way == "one pass":
            run(server, source, "sentiment,summarize", "Sentiment,Summary", **options)
        else:
            run(server, source, "sentiment", "Sentiment", **options)
            run(server, source, "summarize", "Summary", **options)
        sent = [r for r in server.requests if "prompt_tokens" in r]
        out[way] = {
            "requests": len(sent),
            "prompt": sum(r["prompt_tokens"] for r in sent),
            "completion": sum(r["completion_tokens"] for r in sent),
        }
        results[way] = columns(source)
    assert results["one pass"] == results["two runs"], "the two ways wrote different answers"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", type=Path, help="Update this markdown file (e.g. BENCHMARKS.md).")
    args = parser.parse_args()
    price = price_for(DEFAULT_MODEL)
    assert price is not None
    corpora = {"short reviews": reviews(), "meeting notes": notes()}
    rows: list[tuple[str, str, dict[str, int], int]] = []
    with FakeOpenAI(port=0) as server, tempfile.TemporaryDirectory() as tmp:
        for name, texts in corpora.items():
            for way, m in measure(server, texts, Path(tmp)).items():
                rows.append((name, way, m, len(texts)))
        larger = measure(server, corpora["short reviews"], Path(tmp), batch_size=25)
        for way, m in larger.items():
            rows.append(("short reviews, --batch-size 25", way, m, len(corpora["short reviews"])))
    cost = {(c, w): price.cost(m["prompt"], m["completion"]) / n * 1000 for c, w, m, n in rows}
    lines = [
        f"Command: `{COMMAND}`  ",
        f"Machine: {machine()}.  ",
        f"Model prices: {DEFAULT_MODEL} at ${price.input}/1M input, ${price.output}/1M output.",
        "",
        "The corpora of *OpenAI cost per row* (1,000 generated short reviews, avg 10 tokens; 100 generated "
        "meeting notes, avg 168 tokens), each as a CSV through `sheets_ai.run` (the CLI's pipeline), the real "
        "SDK and the fake server, cache off. One pass: `--task sentiment,summarize --output Sentiment,Summary`; "
        "two runs: `--task sentiment`, then `--task summarize`. Tokens are the server's exact o200k counts of "
        "what arrived; both ways wrote the same two columns. The generated reviews repeat themselves, and both "
        "ways ask each distinct text once (duplicates sent once), hence fewer requests than rows / batch size. "
        "Default batch sizes unless stated: a summaries run 8 rows per request, a sentiment run 100; a pass with "
        "a summary about 1,500 input tokens of rows per request, at least 8 and at most 100 rows (8 meeting "
        "notes, or 100 short reviews).",
        "",
        "| corpus | way | requests | prompt tok/row | completion tok/row | $ per 1,000 rows | share of two runs |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for corpus, way, m, n in rows:
        share = cost[(corpus, way)] / cost[(corpus, "two runs")]
        lines.append(
            f"| {corpus} | {way} | {m['requests']:,} | {m['prompt'] / n:.1f} | {m['completion'] / n:.2f} | "
            f"${cost[(corpus, way)]:.4f} | {share:.0%} |"
        )
    body = "\n".join(lines)
    print(body)
    if args.write:
        update_section(args.write, "Several tasks in one pass", body)


if __name__ == "__main__":
    main()
