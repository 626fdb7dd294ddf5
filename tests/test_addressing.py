"""Addressing columns and sheets: letters, headers, created output columns, --sheet, --header-row."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from conftest import column_values, invoke, local_answers, make_xlsx, openai_args, run_cli, sent_rows

from sheets_ai.errors import ColumnNotFoundError, UsageError
from sheets_ai.tables.base import (
    column_index_to_letter,
    column_letter_to_index,
    find_column,
    resolve_input_column,
    resolve_output_column,
)
from sheets_ai.testing._openai_answers import expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI

HEADERS = ["ID", "Review", "Stars", "Date", "Length"]


# -- unit: the resolver ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("letters", "index"), [("A", 1), ("Z", 26), ("AA", 27), ("az", 52), ("XFD", 16384)])
def test_letters_round_trip(letters: str, index: int) -> None:
    assert column_letter_to_index(letters) == index
    assert column_index_to_letter(index) == letters.upper()


@pytest.mark.parametrize("spec", ["Review", "review", "  REVIEW  ", "B", "b"])
def test_header_text_is_trimmed_and_case_insensitive_and_letters_work(spec: str) -> None:
    assert resolve_input_column(spec, HEADERS) == 2


def test_header_wins_over_a_column_letter() -> None:
    # "ID" is also column 238 as letters; the header in column A must win.
    assert find_column("ID", HEADERS) == 1
    assert find_column("id", HEADERS) == 1


def test_inner_whitespace_in_headers_is_normalised() -> None:
    assert find_column("customer  review", ["Customer review"]) == 1


def test_unknown_header_lists_the_headers() -> None:
    with pytest.raises(ColumnNotFoundError) as err:
        resolve_input_column("Reviw", HEADERS)
    assert "Reviw" in str(err.value)
    assert "Headers: ID, Review, Stars, Date, Length" in str(err.value)


def test_letters_past_the_last_excel_column_are_not_columns() -> None:
    assert find_column("XFE", HEADERS) is None


def test_empty_column_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        find_column("  ", HEADERS)


def test_new_output_header_goes_to_the_first_free_column() -> None:
    assert resolve_output_column("Sentiment", HEADERS) == (6, True)
    assert resolve_output_column("Sentiment", ["Review", None, "Stars", "", None]) == (4, True)
    assert resolve_output_column("stars", HEADERS) == (3, False)


# -- end to end -------------------------------------------------------------------------------------------


def test_input_and_output_by_letter(work: Path) -> None:
    proc = run_cli("run", work / "reviews.xlsx", "--input", "B", "--output", "G", "--provider", "local")
    assert proc.returncode == 0, proc.stderr
    reviews = column_values(work / "reviews.xlsx", "B")
    results = column_values(work / "reviews.xlsx", "G")
    assert [r is not None for r in results] == [r is not None for r in reviews]
    # G had no header: it gets the task's, so a rerun can tell these results from someone's data.
    assert openpyxl.load_workbook(work / "reviews.xlsx").active["G1"].value == "Sentiment"


def test_created_output_header_copies_the_input_header_style(work: Path) -> None:
    proc = run_cli(
        "run", work / "reviews.xlsx", "--input", " review ", "--output", "Sentiment", "--provider", "local"
    )
    assert proc.returncode == 0, proc.stderr
    assert "New column F 'Sentiment'" in proc.stderr
    ws = openpyxl.load_workbook(work / "reviews.xlsx")["Reviews"]
    new, model = ws["F1"], ws["B1"]
    assert new.value == "Sentiment"
    assert new.font.b == model.font.b is True
    assert new.fill.fgColor.rgb == model.fill.fgColor.rgb


def test_existing_output_header_is_reused_case_insensitively(work: Path) -> None:
    assert run_cli("run", work / "reviews.xlsx", "--input", "Review", "--output", "Sentiment").returncode == 0
    proc = run_cli("run", work / "reviews.xlsx", "--input", "Review", "--output", "SENTIMENT", "--overwrite")
    assert proc.returncode == 0, proc.stderr
    ws = openpyxl.load_workbook(work / "reviews.xlsx")["Reviews"]
    assert ws.max_column == 6
    assert ws["F1"].value == "Sentiment"


def test_header_called_id_is_a_header_not_column_id(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    path = make_xlsx(tmp_path / "ids.xlsx", [["Text", "ID"], ["first", "x-1"], ["second", "x-2"]])
    result = invoke(
        "run", path, "--task", "summarize", "--input", "ID", "--output", "Out", *openai_args(fake_openai)
    )
    assert result.exit_code == 0, result.output
    assert sent_rows(fake_openai) == [["x-1", "x-2"]]  # column B (header "ID"), not column ID
    assert column_values(path, "C") == [expected_answer("summarize", t) for t in ("x-1", "x-2")]


def test_unknown_input_header_message_lists_headers(work: Path) -> None:
    before = (work / "reviews.xlsx").read_bytes()
    proc = run_cli("run", work / "reviews.xlsx", "--input", "Reviw", "--output", "Sentiment")
    assert proc.returncode == 2
    assert "Column 'Reviw' not found" in proc.stderr
    assert "Headers: ID, Review, Stars, Date, Length" in proc.stderr
    assert (work / "reviews.xlsx").read_bytes() == before


def test_same_column_for_input_and_output_is_refused(work: Path) -> None:
    before = (work / "reviews.xlsx").read_bytes()
    proc = run_cli("run", work / "reviews.xlsx", "--input", "Review", "--output", "B", "--overwrite")
    assert proc.returncode == 2
    assert "same column" in proc.stderr
    assert (work / "reviews.xlsx").read_bytes() == before


def test_sheet_by_name_and_unknown_sheet_lists_sheets(work: Path) -> None:
    proc = run_cli(
        "run", work / "reviews.xlsx", "--sheet", "nope", "--input", "Review", "--output", "Sentiment"
    )
    assert proc.returncode == 2
    assert "Sheet 'nope' not found. Sheets: Reviews, Summary" in proc.stderr

    wb = openpyxl.load_workbook(work / "reviews.xlsx")
    wb.active = wb.sheetnames.index("Summary")  # the active sheet is no longer the reviews
    wb.save(work / "reviews.xlsx")
    proc = run_cli(
        "run", work / "reviews.xlsx", "--sheet", "reviews", "--input", "Review", "--output", "Sentiment"
    )
    assert proc.returncode == 0, proc.stderr
    assert openpyxl.load_workbook(work / "reviews.xlsx")["Reviews"]["F1"].value == "Sentiment"


def test_header_row_option(tmp_path: Path) -> None:
    comments = ["I love it, great value", "Broken and awful, a terrible buy"]
    path = make_xlsx(
        tmp_path / "titled.xlsx",
        [["Quarterly feedback"], [], ["When", "Comment"], ["Mon", comments[0]], ["Tue", comments[1]]],
    )
    result = invoke(
        "run", path, "--task", "sentiment", "--header-row", "3", "--input", "comment", "--output", "Mood",
        "--provider", "local",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    moods = local_answers("sentiment", comments)
    assert moods[0] != moods[1]  # so a result in the wrong row would show
    ws = openpyxl.load_workbook(path).active
    assert [[c.value for c in row] for row in ws.iter_rows()] == [
        ["Quarterly feedback", None, None],
        [None, None, None],
        ["When", "Comment", "Mood"],
        ["Mon", comments[0], moods[0]],
        ["Tue", comments[1], moods[1]],
    ]


def test_header_row_past_the_end_is_an_error(work: Path) -> None:
    proc = run_cli("run", work / "reviews.csv", "--header-row", "500", "--input", "B", "--output", "C")
    assert proc.returncode == 2
    assert "--header-row 500" in proc.stderr


def test_short_header_names_are_headers_not_three_letter_columns() -> None:
    # "Out" or "Tag" as a new output header must not mean column OUT (10,706) or TAG.
    assert resolve_output_column("Out", HEADERS) == (6, True)
    assert resolve_input_column("tag", ["Tag"]) == 1
    with pytest.raises(ColumnNotFoundError):
        resolve_input_column("Tag", HEADERS)
    # Capitals, or one or two letters in any case, are still column letters.
    assert find_column("OUT", HEADERS) == column_letter_to_index("OUT")
    assert find_column("aa", HEADERS) == 27
