"""Duplicates sent once (sheets_ai.dedup) and prompt caching on purpose (sheets_ai.prompt_cache).

Through the real CLI against the fake OpenAI server: its request log shows what each request carried.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import openai_args, run_cli, run_json, sent_rows
from test_gsheets import ENDPOINT_ENV

from sheets_ai.testing._openai_answers import REFUSE_MARK, expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI
from sheets_ai.testing.sheets_server import SheetsEmulator

SURVEY = [
    "Good",
    "N/A",
    "同上",
    "  Good ",
    "good",
    "N/A",
    "Bad  service\tand slow",
    "同上",
    "Bad service and slow",
]
ARGS = ("--task", "sentiment", "--input", "Review", "--output", "Sentiment")


def write_csv(path: Path, texts: list[str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Review"])
        w.writerows([t] for t in texts)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_each_distinct_input_is_sent_once_and_every_row_gets_the_answer(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "survey.csv", SURVEY)
    proc, report = run_json("run", source, *ARGS, *openai_args(fake_openai), "--status-column", "Status")
    assert proc.returncode == 0, proc.stderr
    sent = Counter(text for request in sent_rows(fake_openai) for text in request)
    # whitespace differences are the same input; case is not
    assert sorted(sent) == sorted(["Good", "N/A", "同上", "good", "Bad  service\tand slow"])
    assert set(sent.values()) == {1}
    assert report["rows_deduplicated"] == 4 and report["rows_processed"] == len(SURVEY)
    rows = read_csv(source)
    for row, text in zip(rows, SURVEY, strict=True):
        assert row["Sentiment"] == expected_answer("sentiment", " ".join(text.split())), text
        assert row["Status"] == "ok"

    again = run_cli("run", source, *ARGS, *openai_args(fake_openai), "--overwrite")
    assert "4 duplicates asked once" in again.stdout


def test_a_failed_request_fails_every_duplicate_with_the_same_reason(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    bad = f"{REFUSE_MARK} this one"
    source = write_csv(tmp_path / "survey.csv", ["Good", bad, "N/A", f" {bad}", "Good"])
    proc, report = run_json("run", source, *ARGS, *openai_args(fake_openai), "--status-column", "Status")
    assert proc.returncode == 1
    failed = {f["row"]: f["reason"] for f in report["failures"]}
    assert sorted(failed) == [3, 5] and failed[3] == failed[5]
    assert [text for request in sent_rows(fake_openai) for text in request].count(bad) >= 1
    assert not any(f" {bad}" in request for request in sent_rows(fake_openai))
    rows = read_csv(source)
    assert rows[1]["Status"] == rows[3]["Status"] == f"error: {failed[3]}"
    assert rows[0]["Sentiment"] == rows[4]["Sentiment"] != ""


def test_the_cache_answers_duplicates_across_runs(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    first = write_csv(tmp_path / "one.csv", ["Good", "N/A", "Good"])
    assert run_cli("run", first, *ARGS, *openai_args(fake_openai)).returncode == 0
    fake_openai.reset()
    second = write_csv(tmp_path / "two.csv", ["N/A", " Good", "Good", "N/A"])
    proc, report = run_json("run", second, *ARGS, *openai_args(fake_openai))
    assert proc.returncode == 0, proc.stderr
    assert sent_rows(fake_openai) == [] and report["requests"] == 0
    assert report["rows_cached"] == 4 and report["rows_deduplicated"] == 2
    values = {r["Review"].strip(): r["Sentiment"] for r in read_csv(second)}
    assert values == {t: expected_answer("sentiment", t) for t in ("Good", "N/A")}


def test_offline_analyzer_deduplicates_too(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "survey.csv", SURVEY)
    proc, report = run_json("run", source, *ARGS)
    assert proc.returncode == 0, proc.stderr
    assert report["rows_deduplicated"] == 4
    rows = read_csv(source)
    assert rows[0]["Sentiment"] == rows[3]["Sentiment"] and rows[6]["Sentiment"] == rows[8]["Sentiment"]


def test_estimate_counts_each_distinct_input_once_and_shows_the_saving(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    texts = [f"Answer number {i % 3} was fine" for i in range(60)]
    source = write_csv(tmp_path / "survey.csv", texts)
    args = (*ARGS, *openai_args(fake_openai), "--batch-size", "3")
    _, report = run_json("estimate", source, *args)
    assert report["requests"] == 1 and report["requests_without_dedup"] == 20
    assert report["estimated_cost_usd"] < report["estimated_cost_without_dedup_usd"]
    text = run_cli("estimate", source, *args).stdout
    assert "57 duplicates asked once: 1 request instead of 20" in text
    # the --max-cost budget reserves the one request only: what would not fit 20 requests fits one
    one = report["estimated_max_cost_usd"]
    proc, ran = run_json("run", source, *args, "--max-cost", f"{one * 1.5:.6f}")
    assert proc.returncode == 0, proc.stderr
    assert ran["requests"] == 1 and ran["rows_processed"] == 60


@pytest.fixture
def sheets(monkeypatch: pytest.MonkeyPatch) -> Iterator[SheetsEmulator]:
    with SheetsEmulator(port=0) as emu:
        monkeypatch.setenv(ENDPOINT_ENV, emu.url)
        yield emu


def test_google_sheets_duplicates_are_written_to_every_row(
    sheets: SheetsEmulator, fake_openai: FakeOpenAI
) -> None:
    sid = sheets.add_spreadsheet("Survey", {"Sheet1": [["Review"], *([t] for t in SURVEY)]})
    source = f"https://docs.google.com/spreadsheets/d/{sid}/edit"  # an id may start with "-"
    proc, report = run_json("run", source, *ARGS, *openai_args(fake_openai))
    assert proc.returncode == 0, proc.stderr
    assert report["rows_deduplicated"] == 4 and report["requests"] == 1
    values = [r[1] for r in sheets.values(sid, "Sheet1")[1:]]
    assert values == [expected_answer("sentiment", " ".join(t.split())) for t in SURVEY]


# ------------------------------------------------------------------------------ prompt caching

LONG = " ".join(f"Rule {i}: a delivery complaint about parcel {i} counts as negative." for i in range(120))


def test_long_instructions_pass_the_cache_threshold_and_the_saving_is_reported(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.txt"
    rules.write_text(LONG, encoding="utf-8")
    source = write_csv(tmp_path / "reviews.csv", [f"Review {i}: the parcel came late" for i in range(12)])
    args = (*ARGS, *openai_args(fake_openai), "--model", "gpt-4.1-mini", "--batch-size", "3")
    args += ("--concurrency", "1", "--instructions-file", str(rules))
    estimate = run_cli("estimate", source, *args).stdout
    assert "past OpenAI's 1,024-token threshold" in estimate and "saving up to $" in estimate
    _, est = run_json("estimate", source, *args)
    assert est["system_prompt_tokens"] > 1024 and est["estimated_cache_savings_usd"] > 0

    proc, report = run_json("run", source, *args)
    assert proc.returncode == 0, proc.stderr
    # the first request primes the cache, the three after it are served the prefix from it
    cached = 3 * (est["system_prompt_tokens"] // 128) * 128
    assert report["requests"] == 4 and report["cached_tokens"] == cached
    assert report["cached_savings_usd"] == pytest.approx(cached * (0.40 - 0.10) / 1e6, abs=1e-6)
    summary = run_cli("run", source, *args, "--overwrite", "--no-cache").stdout
    assert "cached, saved $" in summary


def test_short_prompt_is_below_the_cache_threshold(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "reviews.csv", ["Great", "Awful"])
    estimate = run_cli("estimate", source, *ARGS, *openai_args(fake_openai)).stdout
    assert "below OpenAI's 1,024-token cache threshold" in estimate
