"""Benchmark: prompt and completion tokens per row, and cost per 1,000 rows (issue 3 §11).

Generates ~1,000 short reviews and ~100 longer meeting notes (deterministic templates), runs them through
the real OpenAIProvider and SDK against the fake OpenAI server, and counts tokens exactly (o200k) from the
requests and responses. Compared with

* the baseline: one request per row with a short tutorial-style system prompt and a bare answer, and
* the floor: the row's own tokens plus one output token per label (summaries: plus the summary itself).

Also compares answer shapes (same answers, other encodings) and batch sizes. Run from the repo root:

    python benchmarks/cost_per_row.py --write BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _markdown import machine, update_section

import sheets_ai
from sheets_ai.config import build_config
from sheets_ai.pricing import price_for
from sheets_ai.providers.openai import DEFAULT_MODEL, OpenAIProvider
from sheets_ai.testing._openai_answers import expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI
from sheets_ai.tokens import count_tokens

PRODUCTS = [
    "headphones",
    "coffee maker",
    "running shoes",
    "kettle",
    "jacket",
    "speaker",
    "blender",
    "mug set",
]
GOOD = ["Love the", "Great", "Excellent", "Really comfortable", "Fast delivery of the", "Very happy with the"]
BAD = ["Broken", "Terrible", "Disappointed with the", "The late", "Poor quality", "Worst"]
NEUTRAL = ["Received the", "The", "Ordered the", "Bought a"]
TAILS_GOOD = ["works perfectly.", "sounds great.", "was easy to set up.", "looks nice on the shelf."]
TAILS_BAD = ["stopped working after a week.", "arrived cracked.", "is far too loud.", "never worked."]
TAILS_NEUTRAL = ["arrived on Tuesday.", "came in a plain box.", "is blue.", "has two buttons."]
JA = [
    "配送が早くて助かりました。",
    "届いた商品が壊れていました。",
    "火曜日に届きました。",
    "デザインは良いが電池の持ちが悪い。",
]
TOPICS = ["the Q3 launch", "the hiring plan", "the office move", "the pricing change", "the support backlog"]
PEOPLE = ["Ana", "Ben", "Chen", "Dara", "Eli", "Fumi"]


def reviews(n: int = 1000, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind, product = i % 4, rng.choice(PRODUCTS)
        if i % 10 == 9:
            out.append(rng.choice(JA))
        elif kind == 0:
            out.append(f"{rng.choice(GOOD)} {product}, it {rng.choice(TAILS_GOOD)}")
        elif kind == 1:
            out.append(f"{rng.choice(BAD)} {product}, it {rng.choice(TAILS_BAD)}")
        elif kind == 2:
            out.append(f"{rng.choice(NEUTRAL)} {product}; it {rng.choice(TAILS_NEUTRAL)}")
        else:
            out.append(f"{rng.choice(GOOD)} {product}, but it {rng.choice(TAILS_BAD)}")
    return out


def notes(n: int = 100, seed: int = 11) -> list[str]:
    """Meeting notes of 7-12 sentences (about 600-1,200 characters, like examples/meetings.xlsx)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        topic, a, b, c = rng.choice(TOPICS), *rng.sample(PEOPLE, 3)
        budget, weeks = rng.randint(5, 90) * 1000, rng.randint(2, 12)
        parts = [
            f"Meeting about {topic}, attended by {a}, {b} and {c}.",
            f"{a} presented the current status: most of the work is on track, but testing started late.",
            f"The team agreed to keep the budget at {budget:,} euros and to review it again in {weeks} weeks.",
            f"{b} raised concerns about the timeline, because two suppliers have not confirmed their dates yet.",
            f"{c} proposed moving the internal demo one week later so that the documentation can be finished.",
            "The proposal was accepted after a short discussion about the impact on the sales team.",
            "Customer feedback from the last survey was mostly positive, with complaints about delivery times.",
            f"{rng.randint(2, 9)} open support tickets are related to {topic}; two of them are urgent.",
            f"Action items: {a} sends the revised plan by Friday; {b} calls both suppliers this week.",
            f"{c} will prepare a one-page summary for the management meeting on {rng.choice(['Monday', 'Thursday'])}.",
            "Risks: a key developer is on leave next month and the test environment is shared with another team.",
            f"Next meeting in {rng.randint(1, 4)} weeks, same room; {b} will take the notes.",
        ]
        keep = rng.randint(7, 12)
        out.append(" ".join(parts[:1] + rng.sample(parts[1:-1], keep - 2) + parts[-1:]))
    return out


