"""Interruptions: Ctrl-C, SIGTERM and kill -9 in the middle of a run lose nothing, leave a file that opens,
and a rerun completes exactly the remaining rows. A second run while one is going is refused.

The runs are real processes. To have time to interrupt one, they use the real offline analyzer slowed
down by a sleep per row (a test double of a slow provider); reruns use the plain CLI.
"""

from __future__ import annotations

import json
import random
import signal
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from conftest import column_values, make_xlsx, run_json

ROWS = 400
WORDS = {
    "good": ["great", "love", "excellent", "quick delivery", "works perfectly", "happy"],
    "bad": ["awful", "broken", "late", "refund refused", "terrible support", "disappointed"],
    "flat": ["the box", "on Tuesday", "the blue model", "a cable", "the manual", "in March"],
}
SLOW_LAUNCHER = """
import sys, time
from sheets_ai.providers.local import LocalProvider

_run = LocalProvider.run

def slow_run(self, task, items, feedback=None):
    time.sleep(0.01 * len(items))
    return _run(self, task, items, feedback)

LocalProvider.run = slow_run
from sheets_ai.cli import main
main(sys.argv[1:], prog_name="sheets-ai")
"""
ARGS = ("--input", "Review", "--output", "Sentiment", "--provider", "local")


def _texts() -> list[str]:
    rnd = random.Random(7)
    texts = []
    for _ in range(ROWS):
        parts = [rnd.choice(WORDS[rnd.choice(list(WORDS))]) for _ in range(4)]
        texts.append(f"Order notes: {', '.join(parts)}.")
    return texts


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The results of one clean, uninterrupted run."""
    folder = tmp_path_factory.mktemp("clean")
    path = make_xlsx(folder / "clean.xlsx", [["ID", "Review"], *([i, t] for i, t in enumerate(_texts()))])
    proc, report = run_json("run", path, *ARGS, env={"HOME": str(folder)})
    assert proc.returncode == 0, proc.stderr
    values = column_values(path, "C")
    assert report["rows_processed"] == ROWS and all(values)
    return values


@pytest.fixture
def book(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    return make_xlsx(
        tmp_path / "data" / "book.xlsx", [["ID", "Review"], *([i, t] for i, t in enumerate(_texts()))]
    )


def _start_slow(tmp_path: Path, path: Path, *extra: str):
    import subprocess

    launcher = tmp_path / "slow_sheets_ai.py"
    launcher.write_text(SLOW_LAUNCHER, encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, str(launcher), "run", str(path), *ARGS, "--batch-size", "1",
         "--checkpoint-seconds", "0.2", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
    )  # fmt: skip


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
