"""Several tasks in one pass (sheets_ai.multitask): one request per batch answers every task.

Through the real CLI and SDK against the fake OpenAI server (and the Sheets emulator); the server's request
log, read with its own protocol reader, shows which tasks and rows each request carried.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from conftest import column_values, local_answers, make_xlsx, openai_args, run_cli, run_json, sent_rows
from test_gsheets import ENDPOINT_ENV

from sheets_ai import prompts
from sheets_ai.config import build_config
from sheets_ai.tasks import build_task
from sheets_ai.testing._openai_answers import expected_answer
from sheets_ai.testing._openai_protocol import read_combined, read_request
from sheets_ai.testing.openai_server import FakeOpenAI
from sheets_ai.testing.sheets_server import SheetsEmulator

REVIEWS = [
    "Love the kettle, it works perfectly. Would buy again.",
    "Broken speaker, it arrived cracked. Nobody answered my emails.",
    "Received the mug set on Tuesday; it is blue.",
    "Great jacket, but the zip snapped after a week.",
    "Terrible blender, it never worked. I want a refund.",
    "The Acme headphones are comfortable. Battery lasts two days.",
]
BOTH = ("--task", "sentiment,summarize", "--input", "Review", "--output", "Sentiment,Summary")


def write_csv(path: Path, texts: list[str], extra: dict[str, list[str]] | None = None) -> Path:
    extra = extra or {}
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Review", *extra])
        for i, t in enumerate(texts):
            w.writerow([t, *(values[i] for values in extra.values())])
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def tasks_of(server: FakeOpenAI) -> list[list[str] | str]:
    """Per request: the tasks of a combined request, else the one task the server read."""
    out: list[list[str] | str] = []
    for r in server.requests:
        if "body" not in r:
            continue
        combined = read_combined(r["body"]["messages"])
        out.append([p.task for p in combined.parts] if combined else read_request(r["body"]["messages"]).task)
    return out


def summary(text: str) -> str:
    return expected_answer("summarize", text, max_chars=170)  # the request asks for 85% of --max-chars 200


# ---------------------------------------------------------------------------------- one request, all tasks
def test_one_request_per_batch_carries_both_tasks_and_both_columns_are_written(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "reviews.csv", REVIEWS)
    proc, report = run_json("run", source, *BOTH, *openai_args(fake_openai), "--batch-size", "3")
    assert proc.returncode == 0, proc.stderr
    assert tasks_of(fake_openai) == [["sentiment", "summarize"]] * 2
    sent = Counter(text for request in sent_rows(fake_openai) for text in request)
    assert sent == Counter(REVIEWS)  # every text sent once, for both tasks
    rows = read_csv(source)
    assert [r["Sentiment"] for r in rows] == [expected_answer("sentiment", t) for t in REVIEWS]
    assert [r["Summary"] for r in rows] == [summary(t) for t in REVIEWS]
    assert report["requests"] == report["requests_combined"] == 2
    assert [(t["output"], t["rows_written"], t["rows_combined"]) for t in report["tasks"]] == [
        ("Sentiment", 6, 6),
        ("Summary", 6, 6),
    ]
    assert (
        "2 tasks in one pass: Sentiment 6 written, Summary 6 written"
        in run_cli("run", source, *BOTH, *openai_args(fake_openai), "--overwrite").stdout
    )


def test_short_rows_share_a_combined_request_and_long_rows_go_eight_to_one(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    """With a text task in the pass, a combined request holds about 1,500 input tokens of rows, 8 to 100 rows:
    48 short reviews go in one request (at a summaries run's 8 rows they would cost six system prompts), 16
    meeting notes of ~170 tokens still go 8 to a request."""
    short = [f"{t} (order {i})" for i, t in enumerate(REVIEWS * 8)]
    proc, report = run_json("run", write_csv(tmp_path / "short.csv", short), *BOTH, *openai_args(fake_openai))
    assert proc.returncode == 0, proc.stderr
    assert report["requests_combined"] == 1 and [len(r) for r in sent_rows(fake_openai)] == [48]

    fake_openai.reset()
    note = (
        "Meeting about the office move, attended by Ana, Ben and Chen; the budget stays, the demo moves. " * 8
    )
    longer = [f"{note}Note {i}." for i in range(16)]
    proc, report = run_json(
        "run", write_csv(tmp_path / "notes.csv", longer), *BOTH, *openai_args(fake_openai)
    )
    assert proc.returncode == 0, proc.stderr
    assert report["requests_combined"] == 2 and [len(r) for r in sent_rows(fake_openai)] == [8, 8]


def test_three_tasks_with_their_own_options_into_an_xlsx(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    source = make_xlsx(
        tmp_path / "t.xlsx", [["Review", "Notes"], *([t, f"n{i}"] for i, t in enumerate(REVIEWS))]
    )
    labels = "kettle,speaker,other"
    proc, report = run_json(
        "run", source, "--task", "sentiment,classify,extract", "--input", "Review",
        "--output", "Sentiment,Category,Product", "--labels", labels, "--prompt", "Which brand?",
        *openai_args(fake_openai),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert tasks_of(fake_openai) == [["sentiment", "classify", "extract"]]
    assert column_values(source, "C") == [expected_answer("sentiment", t) for t in REVIEWS]
    assert column_values(source, "D") == [
        expected_answer("classify", t, labels=labels.split(",")) for t in REVIEWS
    ]
    assert column_values(source, "E") == [expected_answer("extract", t) for t in REVIEWS]
    assert column_values(source, "B") == [f"n{i}" for i in range(len(REVIEWS))]  # other cells untouched
    assert [t["output"] for t in report["tasks"]] == ["Sentiment", "Category", "Product"]
    question = read_combined(fake_openai.requests[0]["body"]["messages"])
    assert question is not None and question.parts[2].question == "Which brand?"


@pytest.fixture
def sheets(monkeypatch: pytest.MonkeyPatch) -> Iterator[SheetsEmulator]:
    with SheetsEmulator(port=0) as emu:
        monkeypatch.setenv(ENDPOINT_ENV, emu.url)
        yield emu


def test_google_sheets_gets_both_columns(sheets: SheetsEmulator, fake_openai: FakeOpenAI) -> None:
    sid = sheets.add_spreadsheet("Reviews", {"Sheet1": [["Review"], *([t] for t in REVIEWS)]})
    source = f"https://docs.google.com/spreadsheets/d/{sid}/edit"
    proc, report = run_json("run", source, *BOTH, *openai_args(fake_openai))
    assert proc.returncode == 0, proc.stderr
    assert tasks_of(fake_openai) == [["sentiment", "summarize"]]
    values = sheets.values(sid, "Sheet1")
    assert values[0] == ["Review", "Sentiment", "Summary"]
    assert [r[1:] for r in values[1:]] == [[expected_answer("sentiment", t), summary(t)] for t in REVIEWS]
    assert [t["rows_written"] for t in report["tasks"]] == [6, 6]


# ---------------------------------------------------------------------------------- re-asks and reruns
def test_a_bad_answer_for_one_task_is_asked_again_for_that_task_only(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "reviews.csv", REVIEWS)
    fake_openai.script("invalid")  # the middle row's summary is far over the limit; its sentiment is fine
    proc, report = run_json("run", source, *BOTH, *openai_args(fake_openai))
    assert proc.returncode == 0, proc.stderr
    assert tasks_of(fake_openai) == [["sentiment", "summarize"], "summarize"]
    assert sent_rows(fake_openai)[1] == [REVIEWS[3]]
    rows = read_csv(source)
    assert [r["Sentiment"] for r in rows] == [expected_answer("sentiment", t) for t in REVIEWS]
    assert [r["Summary"] for r in rows] == [summary(t) for t in REVIEWS]
    assert [t["requests_alone"] for t in report["tasks"]] == [0, 1]


def test_a_rerun_with_one_column_filled_asks_only_for_the_other(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    filled = [expected_answer("sentiment", t) for t in REVIEWS]
    source = write_csv(tmp_path / "reviews.csv", REVIEWS, {"Sentiment": filled, "Summary": [""] * 6})
    rows = read_csv(source)
    proc, report = run_json("run", source, *BOTH, *openai_args(fake_openai), "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert tasks_of(fake_openai) == ["summarize"] and sent_rows(fake_openai) == [REVIEWS]
    assert [r["Summary"] for r in read_csv(source)] == [summary(t) for t in REVIEWS]
    assert [r["Sentiment"] for r in read_csv(source)] == [r["Sentiment"] for r in rows]
    assert report["requests_combined"] == 0 and report["tasks"][0]["rows_written"] == 0


def test_answers_of_a_pass_serve_a_later_run_of_one_task(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    assert (
        run_cli("run", write_csv(tmp_path / "a.csv", REVIEWS), *BOTH, *openai_args(fake_openai)).returncode
        == 0
    )
    fake_openai.reset()
    alone = write_csv(tmp_path / "b.csv", REVIEWS)
    args = ("--task", "summarize", "--input", "Review", "--output", "Summary")
    proc, report = run_json("run", alone, *args, *openai_args(fake_openai))
    assert proc.returncode == 0, proc.stderr
    assert report["requests"] == 0 and report["rows_cached"] == len(REVIEWS)
    assert [r["Summary"] for r in read_csv(alone)] == [summary(t) for t in REVIEWS]


# ---------------------------------------------------------------------------------- estimate, offline, errors
def test_estimate_counts_the_combined_requests_and_shows_each_column(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "reviews.csv", REVIEWS)
    args = (*BOTH, *openai_args(fake_openai), "--batch-size", "4")
    _, estimate = run_json("estimate", source, *args)
    assert fake_openai.requests == []
    assert estimate["requests"] == estimate["requests_combined"] == 2
    assert [t["rows_selected"] for t in estimate["tasks"]] == [6, 6]
    # what one run per task would take, for comparison: 2 + 2 requests at 4 rows each
    assert estimate["requests_separately"] == 4 and estimate["estimated_cost_separately_usd"] > 0
    proc, ran = run_json("run", source, *args)
    assert proc.returncode == 0, proc.stderr
    assert ran["requests"] == estimate["requests"]
    assert ran["prompt_tokens"] == estimate["prompt_tokens"]  # exact o200k counts of the same requests
    assert (
        "Sentiment 6 to write, Summary 6 to write" in run_cli("estimate", source, *args, "--overwrite").stdout
    )


def test_offline_analyzer_runs_each_task(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "reviews.csv", REVIEWS)
    proc, report = run_json("run", source, *BOTH)
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(source)
    assert [r["Sentiment"] for r in rows] == local_answers("sentiment", REVIEWS)
    assert [r["Summary"] for r in rows] == local_answers("summarize", REVIEWS)
    assert report["provider"] == "local" and [t["rows_written"] for t in report["tasks"]] == [6, 6]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--task", "sentiment,summarize", "--output", "Sentiment"),
         "--task sentiment,summarize has 2 tasks but --output names 1 column (Sentiment)"),
        (("--task", "sentiment,summarize", "--output", "Out,out"), "each task needs its own output column"),
        (("--task", "sentiment,sentiment", "--output", "A,B"), "names a task twice"),
        (("--task", "sentiment,translate", "--output", "A,B"), "'translate' is not one of"),
        (("--task", "sentiment,summarize", "--output", "A,B", "--status-column", "S"),
         "--status-column works with one task"),
        (("--task", "classify,summarize", "--output", "A,B"), "--task classify needs --labels"),
        (("--task", "summarize,extract", "--output", "A,B", "--labels", "x,y"),
         "--labels is for classify or sentiment"),
        (("--task", "sentiment,summarize", "--output", "A,B", "--batch-api"), "--batch-api runs one task"),
    ],
)  # fmt: skip
def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    source = write_csv(tmp_path / "reviews.csv", REVIEWS)
    proc = run_cli("run", source, "--input", "Review", *args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert read_csv(source)[0].keys() == {"Review"}


def test_two_outputs_naming_one_existing_column_are_refused(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "reviews.csv", REVIEWS, {"Result": [""] * 6})
    proc = run_cli(
        "run", source, "--task", "sentiment,summarize", "--input", "Review", "--output", "Result,B"
    )
    assert proc.returncode == 2 and "both name column" in proc.stderr


def test_tasks_and_outputs_from_sheets_ai_toml(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "reviews.csv", REVIEWS[:2])
    toml = tmp_path / "sheets-ai.toml"
    toml.write_text(
        'task = ["sentiment", "summarize"]\ninput = "Review"\noutput = ["Sentiment", "Summary"]\n'
    )
    proc = run_cli("run", source, "--config", toml)
    assert proc.returncode == 0, proc.stderr
    assert read_csv(source)[0].keys() == {"Review", "Sentiment", "Summary"}


# ---------------------------------------------------------------------------------- the fake server's side
def test_the_server_reads_and_answers_a_combined_request_with_its_own_reader(fake_openai: FakeOpenAI) -> None:
    task = build_task(build_config({"task": "sentiment,summarize", "output": "A,B"}))
    rows = [("1", "Love it, great."), ("2", "Broken and late. Nobody called.")]
    messages = prompts.build_messages(task, rows)
    request = read_combined(messages)
    assert request is not None and [p.task for p in request.parts] == ["sentiment", "summarize"]
    assert request.parts[1].max_chars == 170 and request.items == rows
    c = openai.OpenAI(api_key="k", base_url=fake_openai.url, max_retries=0)
    fmt = prompts.response_format(task, ["1", "2"])
    reply = c.chat.completions.create(model="gpt-4.1-mini", messages=messages, response_format=fmt)  # type: ignore[arg-type]
    content = reply.choices[0].message.content or ""
    assert json.loads(content) == {
        "sentiment": "1p2n",
        "summarize": {"1": "Love it, great.", "2": "Broken and late."},
    }
    # the combined schema is held to OpenAI's strict rules, nested objects included
    loose = json.loads(json.dumps(fmt))
    del loose["json_schema"]["schema"]["properties"]["summarize"]["additionalProperties"]
    with pytest.raises(openai.BadRequestError) as err:
        c.chat.completions.create(model="gpt-4.1-mini", messages=messages, response_format=loose)  # type: ignore[arg-type]
    assert err.value.code == "invalid_json_schema" and "('properties', 'summarize')" in err.value.message


# ---------------------------------------------------------------------------------- stops keep finished rows
def test_a_stop_in_the_combined_requests_writes_what_finished_and_sends_nothing_more(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "reviews.csv", REVIEWS)
    fake_openai.script("ok", "insufficient_quota")
    args = (*BOTH, *openai_args(fake_openai), "--batch-size", "3", "--concurrency", "1", "--no-cache")
    proc, report = run_json("run", source, *args)
    assert proc.returncode != 0 and "quota" in report["error"]
    assert len(fake_openai.requests) == 2  # the write runs after the stop send nothing
    rows = read_csv(source)
    assert [(r["Sentiment"], r["Summary"]) for r in rows[:3]] == [
        (expected_answer("sentiment", t), summary(t)) for t in REVIEWS[:3]
    ]
    assert all(r["Sentiment"] == r["Summary"] == "" for r in rows[3:])
    assert [t["rows_written"] for t in report["tasks"]] == [3, 3] and report["rows_remaining"] == 6


def test_max_cost_holds_for_the_whole_pass(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "reviews.csv", REVIEWS)
    args = (*BOTH, *openai_args(fake_openai), "--batch-size", "3", "--concurrency", "1")
    _, estimate = run_json("estimate", source, *args)
    one_request = estimate["estimated_max_cost_usd"] / 2  # the worst case of one combined request
    cap = one_request * 1.1
    proc, report = run_json("run", source, *args, "--max-cost", f"{cap:.8f}")
    assert proc.returncode == 1 and "budget" in (report["stopped"] or "")
    assert report["requests_combined"] == 1 and report["cost_usd"] <= cap
    assert sum(1 for r in read_csv(source) if r["Summary"]) == 3  # the rest waits for a rerun


# ---------------------------------------------------------------------------------- Python API
def test_enrich_with_several_tasks_returns_one_result_list_per_task(fake_openai: FakeOpenAI) -> None:
    import pandas as pd

    import sheets_ai

    options = {"provider": "openai", "base_url": fake_openai.url, "cache": False}
    got = sheets_ai.enrich(REVIEWS, task=["sentiment", "summarize"], **options)
    assert got == {
        "sentiment": [expected_answer("sentiment", t) for t in REVIEWS],
        "summarize": [summary(t) for t in REVIEWS],
    }
    assert tasks_of(fake_openai) == [["sentiment", "summarize"]]
    series = pd.Series(REVIEWS[:2], index=[10, 20])
    frame = sheets_ai.enrich(series, task="sentiment,classify", labels="kettle,other", **options)
    assert list(frame.index) == [10, 20] and list(frame.columns) == ["sentiment", "classify"]
    assert list(frame["classify"]) == ["kettle", "other"]
    with pytest.raises(sheets_ai.UsageError, match="run_texts\\(\\) runs one task"):
        sheets_ai.run_texts(REVIEWS, task="sentiment,summarize", **options)


def test_cloud_run_tasks_fill_both_columns_of_their_own_blocks(
    sheets: SheetsEmulator, fake_openai: FakeOpenAI
) -> None:
    sid = sheets.add_spreadsheet("Reviews", {"Sheet1": [["Review"], *([t] for t in REVIEWS)]})
    for index in range(2):
        env = {
            "CLOUD_RUN_JOB": "sheets-ai", "CLOUD_RUN_EXECUTION": "sheets-ai-x", "CLOUD_RUN_TASK_INDEX": str(index),
            "CLOUD_RUN_TASK_COUNT": "2", "CLOUD_RUN_TASK_ATTEMPT": "0", "SHEETS_AI_SOURCE": sid,
            "SHEETS_AI_INPUT": "Review", "SHEETS_AI_TASK": "sentiment,summarize",
            "SHEETS_AI_OUTPUT": "Sentiment,Summary", "SHEETS_AI_PROVIDER": "openai",
            "SHEETS_AI_BASE_URL": fake_openai.url,
        }  # fmt: skip
        fake_openai.reset()
        proc = run_cli("job", env=env)
        assert proc.returncode == 0, proc.stderr + proc.stdout
        assert sent_rows(fake_openai) == [REVIEWS[3 * index : 3 * index + 3]]
        assert tasks_of(fake_openai) == [["sentiment", "summarize"]]
    values = sheets.values(sid, "Sheet1")
    assert values[0] == ["Review", "Sentiment", "Summary"]
    assert [r[1:] for r in values[1:]] == [[expected_answer("sentiment", t), summary(t)] for t in REVIEWS]


def test_duplicates_are_asked_once_and_a_row_cut_for_one_task_goes_to_each_task_alone(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    long = (
        "The kettle is great. " + "It boils water quickly and quietly every morning. " * 160
    )  # > 1,000 tokens
    texts = [REVIEWS[0], REVIEWS[1], f"  {REVIEWS[0]} ", long, REVIEWS[1]]
    source = write_csv(tmp_path / "reviews.csv", texts)
    proc, report = run_json("run", source, *BOTH, *openai_args(fake_openai))
    assert proc.returncode == 0, proc.stderr
    # sentiment cuts the long row to 1,000 tokens, summarize does not: it is sent to each task on its own
    assert tasks_of(fake_openai) == [["sentiment", "summarize"], "sentiment", "summarize"]
    assert sent_rows(fake_openai)[0] == [REVIEWS[0], REVIEWS[1]]
    assert sent_rows(fake_openai)[2] == [long]
    rows = read_csv(source)
    assert [r["Sentiment"] for r in rows] == [expected_answer("sentiment", t.strip()) for t in texts[:3]] + [
        rows[3]["Sentiment"],
        expected_answer("sentiment", REVIEWS[1]),
    ]
    assert rows[3]["Sentiment"] and rows[3]["Summary"] == summary(long)
    assert [r["Summary"] for r in rows][:3] == [summary(t.strip()) for t in texts[:3]]
    assert [t["rows_combined"] for t in report["tasks"]] == [4, 4]


def test_output_file_gets_both_columns_and_the_source_stays_as_it_was(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "reviews.csv", REVIEWS)
    before = source.read_bytes()
    out = tmp_path / "out.csv"
    proc = run_cli("run", source, *BOTH, *openai_args(fake_openai), "--output-file", out)
    assert proc.returncode == 0, proc.stderr
    assert source.read_bytes() == before and len(fake_openai.requests) == 1
    rows = read_csv(out)
    assert [(r["Sentiment"], r["Summary"]) for r in rows] == [
        (expected_answer("sentiment", t), summary(t)) for t in REVIEWS
    ]


@pytest.mark.slow
def test_sigterm_during_the_combined_requests_writes_both_columns_of_finished_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal
    import time

    from conftest import start_cli

    texts = [f"{REVIEWS[i % len(REVIEWS)]} Ticket {i}." for i in range(60)]
    source = write_csv(tmp_path / "reviews.csv", texts)
    with FakeOpenAI(port=0, latency=0.05) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        args = (*BOTH, *openai_args(server), "--batch-size", "1", "--concurrency", "1", "--no-cache")
        proc = start_cli("run", source, *args, "--json")
        deadline = time.monotonic() + 60
        while len(server.requests) < 5 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "Interrupted" in err and "Traceback" not in err
        rows = read_csv(source)
        done = [i for i, r in enumerate(rows) if r["Sentiment"]]
        assert done and len(done) < len(texts) and done == list(range(len(done)))
        assert [(r["Sentiment"], r["Summary"]) for r in rows[: len(done)]] == [
            (expected_answer("sentiment", t), summary(t)) for t in texts[: len(done)]
        ]
        assert all(not r["Summary"] for r in rows[len(done) :])
        assert json.loads(out)["tasks"][1]["rows_written"] == len(done)
        server.reset()
        again, report = run_json("run", source, *args)
        assert again.returncode == 0, again.stderr
        assert report["requests"] == report["requests_combined"] == len(texts) - len(done)
    assert [r["Summary"] for r in read_csv(source)] == [summary(t) for t in texts]
