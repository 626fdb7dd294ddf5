"""Compare a workbook before and after a run at the level of zip parts and worksheet XML.

What a run may change, and nothing else:

- the target worksheet's XML: cells of the output column, ``<dimension>``, row ``spans``, new ``<row>``s for
  output cells, and a sheet-level ``<autoFilter>`` that covers the input column and ends just left of a new
  output column, whose ``ref`` grows by that column;
- an Excel Table (``xl/tables/tableN.xml``) of that sheet that covers the input column and ends just left of
  a new output column: its ``ref`` and autoFilter ``ref`` grow by one column and it gets one more
  ``tableColumn`` named like the header;
- ``xl/workbook.xml``, only for the hidden ``_xlnm._FilterDatabase`` name of a grown sheet autofilter, which
  may follow the new ``ref``.

Every other part must be byte-identical and in the same order. Every assertion names the part or cell.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree
from openpyxl.utils import column_index_from_string, get_column_letter

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
TABLE_REL = DOC_REL + "/table"
M = f"{{{MAIN}}}"
FILTER_DATABASE = "_xlnm._FilterDatabase"


def read_parts(path: Path) -> dict[str, bytes]:
    """The parts of a package, in zip order."""
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info.filename) for info in zf.infolist()}


def parse(data: bytes, part: str = "a part") -> etree._Element:
    """Parse XML, failing with the part's name when it is not well-formed."""
    try:
        return etree.fromstring(data)
    except etree.XMLSyntaxError as exc:
        raise AssertionError(f"{part} is not well-formed XML: {exc}") from None


def _target(base_part: str, target: str) -> str:
    if target.startswith("/"):
        return target[1:]
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_part), target))


def _rels(parts: Mapping[str, bytes], part: str) -> list[etree._Element]:
    name = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
    if name not in parts:
        return []
    return list(etree.fromstring(parts[name]).iter(f"{{{PKG_REL}}}Relationship"))


def sheet_part(parts: Mapping[str, bytes], sheet: str) -> str:
    """The zip part of worksheet ``sheet``, found through workbook.xml and its relationships."""
    workbook = etree.fromstring(parts["xl/workbook.xml"])
    rid = next(s.get(f"{{{DOC_REL}}}id") for s in workbook.iter(f"{M}sheet") if s.get("name") == sheet)
    rel = next(r for r in _rels(parts, "xl/workbook.xml") if r.get("Id") == rid)
    return _target("xl/workbook.xml", rel.get("Target", ""))


def table_parts(parts: Mapping[str, bytes], sheet_xml_part: str) -> list[str]:
    return [
        _target(sheet_xml_part, r.get("Target", ""))
        for r in _rels(parts, sheet_xml_part)
        if r.get("Type") == TABLE_REL
    ]


def split_ref(ref: str) -> tuple[str, int]:
    match = re.fullmatch(r"\$?([A-Z]+)\$?(\d+)", ref)
    assert match, f"not a cell reference: {ref!r}"
    return match.group(1), int(match.group(2))


def _range(ref: str) -> tuple[int, int, int, int]:
    first, _, last = ref.partition(":")
    c1, r1 = split_ref(first)
    c2, r2 = split_ref(last or first)
    return column_index_from_string(c1), r1, column_index_from_string(c2), r2


def grown(ref: str) -> str:
    """``A1:C13`` -> ``A1:D13``."""
    c1, r1, c2, r2 = _range(ref)
    return f"{get_column_letter(c1)}{r1}:{get_column_letter(c2 + 1)}{r2}"


def should_grow(ref: str, input_col: str, output_col: str) -> bool:
    c1, _, c2, _ = _range(ref)
    return c1 <= column_index_from_string(input_col) <= c2 and c2 + 1 == column_index_from_string(output_col)


def canon(el: etree._Element) -> tuple[Any, ...]:
    """An element as a comparable value: tag, attributes, text and children (prefix-independent)."""
    return (el.tag, tuple(sorted(el.attrib.items())), el.text or "", tuple(canon(child) for child in el))


def show(el: etree._Element) -> str:
    text = etree.tostring(el, encoding="unicode")
    text = re.sub(r' xmlns(:\w+)?="[^"]*"', "", text)
    return text if len(text) < 400 else text[:400] + "…"


def cell_text(cell: etree._Element, shared: list[str]) -> str | None:
    """The text of a string cell (inline or shared), or None when it holds no string."""
    kind = cell.get("t")
    if kind == "inlineStr":
        inline = cell.find(f"{M}is")
        if inline is None:
            return None
        return "".join(t.text or "" for t in inline.iterfind(f"{M}t")) + "".join(
            t.text or "" for t in inline.iterfind(f"{M}r/{M}t")
        )
    if kind == "s":
        value = cell.find(f"{M}v")
        return None if value is None or value.text is None else shared[int(value.text)]
    return None


