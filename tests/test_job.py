"""`sheets-ai job`, the Cloud Run entrypoint, run as a real process with the environment Cloud Run gives a task
(CLOUD_RUN_TASK_INDEX / _COUNT / _ATTEMPT, CLOUD_RUN_EXECUTION, CLOUD_RUN_JOB, SHEETS_AI_* options) against
the Sheets emulator and the fake OpenAI server."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli, start_cli

from sheets_ai.testing._openai_answers import REFUSE_MARK, expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI
from sheets_ai.testing.sheets_server import RecordedRequest, SheetsEmulator


@pytest.fixture(scope="module")
def server() -> Iterator[SheetsEmulator]:
    with SheetsEmulator(port=0) as emu:
        yield emu


@pytest.fixture
def emu(server: SheetsEmulator) -> Iterator[SheetsEmulator]:
    server.reset_faults()
    server.reset_counts()
    yield server
    server.reset_faults()


def texts(n: int) -> list[str]:
    return [
        f"I love this, it is great #{i}" if i % 2 == 0 else f"Terrible and awful, it broke #{i}"
        for i in range(n)
    ]


def task_env(
    emu: SheetsEmulator, sid: str, index: int, count: int, attempt: int = 0, **extra: str
) -> dict[str, str]:
    """What Cloud Run gives task ``index`` of ``count``: its CLOUD_RUN_* variables and the job's SHEETS_AI_* env."""
    return {
        "CLOUD_RUN_JOB": "sheets-ai",
        "CLOUD_RUN_EXECUTION": "sheets-ai-abcde",
        "CLOUD_RUN_TASK_INDEX": str(index),
        "CLOUD_RUN_TASK_COUNT": str(count),
        "CLOUD_RUN_TASK_ATTEMPT": str(attempt),
        "SHEETS_AI_SHEETS_ENDPOINT": emu.url,
        "SHEETS_AI_SOURCE": sid,
        "SHEETS_AI_INPUT": "Review",
        "SHEETS_AI_OUTPUT": "Sentiment",
        "SHEETS_AI_PROVIDER": "local",
        **extra,
    }


