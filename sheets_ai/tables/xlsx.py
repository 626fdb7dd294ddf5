"""Excel workbooks (.xlsx, .xlsm): read with openpyxl, written by patching one worksheet's XML.

Every save copies the package the run started from and writes the output (and status) cells into it with
:mod:`.xlsx_patch`, so every other part — charts, images, macros, pivot tables, stored formula results,
sparklines, conditional formats, rich text — comes back byte for byte.
"""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import openpyxl
from openpyxl.cell.cell import MergedCell
from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from ..errors import SheetNotFoundError, SourceError
from ._files import ChangeGuard, FileTable, carry_over, check_earlier_output, warn_if_open_in_excel
from ._numfmt import format_value
from .base import (
    InputCell,
    TableData,
    check_distinct_columns,
    column_index_to_letter,
    display_text,
    resolve_input_column,
    resolve_output_column,
    unheaded_output_conflict,
)
from .xlsx_patch import SheetPatch, patch_package, sheet_tables, widen_ref, worksheet_part

log = logging.getLogger("sheets_ai")

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
NO_CACHED_VALUE = "formula_without_value"


def inspect_package(path: Path) -> None:
    """Open checks with clear messages, before openpyxl sees the file."""
    if not path.exists():
        raise SourceError(f"File {str(path)!r} not found. Check the path.")
    if path.is_dir():
        raise SourceError(f"{str(path)!r} is a folder, not a workbook.")
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except PermissionError:
        raise SourceError(f"Cannot read {str(path)!r} (permission denied).") from None
    if head == OLE_MAGIC:
        raise SourceError(
            f"{path.name} is password-protected or an old .xls file. Remove the password (or save it as .xlsx) "
            "in Excel, then run again."
        )
    if not zipfile.is_zipfile(path):
        raise SourceError(
            f"{path.name} is not an Excel workbook, or it is damaged/truncated. Open it in Excel and save it "
            "as .xlsx, or check you chose the right file."
        )
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            bad = zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise SourceError(f"{path.name} is damaged or truncated ({exc}). Restore it from a copy.") from None
    if bad is not None:
        raise SourceError(f"{path.name} is damaged (part {bad} is corrupt). Restore it from a copy.")
    if "xl/workbook.xml" not in names:
        raise SourceError(f"{path.name} is a zip file but not an Excel workbook.")


def _load(data: bytes, name: str, **options: Any) -> Any:
    """openpyxl.load_workbook with every way a damaged file fails turned into one clear error."""
    try:
        return openpyxl.load_workbook(io.BytesIO(data), keep_links=True, **options)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
        raise SourceError(f"{name} cannot be read as a workbook ({exc}). Is it damaged?") from None
    except (ParseError, SyntaxError) as exc:  # lxml's XMLSyntaxError is a SyntaxError too
        raise SourceError(
            f"{name} is damaged: one of its XML parts does not parse ({exc}). Open and repair it in Excel, "
            "or restore it from a copy."
        ) from None


def _used_width(ws: Worksheet, header_row: int) -> int:
    """The last column holding a value in the header row or below (styled empty cells do not count)."""
    # openpyxl keeps a worksheet's cells in ``_cells``; iterating it avoids walking empty styled columns.
    cells: dict[tuple[int, int], Any] = ws._cells
    return max(
        (col for (row, col), cell in cells.items() if row >= header_row and cell.value not in (None, "")),
        default=0,
    )


