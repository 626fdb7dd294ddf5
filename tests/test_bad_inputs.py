"""Bad inputs: a clear one-line message (exit 2) or a counted skip; never a traceback, never a damaged file."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import openpyxl
import pytest
from conftest import column_values, immutable, make_xlsx, run_cli, run_json

from sheets_ai.errors import SourceError
from sheets_ai.tables import _files

LABELS = {"positive", "negative", "neutral", "mixed"}


def _fails_cleanly(path: Path, *args: str | Path, expect: str, fix: str | None = None) -> str:
    """Run on ``path``; assert exit 2, one 'Error:' line naming the problem (and fix), file unchanged."""
    before = path.read_bytes() if path.is_file() else None
    folder = path.parent
    names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else None
    proc = run_cli("run", path, *args, "--provider", "local")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: ") and expect in lines[0]
    if fix is not None:
        assert fix in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    if before is not None:
        assert path.read_bytes() == before
    if names is not None:
        assert sorted(p.name for p in folder.iterdir()) == names  # no lock or temp file left
    return lines[0]


COLUMNS = ("--input", "Review", "--output", "Sentiment")


def test_missing_file(tmp_path: Path) -> None:
    _fails_cleanly(tmp_path / "nope.xlsx", *COLUMNS, expect="not found", fix="Check the path")
    _fails_cleanly(tmp_path / "nope.csv", *COLUMNS, expect="not found", fix="Check the path")


def test_text_file_renamed_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "notes.xlsx"
    path.write_text("Review\nthis is not a workbook\n", encoding="utf-8")
    _fails_cleanly(path, *COLUMNS, expect="not an Excel workbook", fix="save it as .xlsx")


def test_password_protected_workbook(tmp_path: Path) -> None:
    path = tmp_path / "secret.xlsx"
    path.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + os.urandom(4096))
    _fails_cleanly(path, *COLUMNS, expect="password-protected", fix="Remove the password")


def test_truncated_workbook(work: Path) -> None:
    path = work / "reviews.xlsx"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _fails_cleanly(path, *COLUMNS, expect="damaged", fix="Excel")


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "hi")
    _fails_cleanly(path, *COLUMNS, expect="not an Excel workbook")


def test_binary_file_named_csv(tmp_path: Path) -> None:
    path = tmp_path / "image.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    _fails_cleanly(path, *COLUMNS, expect="binary file")


def test_unsupported_file_type_and_old_xls(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text("{}", encoding="utf-8")
    _fails_cleanly(path, *COLUMNS, expect="unsupported file type .json", fix="Use .xlsx, .csv")
    old = tmp_path / "old.xls"
    old.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(64))
    _fails_cleanly(old, *COLUMNS, expect="old .xls workbook", fix="save it as .xlsx")


def test_a_folder_instead_of_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "folder.xlsx"
    folder.mkdir()
    proc = run_cli("run", folder, *COLUMNS)
    assert proc.returncode == 2 and "is a folder" in proc.stderr and "Traceback" not in proc.stderr


def test_wrong_sheet_and_unknown_column(work: Path) -> None:
    path = work / "reviews.xlsx"
    _fails_cleanly(
        path, "--sheet", "Revues", *COLUMNS, expect="Sheet 'Revues' not found. Sheets: Reviews, Summary"
    )
    _fails_cleanly(
        path, "--input", "Text", "--output", "S1", expect="Column 'Text' not found", fix="Headers: ID"
    )


def test_empty_sheet(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "Blank"
    wb.save(tmp_path / "empty.xlsx")
    _fails_cleanly(tmp_path / "empty.xlsx", *COLUMNS, expect="'Blank' in empty.xlsx is empty", fix="--sheet")
    (tmp_path / "empty.csv").write_bytes(b"")
    _fails_cleanly(tmp_path / "empty.csv", *COLUMNS, expect="empty.csv is empty")


def test_header_only_sheet_is_nothing_to_do(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "header.xlsx", [["ID", "Review"]])
    before = path.read_bytes()
    proc, report = run_json("run", path, *COLUMNS)
    assert proc.returncode == 0, proc.stderr
    assert report["rows_total"] == 0 and report["rows_processed"] == 0
    assert path.read_bytes() == before  # not even the new header is written when there is nothing to do
    csv_path = tmp_path / "header.csv"
    csv_path.write_text("ID,Review\n", encoding="utf-8")
    proc, report = run_json("run", csv_path, *COLUMNS)
    assert proc.returncode == 0 and report["rows_total"] == 0
    assert csv_path.read_text(encoding="utf-8") == "ID,Review\n"


def test_numbers_dates_booleans_and_errors_in_the_input_column(tmp_path: Path) -> None:
    path = make_xlsx(
        tmp_path / "mixed.xlsx",
        [
            ["Review"],
            ["I love it!"],
            [12345],
            [dt.datetime(2024, 1, 2)],
            [True],
            ["#N/A"],
            ["#DIV/0!"],
            ["Awful."],
        ],
    )
    proc, report = run_json("run", path, *COLUMNS)
    assert proc.returncode == 0, proc.stderr
    assert report["skipped"] == {"error_values": 2} and report["rows_processed"] == 5
    results = column_values(path, "B")
    assert results[0] == "positive" and results[-1] == "negative"
    assert all(r in LABELS for r in results[1:4]) and results[4:6] == [None, None]


def _replace_in_zip(path: Path, part: str, old: bytes, new: bytes) -> None:
    import zipfile

    with zipfile.ZipFile(path) as zf:
        entries = [(info, zf.read(info.filename)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in entries:
            zf.writestr(info, data.replace(old, new) if info.filename == part else data)


def test_a_50000_character_cell_works(tmp_path: Path) -> None:
    sentence = "The delivery was late again and the box was crushed, which is frustrating. "
    long_text = (sentence * (50_000 // len(sentence) + 1))[:50_000]
    # openpyxl cuts strings it is given to Excel's 32,767 characters, so put the long text into the XML.
    path = make_xlsx(tmp_path / "long.xlsx", [["Review"], ["Short and great!"], ["PLACEHOLDER"]])
    _replace_in_zip(path, "xl/worksheets/sheet1.xml", b"PLACEHOLDER", long_text.encode())
    assert len(column_values(path, "A")[1]) == 50_000
    proc, report = run_json("run", path, "--task", "summarize", "--input", "Review", "--output", "Summary")
    assert proc.returncode == 0, proc.stderr
    assert report["rows_processed"] == 2
    summaries = column_values(path, "B")
    assert all(s and len(s) <= 200 for s in summaries)
    assert column_values(path, "A")[1] == long_text  # the input is untouched
    proc, report = run_json("run", path, "--input", "Review", "--output", "Sentiment")
    assert proc.returncode == 0 and column_values(path, "C")[1] in LABELS
    csv_path = tmp_path / "long.csv"
    csv_path.write_text(f'Review\n"{long_text}"\n', encoding="utf-8")
    proc, report = run_json(
        "run", csv_path, "--task", "summarize", "--input", "Review", "--output", "Summary"
    )
    assert proc.returncode == 0 and report["rows_processed"] == 1
    assert csv_path.read_text(encoding="utf-8").startswith(f'Review,Summary\n"{long_text}",')


def test_merged_cells_in_the_input_and_output_columns(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in [
        ["Review", "Sentiment", "Note"],
        ["Great product, I love it.", None, None],
        ["Spans into the output column: awful.", None, None],
        ["Merged down over two rows, wonderful.", None, None],
        [None, None, None],
        ["Terrible, broke at once.", None, None],
    ]:
        ws.append(row)
    ws.merge_cells("A3:C3")  # input cell merged across the output column
    ws.merge_cells("A4:A5")  # input merged downwards: row 5 shows no text of its own
    wb.save(tmp_path / "merged.xlsx")
    path = tmp_path / "merged.xlsx"

    proc, report = run_json("run", path, *COLUMNS)
    assert proc.returncode == 0, proc.stderr
    assert report["skipped"] == {"output_merged": 1, "empty_input": 1}
    ws = openpyxl.load_workbook(path).active
    assert ws["B2"].value == "positive" and ws["B6"].value == "negative" and ws["B4"].value in LABELS
    assert sorted(str(r) for r in ws.merged_cells.ranges) == ["A3:C3", "A4:A5"]


def test_new_header_cell_inside_a_merged_title_is_refused(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Review", "Stars", None])
    ws.append(["Lovely.", 5, None])
    ws.merge_cells("B1:C1")
    wb.save(tmp_path / "title.xlsx")
    _fails_cleanly(tmp_path / "title.xlsx", *COLUMNS, expect="C1", fix="part of merged cells")


# -- read-only files and folders ----------------------------------------------------------------------------


def test_read_only_file(work: Path, request: pytest.FixtureRequest) -> None:
    path = work / "reviews.xlsx"
    immutable(path, request)
    _fails_cleanly(path, *COLUMNS, expect="is read-only", fix="--output-file")
    # The suggested fix works: the results go to a copy.
    target = work.parent / "copy.xlsx"
    proc = run_cli("run", path, *COLUMNS, "--output-file", target)
    assert proc.returncode == 0, proc.stderr
    assert sum(v is not None for v in column_values(target, "F", sheet="Reviews")) == 59


def test_read_only_folder(tmp_path: Path, request: pytest.FixtureRequest, pristine_examples: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    for name in ("reviews.xlsx", "reviews.csv"):
        shutil.copy(pristine_examples / name, folder / name)
    immutable(folder, request)
    _fails_cleanly(folder / "reviews.xlsx", *COLUMNS, expect="Cannot write in folder", fix="--output-file")
    _fails_cleanly(
        folder / "reviews.csv", "--input", "review", "--output", "s", expect="Cannot write in folder"
    )


def test_writability_check_uses_os_access(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same checks as above, independent of who runs the tests: os.access is what they consult
    # (root passes os.access on a chmod-ed file, so this simulates an ordinary user's view).
    target = tmp_path / "book.xlsx"
    target.write_bytes(b"x")
    monkeypatch.setattr(_files.os, "access", lambda path, mode: Path(path) != target)
    with pytest.raises(SourceError, match="is read-only"):
        _files.check_writable(target)
    monkeypatch.setattr(_files.os, "access", lambda path, mode: Path(path) != tmp_path)
    with pytest.raises(SourceError, match="Cannot write in folder"):
        _files.check_writable(target)
    monkeypatch.undo()
    _files.check_writable(target)  # writable: no error


# -- empty option values and names that are neither a file nor a spreadsheet -------------------------------


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("--input", "", "--output", "Sentiment"), "--input"),
        (("--input", "Review", "--output", ""), "--output"),
        ((*COLUMNS, "--status-column", ""), "--status-column"),
        ((*COLUMNS, "--sheet", ""), "--sheet"),
        ((*COLUMNS, "--output-file", ""), "--output-file"),
    ],
    ids=["input", "output", "status-column", "sheet", "output-file"],
)
def test_an_empty_option_value_is_a_usage_error(work: Path, args: tuple[str, ...], option: str) -> None:
    line = _fails_cleanly(work / "reviews.xlsx", *args, expect=f"{option} is empty")
    assert "Traceback" not in line and "AssertionError" not in line


def test_a_name_without_extension_that_is_no_file(tmp_path: Path) -> None:
    # A typo for reviews.xlsx: the file is not found (nothing about Google credentials).
    line = _fails_cleanly(Path("reviews"), *COLUMNS, expect="File 'reviews' not found", fix="Check the path")
    assert "credentials" not in line


SHEET_ID = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"  # the shape of a real spreadsheet id (44 chars)


def test_an_id_like_name_without_google_credentials_says_file_not_found() -> None:
    # No such file here, and no Google credentials to open it as a spreadsheet: say both, and how to make
    # it count as a spreadsheet id.
    line = _fails_cleanly(Path(SHEET_ID), *COLUMNS, expect=f"File {SHEET_ID!r} not found")
    assert "--credentials" in line and "spreadsheet id" in line
    assert not line.startswith("Error: No Google credentials found")


def test_a_name_without_extension_against_the_sheets_emulator() -> None:
    from sheets_ai.testing.sheets_server import SheetsEmulator

    with SheetsEmulator(port=0) as emu:
        sid = emu.add_spreadsheet("Book", {"Sheet1": [["Review"], ["great"]]})
        env = {"SHEETS_AI_SHEETS_ENDPOINT": emu.url}
        # With the emulator, any id-like name may be a spreadsheet: one that it does not have is neither.
        proc = run_cli("run", "reviews", *COLUMNS, "--provider", "local", env=env)
        assert proc.returncode == 2, proc.stderr
        line = proc.stderr.strip().splitlines()[-1]
        assert line.startswith("Error: File 'reviews' not found") and "spreadsheet" in line, line
        # One it has still opens.
        proc = run_cli("run", sid, *COLUMNS, "--provider", "local", env=env)
        assert proc.returncode == 0, proc.stderr
    # The emulator is gone: the name is still reported as a file that is not there.
    env = {"SHEETS_AI_SHEETS_ENDPOINT": emu.url, "SHEETS_AI_RETRY_ATTEMPTS": "1"}
    proc = run_cli("run", "reviews", *COLUMNS, "--provider", "local", env=env)
    assert proc.returncode == 2, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("Error: File 'reviews' not found") and "Cannot reach" in line, line
