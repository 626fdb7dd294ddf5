"""Input cells are sent as the text Excel displays, for the common number formats."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from sheets_ai.tables._numfmt import format_value
from sheets_ai.tables.xlsx import XlsxTable


@pytest.mark.parametrize(
    ("value", "fmt", "shown"),
    [
        (0.5, "0%", "50%"),
        (0.1234, "0.0%", "12.3%"),
        (1234.5, "#,##0.00", "1,234.50"),
        (1234.5, "#,##0", "1,235"),  # Excel rounds half up
        (3.5, "0.00", "3.50"),
        (-3.5, "0.00;(0.00)", "(3.50)"),
        (1234.5, "$#,##0.00", "$1,234.50"),
        (1234.5, "[$€-407]#,##0.00", "€1,234.50"),
        (5, '0 "pcs"', "5 pcs"),
        (42.0, "General", "42"),
        (dt.datetime(2024, 3, 5), "d/m/yyyy", "5/3/2024"),
        (dt.datetime(2024, 3, 5), "mmm d, yyyy", "Mar 5, 2024"),
        (dt.datetime(2024, 3, 5, 14, 7, 9), "yyyy-mm-dd hh:mm:ss", "2024-03-05 14:07:09"),
        (dt.datetime(2024, 3, 5, 14, 7), "h:mm AM/PM", "2:07 PM"),
        (dt.datetime(2024, 3, 5), 'yyyy"年"m"月"d"日"', "2024年3月5日"),
        (True, "General", "TRUE"),
    ],
)
def test_values_render_like_excel(value: object, fmt: str, shown: str) -> None:
    assert format_value(value, fmt) == shown


def test_unknown_formats_fall_back_to_the_plain_value() -> None:
    assert format_value(1e20, "0.00E+00") == "1e+20"
    assert format_value(0.25, "# ?/?") == "0.25"


def test_xlsx_input_cells_use_their_number_format(tmp_path: Path) -> None:
    path = tmp_path / "formats.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Value"])
    for value, fmt in [(0.5, "0%"), (1234.5, "#,##0.00"), (dt.datetime(2024, 3, 5), "d/m/yyyy")]:
        ws.append([value])
        ws.cell(ws.max_row, 1).number_format = fmt
    wb.save(path)
    with XlsxTable(path, for_writing=False) as table:
        data = table.read("Value", "Out")
    assert [c.text for c in data.cells] == ["50%", "1,234.50", "5/3/2024"]
