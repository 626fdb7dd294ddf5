"""Excel files: everything outside the output column survives, results are never formulas, unsupported
parts are never overwritten, saves are atomic and checkpointed, and concurrent runs are refused."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import openpyxl
import pytest
from conftest import column_values, invoke, make_xlsx, openai_args, run_cli, run_json
from filelock import FileLock
from openpyxl.utils import get_column_letter

from sheets_ai.tables._files import lock_path_for
from sheets_ai.testing._openai_answers import expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
LABELS = {"positive", "negative", "neutral", "mixed"}


def _style(cell: Any) -> tuple:
    return (
        cell.number_format,
        repr(cell.font),
        repr(cell.fill),
        repr(cell.border),
        repr(cell.alignment),
        repr(cell.protection),
    )


def _workbook_picture(path: Path, skip: dict[str, set[str]]) -> dict[str, Any]:
    """Everything a user could notice in a workbook, except the columns in ``skip`` (sheet -> letters)."""
    wb = openpyxl.load_workbook(path)
    picture: dict[str, Any] = {
        "sheets": wb.sheetnames,
        "active": wb.active.title if wb.active else None,
        "names": {n: d.attr_text for n, d in wb.defined_names.items()},
    }
    for ws in wb.worksheets:
        skipped = skip.get(ws.title, set())
        cells = {}
        for row in ws.iter_rows():
            for cell in row:
                if get_column_letter(cell.column) in skipped:
                    continue
                cells[cell.coordinate] = (cell.value, cell.data_type, _style(cell))
        picture[ws.title] = {
            "cells": cells,
            "widths": {k: (d.width, d.hidden) for k, d in ws.column_dimensions.items() if k not in skipped},
            "heights": {k: d.height for k, d in ws.row_dimensions.items()},
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "validations": sorted(
                (str(dv.sqref), dv.type, dv.formula1, dv.formula2, dv.allow_blank, dv.showErrorMessage)
                for dv in ws.data_validations.dataValidation
            ),
            "freeze": ws.freeze_panes,
            "filter": ws.auto_filter.ref,
            "conditional": sorted(str(r.sqref) for r in ws.conditional_formatting),
            "print_title_rows": ws.print_title_rows,
            "sheet_state": ws.sheet_state,
        }
    wb.close()
    return picture


def _sheet_xml(path: Path, part: str = "xl/worksheets/sheet1.xml") -> ET.Element:
    with zipfile.ZipFile(path) as zf:
        return ET.fromstring(zf.read(part))


def _leftovers(folder: Path, expected: set[str]) -> set[str]:
    return {p.name for p in folder.iterdir()} - expected


# -- fidelity -------------------------------------------------------------------------------------------


def test_everything_outside_the_output_column_survives(work: Path) -> None:
    path = work / "reviews.xlsx"
    before = _workbook_picture(path, skip={"Reviews": {"F"}})
    # The example really has what we check, or the comparison would prove little.
    assert before["Reviews"]["merged"] == [] and before["Summary"]["merged"] == ["A1:D1"]
    assert before["Reviews"]["validations"] and before["Reviews"]["freeze"] == "A2"
    assert before["Reviews"]["filter"] and "ReviewCount" in before["names"]
    assert before["Reviews"]["cells"]["E2"][:2] == ("=LEN(B2)", "f")
    assert before["Reviews"]["widths"]["B"][0] > 20

    proc = run_cli("run", path, "--task", "sentiment", "--input", "Review", "--output", "Sentiment")
    assert proc.returncode == 0, proc.stderr
    after = _workbook_picture(path, skip={"Reviews": {"F"}})
    # The sheet's autofilter covered the input; the new column next to it joins it (so sorting keeps
    # each result with its row). Nothing else changes.
    assert (before["Reviews"].pop("filter"), after["Reviews"].pop("filter")) == ("A1:E61", "A1:F61")
    for key in before:
        assert after[key] == before[key], f"{key} changed"
    reviews = column_values(path, "B", sheet="Reviews")
    results = column_values(path, "F", sheet="Reviews")
    assert len(results) == len(reviews)
    for review, result in zip(reviews, results, strict=True):
        assert (result in LABELS) if review else result is None
    # Formulas stay formulas in the file itself (not replaced by cached values).
    sheet2 = _sheet_xml(path, "xl/worksheets/sheet2.xml")
    assert sheet2.findall(".//m:c/m:f", NS), "Summary lost its formulas"


def test_the_example_run_leaves_no_files_behind(work: Path) -> None:
    names = {p.name for p in work.iterdir()}
    proc = run_cli("run", work / "reviews.xlsx", "--input", "Review", "--output", "Sentiment")
    assert proc.returncode == 0, proc.stderr
    assert _leftovers(work, names) == set()  # no lock file, no temporary file
    assert (work / "reviews.xlsx").stat().st_mode & 0o777 == 0o644


# -- values, not formulas -------------------------------------------------------------------------------

FORMULA_LIKE = ["=SUM(C2:C9)", "+1 (555) 0100", "-5 stars", "@mention", '=HYPERLINK("http://x","x")']


def test_results_that_look_like_formulas_are_stored_as_text(work: Path, fake_openai: FakeOpenAI) -> None:
    path = work / "reviews.xlsx"
    # Reviews typed with a leading space (text to Excel, not formulas) whose summaries are the formula-like
    # strings: the fake model summarizes to the first sentence, whitespace collapsed.
    wb = openpyxl.load_workbook(path)
    for row, text in enumerate(FORMULA_LIKE, start=2):
        wb["Reviews"].cell(row, 2).value = " " + text
    wb.save(path)
    assert [expected_answer("summarize", " " + t) for t in FORMULA_LIKE] == FORMULA_LIKE
    result = invoke(
        "run", path, "--task", "summarize", "--input", "Review", "--output", "Summary", "--limit", "5",
        *openai_args(fake_openai),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    root = _sheet_xml(path)
    cells = {c.get("r"): c for c in root.iterfind(".//m:c", NS)}
    for row in range(2, 7):
        cell = cells[f"F{row}"]
        assert cell.find("m:f", NS) is None, f"F{row} was written as a formula"
        assert cell.get("t") in {"s", "inlineStr", "str"}
    ws = openpyxl.load_workbook(path)["Reviews"]
    assert [ws.cell(r, 6).value for r in range(2, 7)] == FORMULA_LIKE
    assert all(ws.cell(r, 6).data_type != "f" for r in range(2, 7))


def test_control_characters_in_results_do_not_break_the_file(work: Path, fake_openai: FakeOpenAI) -> None:
    path = work / "reviews.xlsx"
    fake_openai.script("control")  # the answers carry NUL and BEL, which an xlsx cell cannot hold
    result = invoke(
        "run", path, "--task", "summarize", "--input", "Review", "--output", "Summary", "--limit", "2",
        *openai_args(fake_openai),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert fake_openai.counts() == {"control": 1}  # one request, its answers accepted as they came
    reviews = column_values(path, "B", sheet="Reviews")[:2]
    assert column_values(path, "F", sheet="Reviews")[:2] == [expected_answer("summarize", t) for t in reviews]


# -- parts openpyxl cannot keep ---------------------------------------------------------------------------


def _with_chart(path: Path) -> Path:
    from openpyxl.chart import BarChart, Reference

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Review", "Stars"])
    for text, stars in [("Great value, love it.", 5), ("Terrible, broke in a day.", 1), ("It is fine.", 3)]:
        ws.append([text, stars])
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=4), titles_from_data=True)
    ws.add_chart(chart, "D2")
    wb.save(path)
    assert any(n.startswith("xl/charts/") for n in zipfile.ZipFile(path).namelist())
    return path


def test_workbook_with_a_chart_gets_its_results_in_place(tmp_path: Path) -> None:
    path = _with_chart(tmp_path / "charted.xlsx")
    with zipfile.ZipFile(path) as zf:
        before = {i.filename: zf.read(i) for i in zf.infolist()}
    proc, report = run_json("run", path, "--input", "Review", "--output", "Sentiment")
    assert proc.returncode == 0, proc.stderr
    assert report["output"] == str(path)
    assert not list(tmp_path.glob("*.sheets-ai*"))  # no NAME.sheets-ai.xlsx beside it
    with zipfile.ZipFile(path) as zf:
        after = {i.filename: zf.read(i) for i in zf.infolist()}
    assert list(after) == list(before)  # same parts, same order
    changed = [name for name in before if after[name] != before[name]]
    assert changed == ["xl/worksheets/sheet1.xml"]  # the chart and its drawing are byte-identical
    results = column_values(path, "C")
    assert results[:2] == ["positive", "negative"] and results[2] in LABELS

    # A rerun has nothing to do and changes nothing.
    saved = path.read_bytes()
    proc, report = run_json("run", path, "--input", "Review", "--output", "Sentiment")
    assert proc.returncode == 0 and report["rows_processed"] == 0 and report["skipped"]["already_done"] == 3
    assert path.read_bytes() == saved


def test_output_file_option(work: Path) -> None:
    path = work / "reviews.xlsx"
    before = path.read_bytes()
    target = work / "out" / "results.xlsx"
    target.parent.mkdir()
    proc, report = run_json(
        "run", path, "--input", "Review", "--output", "Sentiment", "--output-file", target
    )
    assert proc.returncode == 0, proc.stderr
    assert path.read_bytes() == before
    assert report["output"] == str(target)
    assert sum(v is not None for v in column_values(target, "F", sheet="Reviews")) == 59
    assert openpyxl.load_workbook(target).sheetnames == ["Reviews", "Summary"]


def test_output_file_in_a_missing_folder_is_a_clear_error(work: Path) -> None:
    proc = run_cli(
        "run",
        work / "reviews.xlsx",
        "--input",
        "Review",
        "--output",
        "S1",
        "--output-file",
        work / "no" / "x.xlsx",
    )
    assert proc.returncode == 2 and "does not exist" in proc.stderr


# -- atomic saves and checkpoints ---------------------------------------------------------------------------


def test_checkpoints_save_during_the_run_and_leave_no_temporary_files(tmp_path: Path) -> None:
    rows = [["Review"]] + [[f"Order {i} arrived late and the box was damaged."] for i in range(300)]
    path = make_xlsx(tmp_path / "many.xlsx", rows)
    names = {p.name for p in tmp_path.iterdir()}
    proc = run_cli(
        "run", path, "--input", "Review", "--output", "Sentiment", "--batch-size", "10",
        "--checkpoint-seconds", "0.000001", "--debug",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    saves = [line for line in proc.stderr.splitlines() if line.startswith("sheets-ai: saved ")]
    assert len(saves) >= 10  # one per batch at least, plus the final save
    assert all(v is not None for v in column_values(path, "B"))
    assert _leftovers(tmp_path, names) == set()


def test_a_failed_save_leaves_the_original_intact(tmp_path: Path) -> None:
    from sheets_ai.tables._files import atomic_save

    tmp_path = tmp_path / "folder"
    tmp_path.mkdir()
    target = tmp_path / "data.bin"
    target.write_bytes(b"original")

    def broken(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_save(target, broken)
    assert target.read_bytes() == b"original"
    assert [p.name for p in tmp_path.iterdir()] == ["data.bin"]


def test_a_new_output_file_gets_normal_permissions(work: Path) -> None:
    import os

    umask = os.umask(0o022)
    os.umask(umask)
    target = work / "fresh.xlsx"
    proc = run_cli(
        "run", work / "reviews.xlsx", "--input", "Review", "--output", "S1", "--output-file", target
    )
    assert proc.returncode == 0, proc.stderr
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


# -- locks --------------------------------------------------------------------------------------------------


def test_a_second_run_on_the_same_file_is_refused(work: Path) -> None:
    path = work / "reviews.xlsx"
    before = path.read_bytes()
    with FileLock(str(lock_path_for(path))):
        proc = run_cli("run", path, "--input", "Review", "--output", "Sentiment")
    assert proc.returncode == 2
    assert "Another sheets-ai run is already writing reviews.xlsx" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert path.read_bytes() == before
    # Once the other run is gone, the file can be processed.
    assert run_cli("run", path, "--input", "Review", "--output", "Sentiment").returncode == 0


def test_dry_run_does_not_need_the_lock(work: Path) -> None:
    path = work / "reviews.xlsx"
    with FileLock(str(lock_path_for(path))):
        proc = run_cli("run", path, "--input", "Review", "--output", "Sentiment", "--dry-run")
    assert proc.returncode == 0, proc.stderr


def test_file_open_in_excel_gets_a_warning(work: Path) -> None:
    (work / "~$reviews.xlsx").write_bytes(b"owner file")
    proc = run_cli("run", work / "reviews.xlsx", "--input", "Review", "--output", "Sentiment", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "looks open in Excel (~$reviews.xlsx exists)" in proc.stderr
    assert any("looks open in Excel" in n for n in json.loads(proc.stdout)["notices"])


def test_temporary_files_of_a_killed_save_are_removed_by_the_next_run(work: Path) -> None:
    stale = work / ".~reviews.k3j_9x2a.xlsx.tmp"
    stale.write_bytes(b"half a workbook")
    other = work / ".~reviews.x.k3j_9x2a.xlsx.tmp"  # belongs to reviews.x.xlsx: not ours
    other.write_bytes(b"someone else's")
    proc = run_cli("run", work / "reviews.xlsx", "--input", "Review", "--output", "Sentiment")
    assert proc.returncode == 0, proc.stderr
    assert not stale.exists() and other.exists()