class XlsxTable(FileTable):
    """A worksheet in a local workbook."""

    def __init__(
        self,
        path: str | Path,
        *,
        sheet: str | None = None,
        output_file: str | Path | None = None,
        for_writing: bool = True,
    ) -> None:
        self.source = Path(path)
        inspect_package(self.source)
        self.notices: list[str] = []
        self.target = self.source
        if output_file is not None and not _same_file(Path(output_file), self.source):
            self.target = Path(output_file)
        self.location = str(self.target)
        self.for_writing = for_writing
        if for_writing:
            self._lock_target()
        try:
            warning = warn_if_open_in_excel(self.source)
            if warning:
                self.notices.append(warning)
            self._guard = ChangeGuard(self.target)  # stamped before reading: an edit during the read counts
            # Every save patches these bytes, so a file someone else saves meanwhile is never the base.
            self._original = self.source.read_bytes()
            self.wb = _load(self._original, self.source.name)
            self.ws: Worksheet = self._select_sheet(sheet)
            with zipfile.ZipFile(io.BytesIO(self._original)) as zf:
                part = worksheet_part(zf, self.ws.title)
                self._tables = sheet_tables(zf, part)
        except BaseException:
            self.close()
            raise
        self._patch = SheetPatch(part)
        self._input_col = 0
        self._output_col = 0
        self._status_col: int | None = None
        self._status_blocked: set[int] = set()
        self._pending_headers: list[tuple[int, int, str]] = []
        self._dirty = False

    def _select_sheet(self, name: str | None) -> Worksheet:
        if name is None:
            active = self.wb.active
            if not isinstance(active, Worksheet):
                raise SourceError(f"The active sheet of {self.source.name} is not a worksheet; use --sheet.")
            return active
        wanted = name.strip().casefold()
        for ws in self.wb.worksheets:
            if ws.title.strip().casefold() == wanted:
                return ws
        raise SheetNotFoundError(name, [ws.title for ws in self.wb.worksheets])

    @property
    def sheet_title(self) -> str:
        return getattr(self, "_title", None) or self.ws.title

    # -------------------------------------------------------------------------------------------- read
    def read(
        self,
        input_column: str,
        output_column: str,
        *,
        header_row: int = 1,
        status_column: str | None = None,
        new_header: str | None = None,
        confidence_column: str | None = None,
    ) -> TableData:
        ws = self.ws
        max_row = ws.max_row
        if max_row == 1 and ws.max_column == 1 and ws.cell(1, 1).value is None:
            raise SourceError(
                f"Sheet {ws.title!r} in {self.source.name} is empty. Choose another sheet with --sheet."
            )
        if header_row > max_row:
            raise SourceError(
                f"No header at row {header_row}: sheet {ws.title!r} in {self.source.name} ends at row "
                f"{max_row}. Check --header-row."
            )
        used = _used_width(ws, header_row)
        headers: list[Any] = [ws.cell(header_row, c).value for c in range(1, max(ws.max_column, used) + 1)]
        header_texts = [display_text(h) or "" for h in headers]
        self._input_col = resolve_input_column(input_column, header_texts, header_row=header_row)
        self._output_col, created = resolve_output_column(
            output_column, header_texts, header_row=header_row, used_width=used
        )
        if created:
            header_texts.extend([""] * (self._output_col - len(header_texts)))
            header_texts[self._output_col - 1] = output_column.strip()
        status_created = False
        if status_column:
            self._status_col, status_created = resolve_output_column(
                status_column, header_texts, header_row=header_row, used_width=max(used, self._output_col)
            )
        check_distinct_columns(self._input_col, self._output_col, self._status_col)
        confidence_created = self._place_confidence(
            confidence_column, header_texts, status_column, status_created, header_row=header_row, used=used
        )
        # New headers are written with the first results, so a run with nothing to do changes nothing.
        self._pending_headers = []
        out_header = header_texts[self._output_col - 1] if self._output_col <= len(header_texts) else ""
        if created:
            self._pending_headers.append((header_row, self._output_col, output_column.strip()))
        elif not out_header and new_header:
            self._pending_headers.append((header_row, self._output_col, new_header))
        if status_created and self._status_col is not None and status_column:
            self._pending_headers.append((header_row, self._status_col, status_column.strip()))
        if confidence_created and self._confidence_col is not None and confidence_column:
            self._pending_headers.append((header_row, self._confidence_col, confidence_column.strip()))
        for row, col, _ in self._pending_headers:
            if isinstance(ws.cell(row, col), MergedCell):
                raise SourceError(
                    f"Cell {column_index_to_letter(col)}{row} for the new header is part of merged cells. "
                    "Choose another --output (a column letter or an existing header)."
                )
            self._patch.style_from[(row, col)] = self._input_col  # a new header looks like the input's

        cells = self._read_cells(header_row, max_row)
        conflict = None
        if not created:
            filled = sum(1 for c in cells if c.output is not None)
            conflict = unheaded_output_conflict(output_column, self._output_col, out_header, filled)
        notices = list(self.notices)
        notices.extend(self._grow_ranges(header_row, created, status_created))
        if self.target != self.source and self.target.exists() and self.for_writing:
            notices.extend(self._continue_earlier_output(header_row, header_texts, cells))
        if created:
            notices.append(
                f"New column {column_index_to_letter(self._output_col)} {output_column.strip()!r} "
                f"for the results."
            )
        uncalculated = sum(1 for c in cells if c.skip_reason == NO_CACHED_VALUE)
        if uncalculated:
            rows = "1 row has" if uncalculated == 1 else f"{uncalculated} rows have"
            notices.append(
                f"{rows} an input formula with no stored result (the program that saved "
                f"{self.source.name} did not calculate it). Open and save the file in Excel or LibreOffice, "
                "then run again to do them."
            )
        self._release_model()
        return TableData(
            headers=header_texts,
            input_col=self._input_col,
            output_col=self._output_col,
            cells=cells,
            output_header_created=created,
            status_col=self._status_col,
            notices=notices,
            output_conflict=conflict,
        )

    def _read_cells(self, header_row: int, max_row: int) -> list[InputCell]:
        ws = self.ws
        in_col, out_col = self._input_col, self._output_col
        totals = self._totals_rows()
        cells: list[InputCell] = []
        formula_rows: list[int] = []
        by_row: dict[int, InputCell] = {}
        for (in_cell,), (out_cell,) in zip(
            ws.iter_rows(min_row=header_row + 1, max_row=max_row, min_col=in_col, max_col=in_col),
            ws.iter_rows(min_row=header_row + 1, max_row=max_row, min_col=out_col, max_col=out_col),
            strict=True,
        ):
            row = in_cell.row
            item = InputCell(row=row, text=None, output=display_text(out_cell.value))
            kind = in_cell.data_type
            value = in_cell.value
            if kind == "e":
                item.error = str(value)
            elif (
                kind == "f"
                or (isinstance(value, str) and value.startswith("=") and kind != "s")
                or (hasattr(value, "text") and not isinstance(value, str))
            ):
                formula_rows.append(row)
            else:
                item.text = format_value(value, in_cell.number_format)
            if out_cell.data_type == "e":
                item.output = str(out_cell.value)
            if isinstance(out_cell, MergedCell):
                item.skip_reason = "output_merged"  # inside a merged range: Excel shows no value there
            elif row in totals:
                item.skip_reason = "table_totals"  # an Excel Table's totals row is not data
            cells.append(item)
            by_row[row] = item
        if self._status_col is not None:
            col = self._status_col
            self._status_blocked = {
                c.row for c in cells if isinstance(ws.cell(row=c.row, column=col), MergedCell)
            }
        if formula_rows:
            self._fill_cached_values(by_row, formula_rows)
        return cells

    def _fill_cached_values(self, by_row: dict[int, InputCell], rows: list[int]) -> None:
        """Formula cells are read as the value Excel last calculated (stored in the file)."""
        wanted = set(rows)
        col = self._input_col
        cached = _load(self._original, self.source.name, read_only=True, data_only=True)
        try:
            ws = cached[self.ws.title]
            for (cell,) in ws.iter_rows(min_row=min(rows), max_row=max(rows), min_col=col, max_col=col):
                row = getattr(cell, "row", None)
                if row not in wanted:
                    continue
                item = by_row[row]
                if getattr(cell, "data_type", None) == "e":
                    item.error = str(cell.value)
                else:
                    item.text = format_value(cell.value, getattr(cell, "number_format", None))
                    if item.text is None and cell.value is None:
                        item.skip_reason = NO_CACHED_VALUE
        finally:
            cached.close()

    def _totals_rows(self) -> set[int]:
        rows: set[int] = set()
        for table in self._tables:
            if table.totals_rows and _covers(table.ref, self._input_col):
                _, _, _, last = range_boundaries(table.ref)
                rows.update(range((last or 0) - table.totals_rows + 1, (last or 0) + 1))
        return rows

    def _grow_ranges(self, header_row: int, created: bool, status_created: bool) -> list[str]:
        """A new column right next to the input's Excel Table (or autofilter) joins it."""
        if not created:
            return []
        new_cols = [(self._output_col, self._pending_headers[0][2])]
        if status_created and self._status_col == self._output_col + 1:
            name = next(t for _, c, t in self._pending_headers if c == self._status_col)
            new_cols.append((self._status_col, name))
        notices = []
        for table in self._tables:
            _min_col, min_row, max_col, _ = range_boundaries(table.ref)
            if (
                table.header_rows
                and min_row == header_row
                and _covers(table.ref, self._input_col)
                and max_col is not None
                and self._output_col == max_col + 1
            ):
                ref = widen_ref(table.ref, new_cols[-1][0])
                self._patch.grow_tables[table.part] = (ref, [name for _, name in new_cols])
                notices.append(f"Table {table.name!r} grows to {ref} to include the results.")
        auto = self.ws.auto_filter.ref
        if auto and _covers(auto, self._input_col):
            _, _, max_col, _ = range_boundaries(auto)
            if max_col is not None and self._output_col == max_col + 1:
                self._patch.grow_autofilter = widen_ref(auto, new_cols[-1][0])
        return notices

    def _continue_earlier_output(
        self, header_row: int, header_texts: list[str], cells: list[InputCell]
    ) -> list[str]:
        """--output-file that exists: take the results an earlier run left there for unchanged rows."""
        inspect_package(self.target)
        earlier = _load(self.target.read_bytes(), self.target.name, read_only=True, data_only=True)
        try:
            if self.ws.title not in earlier.sheetnames:
                raise SourceError(
                    f"{self.target.name} exists but is not an earlier output of {self.source.name} (it has "
                    f"no sheet {self.ws.title!r}). Delete it or choose another --output-file."
                )
            ws = earlier[self.ws.title]
            width = max(len(header_texts), self._output_col, self._status_col or 0, self._confidence_col or 0)
            rows = ws.iter_rows(min_row=header_row, max_col=width)
            head = next(rows, ())
            check_earlier_output(
                [display_text(c.value) or "" for c in head],
                header_texts,
                {self._output_col, self._status_col or 0, self._confidence_col or 0},
                self.source.name,
                self.target.name,
            )
            found: dict[int, tuple[str | None, str | None]] = {}
            for line in rows:
                by_col = {getattr(c, "column", 0): c for c in line}
                first = next((c for c in line if getattr(c, "row", None)), None)
                if first is None:
                    continue
                inp, out = by_col.get(self._input_col), by_col.get(self._output_col)
                found[first.row] = (
                    format_value(inp.value, inp.number_format) if inp is not None else None,
                    display_text(out.value) if out is not None else None,
                )
        finally:
            earlier.close()
        carried = carry_over(cells, found)
        for row, value in carried.items():
            self._patch.set(row, self._output_col, value)
        return [f"Continuing in {self.target.name}: {len(carried)} rows were done by an earlier run."]

    def _release_model(self) -> None:
        """Reading is done: writing patches the original bytes, so the openpyxl model can go."""
        self._title = self.ws.title
        del self.ws, self.wb

    # ------------------------------------------------------------------------------------------- write
    def _set(self, row: int, col: int, value: str, *, header: bool = False) -> None:
        self._patch.set(row, col, value)
        self._dirty = True

    def _status_writable(self, row: int) -> bool:
        return self._status_col is not None and row not in self._status_blocked

    def _save_to(self, path: Path) -> None:
        try:
            patch_package(io.BytesIO(self._original), path, self._patch)
        except (zipfile.BadZipFile, ValueError) as exc:
            raise SourceError(f"{self.source.name} cannot be updated ({exc}). Is it damaged?") from None


def _covers(ref: str, col: int) -> bool:
    try:
        min_col, _, max_col, _ = range_boundaries(ref)
    except (ValueError, TypeError):
        return False
    return min_col is not None and max_col is not None and min_col <= col <= max_col


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and a.samefile(b)
    except OSError:
        return False
