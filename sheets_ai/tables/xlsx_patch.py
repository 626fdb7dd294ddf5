"""Write results into an .xlsx/.xlsm package without re-saving the workbook.

openpyxl re-writes a whole workbook from its own model and drops what it does not model (stored formula
results, sparklines, x14 conditional formats, rich text, dynamic arrays, furigana …). This writer copies
every zip part as it is, in the same order, and patches only the cells sheets-ai owns into one worksheet's
XML, plus what must follow from them: ``<dimension>``, a row's ``spans``, ``<row>`` elements for rows that
had none, and — when a new column extends an Excel Table or the sheet's autofilter — that range.

The worksheet XML is patched as bytes, row by row: rows without a result are copied unchanged, so
namespaces, attributes and elements this module does not know survive as they were.

Results are written as inline strings (``t="inlineStr"``), not shared strings: a string-typed cell is never
read as a formula by any application, and inline strings leave ``sharedStrings.xml`` (and every other part)
untouched. Excel turns them into shared strings the next time it saves the file.
"""

from __future__ import annotations

import functools
import posixpath
import re
import shutil
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from xml.etree import ElementTree as ET

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries

from ..errors import SourceError

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
TABLE_REL = REL_NS + "/table"

_ATTRS = rb"""(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*"""
_ATTR = re.compile(rb"""([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")
_R_ATTR = re.compile(rb"""\sr\s*=\s*["']([^"']*)["']""")
_COPY_CHUNK = 1 << 20


class PatchError(SourceError):
    """The worksheet XML has a shape this writer does not understand."""


@dataclass
class SheetPatch:
    """The cells to write into one worksheet, and the ranges a new column extends."""

    part: str  # zip name of the worksheet XML, e.g. "xl/worksheets/sheet1.xml"
    cells: dict[int, dict[int, str]] = field(default_factory=dict)  # row -> column -> text
    #: (row, col) -> the column in the same row whose style a new cell takes (a new header: the input's)
    style_from: dict[tuple[int, int], int] = field(default_factory=dict)
    #: table part -> (its new ref, the names of the columns it gains)
    grow_tables: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    grow_autofilter: str | None = None  # the sheet-level autofilter's new ref

    def set(self, row: int, col: int, text: str) -> None:
        self.cells.setdefault(row, {})[col] = text


# ------------------------------------------------------------------------------------------ package layout
def _rels_part(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _resolve(base_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_part), target))


def relationships(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """rId -> (type, target part) for one part; empty when it has no relationships."""
    name = _rels_part(part)
    if name not in zf.NameToInfo:
        return {}
    root = ET.fromstring(zf.read(name))
    found = {}
    for rel in root.iter(f"{{{PKG_REL_NS}}}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        found[rel.get("Id", "")] = (rel.get("Type", ""), _resolve(part, rel.get("Target", "")))
    return found


def worksheet_part(zf: zipfile.ZipFile, title: str) -> str:
    """The zip name of the worksheet called ``title``."""
    workbook = "xl/workbook.xml"
    rels = relationships(zf, workbook)
    root = ET.fromstring(zf.read(workbook))
    for sheet in root.iter(f"{{{MAIN_NS}}}sheet"):
        if sheet.get("name") == title:
            rid = sheet.get(f"{{{REL_NS}}}id", "")
            if rid in rels:
                return rels[rid][1]
    raise PatchError(f"Sheet {title!r} has no worksheet part in the workbook; is the file damaged?")


@dataclass
class TableInfo:
    part: str
    name: str
    ref: str
    header_rows: int
    totals_rows: int
    columns: list[str]


def sheet_tables(zf: zipfile.ZipFile, sheet_part: str) -> list[TableInfo]:
    """The Excel Tables (ListObjects) on one worksheet."""
    tables = []
    for rel_type, target in relationships(zf, sheet_part).values():
        if rel_type != TABLE_REL or target not in zf.NameToInfo:
            continue
        root = ET.fromstring(zf.read(target))
        columns = [c.get("name", "") for c in root.iter(f"{{{MAIN_NS}}}tableColumn")]
        tables.append(
            TableInfo(
                part=target,
                name=root.get("displayName") or root.get("name") or "",
                ref=root.get("ref", ""),
                header_rows=int(root.get("headerRowCount", "1")),
                totals_rows=int(root.get("totalsRowCount", "0")),
                columns=columns,
            )
        )
    return tables


# ----------------------------------------------------------------------------------------------- writing
def patch_package(source: Path | IO[bytes], dest: Path, patch: SheetPatch) -> None:
    """Copy the package at ``source`` to ``dest`` with ``patch`` applied; every other part is unchanged."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(dest, "w", allowZip64=True) as zout:
        for info in zin.infolist():
            out = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            out.compress_type = info.compress_type
            out.external_attr = info.external_attr
            out.create_system = info.create_system
            out.comment = info.comment
            if info.filename == patch.part:
                data = patch_sheet_xml(zin.read(info), patch)
                zout.writestr(out, data)
            elif info.filename in patch.grow_tables:
                ref, columns = patch.grow_tables[info.filename]
                zout.writestr(out, grow_table_xml(zin.read(info), ref, columns))
            else:
                with zin.open(info) as src, zout.open(out, "w", force_zip64=info.file_size > 2**31) as dst:
                    shutil.copyfileobj(src, dst, _COPY_CHUNK)


@functools.lru_cache(maxsize=4096)  # labels repeat on every row
def _escape(text: str) -> bytes:
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return text.encode("utf-8")


def _attr_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def _attrs(raw: bytes) -> dict[bytes, bytes]:
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _ATTR.finditer(raw)}


