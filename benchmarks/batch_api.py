"""Benchmark: cost per 1,000 rows through the Batch API and the flex tier, against synchronous runs and the floor.

The corpus of ``cost_per_row.py`` (1,000 generated reviews, 100 meeting notes) is written to CSV files and run
with ``sheets_ai.run`` through the real SDK against the fake OpenAI server: synchronously, with
``--service-tier flex`` (models that offer it) and with ``--batch-api --wait`` (files, batches, collection, as
a user runs it). Costs are the reports' ``cost_usd`` (what the run charges: batch and flex at half the standard
price); the floor is the rows' own tokens plus the answers' tokens at the model's *standard* price. Run from
the repo root:

    python benchmarks/batch_api.py --write BENCHMARKS.md
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
from cost_per_row import floor, notes, per_1000, reviews

from sheets_ai.config import build_config
from sheets_ai.pipeline import run
from sheets_ai.testing._openai_answers import expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI

MODES = {"synchronous": {}, "flex": {"service_tier": "flex"}, "Batch API": {"batch_api": True, "wait": True}}
#: gpt-4.1-mini (the default) has no flex tier; gpt-5-mini (reasoning effort minimal) has both.
MODELS = {"gpt-4.1-mini": ("synchronous", "Batch API"), "gpt-5-mini": ("synchronous", "flex", "Batch API")}


def measure(
    server: FakeOpenAI, folder: Path, texts: list[str], task: str, model: str, mode: str
) -> dict[str, Any]:
    path = folder / f"{task}-{model}-{mode.replace(' ', '_')}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Text"])
        writer.writerows([t] for t in texts)
    server.reset()
    options: dict[str, Any] = {
        "source": str(path), "task": task, "input": "Text", "output": "Result", "provider": "openai",
        "base_url": server.url, "api_key": "bench", "model": model, "cache": False, "rpm": 100_000,
        "tpm": 100_000_000, "max_chars": 200, **MODES[mode],
    }  # fmt: skip
    report = run(build_config(options))
    assert report.rows_failed == 0 and report.rows_processed == len(texts), report
    with path.open(encoding="utf-8") as fh:
        got = [row["Result"] for row in csv.DictReader(fh)]
    wanted = [expected_answer(task, t, max_chars=200) for t in texts]
    assert got == wanted, [(g, w) for g, w in zip(got, wanted, strict=True) if g != w][:3]
    chat = [r for r in server.requests if r.get("prompt_tokens") is not None]
    return {
        "requests": len(chat),
        "batch_lines": sum(1 for r in chat if r.get("batch")),
        "cost": report.cost_usd / len(texts) * 1000,
        "prompt": report.prompt_tokens / len(texts),
        "completion": report.completion_tokens / len(texts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", type=Path, help="Update this markdown file (e.g. BENCHMARKS.md).")
    args = parser.parse_args()
    # Every row distinct (an order number added), so duplicates asked once (sheets_ai.dedup) do not lower the
    # figures below the floor, which counts every row.
    corpora = {"sentiment": [f"{t} #{i}" for i, t in enumerate(reviews())], "summarize": notes()}
    results: list[tuple[str, str, str, dict[str, Any], float]] = []
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI(port=0) as server:
        for task, texts in corpora.items():
            answer = (
                None if task == "sentiment" else (lambda t: expected_answer("summarize", t, max_chars=200))
            )
            fl = floor(texts, answer)
            for model, modes in MODELS.items():
                fl_cost = per_1000(fl, len(texts), model)
                for mode in modes:
                    results.append(
                        (task, model, mode, measure(server, Path(tmp), texts, task, model, mode), fl_cost)
                    )
    lines = [
        "Command: `python benchmarks/batch_api.py --write BENCHMARKS.md`  ",
        f"Machine: {machine()}.",
        "",
        f"Corpus: the {len(corpora['sentiment'])} reviews (each with an order number, so every row is distinct "
        f"and none is deduplicated) and {len(corpora['summarize'])} meeting notes of the "
        "cost-per-row benchmark, as CSV files, run with `sheets_ai.run` through the real SDK against the fake "
        "OpenAI server; Batch API runs use `--batch-api --wait` (upload, batch, collection). Cost is the report's "
        "`cost_usd`: Batch API and flex tokens at half the standard price (`pricing.BATCH_DISCOUNT`). The floor "
        "is the rows' own tokens plus the answers' tokens at the model's standard price. gpt-5-mini runs at "
        "reasoning effort minimal (the fake spends 8 reasoning tokens per request); gpt-4.1-mini has no flex tier. "
        "Every row got its expected answer.",
        "",
        "| task | model | how | requests | prompt tok/row | completion tok/row | $ per 1,000 rows | × standard floor |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for task, model, mode, m, fl_cost in results:
        how = f"{mode} ({m['batch_lines']} lines in batches)" if m["batch_lines"] else mode
        lines.append(
            f"| {task} | {model} | {how} | {m['requests']} | {m['prompt']:.1f} | {m['completion']:.2f} | "
            f"${m['cost']:.4f} | {m['cost'] / fl_cost:.2f}× |"
        )
    batch = next(
        m["cost"] / f
        for t, mo, md, m, f in results
        if (t, mo, md) == ("sentiment", "gpt-4.1-mini", "Batch API")
    )
    lines += [
        "",
        f"Goal: Batch API sentiment ≤ 0.8× the standard-price floor → {batch:.2f}× "
        f"({'met' if batch <= 0.8 else 'NOT met'}). Flex and the Batch API bill the same tokens at the same half "
        "price; they differ in waiting (flex: seconds to minutes per request, sometimes 429 resource_unavailable; "
        "Batch API: up to 24 h, collected by the next run) and in which models they serve.",
    ]
    body = "\n".join(lines)
    print(body)
    if args.write:
        update_section(args.write, "Batch API and flex: cost per 1,000 rows", body)


if __name__ == "__main__":
    main()