def shared_strings(parts: Mapping[str, bytes]) -> list[str]:
    if "xl/sharedStrings.xml" not in parts:
        return []
    root = parse(parts["xl/sharedStrings.xml"], "xl/sharedStrings.xml")
    return [
        "".join(t.text or "" for t in si.iterfind(f"{M}t"))
        + "".join(t.text or "" for t in si.iterfind(f"{M}r/{M}t"))
        for si in root.iterfind(f"{M}si")
    ]


def _cells(root: etree._Element) -> dict[str, etree._Element]:
    return {c.get("r", ""): c for c in root.iterfind(f"{M}sheetData/{M}row/{M}c")}


def _rows(root: etree._Element) -> dict[int, etree._Element]:
    return {int(r.get("r", "0")): r for r in root.iterfind(f"{M}sheetData/{M}row")}


#: How many lines of each kind of problem a failure shows (the rest are counted), so a writer that breaks
#: every cell still gives a message where the structural problems stand out.
SHOWN = {"parts": 30, "xml": 12, "table": 5, "workbook": 3, "output": 8, "formulas": 6, "rows": 4, "cells": 4}


@dataclass
class Problems:
    found: dict[str, list[str]] = field(default_factory=lambda: {kind: [] for kind in SHOWN})

    def add(self, kind: str, message: str) -> None:
        self.found[kind].append(message)

    def check(self, title: str) -> None:
        lines = []
        for kind, messages in self.found.items():
            lines += messages[: SHOWN[kind]]
            if len(messages) > SHOWN[kind]:
                lines.append(f"… and {len(messages) - SHOWN[kind]} more {kind} problems")
        assert not lines, f"{title}:\n" + "\n".join(f"- {line}" for line in lines)


@dataclass(frozen=True)
class Expectation:
    """What the run should have written: one text per sheet row of the output column (header included)."""

    sheet: str
    input_col: str
    output_col: str
    header_row: int
    header: str
    results: Mapping[int, str]  # sheet row -> text


def compare_workbooks(before: Path, after: Path, expect: Expectation) -> None:
    """Assert that ``after`` is ``before`` plus the expected output column, and nothing else changed."""
    old, new = read_parts(before), read_parts(after)
    problems = Problems()
    sheet = sheet_part(old, expect.sheet)

    def grows(ref: str) -> bool:
        return should_grow(ref, expect.input_col, expect.output_col)

    growing = [
        t for t in table_parts(old, sheet) if t in old and grows(etree.fromstring(old[t]).get("ref", ""))
    ]
    old_filter = etree.fromstring(old[sheet]).find(f"{M}autoFilter")
    filter_grows = old_filter is not None and grows(old_filter.get("ref", ""))
    may_change = {sheet, *growing, *(["xl/workbook.xml"] if filter_grows else [])}

    if list(new) != list(old):
        added = [p for p in new if p not in old]
        lost = [p for p in old if p not in new]
        problems.add(
            "parts", f"parts differ: lost {lost}, added {added}" if added or lost else "parts reordered"
        )
    for part, data in old.items():
        if part in new and part not in may_change and new[part] != data:
            problems.add("parts", f"part {part} changed ({len(data)} -> {len(new[part])} bytes)")
            if part.startswith("xl/worksheets/") and part.endswith(".xml"):  # say which cells, too
                _compare_cells(parse(data, part), parse(new[part], part), part, None, problems)

    if sheet in new:
        old_root, new_root = parse(old[sheet], sheet), parse(new[sheet], sheet)
        _compare_elements(old[sheet], new[sheet], sheet, filter_grows, problems)
        _compare_cells(old_root, new_root, sheet, expect.output_col, problems)
        _check_rows(old_root, new_root, sheet, expect.output_col, problems)
        _check_output(new_root, sheet, shared_strings(new), expect, problems)
    for part in growing:
        if part in new:
            _compare_grown_table(old[part], new[part], part, expect, problems)
    if filter_grows and old_filter is not None and new.get("xl/workbook.xml") != old["xl/workbook.xml"]:
        new_ref = grown(old_filter.get("ref", ""))
        _compare_filter_name(old["xl/workbook.xml"], new["xl/workbook.xml"], expect, new_ref, problems)
    problems.check(
        f"{after.name} is not {before.name} plus column {expect.output_col} of {expect.sheet!r} "
        f"(may change: {sorted(may_change)})"
    )


