"""In-memory spreadsheet model for the Sheets API emulator: sheets, books, reading and writing blocks.

Everything here is plain Python and not thread-safe; :mod:`sheets_ai.testing.sheets_server` serialises
access with one lock.
"""

from __future__ import annotations

import json
import random
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sheets_ai.testing._sheets_cells import (
    CELL_CHARS,
    DEFAULT_COLS,
    DEFAULT_ROWS,
    ApiError,
    Cell,
    a1_of,
    evaluate_formula,
    index_to_col,
    parse_a1,
    parse_input,
    quote_sheet,
    render,
)

# ------------------------------------------------------------------------------------ sheets and books


@dataclass
class Sheet:
    sheet_id: int
    title: str
    row_count: int = DEFAULT_ROWS
    col_count: int = DEFAULT_COLS
    grid: list[list[Cell | None]] = field(default_factory=list)
    #: (row, col) 0-based -> userEnteredFormat (sheets_ai.testing._sheets_formats).
    formats: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    #: SheetProperties.hidden: not shown in the UI (the API omits the field when false).
    hidden: bool = False

    def cell(self, r: int, c: int) -> Cell | None:
        if r < len(self.grid) and c < len(self.grid[r]):
            return self.grid[r][c]
        return None

    def put(self, r: int, c: int, cell: Cell | None) -> None:
        if cell is not None and cell.value is None and cell.formula is None:
            cell = None
        if cell is None and self.cell(r, c) is None:
            return
        while len(self.grid) <= r:
            self.grid.append([])
        row = self.grid[r]
        if len(row) <= c:
            row.extend([None] * (c + 1 - len(row)))
        row[c] = cell

    def used_rows(self) -> int:
        for r in range(len(self.grid) - 1, -1, -1):
            if any(c is not None for c in self.grid[r]):
                return r + 1
        return 0

    def used_cols(self, rows: Iterable[int] | None = None) -> int:
        best = 0
        for r in rows if rows is not None else range(len(self.grid)):
            row = self.grid[r] if r < len(self.grid) else []
            for c in range(len(row) - 1, best - 1, -1):
                if row[c] is not None:
                    best = c + 1
                    break
        return best

    def insert(self, dimension: str, start: int, count: int) -> None:
        if dimension == "ROWS":
            if start < len(self.grid):
                self.grid[start:start] = [[] for _ in range(count)]
            self.row_count += count
        else:
            for row in self.grid:
                if start < len(row):
                    row[start:start] = [None] * count
            self.col_count += count

    def delete(self, dimension: str, start: int, end: int) -> None:
        if dimension == "ROWS":
            del self.grid[start:end]
            self.row_count -= end - start
        else:
            for row in self.grid:
                del row[start:end]
            self.col_count -= end - start

    def properties(self, index: int) -> dict[str, Any]:
        return {
            "sheetId": self.sheet_id,
            "title": self.title,
            "index": index,
            "sheetType": "GRID",
            "gridProperties": {"rowCount": self.row_count, "columnCount": self.col_count},
            **({"hidden": True} if self.hidden else {}),
        }


@dataclass
class Bounds:
    """A resolved range: sheet plus half-open row/column bounds (None = to the end of the grid)."""

    sheet: Sheet
    r0: int
    r1: int | None
    c0: int
    c1: int | None
    single: bool = False

    def clamp(self) -> tuple[int, int, int, int]:
        r1 = self.sheet.row_count if self.r1 is None else min(self.r1, self.sheet.row_count)
        c1 = self.sheet.col_count if self.c1 is None else min(self.c1, self.sheet.col_count)
        return min(self.r0, r1), r1, min(self.c0, c1), c1

    def label(self) -> str:
        r0, r1, c0, c1 = self.clamp()
        name = quote_sheet(self.sheet.title)
        return name if r1 <= r0 or c1 <= c0 else f"{name}!{a1_of(r0, r1, c0, c1)}"


