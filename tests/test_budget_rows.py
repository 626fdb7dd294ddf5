"""--max-cost holds whatever the server reports, and a row the server refuses fails alone.

Real runs through the openai SDK against the fake server; what was spent is computed from the server's own
record of each request (its token counts at the model's price), not from our report.
"""

from __future__ import annotations

import json

from conftest import column_values, invoke, make_xlsx, openai_args, run_json

from sheets_ai.testing._openai_answers import expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI

# gpt-4.1-mini list prices per token, written here rather than read from our own table.
INPUT, OUTPUT = 0.40 / 1e6, 1.60 / 1e6


def _reviews(n: int) -> list[str]:
    words = ["great", "broken", "arrived", "love", "late", "the box", "excellent", "refund"]
    return [
        f"Order {i}: {words[i % 8]} and {words[(i * 3) % 8]}, notes about the delivery." for i in range(n)
    ]


def test_a_server_without_usage_is_charged_the_worst_case_and_the_cap_holds(tmp_path, monkeypatch) -> None:
    texts = _reviews(400)
    path = make_xlsx(tmp_path / "r.xlsx", [["Review"], *([t] for t in texts)])
    with FakeOpenAI(port=0, usage=False) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        result = invoke(
            "run", path, "--input", "Review", "--output", "Sentiment", *openai_args(server), "--batch-size", "20",
            "--concurrency", "4", "--max-cost", "0.001", "--json", "--no-cache",
        )  # fmt: skip
        spent = sum(
            r["prompt_tokens"] * INPUT + r["completion_tokens"] * OUTPUT
            for r in server.requests
            if "body" in r
        )
    report = json.loads(result.stdout)
    assert result.exit_code == 1
    assert report["stopped"].startswith("budget:")
    assert 0 < report["rows_processed"] < 400  # it stopped, where before it was counted as $0 forever
    assert spent <= 0.001  # what the server really served stayed under the cap
    assert spent <= report["cost_usd"] <= 0.001  # the report's figure is an upper bound, said so
    assert any("sent no token usage" in n and "upper bound" in n for n in report["notices"])


def test_concurrent_requests_never_take_the_run_past_the_cap(tmp_path, fake_openai: FakeOpenAI) -> None:
    texts = _reviews(600)
    path = make_xlsx(tmp_path / "r.xlsx", [["Review"], *([t] for t in texts)])
    fake_openai.latency = 0.05
    result = invoke(
        "run", path, "--input", "Review", "--output", "Sentiment", *openai_args(fake_openai), "--batch-size", "10",
        "--concurrency", "8", "--max-cost", "0.0004", "--json", "--no-cache",
    )  # fmt: skip
    report = json.loads(result.stdout)
    spent = sum(
        r["prompt_tokens"] * INPUT + r["completion_tokens"] * OUTPUT
        for r in fake_openai.requests
        if "body" in r
    )
    assert result.exit_code == 1 and report["stopped"].startswith("budget:")
    assert spent <= 0.0004 and abs(report["cost_usd"] - spent) < 1e-6  # the report rounds to 6 places


def test_a_row_the_server_refuses_fails_alone_and_the_rest_finish(tmp_path, fake_openai: FakeOpenAI) -> None:
    texts = _reviews(100)
    texts[37] = "INVALID-PROMPT " + texts[37]
    path = make_xlsx(tmp_path / "r.xlsx", [["Review"], *([t] for t in texts)])
    args = (
        "--input",
        "Review",
        "--output",
        "Sentiment",
        "--status-column",
        "Status",
        *openai_args(fake_openai),
    )
    proc, report = run_json("run", path, *args, "--batch-size", "100")
    assert proc.returncode == 1, proc.stderr
    assert report["rows_processed"] == 99 and report["rows_failed"] == 1
    assert [f["row"] for f in report["failures"]] == [39]
    assert "invalid_prompt" in report["failures"][0]["reason"]
    results = column_values(path, "B")
    assert results[37] is None
    assert [r for i, r in enumerate(results) if i != 37] == [
        expected_answer("sentiment", t) for i, t in enumerate(texts) if i != 37
    ]
    assert column_values(path, "C")[37].startswith("error: the server refused this row (invalid_prompt)")
    # Halving finds the row in about log2(100) steps, not one request per row.
    assert sum(1 for r in fake_openai.requests if r["outcome"] == "invalid_prompt") <= 8

    # A rerun does not die on the same batch (exit 2 before): it tries only that row again.
    fake_openai.reset()
    proc, report = run_json("run", path, *args, "--batch-size", "100")
    assert proc.returncode == 1 and report["rows_failed"] == 1 and report["rows_processed"] == 0
    assert report["skipped"]["already_done"] == 99 and len(fake_openai.requests) == 1
