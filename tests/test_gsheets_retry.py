"""The Sheets retry layer's edges: appends are not repeated blindly, credentials stay on this machine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import sheets_ai
from sheets_ai.config import build_config
from sheets_ai.errors import UsageError
from sheets_ai.tables._google import ENDPOINT_ENV
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