class Spreadsheet:
    def __init__(self, spreadsheet_id: str, title: str):
        self.spreadsheet_id = spreadsheet_id
        self.title = title
        self.sheets: list[Sheet] = []
        self._rng = random.Random(spreadsheet_id)

    def new_sheet_id(self) -> int:
        if not self.sheets:
            return 0
        used = {s.sheet_id for s in self.sheets}
        while (candidate := self._rng.randint(1, 2**31 - 1)) in used:
            pass
        return candidate

    def add_sheet(
        self,
        title: str | None = None,
        sheet_id: int | None = None,
        index: int | None = None,
        rows: int = DEFAULT_ROWS,
        cols: int = DEFAULT_COLS,
    ) -> Sheet:
        title = title or self._free_title()
        if self.find(title) is not None:
            raise ApiError(400, f'A sheet with the name "{title}" already exists. Please enter another name.')
        if sheet_id is not None and any(s.sheet_id == sheet_id for s in self.sheets):
            raise ApiError(400, f"Sheet with id {sheet_id} already exists.")
        sheet = Sheet(self.new_sheet_id() if sheet_id is None else sheet_id, title, rows, cols)
        self.sheets.insert(len(self.sheets) if index is None else max(0, index), sheet)
        return sheet

    def _free_title(self) -> str:
        n = len(self.sheets) + 1
        while self.find(f"Sheet{n}") is not None:
            n += 1
        return f"Sheet{n}"

    def find(self, title: str) -> Sheet | None:
        return next((s for s in self.sheets if s.title.lower() == title.lower()), None)

    def by_id(self, sheet_id: Any) -> Sheet | None:
        return next((s for s in self.sheets if s.sheet_id == sheet_id), None)

    def sheet(self, title: str) -> Sheet:
        found = self.find(title)
        if found is None:
            raise KeyError(f"no sheet {title!r} in spreadsheet {self.spreadsheet_id}")
        return found

    def resolve(self, text: str) -> Bounds:
        """Resolve an A1 range such as ``Sheet1!A1:C10``, ``'My Sheet'!B:B``, ``A2:B`` or ``Sheet1``."""
        bad = ApiError(400, f"Unable to parse range: {text}")
        if not text.strip():
            raise bad
        ref: str | None
        if text.startswith("'"):
            m = re.match(r"'((?:[^']|'')*)'(?:!(.*))?$", text, re.S)
            if not m:
                raise bad
            name, ref = m.group(1).replace("''", "'"), m.group(2)
        elif "!" in text:
            name, ref = text.split("!", 1)
        elif (whole := self.find(text)) is not None:
            return Bounds(whole, 0, None, 0, None)
        else:
            name, ref = (self.sheets[0].title if self.sheets else ""), text
        sheet = self.find(name)
        if sheet is None:
            raise bad
        if ref is None or ref == "":
            return Bounds(sheet, 0, None, 0, None)
        parsed = parse_a1(ref)
        if parsed is None:
            raise bad
        return Bounds(sheet, *parsed, single=":" not in ref)

    def metadata(self) -> dict[str, Any]:
        return {
            "spreadsheetId": self.spreadsheet_id,
            "properties": {
                "title": self.title,
                "locale": "en_US",
                "autoRecalc": "ON_CHANGE",
                "timeZone": "Etc/GMT",
            },
            "sheets": [{"properties": s.properties(i)} for i, s in enumerate(self.sheets)],
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{self.spreadsheet_id}/edit",
        }


# ------------------------------------------------------------------------------------ reading/writing


def read_block(b: Bounds, major: str = "ROWS", option: str = "FORMATTED_VALUE") -> list[list[Any]]:
    """Values in the range, trailing empty cells and rows trimmed like the real API."""
    r0, r1, c0, c1 = b.clamp()
    r1 = min(r1, len(b.sheet.grid))
    rows = [[b.sheet.cell(r, c) for c in range(c0, c1)] for r in range(r0, r1)]
    if major == "COLUMNS":
        width = max((len(r) for r in rows), default=0)
        rows = [[row[i] for row in rows] for i in range(width)]
    out: list[list[Any]] = []
    for row in rows:
        end = len(row)
        while end and row[end - 1] is None:
            end -= 1
        out.append([render(cell, option) for cell in row[:end]])
    while out and not out[-1]:
        out.pop()
    return out


def transpose(values: Sequence[Sequence[Any]]) -> list[list[Any]]:
    width = max((len(r) for r in values), default=0)
    return [[row[i] if i < len(row) else None for row in values] for i in range(width)]


