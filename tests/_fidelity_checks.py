"""The checks every fidelity test makes on a written workbook, beyond the zip and XML comparison.

- :func:`expectation`: what the output column should hold (the offline analyzer's answers for the inputs);
- :func:`assert_readers_agree`: openpyxl and pandas read the output column back;
- :func:`assert_libreoffice_agrees`: LibreOffice Calc opens the workbook, shows the output column as openpyxl
  reads it, and shows every other cell of every sheet as it showed the workbook before the run.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
from _libreoffice import cell, convert_to_csv
from _workbooks import Book
from _xlsx_compare import Expectation
from conftest import local_answers
from openpyxl.utils import column_index_from_string, get_column_letter

HEADER = "Sentiment"


def expectation(book: Book, source: Path) -> Expectation:
    """The output column a run on ``source`` should write: the analyzer's answer for each input text."""
    wb = openpyxl.load_workbook(source, data_only=True)
    ws = wb[book.sheet]
    headers = [c.value for c in ws[1]]
    col = headers.index(book.input_header) + 1
    texts = {
        r: str(ws.cell(r, col).value)
        for r in range(2, ws.max_row + 1)
        if ws.cell(r, col).value not in (None, "")
    }
    wb.close()
    answers = local_answers("sentiment", list(texts.values()))
    return Expectation(
        sheet=book.sheet,
        input_col=get_column_letter(col),
        output_col=book.output_col,
        header_row=1,
        header=HEADER,
        results=dict(zip(texts, answers, strict=True)),
    )


def assert_readers_agree(path: Path, expect: Expectation) -> None:
    """openpyxl and pandas load the workbook and read the output column as the expected strings."""
    col = column_index_from_string(expect.output_col)
    wb = openpyxl.load_workbook(path)
    ws = wb[expect.sheet]
    got = {r: ws.cell(r, col).value for r in range(expect.header_row, ws.max_row + 1)}
    wb.close()
    wanted = {r: None for r in got} | {expect.header_row: expect.header, **expect.results}
    assert got == wanted, f"openpyxl reads column {expect.output_col} of {path.name} as {got}"
    frame = pd.read_excel(path, sheet_name=expect.sheet, header=expect.header_row - 1)
    assert expect.header in frame.columns, f"pandas finds no {expect.header!r} column in {path.name}"
    series = frame[expect.header]
    values = {expect.header_row + 1 + i: (None if pd.isna(v) else v) for i, v in enumerate(series)}
    assert values == {r: v for r, v in wanted.items() if r != expect.header_row}, f"pandas reads {values}"


def assert_libreoffice_agrees(
    soffice: str, before_path: Path, after_path: Path, expect: Expectation, folder: Path
) -> None:
    """LibreOffice shows the results where openpyxl reads them, and everything else as before the run."""
    sheets = convert_to_csv(soffice, {"before": before_path, "after": after_path}, folder)
    before, after = sheets["before"], sheets["after"]
    assert list(after) == list(before), (
        f"LibreOffice sees sheets {list(after)}, before the run {list(before)}"
    )

    out = column_index_from_string(expect.output_col)
    wb = openpyxl.load_workbook(after_path)
    read_back = {r: wb[expect.sheet].cell(r, out).value for r in range(1, wb[expect.sheet].max_row + 1)}
    wb.close()
    rows = after[expect.sheet]
    shown = {r: cell(rows, r, out) or None for r in read_back}
    assert shown == read_back, (
        f"LibreOffice shows column {expect.output_col} as {shown}, openpyxl reads {read_back}"
    )
    assert shown[expect.header_row] == expect.header and all(
        shown[r] == text for r, text in expect.results.items()
    )

    formulas = _formula_cells(before_path)
    changed = []
    for name, old_rows in before.items():
        new_rows = after[name]
        height = max(len(old_rows), len(new_rows))
        width = max((len(r) for r in old_rows + new_rows), default=0)
        for r in range(1, height + 1):
            for c in range(1, width + 1):
                if name == expect.sheet and c == out:
                    continue
                old, new = cell(old_rows, r, c), cell(new_rows, r, c)
                ref = f"{name}!{get_column_letter(c)}{r}"
                if old != new or (ref in formulas and not new):
                    changed.append(f"{ref}: {old!r} -> {new!r}")
    assert not changed, "LibreOffice shows other cells differently after the run:\n" + "\n".join(changed[:30])


def _formula_cells(path: Path) -> set[str]:
    wb = openpyxl.load_workbook(path)
    found = {
        f"{ws.title}!{c.coordinate}"
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.data_type == "f"
    }
    wb.close()
    return found
