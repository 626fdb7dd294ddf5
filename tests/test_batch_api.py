"""--batch-api, --wait and --service-tier flex, end to end: the real openai SDK over loopback against the fake
OpenAI server's /v1/files, /v1/batches and flex tier."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import invoke, start_cli

from sheets_ai.pricing import price_for
from sheets_ai.testing._openai_answers import expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI

ARGS = ("--task", "sentiment", "--input", "Review", "--output", "Sentiment", "--no-cache")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("SHEETS_AI_RETRY_SECONDS", "10")
    with FakeOpenAI(port=0, retry_after=0.05, batch_delay=3600) as server:
        yield server


def run(fake: FakeOpenAI, path: Path, *extra: str, command: str = "run") -> tuple[int, dict[str, Any]]:
    result = invoke(command, path, *ARGS, "--provider", "openai", "--base-url", fake.url, "--json", *extra)
    return result.exit_code, json.loads(result.output.strip().splitlines()[-1])


def state_file(path: Path) -> Path:
    return path.with_name(path.name + ".sheets-ai-batches.json")


def results(path: Path) -> dict[int, tuple[str, str | None]]:
    ws = openpyxl.load_workbook(path)["Reviews"]
    headers = [c.value for c in ws[1]]
    col = headers.index("Sentiment") + 1 if "Sentiment" in headers else None
    return {
        r: (ws.cell(r, 2).value, ws.cell(r, col).value if col else None)
        for r in range(2, ws.max_row + 1)
        if ws.cell(r, 2).value
    }


def assert_all_correct(path: Path) -> None:
    wrong = {r: (s, t) for r, (t, s) in results(path).items() if s != expected_answer("sentiment", t)}
    assert not wrong


def uploads(fake: FakeOpenAI) -> int:
    return sum(1 for r in fake.requests if r["path"].endswith("/files") and r.get("method") == "POST")


def sync_requests(fake: FakeOpenAI) -> list[dict[str, Any]]:
    return [r for r in fake.requests if r["path"].endswith("/chat/completions")]


def test_submit_then_rerun_collects_and_writes(fake: FakeOpenAI, work: Path) -> None:
    book = work / "reviews.xlsx"
    code, report = run(fake, book, "--batch-api")
    assert code == 0
    assert report["batches_submitted"] == 1 and report["rows_pending"] == 59
    assert all(s is None for _, s in results(book).values())  # nothing written yet
    assert state_file(book).exists() and not sync_requests(fake)

    code, report = run(fake, book, "--batch-api")  # still running: nothing submitted twice
    assert code == 0 and report["batches_submitted"] == 0 and report["batches_pending"] == 1
    assert uploads(fake) == 1 and len(fake.batches.batches) == 1

    fake.batches.finish()
    code, report = run(fake, book, "--batch-api")
    assert code == 0 and report["batches_collected"] == 1 and report["rows_processed"] == 59
    assert_all_correct(book)
    assert not state_file(book).exists() and not sync_requests(fake)
    price = price_for("gpt-4.1-mini")
    assert price is not None
    standard = price.cost(report["prompt_tokens"], report["completion_tokens"], report["cached_tokens"])
    assert report["cost_usd"] == pytest.approx(standard / 2, rel=1e-3)


def test_lines_sent_are_the_synchronous_requests(fake: FakeOpenAI, work: Path) -> None:
    book = work / "reviews.xlsx"
    run(fake, book, "--batch-api", "--batch-size", "20")
    (upload,) = [f for f in fake.batches.files.values() if f.purpose == "batch"]
    lines = [json.loads(x) for x in upload.data.decode().splitlines()]
    assert [x["custom_id"].split(":")[0] for x in lines] == ["1", "2", "3"]  # n:rFIRST-rLAST
    assert lines[0]["custom_id"].startswith("1:r2-") and lines[-1]["custom_id"].endswith("-r61")
    body = lines[0]["body"]
    assert body["model"] == "gpt-4.1-mini" and body["response_format"]["type"] == "json_schema"
    assert "service_tier" not in body


def test_bad_and_failed_lines_are_asked_again_with_normal_requests(fake: FakeOpenAI, work: Path) -> None:
    book = work / "reviews.xlsx"
    fake.batches.script("invalid", "500", "ok")
    run(fake, book, "--batch-api", "--batch-size", "20")
    fake.batches.finish()
    code, report = run(fake, book, "--batch-api", "--batch-size", "20")
    assert code == 0 and report["rows_failed"] == 0
    assert_all_correct(book)
    asked = sync_requests(fake)
    assert asked and sum(r.get("items", 0) for r in asked) < 59  # only the bad rows, not the whole sheet
    assert any("1 of its rows" in n or "20 of its rows" in n for n in report["notices"])


@pytest.mark.parametrize("how", ["expire", "cancel"])
def test_expired_or_cancelled_batches_fall_back_to_normal_requests(
    fake: FakeOpenAI, work: Path, how: str
) -> None:
    book = work / "reviews.xlsx"
    if how == "expire":
        fake.batches.script("ok", "expire")
    run(fake, book, "--batch-api", "--batch-size", "20")
    (batch_id,) = fake.batches.batches
    if how == "cancel":
        fake.batches.cancel(batch_id)
    else:
        fake.batches.finish()
    code, report = run(fake, book, "--batch-api", "--batch-size", "20")
    assert code == 0 and report["rows_processed"] == 59
    assert_all_correct(book)
    status = "expired" if how == "expire" else "cancelled"
    assert any(f"ended {status}" in n for n in report["notices"])
    assert len(fake.batches.batches) == 1  # fell back to normal requests, not another batch


def test_wait_polls_until_the_batch_is_done(fake: FakeOpenAI, work: Path) -> None:
    book = work / "reviews.xlsx"
    fake.batches.completion_delay = 1.0
    code, report = run(fake, book, "--batch-api", "--wait")
    assert code == 0 and report["batches_collected"] == 1 and report["rows_pending"] == 0
    assert_all_correct(book)


def test_changed_rows_are_not_written_but_submitted_again(fake: FakeOpenAI, work: Path) -> None:
    book = work / "reviews.xlsx"
    run(fake, book, "--batch-api")
    wb = openpyxl.load_workbook(book)
    wb["Reviews"].cell(2, 2).value = "Terrible, broken on arrival."
    wb.save(book)
    fake.batches.finish()
    code, report = run(fake, book, "--batch-api")
    assert code == 0 and report["rows_processed"] == 58
    assert report["batches_submitted"] == 1 and report["rows_pending"] == 1
    assert results(book)[2][1] is None


@pytest.mark.parametrize("lost", ["batch id not saved", "batch never created"])
def test_a_run_killed_between_upload_and_create_does_not_submit_twice(
    fake: FakeOpenAI, work: Path, lost: str
) -> None:
    book = work / "reviews.xlsx"
    run(fake, book, "--batch-api")
    state = json.loads(state_file(book).read_text())
    first = state["submissions"][0]["batch_id"]
    state["submissions"][0]["batch_id"] = None  # what a kill right after the upload leaves
    state_file(book).write_text(json.dumps(state))
    if lost == "batch never created":
        del fake.batches.batches[first]
    code, report = run(fake, book, "--batch-api")
    assert code == 0 and report["batches_submitted"] == 0 and report["batches_pending"] == 1
    assert uploads(fake) == 1 and len(fake.batches.batches) == 1
    fake.batches.finish()
    run(fake, book, "--batch-api")
    assert_all_correct(book)


@pytest.mark.parametrize(
    ("extra", "label", "key"),
    [
        (("--batch-api",), "Batch API prices", "estimated_cost_batch_usd"),
        (("--model", "o4-mini", "--service-tier", "flex"), "flex tier prices", "estimated_cost_flex_usd"),
    ],
)
def test_estimate_shows_standard_and_half_prices(
    fake: FakeOpenAI, work: Path, extra: tuple[str, ...], label: str, key: str
) -> None:
    args = ("estimate", work / "reviews.xlsx", *ARGS, "--provider", "openai", "--base-url", fake.url, *extra)
    result = invoke(*args)
    assert result.exit_code == 0
    line = next(x for x in result.output.splitlines() if label in x)
    half, standard = (float(v.split("$")[1].split()[0]) for v in line.split("instead of"))
    assert half == pytest.approx(standard / 2, abs=1e-4) and standard > 0
    data = json.loads(invoke(*args, "--json").output.strip().splitlines()[-1])
    model = "o4-mini" if "o4-mini" in extra else "gpt-4.1-mini"
    assert data[key] == pytest.approx(data["cost_by_model"][model] / 2, rel=1e-3)
    assert not fake.requests and not state_file(work / "reviews.xlsx").exists()


def test_flex_sends_service_tier_and_costs_half(fake: FakeOpenAI, work: Path) -> None:
    book = work / "reviews.xlsx"
    code, report = run(fake, book, "--model", "o4-mini", "--service-tier", "flex")
    assert code == 0
    assert_all_correct(book)
    assert all(r["body"]["service_tier"] == "flex" for r in sync_requests(fake))
    price = price_for("o4-mini")
    assert price is not None
    standard = price.cost(report["prompt_tokens"], report["completion_tokens"], report["cached_tokens"])
    assert report["cost_usd"] == pytest.approx(standard / 2, rel=1e-3)


def test_flex_resource_unavailable_is_retried(fake: FakeOpenAI, work: Path) -> None:
    book = work / "reviews.xlsx"
    fake.script("resource_unavailable", "resource_unavailable")
    code, report = run(fake, book, "--model", "o4-mini", "--service-tier", "flex")
    assert code == 0 and report["rate_limited"] == 2
    assert_all_correct(book)


def test_flex_on_a_model_without_it_is_a_usage_error(fake: FakeOpenAI, work: Path) -> None:
    result = invoke("run", work / "reviews.xlsx", *ARGS, "--provider", "openai", "--base-url", fake.url,
                    "--service-tier", "flex")  # fmt: skip
    assert result.exit_code == 2
    assert "gpt-4.1-mini has no flex processing" in result.output and "Traceback" not in result.output
    assert not fake.requests


def test_wait_without_batch_api_is_a_usage_error(fake: FakeOpenAI, work: Path) -> None:
    result = invoke(
        "run", work / "reviews.xlsx", *ARGS, "--provider", "openai", "--base-url", fake.url, "--wait"
    )
    assert result.exit_code == 2 and "--wait only applies with --batch-api" in result.output


def test_max_cost_holds_at_batch_prices(fake: FakeOpenAI, work: Path) -> None:
    book = work / "reviews.xlsx"
    code, report = run(fake, book, "--batch-api", "--batch-size", "10", "--max-cost", "0.0003")
    assert code == 1 and "--max-cost" in report["stopped"]
    # A 10-row request's worst case is about $0.0002 at standard prices: one would fit; at batch prices three.
    assert 20 <= report["rows_submitted"] < 59
    lines = sum(
        len(f.data.decode().splitlines()) for f in fake.batches.files.values() if f.purpose == "batch"
    )
    assert lines == report["rows_submitted"] // 10 + (report["rows_submitted"] % 10 > 0)


def test_a_batch_unknown_to_the_server_is_one_clear_error(fake: FakeOpenAI, work: Path) -> None:
    book = work / "reviews.xlsx"
    run(fake, book, "--batch-api")
    fake.batches.batches.clear()
    result = invoke("run", book, *ARGS, "--provider", "openai", "--base-url", fake.url, "--batch-api")
    assert result.exit_code != 0 and "does not exist" in result.output and "Traceback" not in result.output


def test_a_run_killed_while_its_batch_is_being_created_does_not_submit_twice(
    fake: FakeOpenAI, work: Path
) -> None:
    book = work / "reviews.xlsx"
    fake.batches.create_gate = gate = threading.Event()
    proc = start_cli("run", book, *ARGS, "--provider", "openai", "--base-url", fake.url, "--batch-api")
    try:
        deadline = time.monotonic() + 60
        while not any(r["path"].endswith("/batches") and r.get("method") == "POST" for r in fake.requests):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
    finally:
        proc.kill()  # SIGKILL: no handler runs, the state keeps the file id without a batch id
        proc.communicate()
    gate.set()  # the server still creates the batch the dead client asked for
    while not fake.batches.batches:
        time.sleep(0.05)
    saved = json.loads(state_file(book).read_text())["submissions"]
    assert len(saved) == 1 and saved[0]["batch_id"] is None and saved[0]["file_id"]

    code, report = run(fake, book, "--batch-api")
    assert code == 0 and report["batches_submitted"] == 0 and report["batches_pending"] == 1
    assert uploads(fake) == 1 and len(fake.batches.batches) == 1  # found by its input file, not made again
    fake.batches.finish()
    run(fake, book, "--batch-api")
    assert_all_correct(book)


def test_ctrl_c_while_waiting_keeps_the_batches(fake: FakeOpenAI, work: Path) -> None:
    book = work / "reviews.xlsx"
    proc = start_cli(
        "run", book, *ARGS, "--provider", "openai", "--base-url", fake.url, "--batch-api", "--wait"
    )
    try:
        deadline = time.monotonic() + 60
        while not (state_file(book).exists() and "batch_" in state_file(book).read_text()):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        time.sleep(0.5)  # polling now
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err
    fake.batches.finish()
    code, report = run(fake, book, "--batch-api")
    assert code == 0 and report["batches_collected"] == 1 and report["batches_submitted"] == 0
    assert_all_correct(book)


def test_duplicates_wait_with_the_row_sent_and_do_not_fail_the_run(fake: FakeOpenAI, tmp_path: Path) -> None:
    sheet = tmp_path / "survey.csv"
    sheet.write_text("Answer\nGood\nGood\nTerrible\nGood\n", encoding="utf-8")
    result = invoke("run", sheet, "--task", "sentiment", "--input", "Answer", "--output", "Sentiment",
                    "--no-cache", "--provider", "openai", "--base-url", fake.url, "--batch-api", "--json")  # fmt: skip
    report = json.loads(result.output.strip().splitlines()[-1])
    assert result.exit_code == 0 and report["rows_pending"] == 4 and report["rows_submitted"] == 2
    fake.batches.finish()
    invoke("run", sheet, "--task", "sentiment", "--input", "Answer", "--output", "Sentiment", "--no-cache",
           "--provider", "openai", "--base-url", fake.url, "--batch-api")  # fmt: skip
    lines = sheet.read_text(encoding="utf-8").splitlines()
    assert lines[1:] == ["Good,positive", "Good,positive", "Terrible,negative", "Good,positive"]


def test_flex_waits_longer_than_the_usual_timeout(
    fake: FakeOpenAI, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = work / "reviews.xlsx"
    monkeypatch.setenv("SHEETS_AI_REQUEST_TIMEOUT", "0.5")
    fake.latency = 1.0  # slower than the timeout asked for: a flex request may queue for minutes
    code, report = run(fake, book, "--model", "o4-mini", "--service-tier", "flex")
    assert code == 0 and report["retries"] == 0
    assert_all_correct(book)


def test_flex_without_capacity_for_too_long_says_what_to_do(
    fake: FakeOpenAI, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHEETS_AI_RETRY_SECONDS", "0.3")
    fake.script(*["resource_unavailable"] * 100)
    result = invoke("run", work / "reviews.xlsx", *ARGS, "--provider", "openai", "--base-url", fake.url,
                    "--model", "o4-mini", "--service-tier", "flex")  # fmt: skip
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "flex tier had no capacity" in result.output and "--service-tier flex" in result.output


def test_a_monthly_budget_is_claimed_before_anything_is_submitted(fake: FakeOpenAI, work: Path) -> None:
    book = work / "reviews.xlsx"
    result = invoke("run", book, *ARGS, "--provider", "openai", "--base-url", fake.url, "--json", "--batch-api",
                    "--monthly-budget", "0.000001")  # fmt: skip
    error = json.loads(result.stdout)["error"]
    assert result.exit_code == 1 and "monthly budget" in error and "nothing was sent" in error
    assert uploads(fake) == 0 and not fake.batches.batches and not state_file(book).exists()

    def spent() -> float:
        result = invoke("estimate", book, *ARGS, "--provider", "openai", "--base-url", fake.url, "--json",
                        "--overwrite", "--monthly-budget", "5")  # fmt: skip
        return float(json.loads(result.stdout)["month"]["spent_usd"])

    code, report = run(fake, book, "--batch-api", "--monthly-budget", "5")
    assert code == 0 and report["batches_submitted"] == 1
    committed = spent()  # the submission enters the ledger at its worst case, at batch prices
    assert committed > 0
    fake.batches.finish()
    code, report = run(fake, book, "--batch-api", "--monthly-budget", "5")
    assert code == 0 and report["rows_processed"] == 59 and 0 < report["cost_usd"] <= committed
    assert spent() == pytest.approx(committed, abs=2e-6)  # collecting does not count the batch a second time


def test_the_summary_says_what_is_still_running_only_when_something_is(fake: FakeOpenAI, work: Path) -> None:
    book = work / "reviews.xlsx"
    args = ("run", book, *ARGS, "--provider", "openai", "--base-url", fake.url, "--batch-api")
    submitted = invoke(*args).stdout
    assert "1 submitted (59 rows), 1 running with 59 rows (run the same command again" in submitted
    fake.batches.finish()
    collected = invoke(*args).stdout
    assert "Batch API: 1 collected, 0 submitted (0 rows), none running" in collected
    assert "run the same command again" not in collected and "1 request, " in collected


@pytest.mark.parametrize("option", [("--batch-api",), ("--service-tier", "flex")])
def test_a_price_tier_without_openai_is_one_line_before_the_file_is_touched(
    work: Path, monkeypatch: pytest.MonkeyPatch, option: tuple[str, ...]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    book = work / "reviews.xlsx"
    before = book.read_bytes()
    result = invoke("run", book, *ARGS, *option)
    assert result.exit_code == 2 and "no OPENAI_API_KEY is set" in result.stderr
    assert "New column" not in result.stderr and "Traceback" not in result.stderr
    assert book.read_bytes() == before
