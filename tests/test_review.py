"""Review and corrections: rows below --review-below listed, apply-review writes the corrections, and the
corrections become worked examples in the next run's requests (read from the fake server's request log)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from conftest import column_values, make_xlsx, openai_args, run_cli, run_json

from sheets_ai.review import HEADER, read_review
from sheets_ai.testing._openai_answers import certainty, expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI

TEXTS = [
    "Love it, great and fast.",
    "It is blue.",
    "Great sound but broken after a week.",
    "Terrible.",
    "The box was green.",
]


def _fill(path: Path, corrections: dict[int, str]) -> None:
    rows = read_review(path)
    for r in rows:
        if int(r[0]) in corrections:
            r[4], r[5] = corrections[int(r[0])], "ana"
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows([HEADER, *rows])
    path.write_text(buf.getvalue(), encoding="utf-8-sig")


def _systems(server: FakeOpenAI) -> list[str]:
    return [r["body"]["messages"][0]["content"] for r in server.requests if "body" in r]


def test_review_apply_and_examples_in_the_next_request(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    book = make_xlsx(tmp_path / "r.xlsx", [["Review"], *[[t] for t in TEXTS]])
    run = (
        "--input",
        "Review",
        "--output",
        "Sentiment",
        "--status-column",
        "Status",
        *openai_args(fake_openai),
    )
    proc, report = run_json("run", book, *run, "--review-below", "0.7", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    low = [
        i + 2 for i, t in enumerate(TEXTS) if certainty("sentiment", t, expected_answer("sentiment", t)) < 0.7
    ]
    review = tmp_path / "r.review.csv"
    assert [int(r[0]) for r in read_review(review)] == low == [3, 4, 6]
    assert report["confidence"]["rows_review"] == 3

    # A person corrects two of the three rows; the third stays open.
    _fill(review, {3: "neutral", 4: "negative"})
    proc, applied = run_json(
        "apply-review", book, "--input", "Review", "--output", "Sentiment", "--status-column", "Status"
    )
    assert proc.returncode == 0, proc.stderr
    assert applied["rows_corrected"] == 2 and applied["rows_unchanged"] == 1 and applied["rows_changed"] == []
    assert column_values(book, "B")[:3] == ["positive", "neutral", "negative"]
    assert column_values(book, "C")[:5] == ["ok", "reviewed", "reviewed", "ok", "review"]
    examples = (tmp_path / "r.examples.csv").read_text(encoding="utf-8-sig").splitlines()
    assert examples == [
        "Input,Answer",
        "It is blue.,neutral",
        "Great sound but broken after a week.,negative",
    ]

    # The next run sends the corrections as worked examples, in the stable system prefix.
    fake_openai.reset()
    proc, _ = run_json("run", book, *run, "--output", "Second", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    systems = _systems(fake_openai)
    assert systems and len(set(systems)) == 1
    assert "Example: Great sound but broken after a week. => negative" in systems[0]
    plan = ("estimate", book, "--input", "Review", "--output", "Third", *openai_args(fake_openai))
    _, off = run_json(*plan, "--examples", "none")
    _, on = run_json(*plan)
    assert on["prompt_tokens"] > off["prompt_tokens"]  # counted by estimate


def test_apply_review_leaves_rows_whose_input_changed(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("review\n" + "\n".join(f'"{t}"' for t in TEXTS) + "\n", encoding="utf-8")
    proc, _ = run_json(
        "run",
        path,
        "--input",
        "review",
        "--output",
        "sentiment",
        "--provider",
        "local",
        "--review-below",
        "0.99",
    )
    assert proc.returncode == 0
    listed = read_review(tmp_path / "r.review.csv")
    assert len(listed) == len(TEXTS)
    _fill(tmp_path / "r.review.csv", {2: "positive", 3: "neutral"})
    rows = list(csv.reader(path.open(encoding="utf-8")))
    rows[2][0] = "Someone rewrote this review"  # row 3's input is no longer what was reviewed
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    proc = run_cli("apply-review", path, "--input", "review", "--output", "sentiment")
    assert proc.returncode == 1
    assert "Corrected 1 rows" in proc.stdout and "1 rows changed since the review" in proc.stdout
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows[1][1] == "positive" and rows[2][0] == "Someone rewrote this review"


def test_apply_review_without_a_review_list_says_what_to_do(tmp_path: Path) -> None:
    book = make_xlsx(tmp_path / "r.xlsx", [["Review", "Sentiment"], ["Nice.", "positive"]])
    proc, report = run_json("apply-review", book, "--input", "Review", "--output", "Sentiment")
    assert proc.returncode == 2 and "--review-below" in report["error"]