def _set_attr(start_tag: bytes, name: bytes, value: bytes) -> bytes:
    """Replace (or add) one attribute of a start tag, keeping everything else byte for byte."""
    pattern = re.compile(rb"(\s" + re.escape(name) + rb"""\s*=\s*)(?:"[^"]*"|'[^']*')""")
    if pattern.search(start_tag):
        return pattern.sub(lambda m: m.group(1) + b'"' + value + b'"', start_tag, count=1)
    end = len(start_tag) - (2 if start_tag.endswith(b"/>") else 1)
    return start_tag[:end] + b" " + name + b'="' + value + b'"' + start_tag[end:]


def _cell_xml(prefix: bytes, row: int, col: int, text: str, style: int | None) -> bytes:
    s = b' s="%d"' % style if style else b""
    p = prefix
    return b'<%sc r="%s%d"%s t="inlineStr"><%sis><%st xml:space="preserve">%s</%st></%sis></%sc>' % (
        p, _letters(col), row, s, p, p, _escape(text), p, p, p,
    )  # fmt: skip


@functools.lru_cache(maxsize=1024)
def _letters(col: int) -> bytes:
    return get_column_letter(col).encode()


class _Sheet:
    """Regular expressions for one worksheet's element names (the main namespace may have a prefix)."""

    def __init__(self, xml: bytes) -> None:
        root = re.search(rb"<([A-Za-z_][\w.-]*:)?worksheet[\s>]", xml)
        if root is None:
            raise PatchError("The worksheet XML has no <worksheet> element; is the file damaged?")
        self.prefix = root.group(1) or b""
        p = re.escape(self.prefix)
        self.sheet_data = re.compile(rb"<" + p + rb"sheetData(" + _ATTRS + rb")\s*(/?)>")
        self.sheet_data_end = re.compile(rb"</" + p + rb"sheetData\s*>")
        self.row = re.compile(
            rb"<" + p + rb"row(?=[\s/>])(" + _ATTRS + rb")\s*(?:/>|>(.*?)</" + p + rb"row\s*>)", re.DOTALL
        )
        self.cell = re.compile(
            rb"<" + p + rb"c(?=[\s/>])(" + _ATTRS + rb")\s*(?:/>|>(.*?)</" + p + rb"c\s*>)", re.DOTALL
        )
        self.dimension = re.compile(rb"<" + p + rb"dimension(" + _ATTRS + rb")\s*/>")
        self.autofilter = re.compile(rb"<" + p + rb"autoFilter(" + _ATTRS + rb")\s*(/?)>")
        self.col = re.compile(rb"<" + p + rb"col(?=[\s/>])(" + _ATTRS + rb")\s*/?>")
        self.ext_lst = re.compile(rb"<" + p + rb"extLst[\s>]")
        self.cell_start = b"<" + self.prefix + b"c "


