"""Tasks: labels, renamed labels, required options, summary length, and what the offline analyzer refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import column_values, invoke, openai_args, run_cli, run_json

from sheets_ai.config import RunConfig
from sheets_ai.errors import UsageError
from sheets_ai.tasks import SENTIMENT_LABELS, build_task
from sheets_ai.testing._openai_answers import expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI

JAPANESE = ["ポジティブ", "ネガティブ", "中立", "混在"]


def test_sentiment_answers_are_judged_and_renamed() -> None:
    task = build_task(RunConfig(task="sentiment", labels=JAPANESE))
    assert task.validate(" Positive ") == ("ポジティブ", None)
    assert task.validate("mixed") == ("混在", None)
    value, problem = task.validate("happy")
    assert value is None and "not one of: positive, negative, neutral, mixed" in (problem or "")
    assert task.validate("")[0] is None
    assert task.validate(None)[0] is None


def test_renaming_changes_the_fingerprint_used_by_the_cache() -> None:
    plain = build_task(RunConfig(task="sentiment"))
    assert plain.labels == SENTIMENT_LABELS
    # Renaming is display only: the model is asked the same question.
    assert build_task(RunConfig(task="sentiment", labels=JAPANESE)).fingerprint() == plain.fingerprint()
    assert (
        build_task(RunConfig(task="summarize", max_chars=50)).fingerprint()
        != build_task(RunConfig(task="summarize", max_chars=60)).fingerprint()
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"task": "sentiment", "labels": "a,b"}, "renames the 4 labels"),
        ({"task": "classify"}, "--task classify needs --labels"),
        ({"task": "classify", "labels": "only"}, "at least two labels"),
        ({"task": "extract"}, "--task extract needs --prompt"),
        ({"task": "extract", "prompt": "   "}, "--task extract needs --prompt"),
        ({"task": "summarize", "labels": "a,b"}, "Cannot use --labels with --task summarize"),
    ],
)
def test_required_and_incompatible_options(options: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build_task(RunConfig(**options))


def test_summary_and_extract_answers_respect_max_chars() -> None:
    task = build_task(RunConfig(task="summarize", max_chars=20))
    assert task.validate("short enough") == ("short enough", None)
    assert task.validate("x" * 22) == ("x" * 19 + "…", None)  # up to 10% over: cut (test_summary_limit.py)
    value, problem = task.validate("x" * 23)
    assert value is None and "more than the limit of 20" in (problem or "")
    extract = build_task(RunConfig(task="extract", prompt="Which product?", max_chars=30))
    assert extract.question == "Which product?" and extract.needs_language_model


def test_classify_labels_are_matched_case_insensitively_and_written_as_given() -> None:
    task = build_task(RunConfig(task="classify", labels="Billing, Shipping ,Other"))
    assert task.labels == ("Billing", "Shipping", "Other")
    assert task.validate("shipping") == ("Shipping", None)


# -- end to end ----------------------------------------------------------------------------------------


def test_japanese_sentiment_labels_end_up_in_the_sheet(work: Path) -> None:
    proc, report = run_json(
        "run", work / "reviews.xlsx", "--input", "Review", "--output", "感情", "--labels", ",".join(JAPANESE)
    )
    assert proc.returncode == 0, proc.stderr
    results = [v for v in column_values(work / "reviews.xlsx", "F") if v is not None]
    assert len(results) == report["rows_processed"] == 59
    assert set(results) <= set(JAPANESE)
    assert {"ポジティブ", "ネガティブ"} <= set(results)
    assert column_values(work / "reviews.xlsx", "F", first=1)[0] == "感情"


def test_summaries_stay_within_max_chars(work: Path) -> None:
    proc, report = run_json(
        "run", work / "meetings.xlsx", "--task", "summarize", "--input", "Notes", "--output", "Summary",
        "--max-chars", "80",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    notes = [n for n in column_values(work / "meetings.xlsx", "C") if n]
    summaries = [s for s in column_values(work / "meetings.xlsx", "D") if s is not None]
    assert len(summaries) == len(notes) == report["rows_processed"]
    assert all(0 < len(s) <= 80 for s in summaries)


@pytest.mark.parametrize(
    "args",
    [
        ["--task", "classify", "--labels", "billing,shipping,quality,other"],
        ["--task", "extract", "--prompt", "Which product is mentioned?"],
    ],
)
def test_local_provider_refuses_language_model_tasks(work: Path, args: list[str]) -> None:
    before = (work / "reviews.xlsx").read_bytes()
    proc = run_cli(
        "run", work / "reviews.xlsx", "--input", "Review", "--output", "Out", "--provider", "local", *args
    )
    assert proc.returncode == 2
    assert "needs a language model" in proc.stderr and "OPENAI_API_KEY" in proc.stderr
    assert "--provider openai" in proc.stderr and "Traceback" not in proc.stderr
    assert (work / "reviews.xlsx").read_bytes() == before


def test_classify_without_labels_is_a_usage_error_on_the_cli(work: Path) -> None:
    proc = run_cli("run", work / "reviews.xlsx", "--task", "classify", "--input", "Review", "--output", "Cat")
    assert proc.returncode == 2
    assert '--labels "billing,shipping,quality,other"' in proc.stderr


def test_classify_and_extract_run_with_a_language_model_provider(work: Path, fake_openai: FakeOpenAI) -> None:
    book = work / "reviews.xlsx"
    labels = ["billing", "shipping", "other"]
    result = invoke(
        "run", book, "--task", "classify", "--labels", ",".join(labels),
        "--input", "Review", "--output", "Category", *openai_args(fake_openai),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    reviews = column_values(book, "B")
    categories = column_values(book, "F")
    expected = [expected_answer("classify", t, labels=labels) if t else None for t in reviews]
    assert categories == expected
    assert {"shipping", "other"} <= set(filter(None, categories))  # written as given, lower case

    question = "Which product is mentioned?"
    result = invoke(
        "run", book, "--task", "extract", "--prompt", question,
        "--input", "Review", "--output", "Product", *openai_args(fake_openai),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert column_values(book, "G") == [expected_answer("extract", t) if t else None for t in reviews]
