"""The sheet XML patcher on worksheet shapes real producers write: namespace prefixes (Open XML SDK), rows
and cells without ``r`` (streaming writers), self-closing rows, an empty ``<sheetData/>``, rows with an
``extLst``. Every result is parsed back with a real XML parser and with openpyxl."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import openpyxl
import pytest

from sheets_ai.tables.xlsx_patch import SheetPatch, grow_table_xml, patch_package, patch_sheet_xml

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS = {"m": MAIN}


def _sheet(body: str, *, head: str = '<dimension ref="A1:B3"/>', prefix: str = "") -> bytes:
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<{p}worksheet {xmlns} '
        f'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f"{head.replace('<', '<' + p).replace('<' + p + '/', '</' + p)}"
        f'<{p}sheetData>{body}</{p}sheetData><{p}pageMargins left="0.7" right="0.7" top="0.75" '
        f'bottom="0.75" header="0.3" footer="0.3"/></{p}worksheet>'
    ).encode()


def _cells(xml: bytes) -> dict[str, tuple[str | None, str | None, str | None]]:
    """ref -> (type, style, text) for every cell, computing refs the way a reader must when r is absent."""
    root = ET.fromstring(xml)
    found = {}
    row_number = 0
    for row in root.iter(f"{{{MAIN}}}row"):
        row_number = int(row.get("r", row_number + 1))
        col = 0
        for c in row.findall("m:c", NS):
            ref = c.get("r")
            col = openpyxl.utils.column_index_from_string(ref.rstrip("0123456789")) if ref else col + 1
            text = "".join(t.text or "" for t in c.iter(f"{{{MAIN}}}t")) or (c.findtext("m:v", None, NS))
            found[f"{openpyxl.utils.get_column_letter(col)}{row_number}"] = (c.get("t"), c.get("s"), text)
    return found


def _patch(**cells: str) -> SheetPatch:
    patch = SheetPatch("xl/worksheets/sheet1.xml")
    for ref, text in cells.items():
        col = openpyxl.utils.column_index_from_string(ref.rstrip("0123456789"))
        patch.set(int(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")), col, text)
    return patch


def test_cells_are_added_replaced_and_rows_created_in_order() -> None:
    xml = _sheet(
        '<row r="1" spans="1:2"><c r="A1" t="s"><v>0</v></c><c r="B1" s="3"/></row>'
        '<row r="3"><c r="A3"><f>1+1</f><v>2</v></c></row>'
    )
    out = patch_sheet_xml(xml, _patch(B1="header", C1="new", C2="row two", C3="three", C5="five"))
    cells = _cells(out)
    assert cells["A1"] == ("s", None, "0")
    assert cells["B1"] == ("inlineStr", "3", "header")  # replaced, keeping its style
    assert cells["C1"] == ("inlineStr", None, "new")
    assert cells["C2"][2] == "row two" and cells["C5"][2] == "five"
    root = ET.fromstring(out)
    assert [r.get("r") for r in root.iter(f"{{{MAIN}}}row")] == ["1", "2", "3", "5"]
    assert root.find("m:sheetData/m:row", NS).get("spans") == "1:3"
    assert root.find("m:dimension", NS).get("ref") == "A1:C5"
    assert root.find(".//m:c[@r='A3']/m:f", NS).text == "1+1"  # the formula and its stored result stay
    assert out.endswith(xml[xml.index(b"<pageMargins") :])  # everything after sheetData is untouched


def test_a_prefixed_main_namespace_keeps_its_prefix() -> None:
    xml = _sheet(
        '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>Review</x:t></x:is></x:c></x:row>', prefix="x"
    )
    out = patch_sheet_xml(xml, _patch(B1="Sentiment", B2="positive"))
    assert b'<x:c r="B1"' in out and b'<x:row r="2">' in out and b"<c " not in out
    assert _cells(out)["B2"] == ("inlineStr", None, "positive")


def test_rows_and_cells_without_r_are_counted_in_order() -> None:
    xml = _sheet("<row><c><v>1</v></c><c><v>2</v></c></row><row/><row><c><v>3</v></c></row>")
    out = patch_sheet_xml(xml, _patch(B1="b1", C2="c2", A3="a3"))
    cells = _cells(out)
    assert cells["A1"][2] == "1" and cells["B1"] == ("inlineStr", None, "b1")  # B1 replaced the 2
    assert cells["C2"][2] == "c2" and cells["A3"][2] == "a3"
    assert len([r for r in ET.fromstring(out).iter(f"{{{MAIN}}}row")]) == 3  # no row added or lost


def test_an_empty_sheet_and_a_row_extlst() -> None:
    empty = _sheet("").replace(b"<sheetData></sheetData>", b"<sheetData/>")
    out = patch_sheet_xml(empty, _patch(A1="x"))
    assert _cells(out) == {"A1": ("inlineStr", None, "x")}
    ext = '<extLst><ext uri="{x}"><y/></ext></extLst>'
    xml = _sheet(f'<row r="1"><c r="A1"><v>1</v></c>{ext}</row>')
    out = patch_sheet_xml(xml, _patch(B1="b"))
    assert b'<c r="A1"><v>1</v></c><c r="B1" t="inlineStr">' in out
    assert out.index(b"<extLst>") > out.index(b'r="B1"')  # cells stay before the row's extLst


def test_new_cells_take_the_row_or_column_style_and_text_is_escaped() -> None:
    head = '<dimension ref="A1"/><cols><col min="2" max="4" width="30" style="7" customWidth="1"/></cols>'
    xml = _sheet('<row r="1" s="5" customFormat="1"><c r="A1"/></row><row r="2"><c r="A2"/></row>', head=head)
    out = patch_sheet_xml(xml, _patch(B1="=1+1", B2="<b> & \r\n \x00\x07 ok"))
    cells = _cells(out)
    assert cells["B1"] == ("inlineStr", "5", "=1+1")  # the row's style; a string, never a formula
    assert cells["B2"] == ("inlineStr", "7", "<b> & \r\n  ok")  # the column's style; NUL/BEL removed
    assert b"<f>" not in out


def test_a_table_grows_by_named_columns() -> None:
    table = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<table xmlns="{MAIN}" id="1" name="T" '
        'displayName="T" ref="A1:B5" totalsRowCount="1"><autoFilter ref="A1:B4"/><tableColumns count="2">'
        '<tableColumn id="1" name="ID"/><tableColumn id="2" name="Review" totalsRowFunction="count"/>'
        '</tableColumns><tableStyleInfo name="TableStyleMedium2" showRowStripes="1"/></table>'
    ).encode()
    out = ET.fromstring(grow_table_xml(table, "A1:D5", ["Sentiment & co", "Status"]))
    assert out.get("ref") == "A1:D5" and out.find("m:autoFilter", NS).get("ref") == "A1:D4"
    columns = out.find("m:tableColumns", NS)
    assert columns.get("count") == "4"
    assert [(c.get("id"), c.get("name")) for c in columns] == [
        ("1", "ID"), ("2", "Review"), ("3", "Sentiment & co"), ("4", "Status")
    ]  # fmt: skip
    assert out.find("m:tableStyleInfo", NS) is not None


def test_every_other_part_is_copied_byte_for_byte(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["Review"])
    wb.active.append(["good"])
    wb.create_sheet("Other").append(["x"])
    source = tmp_path / "in.xlsx"
    wb.save(source)
    patch = _patch(B1="Sentiment", B2="positive")
    patch_package(io.BytesIO(source.read_bytes()), tmp_path / "out.xlsx", patch)
    with zipfile.ZipFile(source) as a, zipfile.ZipFile(tmp_path / "out.xlsx") as b:
        assert a.namelist() == b.namelist()
        assert [n for n in a.namelist() if a.read(n) != b.read(n)] == ["xl/worksheets/sheet1.xml"]
    ws = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert (ws["B1"].value, ws["B2"].value) == ("Sentiment", "positive")


@pytest.mark.parametrize("bad", [b"<worksheet>", _sheet("").replace(b"</sheetData>", b"")])
def test_a_damaged_sheet_is_a_clear_error(bad: bytes) -> None:
    from sheets_ai.errors import SourceError

    with pytest.raises(SourceError, match=r"damaged|truncated"):
        patch_sheet_xml(bad, _patch(A1="x"))
