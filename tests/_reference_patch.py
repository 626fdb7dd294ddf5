"""A minimal stand-in for the surgical writer, used only to check the fidelity harness itself.

It does what issue 7 asks of the real writer and nothing more: copy every zip part, patch the output cells
(inline strings) into the worksheet XML with ``<dimension>`` and row ``spans``, and grow an adjacent table or
sheet autofilter (and its ``_xlnm._FilterDatabase`` name). If the harness accepts this and rejects each kind of
damage, its failures on today's code are about the code, not about the harness.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path

from _xlsx_compare import (
    FILTER_DATABASE,
    Expectation,
    M,
    grown,
    read_parts,
    sheet_part,
    should_grow,
    split_ref,
    table_parts,
)
from lxml import etree
from openpyxl.utils import column_index_from_string, get_column_letter


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _patch_sheet(xml: bytes, column: str, values: Mapping[int, str], filter_grows: bool) -> bytes:
    root = etree.fromstring(xml)
    data = root.find(f"{M}sheetData")
    assert data is not None
    col = column_index_from_string(column)
    rows = {int(r.get("r", "0")): r for r in data}
    for number, text in sorted(values.items()):
        row = rows.get(number)
        if row is None:
            row = etree.Element(f"{M}row", r=str(number))
            later = [n for n in rows if n > number]
            if later:
                rows[min(later)].addprevious(row)
            else:
                data.append(row)
            rows[number] = row
        cell = etree.Element(f"{M}c", r=f"{column}{number}", t="inlineStr")
        etree.SubElement(etree.SubElement(cell, f"{M}is"), f"{M}t").text = text
        after = [c for c in row if column_index_from_string(split_ref(c.get("r", ""))[0]) > col]
        if after:
            after[0].addprevious(cell)
        else:
            row.append(cell)
        if row.get("spans"):
            low, high = map(int, row.get("spans", "").split(":"))
            row.set("spans", f"{min(low, col)}:{max(high, col)}")
    cells = [split_ref(c.get("r", "")) for c in data.iter(f"{M}c")]
    cols = [column_index_from_string(c) for c, _ in cells]
    numbers = [r for _, r in cells]
    dimension = root.find(f"{M}dimension")
    if dimension is not None:
        dimension.set("ref", f"A{min(numbers)}:{get_column_letter(max(cols))}{max(numbers)}")
    auto = root.find(f"{M}autoFilter")
    if filter_grows and auto is not None:
        auto.set("ref", grown(auto.get("ref", "")))
    return _serialize(root)


def _grow_table(xml: bytes, header: str) -> bytes:
    root = etree.fromstring(xml)
    root.set("ref", grown(root.get("ref", "")))
    auto = root.find(f"{M}autoFilter")
    if auto is not None:
        auto.set("ref", grown(auto.get("ref", "")))
    columns = root.find(f"{M}tableColumns")
    assert columns is not None
    new_id = max(int(c.get("id", "0")) for c in columns) + 1
    etree.SubElement(columns, f"{M}tableColumn", id=str(new_id), name=header)
    columns.set("count", str(len(columns)))
    return _serialize(root)


def _grow_filter_name(xml: bytes, sheet: str, ref: str) -> bytes:
    root = etree.fromstring(xml)
    first, _, last = ref.partition(":")
    (c1, r1), (c2, r2) = split_ref(first), split_ref(last)
    for name in root.iter(f"{M}definedName"):
        if name.get("name") == FILTER_DATABASE and (name.text or "").startswith(f"{sheet}!"):
            name.text = f"{sheet}!${c1}${r1}:${c2}${r2}"
    return _serialize(root)


def patch(source: Path, target: Path, expect: Expectation) -> None:
    """Write ``target``: ``source`` plus the expected output column, as the surgical writer should."""
    parts = read_parts(source)
    sheet = sheet_part(parts, expect.sheet)
    values = {expect.header_row: expect.header, **expect.results}
    auto = etree.fromstring(parts[sheet]).find(f"{M}autoFilter")
    filter_grows = auto is not None and should_grow(auto.get("ref", ""), expect.input_col, expect.output_col)
    parts[sheet] = _patch_sheet(parts[sheet], expect.output_col, values, filter_grows)
    for table in table_parts(parts, sheet):
        if should_grow(etree.fromstring(parts[table]).get("ref", ""), expect.input_col, expect.output_col):
            parts[table] = _grow_table(parts[table], expect.header)
    if filter_grows and auto is not None:
        parts["xl/workbook.xml"] = _grow_filter_name(
            parts["xl/workbook.xml"], expect.sheet, grown(auto.get("ref", ""))
        )
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as out:
        for info in src.infolist():
            out.writestr(info, parts[info.filename])
