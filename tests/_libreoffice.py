"""Open workbooks in LibreOffice Calc (headless) and read back every sheet as CSV.

Each call gets its own LibreOffice profile (``-env:UserInstallation``) in a fresh temporary folder, so
parallel runs and a user's own profile never collide, and a stuck conversion is killed after a timeout.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

#: CSV export: comma, double quote, UTF-8 (76), from row 1, default cell formats, language 0, quote text
#: cells, detect special numbers, save as shown, no formulas, no trimming, every sheet (-1) to NAME-SHEET.csv.
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,true,true,true,false,false,-1"
TIMEOUT = 180


def find_soffice() -> str:
    """The soffice binary; a missing one fails under CI=true and skips with the reason elsewhere."""
    path = shutil.which("soffice") or shutil.which("libreoffice")
    if path:
        return path
    message = (
        "LibreOffice is not installed (no soffice on PATH): the xlsx fidelity tests open every written "
        "workbook in it. Install it with `apt-get install libreoffice-calc-nogui` (.ci/run does this in CI)."
    )
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def convert_to_csv(
    soffice: str, workbooks: dict[str, Path], folder: Path
) -> dict[str, dict[str, list[list[str]]]]:
    """Convert each workbook (label -> path) in one LibreOffice process; label -> sheet -> rows of text.

    The files are copied into ``folder`` under their labels first, so LibreOffice's lock files and the CSV
    names never touch the workbooks under test.
    """
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for label, path in workbooks.items():
        copy = folder / f"{label}{path.suffix}"
        shutil.copyfile(path, copy)
        copies.append(copy)
    out = folder / "csv"
    profile = Path(tempfile.mkdtemp(prefix="sheets-ai-lo-profile-"))
    command = [
        soffice,
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--norestore",
        "--nolockcheck",
        "--convert-to",
        CSV_FILTER,
        "--outdir",
        str(out),
        *map(str, copies),
    ]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        start_new_session=True,  # its own process group, so a timeout can stop soffice.bin too
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError(
            f"LibreOffice did not convert {[c.name for c in copies]} within {TIMEOUT} s"
        ) from None
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    result: dict[str, dict[str, list[list[str]]]] = {}
    for label in workbooks:
        sheets = {
            csv_path.stem.removeprefix(f"{label}-"): _read(csv_path)
            for csv_path in sorted(out.glob(f"{label}-*.csv"))
        }
        assert sheets, (
            f"LibreOffice wrote no CSV for {label} (exit code {proc.returncode}).\n"
            f"stdout: {stdout.strip()}\nstderr: {stderr.strip()}"
        )
        result[label] = sheets
    return result


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def cell(rows: list[list[str]], row: int, col: int) -> str:
    """The text at 1-based (row, col), empty when the CSV does not reach that far."""
    if row > len(rows) or col > len(rows[row - 1]):
        return ""
    return rows[row - 1][col - 1]
