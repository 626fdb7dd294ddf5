"""A run changes nothing in a workbook but the output column (issue 7).

Every workbook in ``_workbooks`` carries one feature a re-save can lose (chart, image, sparklines, data bars,
icon sets, rich text, furigana, dynamic array, shared formulas, cached formula results, table with totals
row, autofilter, notes, defined names, protection, macros) or all of them. After ``sheets-ai run … --provider
local`` in place:

- every zip part is byte-identical and in the same order, except the target worksheet and a table or sheet
  autofilter that grows to take in the new column (see ``_xlsx_compare``);
- in the worksheet, every cell outside the output column is unchanged (value, formula, cached result,
  style, every attribute), and the output column holds the offline analyzer's answers as strings;
- openpyxl and pandas read the results back, and LibreOffice Calc opens the file and shows them, with every
  other cell of every sheet showing what it showed before.

These tests were written before the sheet-XML patch writer and failed on the openpyxl re-save it replaced
(every part rewritten, cached results and extensions dropped, macro/chart workbooks diverted to
NAME.sheets-ai.xlsx).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from _fidelity_checks import assert_libreoffice_agrees, assert_readers_agree, expectation
from _libreoffice import find_soffice
from _workbooks import BUILDERS, VBA_CONTENT_TYPE, Book, build
from _xlsx_compare import compare_workbooks, read_parts
from conftest import run_json
from openpyxl.utils import column_index_from_string

#: openpyxl warns when it reads (only reads, here) the x14 extensions these workbooks carry on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:.*extension is not supported and will be removed:UserWarning")
RUN = ("--task", "sentiment", "--input", "Review", "--output", "Sentiment", "--provider", "local")


@dataclass
class Ran:
    """One run of the CLI on a freshly built workbook, shared by the tests that look at its result."""

    book: Book
    pristine: Path  # a copy of the workbook as built
    proc: subprocess.CompletedProcess[str]
    report: dict[str, Any]
    folder_before: set[str]


_RUNS: dict[str, Ran] = {}


def _run_on(feature: str, factory: pytest.TempPathFactory) -> Ran:
    """Build ``feature``'s workbook and run on it once per session (the run happens inside the calling
    test, so under its isolated environment)."""
    if feature not in _RUNS:
        folder = factory.mktemp(feature)
        book = build(feature, folder / "book")
        pristine = folder / f"pristine{book.path.suffix}"
        shutil.copyfile(book.path, pristine)
        names = {p.name for p in book.path.parent.iterdir()}
        proc, report = run_json("run", book.path, *RUN)
        _RUNS[feature] = Ran(book, pristine, proc, report, names)
    return _RUNS[feature]


def assert_done_in_place(ran: Ran) -> None:
    path = ran.book.path
    assert ran.proc.returncode == 0, f"run on {path.name} exited {ran.proc.returncode}: {ran.proc.stderr}"
    assert ran.report["output"] == str(path), (
        f"results for {path.name} went to {ran.report['output']}, not into the workbook itself; "
        f"notices: {ran.report.get('notices')}"
    )
    extra = {p.name for p in path.parent.iterdir()} - ran.folder_before
    assert not extra, f"the run on {path.name} left files beside it: {sorted(extra)}"


# -- the builders ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("feature", list(BUILDERS))
def test_each_workbook_carries_its_feature(feature: str, tmp_path: Path) -> None:
    book = build(feature, tmp_path)
    parts = read_parts(book.path)
    for part, marker in book.markers.items():
        assert part in parts, f"{book.path.name} has no part {part}"
        assert marker in parts[part].decode("utf-8", "replace"), (
            f"{part} of {book.path.name} lacks {marker!r}"
        )
    wb = openpyxl.load_workbook(book.path)
    assert wb.sheetnames[0] == "Reviews"
    assert [c.value for c in wb["Reviews"][1]][:3] == ["ID", "Review", "Stars"]
    assert wb["Reviews"].max_column + 1 == column_index_from_string(book.output_col)
    wb.close()


# -- one run per feature -------------------------------------------------------------------------------------


@pytest.mark.parametrize("feature", list(BUILDERS))
def test_a_run_changes_only_the_output_column(feature: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    ran = _run_on(feature, tmp_path_factory)
    assert_done_in_place(ran)
    compare_workbooks(ran.pristine, ran.book.path, expectation(ran.book, ran.pristine))


@pytest.mark.parametrize("feature", list(BUILDERS))
def test_openpyxl_and_pandas_read_the_results(feature: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    ran = _run_on(feature, tmp_path_factory)
    assert_done_in_place(ran)
    assert_readers_agree(ran.book.path, expectation(ran.book, ran.pristine))


@pytest.mark.slow
@pytest.mark.parametrize("feature", list(BUILDERS))
def test_libreoffice_shows_the_results_and_everything_else_as_before(
    feature: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    soffice = find_soffice()
    ran = _run_on(feature, tmp_path_factory)
    assert_done_in_place(ran)
    expect = expectation(ran.book, ran.pristine)
    assert_libreoffice_agrees(soffice, ran.pristine, ran.book.path, expect, tmp_path)


@pytest.mark.parametrize("feature", ["macro", "chart", "kitchen_sink"])
def test_macro_and_chart_workbooks_get_their_results_in_place(
    feature: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ran = _run_on(feature, tmp_path_factory)
    assert_done_in_place(ran)
    old, new = read_parts(ran.pristine), read_parts(ran.book.path)
    for part in (
        "xl/vbaProject.bin",
        "xl/charts/chart1.xml",
        "xl/drawings/drawing1.xml",
        "[Content_Types].xml",
    ):
        if part in old:
            assert new.get(part) == old[part], f"{part} of {ran.book.path.name} did not survive byte for byte"
    if ran.book.path.suffix == ".xlsm":
        assert VBA_CONTENT_TYPE in new["[Content_Types].xml"].decode()
        assert b"macroEnabled.main+xml" in new["[Content_Types].xml"]


# -- other ways to run -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("feature", "name"), [("kitchen_sink", "out.xlsm"), ("table", "out.xlsx")])
def test_output_file_is_the_source_plus_the_column(feature: str, name: str, tmp_path: Path) -> None:
    book = build(feature, tmp_path / "book")
    source = book.path.read_bytes()
    target = tmp_path / name
    proc, report = run_json("run", book.path, *RUN, "--output-file", target)
    assert proc.returncode == 0, proc.stderr
    assert report["output"] == str(target)
    assert book.path.read_bytes() == source, f"--output-file changed the source {book.path.name}"
    expect = expectation(book, book.path)
    compare_workbooks(book.path, target, expect)
    assert_readers_agree(target, expect)


@pytest.mark.parametrize("feature", ["kitchen_sink", "formula_input"])
def test_a_second_run_changes_nothing(feature: str, tmp_path: Path) -> None:
    book = build(feature, tmp_path / "book")
    proc, report = run_json("run", book.path, *RUN)
    assert proc.returncode == 0 and report["output"] == str(book.path), (proc.stderr, report["output"])
    first = book.path.read_bytes()
    proc, report = run_json("run", book.path, *RUN)
    assert proc.returncode == 0, f"the second run exited {proc.returncode}: {proc.stderr}"
    assert report["output"] == str(book.path)
    assert report["rows_processed"] == 0 and report["rows_failed"] == 0, (
        f"the second run did work: processed {report['rows_processed']}, skipped {report['skipped']}, "
        f"failures {report['failures'][:3]}"
    )
    assert book.path.read_bytes() == first, f"the second run rewrote {book.path.name}"


def test_a_limited_run_then_a_rerun_completes_formula_inputs(tmp_path: Path) -> None:
    """The input column is formulas: the rerun must still find the results Excel cached for them."""
    book = build("formula_input", tmp_path / "book")
    pristine = tmp_path / "pristine.xlsx"
    shutil.copyfile(book.path, pristine)
    expect = expectation(book, pristine)
    assert len(expect.results) == 11

    proc, report = run_json("run", book.path, *RUN, "--limit", "3")
    assert proc.returncode == 0 and report["rows_processed"] == 3, proc.stderr
    proc, report = run_json("run", book.path, *RUN)
    wb = openpyxl.load_workbook(book.path)
    undone = [r for r in expect.results if wb[book.sheet][f"{book.output_col}{r}"].value is None]
    wb.close()
    assert not (proc.returncode == 0 and undone), (
        f"the rerun exited 0 with rows {undone} undone (skipped {report['skipped']}): the first run lost the "
        "results Excel cached for the input formulas"
    )
    assert not undone and report["rows_processed"] == 8 and report["skipped"].get("already_done") == 3, (
        f"the rerun exited {proc.returncode}, processed {report['rows_processed']} rows, skipped "
        f"{report['skipped']}, left rows {undone} undone; failures {report['failures'][:3]}"
    )
    assert proc.returncode == 0, proc.stderr
    compare_workbooks(pristine, book.path, expect)
