"""Scale-out end to end: an execution of 3 tasks, started through the Cloud Run emulator's jobs.run, fills a
Google Sheet (the Sheets emulator, holding Google's 60 writes/min quota) with answers from the fake OpenAI
server. One task is killed (SIGKILL) right after its first write and Cloud Run retries it as attempt 1,
which resumes. Every row is written exactly once, no write spans two blocks, no write is refused for quota."""

from __future__ import annotations

import dataclasses
import json
import signal
import threading
from pathlib import Path

import pytest
import requests
from test_job import texts, written_rows

from sheets_ai.testing._openai_answers import expected_answer
from sheets_ai.testing.cloudrun_server import CloudRunEmulator
from sheets_ai.testing.openai_server import FakeOpenAI
from sheets_ai.testing.sheets_server import RecordedRequest, SheetsEmulator

pytestmark = pytest.mark.slow
ROWS, TASKS = 90, 3
BLOCKS = [range(2 + i * ROWS // TASKS, 2 + (i + 1) * ROWS // TASKS) for i in range(TASKS)]


def block_of(row: int) -> int:
    return next(i for i, block in enumerate(BLOCKS) if row in block)


def test_three_tasks_fill_a_sheet_once_within_the_write_quota(tmp_path: Path) -> None:
    rows = texts(ROWS)
    with (
        SheetsEmulator(port=0) as sheets,
        FakeOpenAI(port=0, latency=0.2) as openai,
        CloudRunEmulator(log_dir=tmp_path / "logs") as cloudrun,
    ):
        sid = sheets.add_spreadsheet("Reviews", {"Sheet1": [["Review"], *([t] for t in rows)]})
        sheets.set_quota(read_per_minute=60, write_per_minute=60)  # Google's per-user quotas
        env = {
            "SHEETS_AI_SHEETS_ENDPOINT": sheets.url,
            "SHEETS_AI_SOURCE": sid,
            "SHEETS_AI_INPUT": "Review",
            "SHEETS_AI_OUTPUT": "Sentiment",
            "SHEETS_AI_PROVIDER": "openai",
            "SHEETS_AI_BASE_URL": openai.url,
            "SHEETS_AI_BATCH_SIZE": "1",
            "SHEETS_AI_CONCURRENCY": "1",
            "SHEETS_AI_CHECKPOINT_SECONDS": "0.1",  # unpaced, each task would write ~10 times a second
            "OPENAI_API_KEY": "test-key",
        }
        cloudrun.add_job({"name": "sheets-ai", "env": env, "taskCount": 1, "maxRetries": 2})

        started: dict[str, str] = {}
        killed = threading.Event()

        def kill_task_1_after_its_first_write(record: RecordedRequest) -> None:
            if killed.is_set() or not record.path.endswith(
                "values:batchUpdate"
            ):  # method_id: set once served
                return
            if any(block_of(r) == 1 for r in written_rows([_served(record)])) and "name" in started:
                killed.set()
                cloudrun.execution(started["name"]).kill_task(1, signal.SIGKILL)

        sheets.on_request(kill_task_1_after_its_first_write)
        op = requests.post(
            f"{cloudrun.url}/v2/{cloudrun.job_name('sheets-ai')}:run",
            headers={"Authorization": "Bearer test"},
            json={"overrides": {"taskCount": TASKS}},
            timeout=10,
        ).json()
        started["name"] = op["metadata"]["name"]
        done = cloudrun.wait(started["name"], timeout=120)
        values = sheets.values(sid, "Sheet1")
        writes = [r for r in sheets.requests if r.method_id == "sheets.spreadsheets.values.batchUpdate"]
        refused = [r for r in sheets.requests if r.status == 429]
        execution = cloudrun.execution(started["name"])

    assert not refused  # the three tasks together stayed within 60 writes (and reads) per minute
    assert killed.is_set()
    assert (done["succeededCount"], done["failedCount"], done["retriedCount"]) == (TASKS, 0, 1)
    assert execution.tasks[1].exit_codes == [-signal.SIGKILL, 0]  # killed, then attempt 1 finished the block

    written = written_rows(writes)
    assert sorted(written) == list(range(2, 2 + ROWS))  # every row written exactly once
    for write in writes:  # each write lies inside one task's block
        assert len({block_of(r) for r in written_rows([write])}) <= 1
    assert [v[1] for v in values[1:]] == [expected_answer("sentiment", t) for t in rows]

    logs = Path(done["logUri"].removeprefix("file://"))
    for index in range(TASKS):
        attempt = 1 if index == 1 else 0
        lines = [
            json.loads(x) for x in (logs / f"task-{index}-attempt-{attempt}.log").read_text().splitlines()
        ]
        block = BLOCKS[index]
        assert f"Task {index + 1} of {TASKS}: rows {block[0]}-{block[-1]} ({len(block)} rows)" in [
            line["message"] for line in lines
        ]
        assert lines[-1]["exit_code"] == 0 and lines[-1]["attempt"] == attempt


def _served(record: RecordedRequest) -> RecordedRequest:
    """The record as if answered (the hook runs before the request is served)."""
    return dataclasses.replace(record, status=200, method_id="sheets.spreadsheets.values.batchUpdate")
