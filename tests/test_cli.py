"""The command line: summary, --json report, --dry-run, exit codes, --debug, help, python -m sheets_ai."""

from __future__ import annotations

import fcntl
import json
import os
import struct
import subprocess
import termios
from pathlib import Path

import openpyxl
import pytest
from click.testing import Result
from conftest import CLI, column_values, invoke, make_xlsx, openai_args, run_cli, run_json

from sheets_ai.testing._openai_answers import expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI

REPORT_KEYS = {
    "rows_total",
    "rows_processed",
    "rows_skipped",
    "rows_failed",
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "seconds",
    "provider",
    "model",
    "output",
    "failures",
}


def test_quick_start_command_and_summary(work: Path) -> None:
    proc = run_cli(
        "run", "reviews.xlsx", "--task", "sentiment", "--input", "Review", "--output", "Sentiment", cwd=work
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Processed 59 of 60 rows with local (local-analyzer)")
    assert "→ reviews.xlsx" in proc.stdout and "skipped 1 (1 empty input)" in proc.stdout
    # The automatic choice of the offline analyzer is announced once.
    assert proc.stderr.count("using the offline analyzer") == 1
    assert "\r" not in proc.stderr  # no progress bar when stderr is not a terminal


def test_progress_bar_on_a_terminal(work: Path) -> None:
    # stderr is a pseudo-terminal here, as in an interactive shell: the bar shows rows done/total and rate.
    main_fd, term_fd = os.openpty()
    fcntl.ioctl(term_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    proc = subprocess.Popen(
        [*CLI, "run", "reviews.xlsx", "--input", "Review", "--output", "Sentiment", "--batch-size", "10"],
        cwd=work, stdout=subprocess.PIPE, stderr=term_fd, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(term_fd)
    screen = b""
    while True:
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        screen += chunk
    os.close(main_fd)
    assert proc.wait(timeout=60) == 0
    text = screen.decode("utf-8", "replace")
    assert "59/59" in text and "row/s" in text


def test_json_report_has_every_documented_key(work: Path) -> None:
    proc, report = run_json("run", work / "reviews.xlsx", "--input", "Review", "--output", "Sentiment")
    assert proc.returncode == 0, proc.stderr
    assert set(report) >= REPORT_KEYS
    assert report["rows_total"] == 60 and report["rows_processed"] == 59 and report["rows_skipped"] == 1
    assert report["rows_failed"] == 0 and report["failures"] == []
    assert report["provider"] == "local" and report["model"] == "local-analyzer"
    assert report["output"] == str(work / "reviews.xlsx")
    assert report["cost_usd"] == 0 and report["seconds"] > 0
    assert len(proc.stdout.strip().splitlines()) == 1  # one JSON object, nothing else on stdout


def test_dry_run_writes_nothing_and_previews(work: Path) -> None:
    path = work / "reviews.xlsx"
    before = path.read_bytes()
    names = sorted(p.name for p in work.iterdir())
    proc = run_cli("run", path, "--input", "Review", "--output", "Sentiment", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert path.read_bytes() == before and sorted(p.name for p in work.iterdir()) == names
    assert proc.stdout.startswith("Would process 59 of 60 rows")
    assert "1 batches" in proc.stdout and "preview:" in proc.stdout
    assert "row 2: 'Absolutely love these headphones." in proc.stdout and "-> 'positive'" in proc.stdout

    proc, report = run_json("estimate", path, "--input", "Review", "--output", "Sentiment")
    assert proc.returncode == 0 and report["dry_run"] is True and len(report["preview"]) == 5
    assert report["preview"][0] == {"row": 2, "input": report["preview"][0]["input"], "result": "positive"}
    assert path.read_bytes() == before


# Batches of 13 rows, one at a time: the fake server's "invalid" fault garbles the middle row of the first
# batch, row 8, and the two one-row re-asks after it, so row 8 fails and every other row is answered.
FAIL_ROW_8 = ("--batch-size", "13", "--concurrency", "1")
INVALID_THRICE = ("invalid", "invalid", "invalid")


def test_failed_rows_exit_1_and_are_reported_while_others_are_written(
    work: Path, fake_openai: FakeOpenAI
) -> None:
    book = work / "reviews.xlsx"
    args = ("run", book, "--input", "Review", "--output", "Sentiment", *openai_args(fake_openai), *FAIL_ROW_8)
    fake_openai.script(*INVALID_THRICE)
    result = invoke(*args, "--json")
    assert result.exit_code == 1
    assert fake_openai.counts()["invalid"] == 3
    report = json.loads(result.stdout)
    assert report["rows_failed"] == 1 and report["rows_processed"] == 58
    (failure,) = report["failures"]
    assert failure["row"] == 8 and "'x' is not one of" in failure["reason"]
    reviews = column_values(book, "B", sheet="Reviews")
    results = column_values(book, "F", sheet="Reviews")
    assert results[6] is None
    assert [r for i, r in enumerate(results) if i != 6 and reviews[i]] == [
        expected_answer("sentiment", t) for i, t in enumerate(reviews) if i != 6 and t
    ]

    # The human summary names the row and why.
    fake_openai.script(*INVALID_THRICE)
    result = invoke(*args)
    assert result.exit_code == 1 and "row 8: 'x' is not one of" in result.output


def test_debug_shows_a_traceback_for_a_user_error_and_normal_mode_does_not(work: Path) -> None:
    args = ("run", work / "reviews.xlsx", "--input", "Nope", "--output", "Sentiment")
    plain = run_cli(*args)
    assert plain.returncode == 2
    assert "Traceback" not in plain.stderr
    assert plain.stderr.strip().splitlines()[-1].startswith("Error: Column 'Nope' not found")
    debug = run_cli(*args, "--debug")
    assert debug.returncode == 2  # --debug adds the traceback, and keeps the exit code
    assert "Traceback" in debug.stderr and "ColumnNotFoundError" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == plain.stderr.strip().splitlines()[-1]


def test_usage_errors_exit_2_in_one_line(work: Path) -> None:
    proc = run_cli("run", work / "reviews.xlsx", "--input", "Review")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "Error: --input and --output are required, e.g. --input Review --output Sentiment."
    )
    proc = run_cli(
        "run", work / "reviews.xlsx", "--input", "Review", "--output", "S1", "--no-cache", "--cache-dir", "x"
    )
    assert proc.returncode == 2 and "Cannot use --no-cache with --cache-dir" in proc.stderr
    proc = run_cli("run", work / "reviews.xlsx", "--task", "translate")
    assert proc.returncode == 2 and "'translate' is not one of" in proc.stderr


def test_help_has_a_runnable_example_and_version(work: Path) -> None:
    proc = run_cli("run", "--help")
    assert proc.returncode == 0
    assert (
        "sheets-ai run examples/reviews.xlsx --task sentiment --input Review --output Sentiment"
        in proc.stdout
    )
    assert "Usage: sheets-ai run" in proc.stdout
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("sheets-ai, version ")


def test_quiet_hides_notices_but_not_the_summary(work: Path) -> None:
    proc = run_cli("run", work / "reviews.xlsx", "--input", "Review", "--output", "Sentiment", "-q")
    assert proc.returncode == 0
    assert proc.stderr == "" and proc.stdout.startswith("Processed 59")


def test_status_column(work: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(*INVALID_THRICE)
    result = invoke(
        "run", work / "reviews.xlsx", "--input", "Review", "--output", "Sentiment",
        "--status-column", "Status", *openai_args(fake_openai), *FAIL_ROW_8,
    )  # fmt: skip
    assert result.exit_code == 1
    ws = openpyxl.load_workbook(work / "reviews.xlsx")["Reviews"]
    assert (ws["F1"].value, ws["G1"].value) == ("Sentiment", "Status")
    assert ws["G2"].value == "ok" and ws["G8"].value.startswith("error: 'x' is not one of")


def test_debug_keeps_the_exit_code_of_every_error(work: Path, fake_openai: FakeOpenAI) -> None:
    book = work / "reviews.xlsx"
    # A configuration error: exit 2.
    proc = run_cli("run", book, "--input", "Review", "--output", "S", "--limit", "0", "--debug")
    assert proc.returncode == 2 and "Traceback" in proc.stderr and "ConfigError" in proc.stderr
    # The OpenAI API keeps failing: the run stops with exit 1 (finished rows saved), with --debug too.
    fake_openai.script("500")
    args = ("run", book, "--input", "Review", "--output", "S", *openai_args(fake_openai), "--no-cache")
    env = {"SHEETS_AI_RETRY_ATTEMPTS": "1"}
    plain = run_cli(*args, env=env)
    assert plain.returncode == 1, plain.stderr
    fake_openai.script("500")
    proc = run_cli(*args, "--debug", env=env)
    assert proc.returncode == 1 and "Traceback" in proc.stderr and "RateLimitError" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("Error: The OpenAI API")


def _one_json_error(proc: subprocess.CompletedProcess[str] | Result, code: int = 2) -> dict:
    """stdout is exactly one JSON object with ``error`` and ``exit_code``, and the process exited with it."""
    returncode = proc.returncode if isinstance(proc, subprocess.CompletedProcess) else proc.exit_code
    assert returncode == code, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    data = json.loads(lines[0])
    assert isinstance(data, dict) and data["exit_code"] == code
    assert isinstance(data["error"], str) and data["error"]
    assert "Traceback" not in proc.stderr
    return data


def test_json_prints_one_object_for_usage_errors(work: Path) -> None:
    book = work / "reviews.xlsx"
    cols = ("--input", "Review", "--output", "S")
    for command in ("run", "estimate"):
        # click's own errors: unknown option, bad choice, bad integer, missing value, missing SOURCE
        data = _one_json_error(invoke(command, book, *cols, "--json", "--bogus"))
        assert "--bogus" in data["error"]
        data = _one_json_error(invoke(command, book, *cols, "--task", "translate", "--json"))
        assert "'translate' is not one of" in data["error"]
        data = _one_json_error(invoke(command, book, *cols, "--json", "--limit", "x"))
        assert "'x' is not a valid integer" in data["error"]
        data = _one_json_error(invoke(command, book, *cols, "--json", "--limit"))
        assert "--limit" in data["error"] and "requires an argument" in data["error"]
        data = _one_json_error(invoke(command, "--json"))
        assert "SOURCE" in data["error"]
        # our own checks before a run starts
        data = _one_json_error(invoke(command, book, *cols, "--json", "--no-cache", "--cache-dir", "x"))
        assert data["error"] == "Cannot use --no-cache with --cache-dir."
        data = _one_json_error(invoke(command, book, *cols, "--json", "--limit", "0"))
        assert "--limit" in data["error"]
    data = _one_json_error(invoke("rnu", book, *cols, "--json"))  # an unknown command
    assert "rnu" in data["error"]
    # As a real process: the JSON on stdout, the usual message on stderr, exit 2.
    proc = run_cli("run", book, *cols, "--json", "--bogus")
    data = _one_json_error(proc)
    assert "No such option" in proc.stderr and "--bogus" in proc.stderr and "Usage:" in proc.stderr
    # Without --json, stdout stays empty.
    assert run_cli("run", book, *cols, "--bogus").stdout == ""


def test_json_prints_one_object_for_configuration_errors(work: Path) -> None:
    book = work / "reviews.xlsx"
    cols = ("--input", "Review", "--output", "S")
    Path("sheets-ai.toml").write_text("colour = 'red'\n", encoding="utf-8")  # the tests run in a fresh cwd
    data = _one_json_error(run_cli("run", book, *cols, "--json"))
    assert "Unknown option 'colour'" in data["error"]
    Path("sheets-ai.toml").unlink()
    data = _one_json_error(run_cli("estimate", book, *cols, "--json", env={"SHEETS_AI_CONCURRENCY": "many"}))
    assert "SHEETS_AI_CONCURRENCY" in data["error"]
    data = _one_json_error(run_cli("run", book, *cols, "--json", "--config", "missing.toml"))
    assert "missing.toml" in data["error"]


def test_json_prints_one_object_for_an_unexpected_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    def broken(self: object, text: str) -> dict:
        raise RuntimeError("the analyzer broke")

    monkeypatch.setattr(SentimentIntensityAnalyzer, "polarity_scores", broken)
    book = make_xlsx(tmp_path / "book.xlsx", [["Review"], ["I love it."]])
    args = ("run", book, "--input", "Review", "--output", "S", "--provider", "local")
    result = invoke(*args, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert (
        data["exit_code"] == 1 and "RuntimeError" in data["error"] and "the analyzer broke" in data["error"]
    )
    # --debug shows the traceback, and keeps the exit code and the JSON
    result = invoke(*args, "--json", "--debug")
    assert result.exit_code == 1 and json.loads(result.stdout)["exit_code"] == 1
    assert "Traceback" in result.stderr and "the analyzer broke" in result.stderr
