"""OpenAI-compatible servers that do not honour JSON schemas, and requests that keep failing alike.

Each test runs the real CLI (in this process) against a stand-in from ``sheets_ai.testing`` and asserts what
a user sees: the rows written, the exit code, the one line, and how many requests the server got.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import column_values, invoke, make_xlsx, openai_args

from sheets_ai.testing._openai_answers import expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI

WORDS = ["great", "broken", "arrived", "love", "late", "the box", "excellent", "refund"]


def _reviews(n: int) -> list[str]:
    return [
        f"Order {i}: {WORDS[i % 8]} and {WORDS[(i * 3) % 8]}, notes about the delivery." for i in range(n)
    ]


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


def run(server: FakeOpenAI, path: Path, *extra: str) -> tuple[int, dict]:
    result = invoke(
        "run", path, "--input", "Review", "--output", "Sentiment", *openai_args(server), "--no-cache", "--json",
        *extra,
    )  # fmt: skip
    return result.exit_code, json.loads(result.stdout)


def formats(server: FakeOpenAI) -> Counter[str]:
    """How many requests asked for each response_format type."""
    return Counter(r["body"].get("response_format", {}).get("type") for r in server.requests if "body" in r)


def test_answers_in_code_fences_are_read_without_a_single_reask(tmp_path: Path, key: None) -> None:
    texts = _reviews(60)
    path = make_xlsx(tmp_path / "r.xlsx", [["Review"], *([t] for t in texts)])
    with FakeOpenAI(port=0, compat="fenced") as server:
        code, report = run(server, path, "--batch-size", "20", "--concurrency", "2")
        answers = [str(r["body"]) for r in server.requests]
    assert code == 0 and report["rows_failed"] == 0
    assert column_values(path, "B") == [expected_answer("sentiment", t) for t in texts]
    assert len(answers) == 3  # one request per batch: the fence cost nothing
    assert not any("json_object" in n for n in report["notices"])


def test_a_server_that_refuses_json_schema_gets_json_mode_once_and_the_run_finishes(
    tmp_path: Path, key: None
) -> None:
    texts = _reviews(100)
    path = make_xlsx(tmp_path / "r.xlsx", [["Review"], *([t] for t in texts)])
    with FakeOpenAI(port=0, compat="no-json-schema") as server:
        code, report = run(server, path, "--batch-size", "10", "--concurrency", "3")
        sent = formats(server)
        refused = sum(1 for r in server.requests if r["status"] == 400)
        url = server.url
    assert code == 0 and report["rows_failed"] == 0
    assert column_values(path, "B") == [expected_answer("sentiment", t) for t in texts]
    assert 1 <= refused <= 3 and sent["json_schema"] == refused  # only the requests already in flight
    assert sent["json_object"] == 10  # every batch once, in JSON mode
    notices = [n for n in report["notices"] if "json_object" in n]
    assert len(notices) == 1 and url in notices[0] and "refused response_format json_schema" in notices[0]


def test_a_server_that_answers_in_free_text_stops_at_once_with_one_line(tmp_path: Path, key: None) -> None:
    texts = _reviews(200)
    path = make_xlsx(tmp_path / "r.xlsx", [["Review"], *([t] for t in texts)])
    with FakeOpenAI(port=0, compat="freetext") as server:
        code, report = run(server, path, "--batch-size", "20", "--concurrency", "4")
        requests = len(server.requests)
        url = server.url
    assert code == 2
    # Before: every row failed after ~2 requests per row (406 requests for 200 rows), with no hint.
    assert requests <= 8  # the 4 in flight, each asked once more in JSON mode
    assert report["rows_processed"] == 0 and report["rows_failed"] == 0
    assert (
        f"The server at {url} does not follow JSON answer formats (json_schema or json_object)"
        in report["error"]
    )
    assert "'1. positive" in report["error"] or "'1. negative" in report["error"] or "'1. " in report["error"]
    assert report["error"].count("\n") == 0
    assert column_values(path, "B") == [None] * 200  # nothing was written


def test_a_server_refusing_both_formats_stops_with_one_line(tmp_path: Path, key: None) -> None:
    path = make_xlsx(tmp_path / "r.xlsx", [["Review"], *([t] for t in _reviews(30))])
    with FakeOpenAI(port=0, compat="no-json-schema,no-json-object") as server:  # a text-only server
        code, report = run(server, path, "--batch-size", "10", "--concurrency", "1")
        requests = len(server.requests)
        url = server.url
    assert code == 2 and requests == 2
    assert f"The server at {url} supports neither JSON answer formats" in report["error"]


def test_requests_failing_alike_trip_the_circuit_breaker_instead_of_going_row_by_row(
    tmp_path: Path, key: None
) -> None:
    texts = _reviews(200)
    path = make_xlsx(tmp_path / "r.xlsx", [["Review"], *([t] for t in texts)])
    with FakeOpenAI(port=0) as server:
        server.script("ok", *["malformed"] * 1000)  # after a good start, every answer is garbled JSON
        code, report = run(server, path, "--batch-size", "20", "--concurrency", "1")
        requests = len(server.requests)
    # Before: each of the 180 rows went down to single-row requests (about 400 requests).
    assert code == 2
    assert requests == 6  # the good batch, then 5 alike failures
    assert report["rows_processed"] == 20  # the finished batch was saved
    assert "5 requests in a row" in report["error"] and "not a JSON object" in report["error"]


def test_one_bad_row_does_not_trip_the_breaker(tmp_path: Path, key: None) -> None:
    texts = _reviews(40)
    texts[17] = "INVALID-PROMPT " + texts[17]
    path = make_xlsx(tmp_path / "r.xlsx", [["Review"], *([t] for t in texts)])
    with FakeOpenAI(port=0) as server:
        code, report = run(server, path, "--batch-size", "40", "--concurrency", "4")
    assert code == 1 and report["rows_failed"] == 1 and report["rows_processed"] == 39


def test_multi_word_labels_classify_every_row(tmp_path: Path, key: None) -> None:
    labels = ["late delivery", "damaged item", "other"]
    texts = [
        "The late delivery ruined the party.",
        "A damaged item arrived in a torn box.",
        "Question about my invoice.",
        "Damaged item again, and a late delivery too.",
        "Nothing to report.",
    ] * 4
    path = make_xlsx(tmp_path / "t.xlsx", [["Review"], *([t] for t in texts)])
    with FakeOpenAI(port=0) as server:
        result = invoke(
            "run", path, "--task", "classify", "--labels", ",".join(labels), "--input", "Review",
            "--output", "Category", *openai_args(server), "--no-cache", "--json",
        )  # fmt: skip
        system = server.requests[0]["body"]["messages"][0]["content"]
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["rows_failed"] == 0, report["failures"]
    assert column_values(path, "B") == [expected_answer("classify", t, labels=labels) for t in texts]
    assert 'l="late delivery" d="damaged item" o="other"' in system
