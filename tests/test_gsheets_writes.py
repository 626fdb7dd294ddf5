"""Sheets writes stay under the 2 MB per request Google recommends, one long contiguous range included.

The emulator runs with ``max_body_bytes=2_000_000``, so a request over 2 MB is refused the way Google's
front end refuses one over its own limit, and every request's body size is logged as it arrived.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

import pytest
from conftest import local_answers

import sheets_ai
from sheets_ai.config import build_config
from sheets_ai.errors import SheetsAIError
from sheets_ai.tables._google import ENDPOINT_ENV
from sheets_ai.testing.sheets_server import RecordedRequest, SheetsEmulator

LIMIT = 2_000_000
RANGE = re.compile(r"!([A-Z]+)(\d+):([A-Z]+)(\d+)$")


@pytest.fixture
def strict(monkeypatch: pytest.MonkeyPatch) -> Iterator[SheetsEmulator]:
    with SheetsEmulator(port=0, max_body_bytes=LIMIT) as emu:
        monkeypatch.setenv(ENDPOINT_ENV, emu.url)
        yield emu


def note(i: int) -> str:
    """A meeting note of about 300 characters; every third one in Japanese (6 bytes a character as JSON)."""
    if i % 3 == 2:
        return (
            f"会議{i}：第{i % 4 + 1}四半期の出荷実績を確認した。注文は{i % 9}パーセント増えたが、返品は二パーセントで"
            f"横ばいだった。第{i % 5}倉庫ではベルトコンベアの故障で遅れが出ている。次の対応として、ピッキング"
            "担当を二名増員し、ベルトを修理し、五月までに運送会社との契約を見直す。担当者は来週までに報告する。"
        )
    return (
        f"Meeting {i}: the team reviewed the quarterly shipping figures for region {i % 17}. "
        f"Orders grew by {i % 9} percent while returns stayed flat at two percent. "
        f"The warehouse in zone {i % 5} reported delays caused by a broken conveyor belt. "
        "Next steps: hire two more pickers, repair the belt, and review the carrier contract before May."
    )


def cells_written(writes: list[RecordedRequest]) -> Counter[tuple[str, int]]:
    """How many times each (column, row) was sent in the values.batchUpdate bodies."""
    sent: Counter[tuple[str, int]] = Counter()
    for request in writes:
        for item in request.body["data"]:
            match = RANGE.search(item["range"])
            assert match and match[1] == match[3], item["range"]
            first, last = int(match[2]), int(match[4])
            assert len(item["values"]) == last - first + 1
            sent.update((match[1], row) for row in range(first, last + 1))
    return sent


def test_a_10000_row_summarize_run_is_written_in_requests_of_at_most_2_mb(strict: SheetsEmulator) -> None:
    n = 10_000
    notes = [note(i) for i in range(n)]
    sid = strict.add_spreadsheet("Notes", {"Sheet1": [["Notes"], *[[text] for text in notes]]})
    options = {"task": "summarize", "input": "Notes", "output": "Summary", "max_chars": 1000}
    report = sheets_ai.run(
        build_config(
            {
                "source": f"https://docs.google.com/spreadsheets/d/{sid}/edit",
                "provider": "local",
                "status_column": "Status",
                **options,
            }
        )
    )
    assert report.exit_code == 0 and report.rows_processed == n

    writes = [r for r in strict.requests if r.path.endswith("values:batchUpdate")]
    assert [r.status for r in writes] == [200] * len(writes)
    assert len(writes) >= 3  # about 5.8 MB of results and statuses
    assert max(r.size for r in writes) <= LIMIT
    sent = cells_written(writes)
    rows = range(2, n + 2)
    assert sent == Counter({**{("B", r): 1 for r in (1, *rows)}, **{("C", r): 1 for r in (1, *rows)}})

    values = strict.values(sid, "Sheet1")
    assert values[0] == ["Notes", "Summary", "Status"]
    assert [row[2] for row in values[1:]] == ["ok"] * n
    sample = range(0, n, 50)  # the analyzer's own answers for 200 of the rows (all 10,000 would take 3 s)
    expected = local_answers("summarize", [notes[i] for i in sample], max_chars=1000)
    assert [values[1 + i][1] for i in sample] == expected
    assert all(row[1] for row in values[1:])


def test_a_1000_row_run_makes_the_requests_the_readme_states(strict: SheetsEmulator) -> None:
    reviews = [
        [f"I love this, it is great #{i}" if i % 2 else f"Broken and awful #{i}"] for i in range(1_000)
    ]
    reads = ["sheets.spreadsheets.get", "sheets.spreadsheets.values.batchGet"]
    chunk = ["sheets.spreadsheets.values.batchGet", "sheets.spreadsheets.values.batchUpdate"]
    for log_sheet, extra in [
        (None, []),  # 4 requests: 3 reads, 1 write
        (
            "Runs",
            ["sheets.spreadsheets.batchUpdate", "sheets.spreadsheets.values.append"],
        ),  # + addSheet, append
    ]:
        strict.reset_counts()
        sid = strict.add_spreadsheet("Reviews", {"Sheet1": [["Review"], *reviews]})
        config = {"source": sid, "input": "Review", "output": "Sentiment", "provider": "local"}
        report = sheets_ai.run(build_config({**config, "task": "sentiment", "log_sheet": log_sheet}))
        assert report.rows_processed == 1_000
        assert [r.method_id for r in strict.requests] == reads + chunk + extra


def test_a_row_and_its_status_travel_in_one_request_so_a_failed_write_leaves_whole_rows(
    strict: SheetsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHEETS_AI_RETRY_ATTEMPTS", "1")
    n = 5_000  # about 2.6 MB of summaries and statuses: two requests
    notes = [note(i) for i in range(n)]
    sid = strict.add_spreadsheet("Notes", {"Sheet1": [["Notes"], *[[text] for text in notes]]})

    def second_write_fails(record: RecordedRequest) -> None:
        earlier = [r for r in strict.requests[:-1] if r.path.endswith("values:batchUpdate")]
        if record.path.endswith("values:batchUpdate") and earlier:
            strict.fail_next(503, path_contains="values:batchUpdate")

    strict.on_request(second_write_fails)
    config = {"source": sid, "provider": "local", "task": "summarize", "input": "Notes", "output": "Summary"}
    with pytest.raises(SheetsAIError, match="kept answering 503"):
        sheets_ai.run(build_config({**config, "max_chars": 1000, "status_column": "Status"}))
    values = strict.values(sid, "Sheet1")
    assert values[0] == ["Notes", "Summary", "Status"]
    written = [row for row in values[1:] if len(row) > 1]
    assert 0 < len(written) < n
    assert all(row[1] and row[2] == "ok" for row in written)  # no result without its status