def _column_styles(head: bytes, sheet: _Sheet) -> list[tuple[int, int, int]]:
    """(min, max, style) of every <col> element with a style."""
    found = []
    for m in sheet.col.finditer(head):
        a = _attrs(m.group(1))
        if b"style" in a and b"min" in a and b"max" in a:
            found.append((int(a[b"min"]), int(a[b"max"]), int(a[b"style"])))
    return found


def _new_cell_style(
    patch: SheetPatch,
    row: int,
    col: int,
    row_attrs: dict[bytes, bytes],
    cols: list[tuple[int, int, int]],
    styles: dict[int, int],
) -> int | None:
    """What Excel gives a cell typed into an empty spot: the row's style if it has one, else the column's.

    ``styles`` holds the style of every existing cell in the row, for cells that copy a neighbour's.
    """
    if (row, col) in patch.style_from:
        return styles.get(patch.style_from[(row, col)])
    if row_attrs.get(b"customFormat") in (b"1", b"true") and b"s" in row_attrs:
        return int(row_attrs[b"s"])
    for lo, hi, style in cols:
        if lo <= col <= hi:
            return style
    return None


def _cell_column(attrs: dict[bytes, bytes], previous: int) -> int:
    ref = attrs.get(b"r")
    if ref is None:
        return previous + 1
    m = _CELL_REF.match(ref.decode("ascii", "replace"))
    if m is None:
        raise PatchError(f"Cell reference {ref.decode(errors='replace')!r} in the worksheet is not valid.")
    return column_index_from_string(m.group(1))


def _patch_row(
    sheet: _Sheet,
    start_tag: bytes,
    body: bytes | None,
    row: int,
    values: Mapping[int, str],
    patch: SheetPatch,
    cols: list[tuple[int, int, int]],
) -> bytes:
    """One <row> element with ``values`` (column -> text) written into it."""
    p = sheet.prefix
    # Only a row's spans, customFormat and s matter here; most rows carry none of them.
    row_attrs = _attrs(start_tag) if b"spans" in start_tag or b"customFormat" in start_tag else {}
    body = body or b""
    last = _last_cell_column(sheet, body)
    if last is not None and last < min(values) and not any((row, c) in patch.style_from for c in values):
        # The usual case, a new column right of the row's cells: append, without parsing the row.
        new = (
            _cell_xml(p, row, c, t, _new_cell_style(patch, row, c, row_attrs, cols, {}))
            for c, t in sorted(values.items())
        )
        pieces = [body, *new]
    else:
        pieces = _merge_cells(sheet, body, row, row_attrs, values, patch, cols)
    tag = start_tag
    spans = row_attrs.get(b"spans")
    if spans:
        tag = _set_attr(tag, b"spans", _widen_spans(spans, max(values), min(values)))
    if tag.endswith(b"/>"):
        tag = tag[:-2].rstrip() + b">"
    return tag + b"".join(pieces) + b"</" + p + b"row>"


def _last_cell_column(sheet: _Sheet, body: bytes) -> int | None:
    """The column of a row's last cell, when that can be told without parsing the row; 0 for no cells."""
    if not body.strip():
        return 0
    at = body.rfind(sheet.cell_start)
    if at == -1:
        return None
    m = sheet.cell.match(body, at)
    if m is None or m.end() != len(body.rstrip()):  # something else follows the last cell (an extLst …)
        return None
    ref = _R_ATTR.search(m.group(1))
    letters = ref and _CELL_REF.match(ref.group(1).decode("ascii", "replace"))
    return column_index_from_string(letters.group(1)) if letters else None


