"""--monthly-budget: the month's spend is kept in a ledger every run shares, and a run never takes it past.

Real runs through the openai SDK against the fake OpenAI server over loopback; what was really spent is computed
from the server's own record of each request (its token counts at the model's list price), not from our report.
Files keep the ledger in the cache folder; Google Sheets in the run-log worksheet (real gspread against the
Sheets emulator). The month is moved with SHEETS_AI_TEST_NOW, the ledger's clock for tests.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import column_values, invoke, make_xlsx, openai_args, start_cli

from sheets_ai.testing.openai_server import FakeOpenAI
from sheets_ai.testing.sheets_server import SheetsEmulator

# gpt-4.1-mini list prices per token, written here rather than read from our own table.
INPUT, OUTPUT = 0.40 / 1e6, 1.60 / 1e6
NOW = "SHEETS_AI_TEST_NOW"
ARGS = ("--input", "Review", "--output", "Sentiment", "--batch-size", "10", "--concurrency", "1")


def _reviews(n: int, start: int = 0) -> list[str]:
    words = ["great", "broken", "arrived", "love", "late", "the box", "excellent", "refund"]
    return [
        f"Order {i}: {words[i % 8]} and {words[(i * 3) % 8]}, notes about the delivery."
        for i in range(start, start + n)
    ]


def _book(path: Path, n: int, start: int = 0) -> Path:
    return make_xlsx(path, [["Review"], *([t] for t in _reviews(n, start))])


def served(server: FakeOpenAI) -> float:
    """What the server really served, at list prices."""
    return sum(
        r["prompt_tokens"] * INPUT + r["completion_tokens"] * OUTPUT for r in server.requests if "body" in r
    )


def _estimate(path: Path | str, server: FakeOpenAI, *extra: str) -> dict[str, Any]:
    result = invoke("estimate", path, *ARGS, *openai_args(server), "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _run(path: Path | str, server: FakeOpenAI, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = invoke("run", path, *ARGS, *openai_args(server), "--json", *extra)
    return result.exit_code, json.loads(result.stdout), result.stderr


# ------------------------------------------------------------------------------------------ files


def test_spend_accumulates_across_runs_and_a_run_that_would_pass_it_does_not_start(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    first, second, third = (_book(tmp_path / f"{n}.xlsx", 30, 100 * i) for i, n in enumerate("abc"))
    one = _estimate(first, fake_openai)["estimated_cost_usd"]
    budget = 2.5 * one  # two runs fit, a third does not
    Path("sheets-ai.toml").write_text(f"monthly_budget = {budget}\n")  # the setting from the config file

    code, report, _ = _run(first, fake_openai)
    assert code == 0 and report["rows_processed"] == 30
    code, report, _ = _run(second, fake_openai)
    assert code == 0 and report["rows_processed"] == 30
    spent = served(fake_openai)

    month = _estimate(third, fake_openai)["month"]
    assert month["spent_usd"] == pytest.approx(spent, abs=1e-6)  # both runs, from the ledger
    assert month["left_usd"] == pytest.approx(budget - spent, abs=1e-6)
    assert month["budget_usd"] == budget and month["fits"] is False

    sent_before = len(fake_openai.requests)
    result = invoke("run", third, *ARGS, *openai_args(fake_openai))
    assert result.exit_code == 1
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("sheets-ai: ")]
    assert len(lines) == 1 and lines[0].startswith("Error: monthly budget: $")
    assert (
        f"of --monthly-budget ${budget:.6f}" in lines[0] and "nothing was sent" in lines[0]
    )  # < 1 cent: 6 places
    assert "resets on" in lines[0] and "00:00 UTC" in lines[0]
    assert len(fake_openai.requests) == sent_before  # nothing sent
    assert column_values(third, "B") == [None] * 30

    text = invoke("estimate", third, *ARGS, *openai_args(fake_openai)).stdout
    assert "left of --monthly-budget" in text and "this run would not start" in text


def test_the_reservation_stops_a_run_mid_way_and_keeps_every_finished_row(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    path = _book(tmp_path / "r.xlsx", 60)
    budget = (
        _estimate(path, fake_openai)["estimated_cost_usd"] * 1.01
    )  # the estimate fits; worst cases do not
    code, report, _ = _run(path, fake_openai, "--monthly-budget", f"{budget:.8f}")
    assert code == 1
    assert report["stopped"].startswith("monthly budget: the next request could take this month's spend")
    assert "resets on" in report["stopped"] and "rows not sent" in report["stopped"]
    assert 0 < report["rows_processed"] < 60
    written = [v for v in column_values(path, "B") if v is not None]
    assert len(written) == report["rows_processed"]
    assert served(fake_openai) <= budget

    # The month is spent: a rerun does not start. Its estimate may fit the crumbs left; its first request's
    # worst case does not, and the line says so.
    sent = len(fake_openai.requests)
    result = invoke("run", path, *ARGS, *openai_args(fake_openai), "--monthly-budget", f"{budget:.8f}")
    assert result.exit_code == 1 and len(fake_openai.requests) == sent
    error = [line for line in result.stderr.splitlines() if not line.startswith("sheets-ai: ")]
    assert len(error) == 1 and error[0].startswith("Error: monthly budget:") and "first request" in error[0]


def test_the_budget_starts_afresh_on_the_first_of_the_month_utc(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = _book(tmp_path / "a.xlsx", 30), _book(tmp_path / "b.xlsx", 30, 100)
    budget = f"{_estimate(first, fake_openai)['estimated_cost_usd'] * 1.5:.8f}"
    monkeypatch.setenv(NOW, "2026-12-31T23:50:00")
    code, _, _ = _run(first, fake_openai, "--monthly-budget", budget)
    assert code == 0
    sent = len(fake_openai.requests)
    code, _, stderr = _run(second, fake_openai, "--monthly-budget", budget)
    assert code == 1 and len(fake_openai.requests) == sent
    assert "(2026-12, UTC)" in stderr and "resets on 2027-01-01 00:00 UTC" in stderr

    monkeypatch.setenv(NOW, "2027-01-01T00:00:30Z")
    month = _estimate(second, fake_openai, "--monthly-budget", budget)["month"]
    assert month["month"] == "2027-01" and month["spent_usd"] == 0 and month["fits"] is True
    code, report, _ = _run(second, fake_openai, "--monthly-budget", budget)
    assert code == 0 and report["rows_processed"] == 30


def test_two_concurrent_runs_sharing_the_ledger_never_pass_the_budget(tmp_path: Path) -> None:
    books = [_book(tmp_path / f"{n}.xlsx", 40, 100 * i) for i, n in enumerate("ab")]
    with FakeOpenAI(port=0, latency=0.05) as server:
        env = {**os.environ, "OPENAI_API_KEY": "test-key"}
        one = _estimate(books[0], server)["estimated_cost_usd"]
        budget = f"{one * 1.6:.8f}"  # one run fits, not two
        procs = [
            start_cli("run", b, *ARGS, *openai_args(server), "--monthly-budget", budget, "--json", env=env)
            for b in books
        ]
        outcomes = [(p.wait(timeout=120), *p.communicate()) for p in procs]
        spent = served(server)
    assert spent <= float(budget)
    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, 1]  # one ran, the other stopped before passing the budget
    stopped = next(err + out for code, out, err in outcomes if code == 1)
    assert "monthly budget" in stopped


def test_the_offline_analyzer_costs_nothing_and_writes_no_ledger(tmp_path: Path, isolated_env: Path) -> None:
    path = _book(tmp_path / "r.xlsx", 10)
    cache = tmp_path / "cache"
    result = invoke("run", path, *ARGS, "--provider", "local", "--monthly-budget", "0", "--cache-dir", cache)
    assert result.exit_code == 0
    assert all(v is not None for v in column_values(path, "B"))
    assert not (cache / "ledger.sqlite3").exists()


def test_the_file_ledger_holds_no_secret(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    path = _book(tmp_path / "r.xlsx", 10)
    cache = tmp_path / "cache"
    code, _, _ = _run(path, fake_openai, "--monthly-budget", "5", "--cache-dir", str(cache))
    assert code == 0
    with sqlite3.connect(cache / "ledger.sqlite3") as db:
        rows = db.execute("SELECT * FROM ledger").fetchall()
    assert [r[2] for r in rows] == ["claim", "cost"]
    assert "test-key" not in repr(rows)


# ---------------------------------------------------------------------------------- Google Sheets


@pytest.fixture(scope="module")
def sheets() -> Iterator[SheetsEmulator]:
    with SheetsEmulator(port=0) as emu:
        yield emu


@pytest.fixture
def emu(sheets: SheetsEmulator, monkeypatch: pytest.MonkeyPatch) -> SheetsEmulator:
    monkeypatch.setenv("SHEETS_AI_SHEETS_ENDPOINT", sheets.url)
    return sheets


def _sheet_url(sid: str, gid: int = 0) -> str:
    return f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid={gid}"


def test_the_log_sheet_is_the_ledger_of_every_table_of_the_spreadsheet(
    emu: SheetsEmulator, fake_openai: FakeOpenAI
) -> None:
    sid = emu.add_spreadsheet(
        "Book",
        {
            "Reviews": [["Review"], *([t] for t in _reviews(30))],
            "Tickets": [["Review"], *([t] for t in _reviews(30, 100))],
        },
    )
    book = _sheet_url(sid, 0)
    one = _estimate(book, fake_openai)["estimated_cost_usd"]
    budget = f"{one * 1.5:.8f}"
    code, report, _ = _run(book, fake_openai, "--monthly-budget", budget, "--log-sheet", "Log")
    assert code == 0 and report["rows_processed"] == 30
    spent = served(fake_openai)

    month = _estimate(
        book, fake_openai, "--sheet", "Tickets", "--monthly-budget", budget, "--log-sheet", "Log"
    )["month"]
    assert month["spent_usd"] == pytest.approx(spent, abs=1e-6) and month["fits"] is False
    sent = len(fake_openai.requests)
    code, _, stderr = _run(
        book, fake_openai, "--sheet", "Tickets", "--monthly-budget", budget, "--log-sheet", "Log"
    )
    assert code == 1 and len(fake_openai.requests) == sent
    assert "Error: monthly budget:" in stderr

    log = emu.values(sid, "Log")
    header, rows = log[0], [dict(zip(log[0], r, strict=False)) for r in log[1:]]
    assert header[-4:] == ["run", "month", "claim_usd", "claim_until"]
    assert [r["status"] for r in rows[:2]] == ["claim", "ok"]
    assert rows[2]["status"].startswith("stopped: monthly budget:")  # refused before claiming
    assert rows[0]["run"] == rows[1]["run"] and rows[0]["claim_usd"]
    assert "test-key" not in json.dumps(log)


def test_a_pass_of_several_tasks_on_a_sheet_keeps_its_month_in_the_sheets_ledger(
    emu: SheetsEmulator, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    """The combined requests of `--task sentiment,summarize` run on an in-memory table; their cost still goes
    into the spreadsheet's ledger (the log sheet every task and machine shares), not a local file."""
    sid = emu.add_spreadsheet("Book", {"Reviews": [["Review"], *([t] for t in _reviews(12))]})
    cache = tmp_path / "cache"
    result = invoke(
        "run", _sheet_url(sid), "--task", "sentiment,summarize", "--input", "Review",
        "--output", "Sentiment,Summary", *openai_args(fake_openai), "--json", "--monthly-budget", "5",
        "--log-sheet", "Log", "--cache-dir", cache,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["requests_combined"] >= 1
    log = emu.values(sid, "Log")
    rows = [dict(zip(log[0], r, strict=False)) for r in log[1:]]
    recorded = sum(float(r["cost_usd"] or 0) for r in rows if r["status"] != "claim")
    assert recorded == pytest.approx(served(fake_openai), abs=1e-5)  # every request the pass sent
    assert any(r["status"] == "claim" and r["task"] == "sentiment,summarize" for r in rows)
    assert not (cache / "ledger.sqlite3").exists()


def _job_env(emu: SheetsEmulator, fake: FakeOpenAI, sid: str, budget: float) -> dict[str, str]:
    """What Cloud Run gives each task of a two-task execution (the task index added per task)."""
    return {
        **os.environ,
        "CLOUD_RUN_JOB": "sheets-ai",
        "CLOUD_RUN_EXECUTION": "sheets-ai-abcde",
        "CLOUD_RUN_TASK_COUNT": "2",
        "SHEETS_AI_SHEETS_ENDPOINT": emu.url,
        "SHEETS_AI_SOURCE": sid,
        "SHEETS_AI_INPUT": "Review",
        "SHEETS_AI_OUTPUT": "Sentiment",
        "SHEETS_AI_PROVIDER": "openai",
        "SHEETS_AI_BASE_URL": fake.url,
        "SHEETS_AI_BATCH_SIZE": "10",
        "SHEETS_AI_CONCURRENCY": "1",
        "SHEETS_AI_MONTHLY_BUDGET": f"{budget:.8f}",
        "OPENAI_API_KEY": "test-key",
    }


def _two_tasks(env: dict[str, str]) -> list[tuple[int, str, str]]:
    procs = [start_cli("job", env={**env, "CLOUD_RUN_TASK_INDEX": str(i)}) for i in range(2)]
    return [(p.wait(timeout=120), *p.communicate()) for p in procs]


@pytest.mark.parametrize(("share", "codes"), [(0.75, [0, 1]), (20.0, [0, 0])])
def test_cloud_run_tasks_share_the_ledger_worksheet_and_never_pass_the_budget(
    emu: SheetsEmulator, share: float, codes: list[int]
) -> None:
    """0.75 of the whole sheet's estimate: one task's half fits, not both. 20x: both fit side by side."""
    sid = emu.add_spreadsheet("Reviews", {"Sheet1": [["Review"], *([t] for t in _reviews(60))]})
    with FakeOpenAI(port=0, latency=0.05) as fake:
        os.environ["OPENAI_API_KEY"] = "test-key"
        try:
            whole = _estimate(_sheet_url(sid), fake)["estimated_cost_usd"]
        finally:
            del os.environ["OPENAI_API_KEY"]
        budget = whole * share
        outcomes = _two_tasks(_job_env(emu, fake, sid, budget))
        spent = served(fake)
    assert spent <= budget
    assert sorted(code for code, _, _ in outcomes) == codes, outcomes
    reports = [json.loads(out.strip().splitlines()[-1]) for _, out, _ in outcomes]
    if codes == [0, 1]:
        refused = next(r for r in reports if r.get("exit_code") == 1)
        assert refused["error"].startswith("monthly budget:") and refused["requests"] == 0
    # No --log-sheet: the ledger is its own worksheet, one claim and one cost row per task that claimed.
    ledger = emu.values(sid, "sheets-ai ledger")
    # Created with its header in one request: the other task's row cannot land above it.
    header, rows = ledger[0], [dict(zip(ledger[0], r, strict=False)) for r in ledger[1:]]
    assert header[0] == "time" and all(r["time"] != "time" for r in rows)
    claims = [r for r in rows if r["status"] == "claim"]
    costs = [r for r in rows if r["status"] != "claim"]
    # A task that claimed and then found the other's claim ahead of its own yields: its cost row says $0.
    assert len(claims) >= codes.count(0) and {r["run"] for r in claims} <= {r["run"] for r in costs}
    assert all(r["task"] == "sentiment" and r["model"] == "openai:gpt-4.1-mini" for r in claims)
    assert sum(float(r["cost_usd"]) for r in costs) == pytest.approx(spent, abs=1e-5)
    assert "test-key" not in json.dumps(ledger)


def test_a_crashed_runs_claim_expires(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _book(tmp_path / "r.xlsx", 200)
    cache = tmp_path / "cache"
    monkeypatch.setenv(NOW, "2026-12-10T12:00:00")
    with FakeOpenAI(port=0, latency=0.5) as fake:
        env = {**os.environ, "OPENAI_API_KEY": "test-key"}
        proc = start_cli(
            "run", path, *ARGS, *openai_args(fake), "--monthly-budget", "1", "--cache-dir", cache, env=env
        )
        try:
            while not fake.requests:  # the claim is placed before the first request is sent
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.05)
        finally:
            proc.kill()  # a crash: no cost entry replaces the claim
            proc.communicate()
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        month = _estimate(path, fake, "--monthly-budget", "1", "--cache-dir", str(cache))["month"]
        assert month["claimed_usd"] > 0 and month["left_usd"] == pytest.approx(1 - month["claimed_usd"])
        monkeypatch.setenv(NOW, "2026-12-10T14:01:00")  # two hours on, the claim has lapsed
        month = _estimate(path, fake, "--monthly-budget", "1", "--cache-dir", str(cache))["month"]
        assert month["claimed_usd"] == 0 and month["left_usd"] == 1


def test_rows_of_an_older_run_log_count_and_its_header_gets_the_ledger_columns(
    emu: SheetsEmulator, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_header = ["time", "task", "model", "processed", "failed", "skipped", "changed", "prompt_tokens"]
    old_header += ["completion_tokens", "cost_usd", "seconds", "status", "where"]
    old = [
        [
            "2026-11-30 23:59:00 UTC",
            "sentiment",
            "openai:gpt-4.1-mini",
            10,
            0,
            0,
            0,
            1,
            1,
            0.9,
            1,
            "ok",
            "pc",
        ],
        [
            "2026-12-02 10:00:00 UTC",
            "sentiment",
            "openai:gpt-4.1-mini",
            10,
            0,
            0,
            0,
            1,
            1,
            0.25,
            1,
            "ok",
            "pc",
        ],
        [
            "2026-12-03 10:00:00 UTC",
            "summarize",
            "openai:gpt-4.1-mini",
            10,
            0,
            0,
            0,
            1,
            1,
            0.5,
            1,
            "ok",
            "pc",
        ],
    ]
    sid = emu.add_spreadsheet(
        "Book", {"Reviews": [["Review"], *([t] for t in _reviews(10))], "Runs": [old_header, *old]}
    )
    monkeypatch.setenv(NOW, "2026-12-15T09:00:00")
    args = ("--monthly-budget", "1", "--log-sheet", "Runs")
    month = _estimate(_sheet_url(sid), fake_openai, *args)["month"]
    assert month["spent_usd"] == 0.75 and month["left_usd"] == 0.25  # November's $0.90 is not counted
    code, report, _ = _run(_sheet_url(sid), fake_openai, *args)
    assert code == 0 and report["rows_processed"] == 10
    log = emu.values(sid, "Runs")
    assert log[0] == [*old_header, "run", "month", "claim_usd", "claim_until"]
    assert [r[11] for r in log[4:]] == ["claim", "ok"] and log[5][14] == "2026-12"


def test_a_negative_monthly_budget_is_a_usage_error(tmp_path: Path) -> None:
    path = _book(tmp_path / "r.xlsx", 3)
    result = invoke("run", path, *ARGS, "--monthly-budget", "-1")
    assert result.exit_code == 2
    assert "monthly-budget" in result.stderr and "greater than or equal to 0" in result.stderr


def test_a_model_without_a_price_is_refused_on_openai_rather_than_counted_as_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _book(tmp_path / "r.xlsx", 3)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    result = invoke(
        "run", path, *ARGS, "--provider", "openai", "--model", "gpt-9-mystery", "--monthly-budget", "5"
    )
    assert result.exit_code == 2
    assert "--monthly-budget needs a price for model 'gpt-9-mystery'" in result.stderr


def test_a_long_run_renews_its_claim_which_lapses_two_hours_after_the_last_renewal(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sheets_ai.config import build_config
    from sheets_ai.monthly import MonthlyBudget
    from sheets_ai.planning import PlannedRow
    from sheets_ai.providers import get_provider
    from sheets_ai.tasks import build_task

    options = {"provider": "openai", "base_url": fake_openai.url, "monthly_budget": 1, "cache_dir": tmp_path}
    config = build_config(options)
    provider, task = get_provider(config), build_task(config)
    rows = [PlannedRow(i, t, t) for i, t in enumerate(_reviews(10), start=2)]
    monkeypatch.setenv(NOW, "2026-12-10T12:00:00")
    run = MonthlyBudget.for_run(config, provider, None)
    other = MonthlyBudget.for_run(config, provider, None)  # what any other run reads
    assert run is not None and other is not None
    run.claim(task, provider, [rows], None)
    assert other.status()["claimed_usd"] == pytest.approx(run.share, abs=1e-6)
    monkeypatch.setenv(NOW, "2026-12-10T12:20:00")
    run.keep()  # not due yet
    monkeypatch.setenv(NOW, "2026-12-10T13:30:00")
    run.keep()  # due: the claim now lasts until 15:30
    monkeypatch.setenv(NOW, "2026-12-10T15:00:00")  # past the first claim's 14:00
    assert other.status()["claimed_usd"] == pytest.approx(run.share, abs=1e-6)
    monkeypatch.setenv(NOW, "2026-12-10T15:31:00")
    assert other.status()["claimed_usd"] == 0
    with sqlite3.connect(tmp_path / "ledger.sqlite3") as db:
        assert [k for (k,) in db.execute("SELECT kind FROM ledger ORDER BY id")] == ["claim", "renew"]


def test_a_max_cost_below_the_estimate_stops_the_run_as_max_cost_does_not_as_the_month(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    path = _book(tmp_path / "r.xlsx", 60)
    estimate = _estimate(path, fake_openai)["estimated_cost_usd"]
    cap = f"{estimate / 2:.8f}"
    code, report, _ = _run(path, fake_openai, "--monthly-budget", "5", "--max-cost", cap)
    assert code == 1 and report["stopped"].startswith("budget:") and "--max-cost" in report["stopped"]
    assert 0 < report["rows_processed"] < 60 and served(fake_openai) <= float(cap)


def test_on_google_sheets_the_budget_costs_two_reads_and_one_append_per_run(
    emu: SheetsEmulator, fake_openai: FakeOpenAI
) -> None:
    from sheets_ai.tables.gsheets import LOG_HEADER

    sid = emu.add_spreadsheet(
        "Book", {"Reviews": [["Review"], *([t] for t in _reviews(40))], "Log": [LOG_HEADER]}
    )
    counts = []
    for first, budget in ((2, ()), (22, ("--monthly-budget", "5"))):
        emu.reset_counts()
        code, _, _ = _run(
            _sheet_url(sid), fake_openai, "--rows", f"{first}:{first + 19}", "--log-sheet", "Log", *budget
        )
        assert code == 0
        counts.append(sorted(r.method_id.rsplit(".", 1)[-1] for r in emu.requests))
    plain, budgeted = counts
    extra = list(budgeted)
    for method in plain:
        extra.remove(method)
    assert sorted(extra) == ["append", "get", "get"]  # read the month, append the claim, read it back


@pytest.mark.parametrize("code", ["project_spend_limit_exceeded", "organization_spend_limit_exceeded"])
def test_openais_own_hard_spend_limit_stops_at_once_instead_of_being_retried(
    tmp_path: Path, fake_openai: FakeOpenAI, code: str
) -> None:
    path = _book(tmp_path / "r.xlsx", 30)
    fake_openai.script("ok", code)
    result = invoke("run", path, *ARGS, *openai_args(fake_openai), "--monthly-budget", "5")
    assert len(fake_openai.requests) == 2  # no retry: the limit does not lift in 5 minutes
    assert result.exit_code != 0 and f"hard spend limit set in its settings (429 {code})" in result.stderr
    assert len([v for v in column_values(path, "B") if v is not None]) == 10  # the first answer was written
