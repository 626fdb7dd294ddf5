"""Benchmark: what the self-reported confidence digit costs on a model without log-probabilities.

The same ~1,000 generated short reviews as ``cost_per_row.py`` go through the real pipeline, OpenAIProvider
and SDK to the fake OpenAI server, once without a confidence (the plain protocol, ``{"a":"1p2n3u"}``) and
once with ``--confidence-column`` (``{"a":"1p92n73u8"}``: one digit 0-9 after each code), on gpt-5-mini (no
log-probabilities) at several batch sizes; and gpt-4.1-mini (log-probabilities) with and without, which
must not differ at all. Tokens are the server's exact o200k counts of each request and answer; the fake
server is told to spend no reasoning tokens, so the completion is the answer alone. Run from the repo root:

    python benchmarks/self_confidence.py --write BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _markdown import machine, update_section
from cost_per_row import reviews

from sheets_ai.config import build_config
from sheets_ai.pipeline import run
from sheets_ai.pricing import price_for
from sheets_ai.tables.memory import MemoryTable
from sheets_ai.testing._openai_answers import expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI


def measure(
    server: FakeOpenAI, texts: list[str], model: str, batch: int, confidence: bool
) -> dict[str, float]:
    server.reset()
    table = MemoryTable(texts)
    config = build_config(
        {
            "source": "<bench>", "input": "input", "output": "output", "task": "sentiment",
            "provider": "openai", "base_url": server.url, "api_key": "bench", "model": model,
            "batch_size": batch, "cache": False, "concurrency": 4, "rpm": 100_000, "tpm": 100_000_000,
            "confidence_column": "confidence" if confidence else None,
        }
    )  # fmt: skip
    report = run(config, table=table)
    assert report.rows_failed == 0 and report.rows_processed == len(texts), report
    assert table.results == [expected_answer("sentiment", t) for t in texts]
    if confidence:
        assert all(c is not None for c in table.confidences)
    prompt = sum(r.get("prompt_tokens", 0) for r in server.requests)
    completion = sum(r.get("completion_tokens", 0) for r in server.requests)
    reasoning = sum(r.get("reasoning_tokens", 0) for r in server.requests)
    assert reasoning == 0
    price = price_for(model)
    cost = price.cost(prompt, completion) / len(texts) * 1000 if price else 0.0
    return {"requests": len(server.requests), "prompt": prompt, "completion": completion, "cost": cost}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", type=Path, help="Update this markdown file (e.g. BENCHMARKS.md).")
    args = parser.parse_args()
    texts = [f"{text} Order {i}." for i, text in enumerate(reviews(), start=1001)]  # unique: every row sent
    n = len(texts)
    runs: list[tuple[str, int, dict[str, float], dict[str, float]]] = []
    with FakeOpenAI(port=0, reasoning_tokens=0) as server:
        for model, batches in (("gpt-5-mini", (25, 100, 200)), ("gpt-4.1-mini", (100,))):
            for batch in batches:
                plain = measure(server, texts, model, batch, confidence=False)
                rated = measure(server, texts, model, batch, confidence=True)
                runs.append((model, batch, plain, rated))
    lines = [
        "Command: `python benchmarks/self_confidence.py --write BENCHMARKS.md`  ",
        f"Machine: {machine()}.",
        "",
        f"Corpus: the {n} generated short reviews of *OpenAI cost per row*, each with an order number appended "
        "so that no two are alike (duplicates are sent once), sentiment, through the pipeline, "
        "`OpenAIProvider` and the real SDK to the fake server (no reasoning tokens spent, so the completion is "
        "the answer alone); tokens are the server's exact o200k counts. *with* = `--confidence-column`: on "
        'gpt-5-mini (no log-probabilities) the answer becomes `{"a":"1p92n73u8"}`, one digit after each code '
        "(and the answer line and schema pattern say so); on gpt-4.1-mini the confidence comes from "
        "log-probabilities and nothing changes. Every row got its expected answer and, with, a confidence.",
        "",
        "| model | rows/request | prompt tok/row without | with | completion tok/row without | with | "
        "extra output tok/row | $ per 1,000 rows without | with |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for model, batch, plain, rated in runs:
        extra = (rated["completion"] - plain["completion"]) / n
        lines.append(
            f"| {model} | {batch} | {plain['prompt'] / n:.2f} | {rated['prompt'] / n:.2f} | "
            f"{plain['completion'] / n:.2f} | {rated['completion'] / n:.2f} | {extra:+.2f} | "
            f"${plain['cost']:.4f} | ${rated['cost']:.4f} |"
        )
    lines += [
        "",
        "o200k splits digits into groups of up to three, so a row's digit merges with the next row's id "
        "(`9` + `2` -> `92`): below 100 rows per request the digit is nearly free; with three-digit ids "
        "(rows 100 and up of a request) each digit is a token of its own. The prompt grows by the longer answer "
        "line and one character of the schema pattern per request.",
    ]
    body = "\n".join(lines)
    print(body)
    if args.write:
        update_section(args.write, "Self-reported confidence: cost per row", body)


if __name__ == "__main__":
    main()