def _merge_cells(
    sheet: _Sheet,
    body: bytes,
    row: int,
    row_attrs: dict[bytes, bytes],
    values: Mapping[int, str],
    patch: SheetPatch,
    cols: list[tuple[int, int, int]],
) -> list[bytes]:
    """A row's cells with ``values`` merged in, in column order; replaced cells keep their style."""
    p = sheet.prefix
    pending = sorted(values.items())
    pieces: list[bytes] = []
    pos = 0
    col = 0
    found = []
    styles: dict[int, int] = {}
    for m in sheet.cell.finditer(body):
        attrs = _attrs(m.group(1))
        col = _cell_column(attrs, col)
        found.append((m, attrs, col))
        if b"s" in attrs:
            styles[col] = int(attrs[b"s"])

    def new(c: int, text: str) -> bytes:
        return _cell_xml(p, row, c, text, _new_cell_style(patch, row, c, row_attrs, cols, styles))

    for m, attrs, col in found:
        while pending and pending[0][0] < col:  # new cells before this one
            c, text = pending.pop(0)
            pieces.append(body[pos : m.start()])
            pos = m.start()
            pieces.append(new(c, text))
        if pending and pending[0][0] == col:  # replace this cell, keeping its style
            c, text = pending.pop(0)
            style = int(attrs[b"s"]) if b"s" in attrs else None
            pieces.append(body[pos : m.start()])
            pieces.append(_cell_xml(p, row, c, text, style))
            pos = m.end()
    # Cells after the last existing one go after it (before any <extLst> the row may carry).
    tail_at = len(body)
    ext = sheet.ext_lst.search(body, pos)
    if ext is not None:
        tail_at = ext.start()
    pieces.append(body[pos:tail_at])
    for c, text in pending:
        pieces.append(new(c, text))
    pieces.append(body[tail_at:])
    return pieces


def _widen_spans(spans: bytes, hi: int, lo: int) -> bytes:
    try:
        bounds = [int(x) for part in spans.split() for x in part.split(b":")]
    except ValueError:
        return spans
    return b"%d:%d" % (min([lo, *bounds]), max([hi, *bounds]))


def _new_row(
    sheet: _Sheet, row: int, values: Mapping[int, str], patch: SheetPatch, cols: list[tuple[int, int, int]]
) -> bytes:
    tag = b"<" + sheet.prefix + b'row r="%d">' % row
    return _patch_row(sheet, tag, b"", row, values, patch, cols)


def _rows(sheet: _Sheet, data: bytes) -> Iterator[tuple[re.Match[bytes], int]]:
    number = 0
    for m in sheet.row.finditer(data):
        r = _R_ATTR.search(m.group(1))
        number = int(r.group(1)) if r is not None else number + 1
        yield m, number


def patch_sheet_xml(xml: bytes, patch: SheetPatch) -> bytes:
    """The worksheet XML with ``patch`` applied; bytes outside the patched rows are kept as they were."""
    if xml.startswith((b"\xff\xfe", b"\xfe\xff")) or re.match(rb"<\?xml[^>]*encoding=.(?!utf-8)", xml, re.I):
        raise PatchError("The worksheet XML is not UTF-8; open and save the workbook in Excel first.")
    sheet = _Sheet(xml)
    start = sheet.sheet_data.search(xml)
    if start is None:
        raise PatchError("The worksheet XML has no <sheetData>; is the file damaged?")
    head, tail_from = xml[: start.start()], start.end()
    cols = _column_styles(head, sheet)
    if start.group(2) == b"/":  # <sheetData/>: an empty sheet
        data, after = b"", xml[tail_from:]
        open_tag = b"<" + sheet.prefix + b"sheetData" + start.group(1) + b">"
    else:
        end = sheet.sheet_data_end.search(xml, tail_from)
        if end is None:
            raise PatchError("The worksheet XML is truncated (no </sheetData>); restore it from a copy.")
        data, after = xml[tail_from : end.start()], xml[end.end() :]
        open_tag = xml[start.start() : start.end()]
    out: list[bytes] = [_patch_head(head, sheet, patch), open_tag]
    pending = sorted(patch.cells.items())
    i = 0  # the next pending row
    pos = 0
    for m, number in _rows(sheet, data):
        if i == len(pending):
            break
        while i < len(pending) and pending[i][0] < number:
            row, values = pending[i]
            i += 1
            out.append(data[pos : m.start()])
            pos = m.start()
            out.append(_new_row(sheet, row, values, patch, cols))
        if i < len(pending) and pending[i][0] == number:
            row, values = pending[i]
            i += 1
            out.append(data[pos : m.start()])
            start_tag = data[m.start() : m.start(1) + len(m.group(1))]
            start_tag += b"/>" if m.group(2) is None else b">"
            out.append(_patch_row(sheet, start_tag, m.group(2), row, values, patch, cols))
            pos = m.end()
    out.append(data[pos:])
    for row, values in pending[i:]:
        out.append(_new_row(sheet, row, values, patch, cols))
    out.append(b"</" + sheet.prefix + b"sheetData>")
    out.append(_patch_tail(after, sheet, patch))
    return b"".join(out)


