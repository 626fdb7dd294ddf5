"""--batch-api on a Google Sheet: the state lives in a hidden worksheet (gspread over HTTP to the Sheets
emulator, the openai SDK over HTTP to the fake OpenAI server's Batch API)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import run_cli

import sheets_ai
from sheets_ai.batch_api import STATE_WORKSHEET
from sheets_ai.config import build_config
from sheets_ai.report import RunReport
from sheets_ai.testing._openai_answers import expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI
from sheets_ai.testing.sheets_server import SheetsEmulator


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[SheetsEmulator]:
    with SheetsEmulator(port=0) as server:
        monkeypatch.setenv("SHEETS_AI_SHEETS_ENDPOINT", server.url)
        yield server


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    with FakeOpenAI(port=0, retry_after=0.05, batch_delay=3600) as server:
        yield server


def texts(n: int) -> list[str]:
    return [f"I love this, it is great #{i}" if i % 2 == 0 else f"Terrible, it broke #{i}" for i in range(n)]


def run(fake: FakeOpenAI, sid: str, **options: Any) -> RunReport:
    config = {"source": sid, "task": "sentiment", "input": "Review", "output": "Sentiment", "cache": False,
              "provider": "openai", "base_url": fake.url, "batch_api": True, **options}  # fmt: skip
    return sheets_ai.run(build_config(config))


def state(emu: SheetsEmulator, sid: str) -> dict[str, Any] | None:
    text = "".join(str(row[0]) for row in emu.values(sid, STATE_WORKSHEET) if row)
    return json.loads(text) if text else None


def test_state_in_a_hidden_worksheet_survives_between_runs(emu: SheetsEmulator, fake: FakeOpenAI) -> None:
    rows = texts(2000)  # about 50,000 characters of state: more than one cell holds
    sid = emu.add_spreadsheet("Book", {"Reviews": [["Review"], *([t] for t in rows)]})
    report = run(fake, sid)
    assert report.batches_submitted == 1 and report.rows_pending == 2000 and report.exit_code == 0
    sheets = emu.gspread_client().open_by_key(sid).fetch_sheet_metadata()["sheets"]
    (props,) = [s["properties"] for s in sheets if s["properties"]["title"] == STATE_WORKSHEET]
    assert props.get("hidden") is True
    saved = state(emu, sid)
    assert saved is not None and len(emu.values(sid, STATE_WORKSHEET)) >= 2  # split over several cells
    assert sum(len(pairs) for pairs in saved["submissions"][0]["requests"].values()) == 2000

    report = run(fake, sid)  # still running: nothing submitted twice
    assert report.batches_submitted == 0 and report.batches_pending == 1 and len(fake.batches.batches) == 1

    fake.batches.finish()
    report = run(fake, sid)
    assert report.batches_collected == 1 and report.rows_processed == 2000
    got = [row[1] for row in emu.values(sid, "Reviews")[1:]]
    assert got == [expected_answer("sentiment", t) for t in rows]
    assert state(emu, sid) is None


def test_a_job_with_several_tasks_refuses_the_batch_api(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet("Book", {"Reviews": [["Review"], ["great"]]})
    env = {"CLOUD_RUN_JOB": "sheets-ai", "CLOUD_RUN_TASK_INDEX": "0", "CLOUD_RUN_TASK_COUNT": "2",
           "SHEETS_AI_SOURCE": sid, "SHEETS_AI_INPUT": "Review", "SHEETS_AI_OUTPUT": "Sentiment",
           "SHEETS_AI_PROVIDER": "openai", "OPENAI_API_KEY": "k", "SHEETS_AI_BATCH_API": "true"}  # fmt: skip
    proc = run_cli("job", env=env)
    assert proc.returncode == 2
    (line,) = [json.loads(x) for x in proc.stdout.splitlines() if x.strip()]
    assert "run the job with one task (--tasks 1)" in line["message"]
    assert emu.values(sid, "Reviews") == [["Review"], ["great"]]