def run_protocol(server: FakeOpenAI, texts: list[str], task: str, **options: object) -> dict[str, float]:
    """Run texts through sheets_ai.run with the OpenAI provider; tokens as counted by the server."""
    server.reset()
    results, report = sheets_ai.run_texts(
        texts, task, provider="openai", base_url=server.url, api_key="bench", cache=False,
        concurrency=4, rpm=100_000, tpm=100_000_000, **options,
    )  # fmt: skip
    assert report.rows_failed == 0 and report.rows_processed == len(texts), report
    wrong = [r for t, r in zip(texts, results, strict=True) if r != expected_answer(task, t, max_chars=200)]
    assert not wrong, wrong[:3]
    prompt = sum(r.get("prompt_tokens", 0) for r in server.requests)
    completion = sum(r.get("completion_tokens", 0) for r in server.requests)
    assert prompt == report.prompt_tokens and completion == report.completion_tokens
    return {"requests": len(server.requests), "prompt": prompt, "completion": completion}


def chat_tokens(messages: Sequence[str]) -> int:
    """A system message then user messages, counted as the fake server counts: 3 + role + content each, +3."""
    roles = ["system"] + ["user"] * (len(messages) - 1)
    return 3 + sum(3 + count_tokens(r) + count_tokens(m) for r, m in zip(roles, messages, strict=True))


def baseline(texts: list[str], system: str, answer: Callable[[str], str]) -> dict[str, float]:
    prompt = sum(chat_tokens([system, t]) for t in texts)
    completion = sum(count_tokens(answer(t)) for t in texts)
    return {"requests": len(texts), "prompt": prompt, "completion": completion}


def floor(texts: list[str], answer: Callable[[str], str] | None) -> dict[str, float]:
    prompt = sum(count_tokens(t) for t in texts)
    completion = len(texts) if answer is None else sum(count_tokens(answer(t)) for t in texts)
    return {"requests": 0, "prompt": prompt, "completion": completion}


def per_1000(m: dict[str, float], rows: int, model: str) -> float:
    price = price_for(model)
    assert price is not None
    return price.cost(int(m["prompt"]), int(m["completion"])) / rows * 1000


