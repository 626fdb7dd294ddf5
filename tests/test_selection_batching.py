"""Which rows are processed (empty, done, --overwrite, --limit, --rows, types, formulas, errors) and how
they are packed into batches and truncated."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
from conftest import (
    add_cached_values,
    column_values,
    invoke,
    make_xlsx,
    openai_args,
    run_cli,
    run_json,
    sent_rows,
)

from sheets_ai.config import RunConfig, parse_row_range
from sheets_ai.planning import PlannedRow, pack_batches, plan_rows, select_rows
from sheets_ai.tables.base import InputCell
from sheets_ai.testing._openai_answers import expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI
from sheets_ai.tokens import count_tokens, truncate_to_tokens


def _fill_outputs(path: Path, values: dict[str, str]) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb["Reviews"]
    ws["F1"] = "Sentiment"
    for ref, value in values.items():
        ws[ref] = value
    wb.save(path)


# -- selection, unit ---------------------------------------------------------------------------------------


def test_select_rows_reasons_are_counted() -> None:
    cells = [
        InputCell(2, "a"),
        InputCell(3, None),
        InputCell(4, None, error="#N/A"),
        InputCell(5, "b", output="done"),
        InputCell(6, "c"),
        InputCell(7, "d"),
    ]
    sel = select_rows(cells, RunConfig(limit=1, rows="2:6"))
    assert [c.row for c in sel.cells] == [2]
    assert sel.skipped == {
        "empty_input": 1,
        "error_values": 1,
        "already_done": 1,
        "over_limit": 1,
        "outside_rows": 1,
    }
    assert [c.row for c in select_rows(cells, RunConfig(overwrite=True)).cells] == [2, 5, 6, 7]


@pytest.mark.parametrize(
    ("spec", "parsed"), [("2:500", (2, 500)), ("10:", (10, None)), (":99", (None, 99)), ("42", (42, 42))]
)
def test_row_ranges(spec: str, parsed: tuple[int | None, int | None]) -> None:
    assert parse_row_range(spec) == parsed


# -- selection, end to end --------------------------------------------------------------------------------


def test_empty_inputs_are_skipped_and_counted(work: Path) -> None:
    proc, report = run_json("run", work / "reviews.xlsx", "--input", "Review", "--output", "Sentiment")
    assert proc.returncode == 0, proc.stderr
    reviews = column_values(work / "reviews.xlsx", "B")
    results = column_values(work / "reviews.xlsx", "F")
    empty_rows = [i for i, text in enumerate(reviews) if text is None]
    assert len(empty_rows) == 1
    assert all(results[i] is None for i in empty_rows)
    assert all(
        r in {"positive", "negative", "neutral", "mixed"}
        for i, r in enumerate(results)
        if i not in empty_rows
    )
    assert report["skipped"] == {"empty_input": 1}
    assert report["rows_processed"] == len(reviews) - 1


def test_filled_outputs_are_kept_unless_overwrite(work: Path) -> None:
    path = work / "reviews.xlsx"
    _fill_outputs(path, {"F2": "keep me", "F5": "and me"})
    proc, report = run_json("run", path, "--input", "Review", "--output", "Sentiment")
    assert proc.returncode == 0, proc.stderr
    assert report["skipped"]["already_done"] == 2
    ws = openpyxl.load_workbook(path)["Reviews"]
    assert (ws["F2"].value, ws["F5"].value) == ("keep me", "and me")
    assert ws["F3"].value == "positive"

    proc, report = run_json("run", path, "--input", "Review", "--output", "Sentiment", "--overwrite")
    assert proc.returncode == 0, proc.stderr
    ws = openpyxl.load_workbook(path)["Reviews"]
    assert ws["F2"].value == "positive"
    assert ws["F5"].value in {"positive", "negative", "neutral", "mixed"}
    assert report["rows_processed"] == 59


def test_limit_then_rerun_continues(work: Path) -> None:
    path = work / "reviews.xlsx"
    proc, report = run_json("run", path, "--input", "Review", "--output", "Sentiment", "--limit", "5")
    assert proc.returncode == 0, proc.stderr
    assert report["rows_processed"] == 5
    assert sum(v is not None for v in column_values(path, "F")) == 5
    _, report = run_json("run", path, "--input", "Review", "--output", "Sentiment", "--limit", "5")
    assert report["rows_processed"] == 5
    results = column_values(path, "F")
    assert all(v is not None for v in results[:10]) and all(v is None for v in results[10:])


def test_rows_range(work: Path) -> None:
    path = work / "reviews.xlsx"
    proc, report = run_json("run", path, "--input", "Review", "--output", "Sentiment", "--rows", "4:8")
    assert proc.returncode == 0, proc.stderr
    ws = openpyxl.load_workbook(path)["Reviews"]
    filled = [r for r in range(2, ws.max_row + 1) if ws.cell(r, 6).value is not None]
    assert filled == [4, 5, 6, 7, 8]
    assert report["skipped"]["outside_rows"] == 55


@pytest.mark.parametrize(
    ("spec", "why"), [("a:b", "not a row range"), ("0:5", "start at 1"), ("10:2", "end is before the start")]
)
def test_bad_row_ranges_are_usage_errors(work: Path, spec: str, why: str) -> None:
    before = (work / "reviews.xlsx").read_bytes()
    proc = run_cli("run", work / "reviews.xlsx", "--input", "Review", "--output", "S1", f"--rows={spec}")
    assert proc.returncode == 2
    assert why in proc.stderr and "Traceback" not in proc.stderr
    assert (work / "reviews.xlsx").read_bytes() == before


def test_numbers_dates_booleans_are_sent_as_displayed_text(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    path = make_xlsx(
        tmp_path / "types.xlsx",
        [
            ["Value"],
            [42],
            [3.5],
            [dt.datetime(2024, 3, 1)],
            [dt.datetime(2024, 3, 1, 14, 30)],
            [True],
            [False],
            ["plain text"],
        ],
    )
    result = invoke(
        "run", path, "--task", "summarize", "--input", "Value", "--output", "Seen", *openai_args(fake_openai)
    )
    assert result.exit_code == 0, result.output
    displayed = [
        "42",
        "3.5",
        "2024-03-01 0:00:00",  # openpyxl's default datetime format is yyyy-mm-dd h:mm:ss, as Excel shows it
        "2024-03-01 14:30:00",
        "TRUE",
        "FALSE",
        "plain text",
    ]
    assert sent_rows(fake_openai) == [displayed]  # one request, every value as Excel displays it
    assert column_values(path, "B") == [expected_answer("summarize", t) for t in displayed]
    # The input cells keep their types.
    ws = openpyxl.load_workbook(path).active
    assert ws["A2"].value == 42 and ws["A6"].value is True and isinstance(ws["A4"].value, dt.datetime)


def _formula_workbook(path: Path) -> Path:
    make_xlsx(
        path,
        [
            ["First", "Text"],
            ["good", '=A2&" morning"'],
            ["x", "=1/0"],
            ["y", "=NA()"],
            ["z", '=A5&"!"'],  # no cached value: never calculated
            ["", "=LEN(A2)"],
        ],
    )
    add_cached_values(
        path,
        {
            "B2": ("str", "good morning"),
            "B3": ("e", "#DIV/0!"),
            "B4": ("e", "#N/A"),
            "B6": ("n", "4"),
        },
    )
    return path


def test_formula_cells_use_their_cached_value_and_errors_are_skipped(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    path = _formula_workbook(tmp_path / "formulas.xlsx")
    result = invoke(
        "run", path, "--task", "summarize", "--input", "Text", "--output", "Seen", "--json",
        *openai_args(fake_openai),
    )  # fmt: skip
    # B5's formula was never calculated: that row is not done, said so, and the run is not a success.
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert sorted(t for batch in sent_rows(fake_openai) for t in batch) == ["4", "good morning"]
    assert report["skipped"] == {"error_values": 2, "formula_without_value": 1}
    assert report["rows_skipped"] == 3
    assert any("1 row has an input formula with no stored result" in n for n in report["notices"])
    ws = openpyxl.load_workbook(path).active
    assert ws["C2"].value == expected_answer("summarize", "good morning")
    assert ws["C6"].value == expected_answer("summarize", "4")
    assert ws["C3"].value is None and ws["C4"].value is None and ws["C5"].value is None
    # The formulas are still formulas.
    assert ws["B2"].value == '=A2&" morning"' and ws["B3"].value == "=1/0"


def test_literal_error_values_are_skipped_and_counted(tmp_path: Path) -> None:
    path = make_xlsx(
        tmp_path / "errors.xlsx", [["Review"], ["I love it"], ["#N/A"], ["#DIV/0!"], ["#VALUE!"], ["Awful."]]
    )
    ws = openpyxl.load_workbook(path).active
    assert ws["A3"].data_type == "e"  # openpyxl stores these as real error cells
    proc, report = run_json("run", path, "--input", "Review", "--output", "Sentiment")
    assert proc.returncode == 0, proc.stderr
    assert report["skipped"] == {"error_values": 3}
    assert column_values(path, "B") == ["positive", None, None, None, "negative"]


# -- batching -------------------------------------------------------------------------------------------


def _rows(tokens: list[int]) -> list[PlannedRow]:
    return [PlannedRow(row=i + 2, text="x", original="x", tokens=t) for i, t in enumerate(tokens)]


def test_batches_close_at_the_row_count() -> None:
    batches = pack_batches(_rows([1] * 7), batch_size=3, max_batch_tokens=1000)
    assert [[r.row for r in b] for b in batches] == [[2, 3, 4], [5, 6, 7], [8]]


def test_batches_close_at_the_token_budget() -> None:
    batches = pack_batches(_rows([40, 40, 30, 90, 5, 5]), batch_size=100, max_batch_tokens=100)
    assert [[r.tokens for r in b] for b in batches] == [[40, 40], [30], [90, 5, 5]]


def test_a_row_bigger_than_the_budget_gets_its_own_batch() -> None:
    batches = pack_batches(_rows([10, 500, 10]), batch_size=100, max_batch_tokens=100)
    assert [[r.tokens for r in b] for b in batches] == [[10], [500], [10]]
    assert pack_batches([], batch_size=5, max_batch_tokens=100) == []


def test_plan_rows_truncates_overlong_rows_but_keeps_the_original() -> None:
    long_text = "word " * 400
    cells = [InputCell(2, "short text"), InputCell(3, long_text)]
    planned = plan_rows(cells, max_row_tokens=50, count=count_tokens, truncate=truncate_to_tokens)
    assert [p.truncated for p in planned] == [False, True]
    assert planned[1].tokens <= 50 and count_tokens(planned[1].text) <= 50
    assert planned[1].original == long_text and long_text.startswith(planned[1].text)
    assert planned[0].tokens == count_tokens("short text")


def test_truncated_rows_are_counted_in_the_report(work: Path, fake_openai: FakeOpenAI) -> None:
    result = invoke(
        "run", work / "meetings.xlsx", "--input", "Notes", "--output", "Mood", "--max-row-tokens", "20",
        "--json", *openai_args(fake_openai),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    notes = [n for n in column_values(work / "meetings.xlsx", "C") if n]
    assert report["rows_truncated"] == len(notes) > 0
    sent = [t for batch in sent_rows(fake_openai) for t in batch]
    assert len(sent) == len(notes) and all(count_tokens(t) <= 20 for t in sent)
    # The notes themselves are untouched.
    assert all(len(n) > 100 for n in notes)


def test_batch_size_sets_the_number_of_requests(work: Path, fake_openai: FakeOpenAI) -> None:
    result = invoke(
        "run", work / "reviews.xlsx", "--input", "Review", "--output", "S1", "--batch-size", "7",
        "--concurrency", "1", "--json", *openai_args(fake_openai),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [r["items"] for r in fake_openai.requests] == [7] * 8 + [3]
    assert json.loads(result.stdout)["batches"] == 9