def _patch_head(head: bytes, sheet: _Sheet, patch: SheetPatch) -> bytes:
    """Widen <dimension> to cover the new cells."""
    m = sheet.dimension.search(head)
    if m is None or not patch.cells:
        return head
    ref = _attrs(m.group(1)).get(b"ref", b"A1").decode("ascii", "replace")
    rows = list(patch.cells)
    cols = [c for values in patch.cells.values() for c in values]
    try:
        min_col, min_row, max_col, max_row = range_boundaries(ref)
    except (ValueError, TypeError):
        return head
    if min_col is None or min_row is None or max_col is None or max_row is None:
        return head
    new = (
        f"{get_column_letter(min(min_col, *cols))}{min(min_row, *rows)}:"
        f"{get_column_letter(max(max_col, *cols))}{max(max_row, *rows)}"
    )
    if new == f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{max_row}" and ":" in ref:
        return head
    tag = _set_attr(m.group(0), b"ref", new.encode())
    return head[: m.start()] + tag + head[m.end() :]


def _patch_tail(after: bytes, sheet: _Sheet, patch: SheetPatch) -> bytes:
    if patch.grow_autofilter is None:
        return after
    m = sheet.autofilter.search(after)
    if m is None:
        return after
    tag = _set_attr(after[m.start() : m.end()], b"ref", patch.grow_autofilter.encode())
    return after[: m.start()] + tag + after[m.end() :]


def grow_table_xml(xml: bytes, ref: str, names: list[str]) -> bytes:
    """An Excel Table's XML with its range widened by the columns ``names``."""
    root = re.search(rb"<([A-Za-z_][\w.-]*:)?table[\s>]", xml)
    if root is None:
        raise PatchError("A table part of the workbook is not valid; is the file damaged?")
    p = root.group(1) or b""
    pe = re.escape(p)
    table_tag = re.compile(rb"<" + pe + rb"table(?=[\s>])(" + _ATTRS + rb")\s*>")
    m = table_tag.search(xml)
    assert m is not None
    xml = xml[: m.start()] + _set_attr(m.group(0), b"ref", ref.encode()) + xml[m.end() :]
    auto = re.compile(rb"<" + pe + rb"autoFilter(" + _ATTRS + rb")\s*(/?)>").search(xml)
    if auto is not None:
        a = _attrs(auto.group(1))
        old = a.get(b"ref", b"").decode()
        try:
            min_col, min_row, _, max_row = range_boundaries(old)
            _, _, new_max_col, _ = range_boundaries(ref)
            new = f"{get_column_letter(min_col or 1)}{min_row}:{get_column_letter(new_max_col or 1)}{max_row}"
            xml = xml[: auto.start()] + _set_attr(auto.group(0), b"ref", new.encode()) + xml[auto.end() :]
        except (ValueError, TypeError):
            pass
    columns = re.compile(rb"<" + pe + rb"tableColumns(" + _ATTRS + rb")\s*>(.*?)</" + pe + rb"tableColumns\s*>",
                         re.DOTALL).search(xml)  # fmt: skip
    if columns is None:
        raise PatchError("A table in the workbook has no columns; is the file damaged?")
    body = columns.group(2)
    ids = [int(x) for x in re.findall(rb"<" + pe + rb'tableColumn[^>]*?\sid="(\d+)"', body)]
    next_id = max(ids, default=0) + 1
    new_col = b"".join(
        b"<" + p + b'tableColumn id="%d" name="' % (next_id + i) + _attr_escape(name).encode() + b'"/>'
        for i, name in enumerate(names)
    )
    count = len(re.findall(rb"<" + pe + rb"tableColumn(?=[\s/>])", body)) + len(names)
    open_tag = _set_attr(xml[columns.start() : columns.start(2)], b"count", b"%d" % count)
    close_tag = xml[columns.end(2) : columns.end()]
    return xml[: columns.start()] + open_tag + body + new_col + close_tag + xml[columns.end() :]


def widen_ref(ref: str, to_col: int) -> str:
    min_col, min_row, _, max_row = range_boundaries(ref)
    return f"{get_column_letter(min_col or 1)}{min_row}:{get_column_letter(to_col)}{max_row}"