def label_shapes(labels: list[str], batch: int) -> dict[str, int]:
    """Completion tokens for the same answers in other shapes, batched like ours."""
    code = {"positive": "p", "negative": "n", "neutral": "u", "mixed": "m"}
    shapes: dict[str, Callable[[list[tuple[int, str]]], str]] = {
        'ours: {"a":"1p2n3u"}': lambda b: json.dumps({"a": "".join(f"{i}{code[v]}" for i, v in b)}),
        'spaced: {"a":"1p 2n 3u"}': lambda b: json.dumps({"a": " ".join(f"{i}{code[v]}" for i, v in b)}),
        'array: {"a":["1p","2n"]}': lambda b: json.dumps({"a": [f"{i}{code[v]}" for i, v in b]}),
        'id->code: {"1":"p","2":"n"}': lambda b: json.dumps({str(i): code[v] for i, v in b}),
        'id->label: {"1":"positive"}': lambda b: json.dumps({str(i): v for i, v in b}),
        'objects: [{"id":1,"label":"positive"}]': lambda b: json.dumps(
            {"r": [{"id": i, "label": v} for i, v in b]}
        ),
        'no ids (not provable): {"a":"pnu"}': lambda b: json.dumps({"a": "".join(code[v] for _, v in b)}),
    }
    out = {}
    for name, render in shapes.items():
        total = 0
        for start in range(0, len(labels), batch):
            chunk = list(enumerate(labels[start : start + batch], start=1))
            total += count_tokens(render(chunk).replace(", ", ",").replace(": ", ":"))
        out[name] = total
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", type=Path, help="Update this markdown file (e.g. BENCHMARKS.md).")
    args = parser.parse_args()
    model, price = DEFAULT_MODEL, price_for(DEFAULT_MODEL)
    assert price is not None
    # Every review distinct (an order number added): duplicates are asked once (sheets_ai.dedup), which would
    # take the figures below the floor, which counts every row.
    short, long_ = [f"{t} #{i}" for i, t in enumerate(reviews())], notes()
    sentiment = lambda t: expected_answer("sentiment", t)  # noqa: E731
    summary = lambda t: expected_answer("summarize", t, max_chars=200)  # noqa: E731
    provider = OpenAIProvider(build_config({"provider": "openai"}))
    task = sheets_ai.tasks.build_task(build_config({"task": "sentiment"}))
    default_batch = provider.default_batch_size(task)
    lines: list[str] = []
    with FakeOpenAI(port=0) as server:
        rows = []
        ours = run_protocol(server, short, "sentiment")
        base = baseline(
            short,
            "You are a sentiment classifier. Classify the sentiment of the text as positive, negative, "
            "neutral or mixed. Answer with the label only.",
            sentiment,
        )
        fl = floor(short, None)
        for name, m in (("sentiment: ours", ours), ("sentiment: baseline (1 row/request)", base),
                        ("sentiment: floor", fl)):  # fmt: skip
            rows.append((name, m, len(short)))
        s_ours = run_protocol(server, long_, "summarize", max_chars=200)
        s_base = baseline(long_, "Summarize the text in at most 200 characters.", summary)
        s_fl = floor(long_, summary)
        for name, m in (("summaries: ours", s_ours), ("summaries: baseline (1 row/request)", s_base),
                        ("summaries: floor", s_fl)):  # fmt: skip
            rows.append((name, m, len(long_)))
        sweep = {b: run_protocol(server, short, "sentiment", batch_size=b) for b in (10, 25, 50, 100, 200)}
        s_sweep = {
            b: run_protocol(server, long_, "summarize", max_chars=200, batch_size=b) for b in (1, 2, 5, 8, 12)
        }
    shapes = label_shapes([sentiment(t) for t in short], default_batch)

    cost = {name: per_1000(m, n, model) for name, m, n in rows}
    lines += [
        "Command: `python benchmarks/cost_per_row.py --write BENCHMARKS.md`  ",
        f"Machine: {machine()}.  ",
        f"Model prices: {model} at ${price.input}/1M input, ${price.output}/1M output (sheets_ai/data/pricing.json).",
        "",
        f"Corpus: {len(short)} generated short reviews, each with an order number so that no two are alike (avg {fl['prompt'] / len(short):.1f} tokens; 10% Japanese) "
        f"and {len(long_)} generated meeting notes (avg {s_fl['prompt'] / len(long_):.0f} tokens). Our rows go "
        "through `OpenAIProvider` and the real SDK to the fake server; tokens are the server's exact o200k counts "
        "of each request (per message 3 + role + content, 3 for the reply, and the `response_format` schema: "
        "its compact JSON without `required`/`additionalProperties` + 9, as OpenAI bills it) and answer. "
        "Baseline (no schema) and floor are counted with the same rule without sending. Every row got its "
        "own expected answer.",
        "",
        "| run | requests | prompt tok/row | completion tok/row | $ per 1,000 rows | × floor | share of baseline |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, m, n in rows:
        group = name.split(":")[0]
        fl_cost = cost[f"{group}: floor"]
        base_cost = cost[f"{group}: baseline (1 row/request)"]
        lines.append(
            f"| {name} | {m['requests']:,} | {m['prompt'] / n:.1f} | {m['completion'] / n:.2f} | "
            f"${cost[name]:.4f} | {cost[name] / fl_cost:.2f}× | {cost[name] / base_cost:.0%} |"
        )
    s_ratio = cost["sentiment: ours"] / cost["sentiment: floor"]
    s_share = cost["sentiment: ours"] / cost["sentiment: baseline (1 row/request)"]
    m_ratio = cost["summaries: ours"] / cost["summaries: floor"]
    ok = lambda good: "met" if good else "NOT met"  # noqa: E731
    lines += [
        "",
        f"Targets: sentiment ≤ 1.5× floor → {s_ratio:.3f}× ({ok(s_ratio <= 1.5)}); ≤ 45% of baseline → "
        f"{s_share:.0%} ({ok(s_share <= 0.45)}); summaries ≤ 1.15× floor → {m_ratio:.2f}× ({ok(m_ratio <= 1.15)}).",
        "",
        f"Answer shapes for the same {len(short)} sentiment answers at {default_batch} rows per request "
        "(completion tokens only; the prompt is the same):",
        "",
        "| shape | completion tok/row | output $ per 1,000 rows |",
        "| --- | --- | --- |",
    ]
    for name, tokens in shapes.items():
        lines.append(
            f"| `{name}` | {tokens / len(short):.2f} | ${tokens * price.output / 1e6 / len(short) * 1000:.4f} |"
        )
    lines += ["", "Batch size (rows per request), sentiment and summaries, through the fake server:", "",
              "| task | rows/request | requests | prompt tok/row | completion tok/row | $ per 1,000 rows | × floor |",
              "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for b, m in sweep.items():
        c = per_1000(m, len(short), model)
        lines.append(
            f"| sentiment | {b} | {m['requests']} | {m['prompt'] / len(short):.1f} | "
            f"{m['completion'] / len(short):.2f} | ${c:.4f} | {c / cost['sentiment: floor']:.2f}× |"
        )
    for b, m in s_sweep.items():
        c = per_1000(m, len(long_), model)
        lines.append(
            f"| summaries | {b} | {m['requests']} | {m['prompt'] / len(long_):.1f} | "
            f"{m['completion'] / len(long_):.1f} | ${c:.4f} | {c / cost['summaries: floor']:.2f}× |"
        )
    body = "\n".join(lines)
    print(body)
    if args.write:
        update_section(args.write, "OpenAI cost per row", body)


if __name__ == "__main__":
    main()
