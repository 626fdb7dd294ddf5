"""Guards against losing someone else's work and against misleading output."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import openpyxl
import pytest
from conftest import run_cli

import sheets_ai
from sheets_ai.errors import UsageError
from sheets_ai.tables.csv import CsvTable
from sheets_ai.tables.xlsx import XlsxTable

ARGS = ("--task", "sentiment", "--input", "Review", "--output", "Sentiment")


def _touch_later(path: Path) -> None:
    """Make sure the edit gets a new mtime even on coarse file systems."""
    stamp = time.time() + 2
    os.utime(path, (stamp, stamp))


def test_an_xlsx_edited_during_the_run_is_not_overwritten(work: Path) -> None:
    book = work / "reviews.xlsx"
    table = XlsxTable(book)
    try:
        data = table.read("Review", "Sentiment")
        first = next(c for c in data.cells if c.text)
        # Someone saves the workbook while the run is going.
        edited = openpyxl.load_workbook(book)
        edited["Summary"]["A1"] = "edited by a person"
        edited.save(book)
        _touch_later(book)
        table.write({first.row: "positive"}, {first.row: first.text or ""})
        table.flush()
    finally:
        table.close()
    assert openpyxl.load_workbook(book)["Summary"]["A1"].value == "edited by a person"
    diverted = work / "reviews.sheets-ai.xlsx"
    assert table.location == str(diverted)
    assert openpyxl.load_workbook(diverted)["Reviews"].cell(first.row, 6).value == "positive"
    assert any("changed by another program" in n for n in table.notices)


def test_a_csv_edited_during_the_run_is_not_overwritten(work: Path) -> None:
    path = work / "reviews.csv"
    table = CsvTable(path)
    try:
        data = table.read("review", "sentiment")
        row = next(c for c in data.cells if c.text)
        path.write_text(path.read_text(encoding="utf-8") + "R999,added by hand,5\n", encoding="utf-8")
        _touch_later(path)
        table.write({row.row: "negative"}, {row.row: row.text or ""})
        table.flush()
    finally:
        table.close()
    assert path.read_text(encoding="utf-8").endswith("R999,added by hand,5\n")
    assert "negative" in (work / "reviews.sheets-ai.csv").read_text(encoding="utf-8")


def test_an_unchanged_file_is_saved_in_place(work: Path) -> None:
    book = work / "reviews.xlsx"
    with XlsxTable(book) as table:
        data = table.read("Review", "Sentiment")
        first = next(c for c in data.cells if c.text)
        table.write({first.row: "positive"}, {first.row: first.text or ""})
        table.flush()
        table.write({first.row + 1: "negative"}, {})
        table.flush()  # a second save after our own first one is not "someone else's change"
    assert table.location == str(book)
    assert not (work / "reviews.sheets-ai.xlsx").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--output-file", "out.csv"), "choose a name with that extension"),
        (("--sheet", "Reviews", "--output-file", "out.xlsm"), "choose a name with that extension"),
    ],
)
def test_output_file_of_another_format_is_refused(work: Path, extra: tuple[str, ...], message: str) -> None:
    before = (work / "reviews.xlsx").read_bytes()
    proc = run_cli("run", work / "reviews.xlsx", *ARGS, *extra)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert (work / "reviews.xlsx").read_bytes() == before


def test_output_file_with_a_google_sheet_is_refused() -> None:
    proc = run_cli("run", "https://docs.google.com/spreadsheets/d/abc/edit", *ARGS, "--output-file", "x.xlsx")
    assert proc.returncode == 2
    assert "Cannot use --output-file with a Google Sheet" in proc.stderr


def test_a_folder_as_source_says_so(work: Path) -> None:
    proc = run_cli("run", work, *ARGS)
    assert proc.returncode == 2 and "is a folder" in proc.stderr


def test_a_user_error_prints_one_error_line_and_no_summary(work: Path) -> None:
    proc = run_cli("run", work / "reviews.xlsx", "--task", "sentiment", "--input", "Reviw", "--output", "X")
    assert proc.returncode == 2
    assert proc.stdout == ""
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Headers: ID, Review, Stars" in errors[0]


def test_json_on_error_reports_the_real_exit_code(work: Path) -> None:
    proc = run_cli(
        "run", work / "reviews.xlsx", *ARGS, "--json", "--provider", "openai",
        env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
             "SHEETS_AI_RETRY_MAX_SECONDS": "2"},
    )  # fmt: skip
    report = json.loads(proc.stdout)
    assert report["exit_code"] == proc.returncode == 2
    assert "Cannot reach the OpenAI API" in report["error"]
    assert report["rows_processed"] == 0 and report["rows_remaining"] == 59


def test_flag_errors_name_the_flag(work: Path) -> None:
    proc = run_cli("run", work / "reviews.xlsx", *ARGS, "--limit", "0")
    assert proc.returncode == 2 and "--limit:" in proc.stderr


def test_enrich_refuses_a_single_string() -> None:
    with pytest.raises(UsageError, match=r"wrap a single text as \[text\]"):
        sheets_ai.enrich("one review", task="sentiment")
