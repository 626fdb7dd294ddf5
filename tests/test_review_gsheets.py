"""Human review on Google Sheets, end to end over loopback: the real CLI (gspread) against the Sheets
emulator and the fake OpenAI server. Rows below --review-below are flagged, their output cells highlighted
(the emulator's stored formats), listed in the --review-sheet worksheet, corrected there, applied with
apply-review, and the corrections then appear as worked examples in the next request (the fake server's log)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import openai_args, run_json
from gspread.exceptions import APIError
from test_review import TEXTS

from sheets_ai.testing._openai_answers import certainty, expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI
from sheets_ai.testing.sheets_server import SheetsEmulator

HEADER = ["Row", "Input", "Answer", "Confidence", "Correct answer", "Reviewed by", "Link"]


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[SheetsEmulator]:
    with SheetsEmulator(port=0) as server:
        monkeypatch.setenv("SHEETS_AI_SHEETS_ENDPOINT", server.url)
        yield server


def _systems(server: FakeOpenAI) -> list[str]:
    return [r["body"]["messages"][0]["content"] for r in server.requests if "body" in r]


def test_sheet_review_highlight_list_apply_and_examples(emu: SheetsEmulator, fake_openai: FakeOpenAI) -> None:
    sid = emu.add_spreadsheet(
        "Reviews", {"Data": [["Review"], *[[t] for t in TEXTS]]}, spreadsheet_id="reviews"
    )
    gid = emu._book(sid).sheets[0].sheet_id
    run = ("--input", "Review", "--status-column", "Status", "--no-cache", *openai_args(fake_openai))
    review = ("--review-below", "0.7", "--review-sheet", "To review")
    proc, report = run_json("run", sid, *run, "--output", "Sentiment", *review)
    assert proc.returncode == 0, proc.stderr
    low = [
        i + 2 for i, t in enumerate(TEXTS) if certainty("sentiment", t, expected_answer("sentiment", t)) < 0.7
    ]
    assert low == [3, 4, 6] and report["confidence"]["rows_review"] == 3
    values = emu.values(sid, "Data")
    assert [row[2] for row in values[1:]] == ["review" if r in low else "ok" for r in range(2, 7)]

    # Highlighted: the output cells of the flagged rows only, nothing else of their format.
    for r in range(2, 7):
        fmt = emu.cell_format(sid, "Data", f"B{r}")
        assert ("backgroundColor" in fmt) == (r in low), (r, fmt)
        assert emu.cell_format(sid, "Data", f"A{r}") == {}

    # Listed, with a plain-text link (not a formula) to each output cell.
    listed = emu.values(sid, "To review")
    assert listed[0] == HEADER
    assert [int(row[0]) for row in listed[1:]] == low
    assert listed[1][1:3] == [TEXTS[1], values[2][1]]
    link = f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid={gid}&range=B3"
    assert listed[1][6] == link and not emu.cell_is_formula(sid, "To review", "G2")

    # A person corrects two rows in the worksheet; apply-review writes them and clears their highlight.
    emu.set_values(sid, "To review", "E2", [["neutral", "ana"], ["negative", "ana"]])
    proc, applied = run_json(
        "apply-review", sid, "--review-sheet", "to review", "--input", "Review", "--output", "Sentiment",
        "--status-column", "Status",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert applied["rows_corrected"] == 2 and applied["rows_unchanged"] == 1
    values = emu.values(sid, "Data")
    assert [row[1] for row in values[2:4]] == ["neutral", "negative"]
    assert [row[2] for row in values[1:]] == ["ok", "reviewed", "reviewed", "ok", "review"]
    assert "backgroundColor" not in emu.cell_format(sid, "Data", "B3")
    assert "backgroundColor" not in emu.cell_format(sid, "Data", "B4")
    assert "backgroundColor" in emu.cell_format(sid, "Data", "B6")

    # The next run sends the corrections as worked examples; the filled-in list rows are kept.
    fake_openai.reset()
    proc, _ = run_json("run", sid, *run, "--output", "Second", *review)
    assert proc.returncode == 0, proc.stderr
    systems = _systems(fake_openai)
    assert systems and "Example: Great sound but broken after a week. => negative" in systems[0]
    kept = {row[0]: row for row in emu.values(sid, "To review")[1:]}
    assert kept["3"][4:6] == ["neutral", "ana"] and kept["4"][4:6] == ["negative", "ana"]


def test_apply_review_names_a_missing_review_sheet(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet("Reviews", {"Data": [["Review"], ["x"]]}, spreadsheet_id="reviews")
    proc, out = run_json(
        "apply-review", sid, "--review-sheet", "Nope", "--input", "Review", "--output", "Sentiment"
    )
    assert proc.returncode == 2 and "No worksheet 'Nope'" in out["error"]


def test_emulator_rejects_a_repeat_cell_without_fields(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet("S", {"Data": [["a"]]}, spreadsheet_id="reviews")
    gc = emu.gspread_client()
    body = {"requests": [{"repeatCell": {"range": {"sheetId": 0}, "cell": {"userEnteredFormat": {}}}}]}
    with pytest.raises(APIError, match="fields") as err:
        gc.open_by_key(sid).batch_update(body)
    assert err.value.code == 400
    bad = {
        "requests": [
            {
                "repeatCell": {
                    "range": {"sheetId": 0},
                    "cell": {"userEnteredFormat": {"bgColour": {}}},
                    "fields": "*",
                }
            }
        ]
    }
    with pytest.raises(APIError, match="bgColour") as err:
        gc.open_by_key(sid).batch_update(bad)
    assert err.value.code == 400


def test_review_sheet_without_review_below_or_on_a_file_is_a_usage_error(
    emu: SheetsEmulator, tmp_path: Path
) -> None:
    sid = emu.add_spreadsheet("Reviews", {"Data": [["Review"], ["great"]]}, spreadsheet_id="reviews")
    args = ("--input", "Review", "--output", "Sentiment", "--provider", "local", "--review-sheet", "R")
    proc, out = run_json("run", sid, *args)
    assert proc.returncode == 2 and "--review-below" in out["error"]
    path = tmp_path / "r.csv"
    path.write_text("Review\ngreat\n", encoding="utf-8")
    proc, out = run_json("run", path, *args, "--review-below", "0.8")
    assert proc.returncode == 2 and "NAME.review.csv" in out["error"]
    assert emu.sheet_titles(sid) == ["Data"]


def test_the_review_sheet_grows_when_the_list_outgrows_it(
    emu: SheetsEmulator, fake_openai: FakeOpenAI
) -> None:
    sid = emu.add_spreadsheet(
        "Reviews", {"Data": [["Review"], *[[t] for t in TEXTS]]}, spreadsheet_id="reviews"
    )
    emu.gspread_client().open_by_key(sid).add_worksheet("To review", rows=2, cols=7)
    proc, _ = run_json(
        "run", sid, "--input", "Review", "--output", "Sentiment", "--no-cache", *openai_args(fake_openai),
        "--review-below", "0.7", "--review-sheet", "To review",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert [row[0] for row in emu.values(sid, "To review")] == ["Row", "3", "4", "6"]


def test_a_row_answered_later_with_enough_confidence_loses_its_highlight(
    emu: SheetsEmulator, fake_openai: FakeOpenAI
) -> None:
    sid = emu.add_spreadsheet(
        "Reviews", {"Data": [["Review"], *[[t] for t in TEXTS]]}, spreadsheet_id="reviews"
    )
    run = ("run", sid, "--input", "Review", "--output", "Sentiment", "--no-cache", *openai_args(fake_openai))
    proc, _ = run_json(*run, "--review-below", "0.7")
    assert proc.returncode == 0, proc.stderr
    assert "backgroundColor" in emu.cell_format(sid, "Data", "B3")
    assert emu.sheet_titles(sid) == ["Data"]  # no --review-sheet: highlights only
    proc, _ = run_json(*run, "--review-below", "0.5", "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert all(emu.cell_format(sid, "Data", f"B{r}") == {} for r in range(2, 7))


def test_review_costs_the_requests_the_docs_state(emu: SheetsEmulator, fake_openai: FakeOpenAI) -> None:
    sid = emu.add_spreadsheet(
        "Reviews", {"Data": [["Review"], *[[t] for t in TEXTS]]}, spreadsheet_id="reviews"
    )
    run = ("run", sid, "--input", "Review", "--no-cache", *openai_args(fake_openai), "--review-below", "0.7")
    reads = (
        "sheets.spreadsheets.get",
        "sheets.spreadsheets.values.get",
        "sheets.spreadsheets.values.batchGet",
    )
    for output, extra, writes in [
        ("First", 1, 2),  # results + highlight
        ("Second", 3, 4),  # + addSheet, then header and rows in one values.append
        ("Third", 3, 3),  # + read the list, then the listed rows updated in place (values.batchUpdate)
    ]:
        emu.reset_counts()
        proc, _ = run_json(*run, "--output", output, *(("--review-sheet", "R") if output != "First" else ()))
        assert proc.returncode == 0, proc.stderr
        ids = [r.method_id for r in emu.requests]
        assert len(ids) == 4 + extra, ids
        assert sum(i not in reads for i in ids) == writes, ids


# ------------------------------------------------------------------ shards sharing one review worksheet
SHARD_TEXTS = [
    "Love it, great and fast.",
    "It is blue.",
    "Terrible.",
    "Great sound but broken after a week.",
    "Nice, good and friendly.",
    "The box was green.",
    "Broken and late.",
    "Good but slow.",
]


def _shard_config(sid: str, rows: str, fake: FakeOpenAI) -> Any:
    from sheets_ai.config import build_config

    return build_config(
        {
            "source": sid, "input": "Review", "output": "Sentiment", "status_column": "Status",
            "review_below": 0.8, "review_sheet": "To review", "rows": rows, "provider": "openai",
            "base_url": fake.url, "cache": False,
        }
    )  # fmt: skip


def _touches_review_sheet(record: Any, writes_only: bool) -> bool:
    body = json.dumps(record.body or {})
    if "addSheet" in body:
        return True
    return "To review" in record.path and (record.method != "GET" or not writes_only)


@pytest.mark.parametrize("created_before", [False, True], ids=["both-create", "both-write"])
def test_two_shards_list_their_rows_in_one_review_sheet(
    emu: SheetsEmulator, fake_openai: FakeOpenAI, created_before: bool
) -> None:
    """Two tasks of a Cloud Run job (shards of one tab) list into the same worksheet at the same time: shard B
    runs from start to end while shard A's first request to the review worksheet waits (A has already decided
    to create it, or read the list it is about to write). Every flagged row of both ends up listed once."""
    from sheets_ai import run

    tabs = {"Data": [["Review"], *[[t] for t in SHARD_TEXTS]]}
    if created_before:
        tabs["To review"] = [HEADER]
    sid = emu.add_spreadsheet("Reviews", tabs, spreadsheet_id="reviews")
    low = [
        i + 2
        for i, t in enumerate(SHARD_TEXTS)
        if certainty("sentiment", t, expected_answer("sentiment", t)) < 0.8
    ]
    assert any(r <= 5 for r in low) and any(r > 5 for r in low)
    other: dict[str, Any] = {}

    def shard_b_now(record: Any) -> None:
        if "report" not in other and _touches_review_sheet(record, writes_only=created_before):
            other["report"] = None  # B's own requests pass
            other["report"] = run(_shard_config(sid, "6:9", fake_openai))

    emu.on_request(shard_b_now)
    report = run(_shard_config(sid, "2:5", fake_openai))
    assert other["report"] is not None and other["report"].exit_code == 0
    assert report.exit_code == 0
    listed = emu.values(sid, "To review")
    assert listed[0] == HEADER
    assert sorted(int(row[0]) for row in listed[1:]) == low

    # A rerun of shard A updates its listed rows in place: nothing is listed twice.
    emu.remove_hook(shard_b_now)
    again = run(_shard_config(sid, "2:5", fake_openai).model_copy(update={"output": "Second"}))
    assert again.exit_code == 0
    assert sorted(int(row[0]) for row in emu.values(sid, "To review")[1:]) == low


def test_two_tabs_share_a_review_sheet_and_apply_review_takes_its_own_lines(
    emu: SheetsEmulator, fake_openai: FakeOpenAI
) -> None:
    """Row 3 of tab East and row 3 of tab West are two lines of the review worksheet (keyed by the link's
    worksheet id), and apply-review on one tab corrects only that tab's rows."""
    sid = emu.add_spreadsheet(
        "Reviews",
        {"East": [["Review"], *[[t] for t in TEXTS]], "West": [["Review"], *[[t] for t in TEXTS]]},
        spreadsheet_id="reviews",
    )
    book = emu._book(sid)
    east, west = book.sheets[0].sheet_id, book.sheets[1].sheet_id
    run = ("--input", "Review", "--output", "Sentiment", "--no-cache", *openai_args(fake_openai))
    review = ("--review-below", "0.7", "--review-sheet", "To review")
    for gid in (east, west):
        proc, _ = run_json(
            "run", f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid={gid}", *run, *review
        )
        assert proc.returncode == 0, proc.stderr
    listed = emu.values(sid, "To review")[1:]
    assert [(row[0], f"gid={east}&" in row[6]) for row in listed] == [
        ("3", True), ("4", True), ("6", True), ("3", False), ("4", False), ("6", False),
    ]  # fmt: skip
    emu.set_values(sid, "To review", "E2", [["negative", "ana"]])  # East row 3
    emu.set_values(sid, "To review", "E6", [["positive", "ben"]])  # West row 4
    proc, applied = run_json(
        "apply-review", f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid={west}",
        "--review-sheet", "To review", "--input", "Review", "--output", "Sentiment",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert applied["rows_corrected"] == 1
    assert emu.values(sid, "West")[3][1] == "positive"
    assert emu.values(sid, "East")[2][1] != "negative"