def _declaration(xml: bytes) -> dict[str, str]:
    """version, encoding and standalone of the XML declaration (quotes and spacing do not matter)."""
    match = re.match(rb"<\?xml([^>]*)\?>", xml)
    found = re.findall(r"""(\w+)\s*=\s*["']([^"']*)["']""", match.group(1).decode()) if match else []
    return {k: v.lower() if k != "version" else v for k, v in found}


def _compare_elements(
    old_xml: bytes, new_xml: bytes, part: str, filter_grows: bool, problems: Problems
) -> None:
    """The declaration, root and every element but sheetData and dimension are unchanged."""
    old_root, new_root = parse(old_xml, part), parse(new_xml, part)
    if _declaration(old_xml) != _declaration(new_xml):
        problems.add(
            "xml", f"{part}: XML declaration changed from {_declaration(old_xml)} to {_declaration(new_xml)}"
        )
    if (old_root.tag, dict(old_root.attrib), old_root.nsmap) != (
        new_root.tag,
        dict(new_root.attrib),
        new_root.nsmap,
    ):
        problems.add("xml", f"{part}: root element or its namespaces changed")
    old_tags, new_tags = _local([c.tag for c in old_root]), _local([c.tag for c in new_root])
    if old_tags != new_tags:
        lost = [t for t in old_tags if t not in new_tags]
        added = [t for t in new_tags if t not in old_tags]
        problems.add("xml", f"{part}: elements lost {lost}, added {added}: {old_tags} -> {new_tags}")
    news: dict[str, list[etree._Element]] = {}
    for el in new_root:
        news.setdefault(el.tag, []).append(el)
    for old_el in old_root:
        if old_el.tag in (f"{M}sheetData", f"{M}dimension") or not news.get(old_el.tag):
            continue
        new_el = news[old_el.tag].pop(0)
        if old_el.tag == f"{M}autoFilter" and filter_grows:
            want = grown(old_el.get("ref", ""))
            if new_el.get("ref") != want:
                problems.add("xml", f"{part}: <autoFilter ref> is {new_el.get('ref')!r}, expected {want!r}")
            old_el = etree.fromstring(etree.tostring(old_el))
            old_el.set("ref", want)
        if canon(old_el) != canon(new_el):
            name = _local([old_el.tag])[0]
            problems.add(
                "xml", f"{part}: <{name}> changed:\n    before {show(old_el)}\n    after  {show(new_el)}"
            )


def _position(ref: str) -> tuple[int, int]:
    column, row = split_ref(ref)
    return row, column_index_from_string(column)


def _compare_cells(
    old_root: etree._Element, new_root: etree._Element, part: str, out: str | None, problems: Problems
) -> None:
    """Every cell outside column ``out`` is unchanged; formula cells are reported first."""
    old_cells, new_cells = _cells(old_root), _cells(new_root)
    for ref in sorted(set(old_cells) | set(new_cells), key=_position):
        if split_ref(ref)[0] == out:
            continue
        a, b = old_cells.get(ref), new_cells.get(ref)
        kind = "formulas" if a is not None and a.find(f"{M}f") is not None else "cells"
        if a is None or b is None:
            problems.add(kind, f"{part}: cell {ref} {'appeared' if a is None else 'disappeared'}")
        elif canon(a) != canon(b):
            problems.add(kind, f"{part}: cell {ref} changed:\n    before {show(a)}\n    after  {show(b)}")


def _check_rows(
    old_root: etree._Element, new_root: etree._Element, part: str, out: str, problems: Problems
) -> None:
    """Rows keep their attributes (spans may grow), new rows hold only output cells, order is kept."""
    old_rows, new_rows = _rows(old_root), _rows(new_root)
    col = column_index_from_string(out)
    for number, row in old_rows.items():
        if number not in new_rows:
            problems.add("rows", f"{part}: row {number} disappeared")
            continue
        a = {k: v for k, v in row.attrib.items() if k != "spans"}
        b = {k: v for k, v in new_rows[number].attrib.items() if k != "spans"}
        if a != b:
            problems.add("rows", f"{part}: row {number} attributes changed from {a} to {b}")
    for number, row in new_rows.items():
        if number not in old_rows and any(split_ref(c.get("r", ""))[0] != out for c in row):
            problems.add("rows", f"{part}: new row {number} holds cells outside column {out}")
        spans = row.get("spans")
        if spans and any(split_ref(c.get("r", ""))[0] == out for c in row):
            ranges = [tuple(map(int, s.split(":"))) for s in spans.split()]
            if not any(lo <= col <= hi for lo, hi in ranges):
                problems.add("rows", f"{part}: row {number} spans={spans!r} leave out column {out}")
    numbers = [int(r.get("r", "0")) for r in new_root.iterfind(f"{M}sheetData/{M}row")]
    cells = [_position(c.get("r", "")) for c in new_root.iterfind(f"{M}sheetData/{M}row/{M}c")]
    if numbers != sorted(set(numbers)) or cells != sorted(set(cells)):
        problems.add("rows", f"{part}: rows or cells are not in order, or repeated")
    dimension = new_root.find(f"{M}dimension")
    if old_root.find(f"{M}dimension") is not None and dimension is not None and cells:
        rows, cols = [r for r, _ in cells], [c for _, c in cells]
        want = f"{get_column_letter(min(cols))}{min(rows)}:{get_column_letter(max(cols))}{max(rows)}"
        if dimension.get("ref") != want:
            problems.add("xml", f"{part}: <dimension ref={dimension.get('ref')!r}>, the cells span {want!r}")


