"""A stop signal at any moment of a large run costs no finished work.

A real process works through an 8,000-row workbook with the offline analyzer; SIGTERM or SIGINT arrives
while it reads, while it processes, in the middle of a checkpoint, and in the middle of the final save
(``--debug`` logs "saving …" when a save starts; the test signals right then). Each time: the process exits
130 with its JSON report, every row the report counts as processed is in the file, the file opens, and a
rerun completes exactly the rest, with the same results an uninterrupted run gives.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import openpyxl
import pytest
from conftest import run_json, start_cli

ROWS = 8_000
ARGS = ("--input", "Review", "--output", "Sentiment", "--provider", "local", "--json", "--debug")
PHRASES = ["Great value, works perfectly", "Broken on arrival", "Arrived on Tuesday", "Love it but slow"]


def _results(path: Path) -> list[str | None]:
    wb = openpyxl.load_workbook(path, read_only=True)
    values = [row[0] for row in wb.active.iter_rows(min_row=2, min_col=2, max_col=2, values_only=True)]
    wb.close()
    return values


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("signals") / "big.xlsx"
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Data")
    ws.append(["Review"])
    for i in range(ROWS):
        ws.append([f"{PHRASES[i % len(PHRASES)]} (order {i})."])
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def expected(book: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str | None]:
    copy = tmp_path_factory.mktemp("reference") / "big.xlsx"
    shutil.copy2(book, copy)
    proc, report = run_json("run", copy, *ARGS[:-2])
    assert proc.returncode == 0 and report["rows_processed"] == ROWS, proc.stderr
    return _results(copy)


def _signal_when(proc: subprocess.Popen[str], marker: str, nth: int, signum: int, delay: float) -> list[str]:
    """Read stderr until the ``nth`` line containing ``marker``, wait ``delay`` seconds, send ``signum``."""
    assert proc.stderr is not None
    seen: list[str] = []
    count = 0
    for line in proc.stderr:
        seen.append(line)
        if marker in line:
            count += 1
            if count == nth:
                time.sleep(delay)
                proc.send_signal(signum)
                break
    else:
        pytest.fail(f"the run never logged {marker!r} {nth} times: {''.join(seen)}")
    return seen


MOMENTS = {
    # moment: (extra args, stderr marker, which occurrence, delay after it)
    "reading": ((), "reading ", 1, 0.0),  # reading 8,000 rows takes ~0.2 s when the machine is idle
    "processing": (("--checkpoint-seconds", "1000"), "New column", 1, 0.6),
    # a checkpoint after every finished batch (16 of 500 rows): the second save is always a checkpoint, however
    # fast the machine reads and analyses (at 0.5 s a quick machine finished before its first checkpoint)
    "checkpoint": (("--checkpoint-seconds", "0.001"), "saving ", 2, 0.0),
    "final-save": (("--checkpoint-seconds", "1000"), "saving ", 1, 0.0),
}


CASES = [
    ("reading", signal.SIGTERM),
    ("processing", signal.SIGINT),
    ("checkpoint", signal.SIGTERM),
    ("checkpoint", signal.SIGINT),
    ("final-save", signal.SIGTERM),
    ("final-save", signal.SIGINT),
]


@pytest.mark.slow
@pytest.mark.parametrize(("moment", "signum"), CASES, ids=[f"{m}-{signal.Signals(s).name}" for m, s in CASES])
def test_a_signal_at_any_moment_keeps_every_finished_row(
    tmp_path: Path, book: Path, expected: list[str | None], moment: str, signum: int
) -> None:
    path = tmp_path / "big.xlsx"
    shutil.copy2(book, path)
    extra, marker, nth, delay = MOMENTS[moment]
    proc = start_cli("run", path, *ARGS, *extra)
    _signal_when(proc, marker, nth, signum, delay)
    out, err = proc.communicate(timeout=120)
    if proc.returncode == 0:  # the run finished before the signal could matter: everything is there
        assert _results(path) == expected
        return
    assert proc.returncode == 130, err
    report = json.loads(out)  # the report, even when stopped
    assert report["exit_code"] == 130 and report["stopped"] == "interrupted"
    done = report["rows_processed"]
    results = _results(path)  # the file opens
    filled = [r for r in results if r is not None]
    assert len(filled) == done  # every row the report counts is in the file, nothing more
    assert all(r == e for r, e in zip(results, expected, strict=True) if r is not None)
    if moment == "final-save":
        assert done == ROWS  # the save that was being written completed before the exit
    if moment == "reading":
        assert done == 0 and path.read_bytes() == book.read_bytes()

    proc, again = run_json("run", path, *ARGS[:-2])
    assert proc.returncode == 0, proc.stderr
    assert again["rows_processed"] == ROWS - done  # exactly the rest
    assert _results(path) == expected
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith((".", "big"))) == ["big.xlsx"]
