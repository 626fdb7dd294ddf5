"""The Sheets retry layer: the wait before each retry, its bounds, appends not repeated blindly, credentials
kept on this machine.

The waits are checked two ways: one real 2 s ``Retry-After`` wait measured from the emulator's log of request
arrival times, and the sequence of waits seen through tenacity's ``sleep`` hook (``make_http_client(sleep=)``)
so the backoff can be checked without sleeping it. Both go through real gspread over real HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gspread
import pytest
from google.auth.credentials import AnonymousCredentials

import sheets_ai
from sheets_ai.config import build_config
from sheets_ai.errors import UsageError
from sheets_ai.tables._google import ENDPOINT_ENV, SheetsRetriesExhaustedError, make_http_client
from sheets_ai.testing.sheets_server import SheetsEmulator

ROWS = [["Review"], ["I love it, great"], ["Terrible, it broke"]]


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[SheetsEmulator]:
    with SheetsEmulator(port=0) as server:
        monkeypatch.setenv(ENDPOINT_ENV, server.url)
        yield server


def run(sid: str, **options: object) -> sheets_ai.RunReport:
    base = {"source": f"https://docs.google.com/spreadsheets/d/{sid}/edit", "task": "sentiment",
            "input": "Review", "output": "Sentiment", "provider": "local"}  # fmt: skip
    return sheets_ai.run(build_config({**base, **options}))


def test_a_failed_log_append_is_not_retried_so_the_log_row_is_never_doubled(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet("Book", {"Sheet1": ROWS, "Runs": [["time"]]})
    emu.fail_next(status=503, count=1, path_contains=":append")
    report = run(sid, log_sheet="Runs")
    assert report.exit_code == 0 and report.rows_processed == 2  # the results are written regardless
    appends = [r for r in emu.requests if ":append" in r.path]
    assert len(appends) == 1  # a 5xx append may have been applied: no blind second try


def test_an_append_refused_by_the_quota_is_retried(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet("Book", {"Sheet1": ROWS, "Runs": [["time"]]})
    emu.fail_next(status=429, count=1, path_contains=":append", retry_after=0)
    run(sid, log_sheet="Runs")
    assert len([r for r in emu.requests if ":append" in r.path]) == 2
    assert len(emu.values(sid, "Runs")) == 2  # the header and exactly one run row


def test_credentials_are_not_sent_to_a_remote_endpoint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = tmp_path / "key.json"
    key.write_text("{}")
    monkeypatch.setenv(ENDPOINT_ENV, "http://sheets.example.com:8080")
    with pytest.raises(UsageError, match="refusing to send Google credentials"):
        run("a" * 44, credentials=str(key))


# ------------------------------------------------------------------------------- the wait before a retry


def test_a_429_with_retry_after_2_is_retried_no_sooner_than_2_seconds_later(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet("Book", {"Sheet1": ROWS})
    emu.fail_next(status=429, count=1, path_contains="values:batchUpdate", retry_after=2)
    report = run(sid)
    assert report.exit_code == 0 and report.rows_processed == 2
    refused, retried = [r for r in emu.requests if r.path.endswith("values:batchUpdate")]
    assert (refused.status, retried.status) == (429, 200)
    assert retried.timestamp - refused.timestamp >= 2.0  # the server asked for 2 s; the client waited


def client_for(
    emu: SheetsEmulator, waits: list[float], *, attempts: int = 8, max_seconds: float = 600
) -> Any:
    """Our retrying HTTP client in a real gspread.Client; ``waits`` receives every wait instead of sleeping."""
    http = make_http_client(
        emu.url, attempts=attempts, max_seconds=max_seconds, timeout=10, sleep=waits.append
    )
    return gspread.Client(AnonymousCredentials(), http_client=http).http_client


def test_each_wait_is_the_retry_after_of_the_answer_that_failed(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet("Book", {"Sheet1": ROWS})
    emu.fail_next(503, retry_after=3)
    emu.fail_next(429, retry_after=7)
    emu.fail_next(503, retry_after=1)
    waits: list[float] = []
    meta = client_for(emu, waits).fetch_sheet_metadata(sid)
    assert meta["spreadsheetId"] == sid
    assert waits == [3, 7, 1]
    assert [r.status for r in emu.requests] == [503, 429, 503, 200]


def test_without_retry_after_the_backoff_doubles_from_the_first_retry(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet("Book", {"Sheet1": ROWS})
    waits: list[float] = []
    http = client_for(emu, waits)
    emu.fail_next(503, count=5)  # 5xx: 0.5, 1, 2, 4, 8
    http.fetch_sheet_metadata(sid)
    assert waits == [0.5, 1, 2, 4, 8]
    waits.clear()
    emu.fail_next(429, count=7)  # quota: 1, 2, 4 … 32, then 60, each with up to 0.25 s of jitter
    http.fetch_sheet_metadata(sid)
    steps = [1, 2, 4, 8, 16, 32, 60]
    assert len(waits) == len(steps)
    assert all(step <= wait <= step + 0.25 for wait, step in zip(waits, steps, strict=True)), waits


def test_5xx_retries_stop_after_the_attempts_without_a_wait_after_the_last(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet("Book", {"Sheet1": ROWS})
    emu.fail_next(503, count=100)
    waits: list[float] = []
    with pytest.raises(SheetsRetriesExhaustedError, match=r"kept answering 503 .* after 3 tries"):
        client_for(emu, waits, attempts=3).fetch_sheet_metadata(sid)
    assert waits == [0.5, 1]
    assert emu.request_count == 3


def test_a_retry_after_past_the_time_budget_stops_at_once(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet("Book", {"Sheet1": ROWS})
    emu.fail_next(429, retry_after=120)
    waits: list[float] = []
    with pytest.raises(SheetsRetriesExhaustedError, match=r"kept answering 429 .* after 1 try"):
        client_for(emu, waits, max_seconds=60).fetch_sheet_metadata(sid)
    assert waits == []
