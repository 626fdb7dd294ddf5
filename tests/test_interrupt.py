"""Interruptions: Ctrl-C, SIGTERM and kill -9 in the middle of a run lose nothing, leave a file that opens,
and a rerun completes exactly the remaining rows. A second run while one is going is refused.

The runs are real processes using the real openai SDK against the fake OpenAI server over loopback;
its latency and one row per request give the test time to interrupt a run in the middle.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from conftest import column_values, make_xlsx, run_json, start_cli

from sheets_ai.testing._openai_answers import expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI

ROWS = 400
WORDS = {
    "good": ["great", "love", "excellent", "quick delivery", "works perfectly", "happy"],
    "bad": ["awful", "broken", "late", "refund refused", "terrible support", "disappointed"],
    "flat": ["the box", "on Tuesday", "the blue model", "a cable", "the manual", "in March"],
}
ARGS = ("--input", "Review", "--output", "Sentiment", "--provider", "openai", "--no-cache")


def _texts() -> list[str]:
    rnd = random.Random(7)
    texts = []
    for _ in range(ROWS):
        parts = [rnd.choice(WORDS[rnd.choice(list(WORDS))]) for _ in range(4)]
        texts.append(f"Order notes: {', '.join(parts)}.")
    return texts


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(port=0, latency=0.01) as fake:
        yield fake


@pytest.fixture(autouse=True)
def openai_env(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)


@pytest.fixture(scope="module")
def expected() -> list[str]:
    """What every row must end up with: the fake model's answer for that row's own text."""
    return [expected_answer("sentiment", text) for text in _texts()]


@pytest.fixture
def book(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    return make_xlsx(
        tmp_path / "data" / "book.xlsx", [["ID", "Review"], *([i, t] for i, t in enumerate(_texts()))]
    )


def _start_slow(tmp_path: Path, path: Path, *extra: str) -> subprocess.Popen[str]:
    """A run that makes one request per row, each taking the fake server's latency."""
    return start_cli(
        "run", path, *ARGS, "--batch-size", "1", "--concurrency", "1", "--checkpoint-seconds", "0.2", *extra
    )


def _wait_for_checkpoint(path: Path, proc, timeout: float = 30) -> None:
    """Return once the file has been replaced by a save of the running process."""
    start_inode = path.stat().st_ino
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the run ended before a checkpoint: {proc.stderr.read()}")
        try:
            if path.stat().st_ino != start_inode:
                return
        except FileNotFoundError:  # pragma: no cover - replace is atomic, but be safe
            pass
        time.sleep(0.01)
    proc.kill()
    pytest.fail("no checkpoint within the timeout")


def _filled(path: Path) -> int:
    return sum(v is not None for v in column_values(path, "C"))


def _rerun_completes(path: Path, already: int, expected: list[str]) -> None:
    proc, report = run_json("run", path, *ARGS)
    assert proc.returncode == 0, proc.stderr
    assert report["rows_processed"] == ROWS - already  # only the remaining rows
    assert report["skipped"].get("already_done", 0) == already
    assert column_values(path, "C") == expected  # every row once, with the right value
    assert column_values(path, "B") == _texts()  # inputs untouched
    assert [p.name for p in path.parent.iterdir()] == ["book.xlsx"]  # no lock or temporary files


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_saves_finished_rows_then_rerun_completes(
    tmp_path: Path, book: Path, expected: list[str], signum: int
) -> None:
    proc = _start_slow(tmp_path, book, "--json")
    _wait_for_checkpoint(book, proc)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Interrupted" in err and "Run the same command again" in err and "Traceback" not in err
    report = json.loads(out)
    done = report["rows_processed"]
    assert 0 < done < ROWS
    assert report["rows_remaining"] == ROWS - done
    # Every finished row is in the file, which opens, and nothing else was written.
    assert _filled(book) == done
    assert column_values(book, "C")[:done] == expected[:done]
    openpyxl.load_workbook(book).close()
    _rerun_completes(book, done, expected)


@pytest.mark.slow
def test_kill_9_leaves_the_last_checkpoint_and_rerun_completes(
    tmp_path: Path, book: Path, expected: list[str]
) -> None:
    proc = _start_slow(tmp_path, book)
    _wait_for_checkpoint(book, proc)
    time.sleep(0.3)  # a little later, maybe in the middle of the next save
    proc.kill()
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done = _filled(book)  # the file opens: saves are atomic
    assert 0 < done < ROWS
    assert column_values(book, "C")[:done] == expected[:done]
    # A temporary file of the killed save may remain; the rerun removes it.
    _rerun_completes(book, done, expected)


@pytest.mark.slow
def test_a_second_run_while_one_is_running_is_refused(
    tmp_path: Path, book: Path, expected: list[str]
) -> None:
    first = _start_slow(tmp_path, book)
    try:
        _wait_for_checkpoint(book, first)
        proc, _ = run_json("run", book, *ARGS)
        assert proc.returncode == 2
        assert "Another sheets-ai run is already writing book.xlsx" in proc.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=30)
    assert first.returncode == 130
    _rerun_completes(book, _filled(book), expected)


def test_sigterm_is_handled_only_in_the_main_thread() -> None:
    # enrich() may be called from a worker thread (e.g. a web app); installing a handler there would fail.
    import threading

    import sheets_ai

    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(sheets_ai.enrich(["I love it"])))
    thread.start()
    thread.join(60)
    assert results == [["positive"]]