def _check_output(
    new_root: etree._Element, part: str, shared: list[str], expect: Expectation, problems: Problems
) -> None:
    """The output column holds the header and the results as strings (never formulas), nothing else."""
    out = expect.output_col
    new_cells = _cells(new_root)
    wanted = {expect.header_row: expect.header, **expect.results}
    for ref, cell in new_cells.items():
        column, row = split_ref(ref)
        if column != out:
            continue
        if cell.find(f"{M}f") is not None:
            problems.add("output", f"{part}: {ref} was written as a formula: {show(cell)}")
        if cell.get("t") not in ("inlineStr", "s"):
            problems.add(
                "output", f"{part}: {ref} is not stored as a string (t={cell.get('t')!r}): {show(cell)}"
            )
        if row not in wanted and (cell.find(f"{M}v") is not None or cell.find(f"{M}is") is not None):
            problems.add("output", f"{part}: {ref} has a value but its row has no input: {show(cell)}")
    for row, text in sorted(wanted.items()):
        cell = new_cells.get(f"{out}{row}")
        got = None if cell is None else cell_text(cell, shared)
        if got != text:
            problems.add("output", f"{part}: {out}{row} holds {got!r}, expected {text!r}")


def _local(tags: list[str]) -> list[str]:
    return [etree.QName(t).localname for t in tags]


def _compare_grown_table(
    old_xml: bytes, new_xml: bytes, part: str, expect: Expectation, problems: Problems
) -> None:
    old_root, new_root = parse(old_xml, part), parse(new_xml, part)
    want = etree.fromstring(old_xml)
    want.set("ref", grown(old_root.get("ref", "")))
    auto = want.find(f"{M}autoFilter")
    if auto is not None:
        auto.set("ref", grown(auto.get("ref", "")))
    columns = want.find(f"{M}tableColumns")
    assert columns is not None, f"{part} has no tableColumns"
    new_columns = new_root.find(f"{M}tableColumns")
    added = new_columns[-1] if new_columns is not None and len(new_columns) else None
    ids = [int(c.get("id", "0")) for c in columns]
    if added is None or added.get("name") != expect.header:
        problems.add(
            "table",
            f"{part}: the last tableColumn is {None if added is None else show(added)}, expected one named {expect.header!r}",
        )
    elif int(added.get("id", "0")) in ids:
        problems.add("table", f"{part}: the new tableColumn reuses id {added.get('id')}")
    else:
        columns.append(etree.fromstring(etree.tostring(added)))
        columns.set("count", str(len(columns)))
    if canon(want) != canon(new_root):
        problems.add(
            "table",
            f"{part}: the table did not grow by exactly one column {expect.header!r}:\n    before {show(old_root)}\n    after  {show(new_root)}",
        )


def _compare_filter_name(
    old_xml: bytes, new_xml: bytes, expect: Expectation, new_ref: str, problems: Problems
) -> None:
    """workbook.xml may only change in the _FilterDatabase name of the sheet whose autofilter grew."""
    old_root, new_root = parse(old_xml, "xl/workbook.xml"), parse(new_xml, "xl/workbook.xml")
    c1, r1, c2, r2 = _range(new_ref)
    for name in old_root.iter(f"{M}definedName"):
        if name.get("name") == FILTER_DATABASE and name.text and name.text.startswith(f"{expect.sheet}!"):
            name.text = f"{expect.sheet}!${get_column_letter(c1)}${r1}:${get_column_letter(c2)}${r2}"
    if canon(old_root) != canon(new_root):
        problems.add("workbook", f"xl/workbook.xml changed beyond the {FILTER_DATABASE} name for {new_ref}")