def log_lines(stdout: str) -> list[dict[str, Any]]:
    """Every stdout line must be one JSON object (Cloud Logging's structured entries)."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


def written_rows(requests: list[RecordedRequest], col: str = "B") -> list[int]:
    """Data rows each values.batchUpdate wrote in column ``col`` (one entry per write of a row)."""
    rows: list[int] = []
    for r in requests:
        if r.method_id != "sheets.spreadsheets.values.batchUpdate" or r.status != 200:
            continue
        for data in (r.body or {}).get("data", []):
            rng = data["range"].split("!")[-1]
            first, _, last = rng.partition(":")
            if not first.startswith(col):
                continue
            start = int(first[len(col) :])
            end = int((last or first)[len(col) :])
            rows.extend(r for r in range(start, end + 1) if r > 1)
    return rows


def test_tasks_fill_only_their_own_contiguous_blocks(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet("Reviews", {"Sheet1": [["Review"], *([t] for t in texts(10))]})
    blocks = []
    for index in range(3):
        emu.reset_counts()
        proc = run_cli("job", env=task_env(emu, sid, index, 3))
        assert proc.returncode == 0, proc.stderr + proc.stdout
        rows = written_rows(emu.requests)
        assert rows == list(range(rows[0], rows[-1] + 1))  # contiguous
        blocks.append(rows)
        report = log_lines(proc.stdout)[-1]
        assert report["task_index"] == index and report["rows"]["processed"] == len(rows)
    assert [len(b) for b in blocks] == [3, 3, 4]
    assert sorted(r for b in blocks for r in b) == list(range(2, 12))  # every row exactly once
    values = emu.values(sid, "Sheet1")
    assert values[0] == ["Review", "Sentiment"]
    assert all(row[1] in ("positive", "negative") for row in values[1:])


def test_each_task_writes_confidences_for_its_own_block_only(emu: SheetsEmulator) -> None:
    """--confidence-column through the job: the shard wrapper passes it on, and guards it like the results."""
    sid = emu.add_spreadsheet("Reviews", {"Sheet1": [["Review"], *([t] for t in texts(6))]})
    for index in range(2):
        proc = run_cli("job", env=task_env(emu, sid, index, 2, SHEETS_AI_CONFIDENCE_COLUMN="Confidence"))
        assert proc.returncode == 0, proc.stderr + proc.stdout
        values = emu.values(sid, "Sheet1")
        done = [row for row in values[1:] if len(row) > 1 and row[1]]
        assert len(done) == 3 * (index + 1)  # this task's block only
    assert values[0] == ["Review", "Sentiment", "Confidence"]
    assert all(0.0 <= float(row[2]) <= 1.0 for row in values[1:])


def test_tasks_running_at_once_list_their_rows_in_one_review_sheet(emu: SheetsEmulator) -> None:
    """Three tasks of one execution, as real processes at the same time, each with the same --review-sheet:
    the worksheet is created once, and every flagged row of every block is listed exactly once (the
    deterministic interleavings are in test_review_gsheets.py; here the processes race as on Cloud Run)."""
    sid = emu.add_spreadsheet("Reviews", {"Sheet1": [["Review"], *([t] for t in texts(12))]})
    review = {"SHEETS_AI_REVIEW_BELOW": "1", "SHEETS_AI_REVIEW_SHEET": "To review"}
    extra = {"SHEETS_AI_STATUS_COLUMN": "Status", **review}
    emu.latency = 0.02  # every request takes a moment, so the tasks' requests overlap
    try:
        procs = [start_cli("job", env={**os.environ, **task_env(emu, sid, i, 3, **extra)}) for i in range(3)]
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        emu.latency = 0.0
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err + out
    values = emu.values(sid, "Sheet1")
    flagged = sorted(i for i, row in enumerate(values[1:], start=2) if row[2] == "review")
    assert flagged == list(range(2, 14))  # review below 1: every answered row
    listed = emu.values(sid, "To review")
    assert listed[0][0] == "Row"
    assert sorted(int(row[0]) for row in listed[1:]) == flagged
    assert emu.sheet_titles(sid).count("To review") == 1


def test_a_block_does_not_move_when_rows_get_filled(emu: SheetsEmulator) -> None:
    """Rows filled before (by another task, or a person) stay in their block: task 1 still owns rows 5-7."""
    rows = [["Review", "Sentiment"]] + [[t] for t in texts(9)]
    for r in (1, 2, 3, 5):  # sheet rows 2, 3, 4 (all of task 0's block) and 6 already done
        rows[r] = [rows[r][0], "done before"]
    sid = emu.add_spreadsheet("Reviews", {"Sheet1": rows})
    proc = run_cli("job", env=task_env(emu, sid, 1, 3))
    assert proc.returncode == 0, proc.stderr
    assert written_rows(emu.requests) == [5, 7]
    report = log_lines(proc.stdout)[-1]["report"]
    assert report["skipped"] == {"other_task": 6, "already_done": 1}


def test_a_retried_attempt_resumes_and_fails_no_row_twice(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet("Reviews", {"Sheet1": [["Review"], *([t] for t in texts(6))]})
    first = run_cli(
        "job", env=task_env(emu, sid, 0, 2, SHEETS_AI_LIMIT="1")
    )  # a first attempt that did 1 row
    assert first.returncode == 0
    emu.reset_counts()
    retry = run_cli("job", env=task_env(emu, sid, 0, 2, attempt=1))
    assert retry.returncode == 0, retry.stderr
    lines = log_lines(retry.stdout)
    assert any("Attempt 1: resuming" in line["message"] for line in lines)
    assert all(line["attempt"] == 1 for line in lines)
    assert written_rows(emu.requests) == [3, 4]
    assert lines[-1]["report"]["skipped"] == {"other_task": 3, "already_done": 1}


def test_structured_logs_carry_the_run_and_never_a_key_or_row_text(
    emu: SheetsEmulator, fake_openai: FakeOpenAI
) -> None:
    secret_texts = ["Ultra-private remark about Contoso: great", "Confidential memo, awful"]
    sid = emu.add_spreadsheet("Reviews", {"Sheet1": [["Review"], *([t] for t in secret_texts)]})
    key = "sk-test-very-secret-key-1234567890"
    env = task_env(emu, sid, 0, 1, SHEETS_AI_PROVIDER="openai", SHEETS_AI_BASE_URL=fake_openai.url)
    proc = run_cli("job", "--debug", env={**env, "OPENAI_API_KEY": key})
    assert proc.returncode == 0, proc.stderr
    lines = log_lines(proc.stdout)
    assert all(line["severity"] in ("DEBUG", "INFO", "WARNING") for line in lines)
    for line in lines:
        assert line["execution"] == "sheets-ai-abcde" and line["task_index"] == 0 and line["attempt"] == 0
    last = lines[-1]
    assert last["exit_code"] == 0 and last["rows"]["processed"] == 2
    assert last["tokens"]["prompt"] > 0 and last["cost_usd"] > 0 and last["requests"] == 1
    for text in (*secret_texts, "Contoso", "Confidential", key):
        assert text not in proc.stdout
    assert key not in proc.stderr


def test_rows_that_failed_exit_non_zero_so_cloud_run_retries(
    emu: SheetsEmulator, fake_openai: FakeOpenAI
) -> None:
    rows = [*texts(2), f"great {REFUSE_MARK}"]  # the fake server refuses to answer this row
    sid = emu.add_spreadsheet("Tickets", {"Sheet1": [["Review"], *([t] for t in rows)]})
    env = task_env(emu, sid, 0, 1, SHEETS_AI_PROVIDER="openai", SHEETS_AI_BASE_URL=fake_openai.url)
    proc = run_cli("job", env=env)
    last = log_lines(proc.stdout)[-1]
    assert proc.returncode == 1
    assert last["exit_code"] == 1 and last["rows"]["failed"] == 1 and last["rows"]["processed"] == 2
    assert last["severity"] == "WARNING"
    assert last["report"]["failures"] == [4]  # row numbers, not reasons (they can quote a model's answer)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CLOUD_RUN_TASK_INDEX": "three"}, "CLOUD_RUN_TASK_INDEX='three' is not a whole number"),
        ({"CLOUD_RUN_TASK_INDEX": "3", "CLOUD_RUN_TASK_COUNT": "3"}, "is not below CLOUD_RUN_TASK_COUNT=3"),
        ({"SHEETS_AI_SOURCE": ""}, "No spreadsheet given: set SHEETS_AI_SOURCE"),
        ({"SHEETS_AI_TASK": "translate"}, "task (from SHEETS_AI_TASK)"),
    ],
)
def test_a_configuration_error_is_one_log_line_and_exit_2(
    emu: SheetsEmulator, env: Mapping[str, str], message: str
) -> None:
    proc = run_cli("job", env={**task_env(emu, "any", 0, 1), **env})
    assert proc.returncode == 2
    (line,) = log_lines(proc.stdout)
    assert line["severity"] == "ERROR" and message in line["message"] and line["exit_code"] == 2
    assert proc.stderr == ""


def test_a_file_source_takes_one_task_only(tmp_path: Path) -> None:
    csv = tmp_path / "reviews.csv"
    csv.write_text("Review\ngreat\nawful\n", encoding="utf-8")
    env = {"SHEETS_AI_SOURCE": str(csv), "SHEETS_AI_INPUT": "Review", "SHEETS_AI_OUTPUT": "Sentiment"}
    many = run_cli("job", "--log-format", "json", env={**env, "CLOUD_RUN_TASK_COUNT": "2"})
    assert many.returncode == 2
    (line,) = log_lines(many.stdout)
    assert "is a file, which only one task can write" in line["message"]
    assert csv.read_text(encoding="utf-8") == "Review\ngreat\nawful\n"
    one = run_cli("job", env=env)  # no CLOUD_RUN_JOB: plain text, like `run`
    assert one.returncode == 0, one.stderr
    assert one.stdout.startswith("Processed 2 of 2 rows")
    assert csv.read_text(encoding="utf-8").splitlines()[1:] == ["great,positive", "awful,negative"]


def test_run_takes_log_format_json_too(work: Path) -> None:
    proc = run_cli("run", work / "reviews.csv", "--input", "Review", "--output", "S", "--log-format", "json")
    assert proc.returncode == 0, proc.stderr
    lines = log_lines(proc.stdout)
    assert lines[-1]["exit_code"] == 0 and lines[-1]["rows"]["processed"] > 0
    assert "task_index" not in lines[-1]


def test_sigterm_writes_finished_rows_within_ten_seconds_then_exits_non_zero(emu: SheetsEmulator) -> None:
    """Cloud Run's SIGTERM (timeout, cancel): rows finished since the last checkpoint are written at once."""
    rows = texts(40)
    sid = emu.add_spreadsheet("Reviews", {"Sheet1": [["Review"], *([t] for t in rows)]})
    with FakeOpenAI(port=0, latency=0.3) as slow:
        env = task_env(
            emu,
            sid,
            0,
            1,
            SHEETS_AI_PROVIDER="openai",
            SHEETS_AI_BASE_URL=slow.url,
            SHEETS_AI_BATCH_SIZE="2",
            SHEETS_AI_CONCURRENCY="1",
            SHEETS_AI_CHECKPOINT_SECONDS="600",  # no checkpoint before the signal: only the stop save writes
            OPENAI_API_KEY="test-key",
        )
        proc = start_cli("job", env={**os.environ, **env})
        deadline = time.monotonic() + 30
        while len([r for r in slow.requests if r.get("outcome") == "ok"]) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not written_rows(emu.requests)
        answered = len([r for r in slow.requests if r.get("outcome") == "ok"])
        proc.send_signal(signal.SIGTERM)
        stdout, _ = proc.communicate(timeout=10)
    assert proc.returncode == 130
    written = written_rows(emu.requests)
    # Every answer the process had received (all but perhaps the one still on its way back) was written.
    assert len(written) >= 2 * (answered - 1) and written == list(range(2, 2 + len(written)))
    values = emu.values(sid, "Sheet1")
    assert [v[1] for v in values[1 : 1 + len(written)]] == [
        expected_answer("sentiment", t) for t in rows[: len(written)]
    ]
    last = log_lines(stdout)[-1]
    assert (
        last["exit_code"] == 130 and last["severity"] == "ERROR" and last["rows"]["processed"] == len(written)
    )


def test_the_pacer_spaces_writes_by_the_tasks_share_and_stops_waiting_on_a_stop_signal() -> None:
    from sheets_ai import signals
    from sheets_ai.job.pacing import WritePacer

    now = [100.0]
    calls: list[float] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = WritePacer(60 / 3, clock=lambda: now[0], sleep=sleep)  # task share of 3 tasks: 20 writes a minute
    for _ in range(4):
        pacer()
        calls.append(now[0])
    assert [round(b - a, 6) for a, b in itertools.pairwise(calls)] == [3.0, 3.0, 3.0]
    with signals.StopSignals() as stop:
        with contextlib.suppress(KeyboardInterrupt):
            stop._handle(signal.SIGTERM, None)  # what SIGTERM does: record it, raise in the main thread
        before = now[0]
        pacer()  # the save after SIGTERM does not wait for its turn
        assert now[0] == before