def write_block(
    b: Bounds, values: Sequence[Sequence[Any]], option: str, major: str = "ROWS", grow: bool = False
) -> dict[str, Any]:
    """Write values at the range's top-left corner; returns the UpdateValuesResponse fields."""
    if major == "COLUMNS":
        values = transpose(values)
    nrows, ncols = len(values), max((len(r) for r in values), default=0)
    label = b.label()
    if not b.single:
        if b.r1 is not None and b.r0 + nrows > b.r1:
            raise ApiError(
                400, f"Requested writing within range [{label}], but tried writing to row [{b.r1 + 1}]"
            )
        if b.c1 is not None and b.c0 + ncols > b.c1:
            raise ApiError(
                400,
                f"Requested writing within range [{label}], but tried writing to column [{index_to_col(b.c1)}]",
            )
    sheet = b.sheet
    if nrows and ncols and (b.r0 + nrows > sheet.row_count or b.c0 + ncols > sheet.col_count):
        if not grow:
            ref = a1_of(b.r0, b.r0 + nrows, b.c0, b.c0 + ncols)
            raise ApiError(
                400,
                f"Range ('{sheet.title}'!{ref}) exceeds grid limits. "
                f"Max rows: {sheet.row_count}, max columns: {sheet.col_count}",
            )
        sheet.row_count = max(sheet.row_count, b.r0 + nrows)
        sheet.col_count = max(sheet.col_count, b.c0 + ncols)
    for row in values:
        for value in row:
            if isinstance(value, str) and len(value) > CELL_CHARS:
                raise ApiError(
                    400,
                    f"Your input contains more than the maximum of {CELL_CHARS} characters in a single cell.",
                )
    cells = 0
    for i, row in enumerate(values):
        for j, raw in enumerate(row):
            cell = parse_input(raw, option)
            if cell is not None:
                sheet.put(b.r0 + i, b.c0 + j, cell)
                cells += 1
    out: dict[str, Any] = {"updatedRange": quote_sheet(sheet.title)}
    if nrows and ncols:
        out["updatedRange"] += "!" + a1_of(b.r0, b.r0 + nrows, b.c0, b.c0 + ncols)
        out.update(updatedRows=nrows, updatedColumns=ncols, updatedCells=cells)
    return out


def clear_block(b: Bounds) -> None:
    r0, r1, c0, c1 = b.clamp()
    for r in range(r0, min(r1, len(b.sheet.grid))):
        for c in range(c0, min(c1, len(b.sheet.grid[r]))):
            b.sheet.grid[r][c] = None


def find_table(b: Bounds) -> tuple[int, int, int] | None:
    """The "table" values.append appends to: (first row, last row, end column), or None if there is none.

    A single-cell range anchors the table at that row (an empty anchor row means no table, so the
    append writes right there); a wider range skips leading empty rows. The table runs down until the
    first empty row, like the real API.
    """
    _, r1, c0, c1 = b.clamp()
    r1 = min(r1, len(b.sheet.grid))

    def used(r: int) -> bool:
        row = b.sheet.grid[r]
        return any(row[c] is not None for c in range(c0, min(c1, len(row))))

    first = b.r0
    if not b.single:
        while first < r1 and not used(first):
            first += 1
    if first >= r1 or not used(first):
        return None
    last = first
    while last + 1 < r1 and used(last + 1):
        last += 1
    return first, last, b.sheet.used_cols(range(first, last + 1))


# ----------------------------------------------------------------------------------------------- loading


def new_spreadsheet_id() -> str:
    """44 URL-safe characters starting with "1", the shape of the ids Google gives today (and never "-", which
    a command line would read as an option)."""
    return "1" + secrets.token_urlsafe(33)[:43]


def build_spreadsheet(
    title: str, sheets: Mapping[str, Sequence[Sequence[Any]]] | None, spreadsheet_id: str, option: str = "RAW"
) -> Spreadsheet:
    book = Spreadsheet(spreadsheet_id, title)
    for name, rows in (sheets or {"Sheet1": []}).items():
        width = max((len(r) for r in rows), default=0)
        sheet = book.add_sheet(name, rows=max(DEFAULT_ROWS, len(rows)), cols=max(DEFAULT_COLS, width))
        write_block(Bounds(sheet, 0, None, 0, None, single=True), rows, option)
    return book


def specs_from_json(path: str | Path) -> list[dict[str, Any]]:
    """Read a fixture file: one spreadsheet object, a list of them, or ``{"spreadsheets": [...]}``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    items = data.get("spreadsheets", [data]) if isinstance(data, dict) else data
    if not isinstance(items, list) or not all(isinstance(i, dict) and "sheets" in i for i in items):
        raise ValueError(
            f"{path}: expected {{'title', 'sheets': {{name: rows}}}} or {{'spreadsheets': [...]}}"
        )
    return items


def sheets_from_xlsx(path: str | Path) -> dict[str, list[list[Any]]]:
    """Read every worksheet of an .xlsx file; formula cells become formulas, other values stay literal."""
    import openpyxl  # a dependency of sheets-ai; imported lazily to keep the server light

    book = openpyxl.load_workbook(path)
    out: dict[str, list[list[Any]]] = {}
    for ws in book.worksheets:
        rows: list[list[Any]] = []
        for row in ws.iter_rows():
            values: list[Any] = []
            for xc in row:
                v = xc.value
                if xc.data_type == "f" and isinstance(v, str):
                    values.append(Cell(evaluate_formula(v), v))
                elif v is None or isinstance(v, str | int | float | bool):
                    values.append(v)
                else:  # dates, times, rich text: stored as their text
                    values.append(str(v))
            rows.append(values)
        out[ws.title] = rows
    return out
