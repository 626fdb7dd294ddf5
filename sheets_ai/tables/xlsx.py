"""Excel workbooks (.xlsx, .xlsm) through openpyxl, preserving everything outside the output column."""

from __future__ import annotations

import copy
import logging
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from ..errors import SheetNotFoundError, SourceError
from ._files import ChangeGuard, FileTable, warn_if_open_in_excel
from ._numfmt import format_value
from .base import (
    InputCell,
    TableData,
    check_distinct_columns,
    column_index_to_letter,
    display_text,
    resolve_input_column,
    resolve_output_column,
)

log = logging.getLogger("sheets_ai")

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: Parts of a package that openpyxl drops or damages when it saves.
UNSUPPORTED_PARTS = {
    "xl/charts/": "charts",
    "xl/drawings/": "drawings or images",
    "xl/media/": "images",
    "xl/pivotTables/": "pivot tables",
    "xl/pivotCache/": "pivot tables",
    "xl/vbaProject.bin": "macros",
    "xl/slicers/": "slicers",
    "xl/slicerCaches/": "slicers",
    "xl/timelines/": "timelines",
    "xl/activeX/": "ActiveX controls",
    "xl/ctrlProps/": "form controls",
    "xl/embeddings/": "embedded objects",
    "xl/threadedComments/": "threaded comments",
    "xl/queryTables/": "query tables",
    "xl/connections.xml": "data connections",
    "customXml/": "custom XML parts",
}


def inspect_package(path: Path) -> list[str]:
    """Open checks with clear messages; returns the unsupported features found (empty if none)."""
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
    found: list[str] = []
    for name in names:
        for prefix, feature in UNSUPPORTED_PARTS.items():
            if name.startswith(prefix) and feature not in found:
                found.append(feature)
    return found


def _clean(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)


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
        unsupported = inspect_package(self.source)
        self.notices: list[str] = []
        if output_file is not None:
            self.target = Path(output_file)
        elif unsupported or self.source.suffix.lower() == ".xlsm":
            features = ", ".join(unsupported) or "macros"
            self.target = self.source.with_name(f"{self.source.stem}.sheets-ai.xlsx")
            self.notices.append(
                f"{self.source.name} has parts that cannot be saved safely ({features}); results go to "
                f"{self.target.name} and the original is left untouched."
            )
        else:
            self.target = self.source
        self.location = str(self.target)
        self.for_writing = for_writing
        if for_writing:
            self._lock_target()
        warning = warn_if_open_in_excel(self.source)
        if warning:
            self.notices.append(warning)
        load_from = self.source
        if self.target != self.source and self.target.exists() and for_writing:
            inspect_package(self.target)
            load_from = self.target
            self.notices.append(f"Continuing in {self.target.name}, which an earlier run wrote.")
        self._load_from = load_from
        try:
            self._guard = ChangeGuard(self.target)  # stamped before loading: an edit during the load counts
            self.wb: Workbook = openpyxl.load_workbook(load_from, keep_links=True, keep_vba=False)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            self.close()
            raise SourceError(
                f"{load_from.name} cannot be read as a workbook ({exc}). Is it damaged?"
            ) from None
        except BaseException:
            self.close()
            raise
        try:
            self.ws: Worksheet = self._select_sheet(sheet)
        except BaseException:
            self.close()
            raise
        self._input_col = 0
        self._output_col = 0
        self._status_col: int | None = None
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
        return self.ws.title

    def read(
        self,
        input_column: str,
        output_column: str,
        *,
        header_row: int = 1,
        status_column: str | None = None,
    ) -> TableData:
        ws = self.ws
        max_row = ws.max_row
        max_col = ws.max_column
        if max_row < header_row or (max_row == 1 and max_col == 1 and ws.cell(1, 1).value is None):
            raise SourceError(
                f"Sheet {ws.title!r} in {self.source.name} is empty. Choose another sheet with --sheet."
            )
        headers: list[Any] = [ws.cell(header_row, c).value for c in range(1, max_col + 1)]
        header_texts = [display_text(h) or "" for h in headers]
        self._input_col = resolve_input_column(input_column, header_texts, header_row=header_row)
        self._output_col, created = resolve_output_column(output_column, header_texts, header_row=header_row)
        if created:
            header_texts.append(output_column.strip())
        status_created = False
        if status_column:
            status_col, status_created = resolve_output_column(
                status_column, header_texts, header_row=header_row
            )
            if status_created and status_col == self._output_col:
                status_col += 1
            self._status_col = status_col
        check_distinct_columns(self._input_col, self._output_col, self._status_col)
        # New headers are written with the first results, so a run with nothing to do changes nothing.
        self._pending_headers = []
        if created:
            self._pending_headers.append((header_row, self._output_col, output_column.strip()))
        if status_created and self._status_col is not None and status_column:
            self._pending_headers.append((header_row, self._status_col, status_column.strip()))
        for row, col, _ in self._pending_headers:
            if isinstance(ws.cell(row, col), MergedCell):
                raise SourceError(
                    f"Cell {column_index_to_letter(col)}{row} for the new header is part of merged cells. "
                    "Choose another --output (a column letter or an existing header)."
                )

        cells = self._read_cells(header_row, max_row)
        notices = list(self.notices)
        if created:
            notices.append(
                f"New column {column_index_to_letter(self._output_col)} {output_column.strip()!r} "
                f"for the results."
            )
        return TableData(
            headers=header_texts,
            input_col=self._input_col,
            output_col=self._output_col,
            cells=cells,
            output_header_created=created,
            status_col=self._status_col,
            notices=notices,
        )

    def _read_cells(self, header_row: int, max_row: int) -> list[InputCell]:
        ws = self.ws
        in_col, out_col = self._input_col, self._output_col
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
            cells.append(item)
            by_row[row] = item
        if formula_rows:
            self._fill_cached_values(by_row, formula_rows)
        return cells

    def _fill_cached_values(self, by_row: dict[int, InputCell], rows: list[int]) -> None:
        """Formula cells are read as the value Excel last calculated (cached in the file)."""
        wanted = set(rows)
        col = self._input_col
        cached = openpyxl.load_workbook(self._load_from, read_only=True, data_only=True, keep_links=False)
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
                    if item.text is None:
                        item.error = "formula without a cached value (open and save the file in Excel)"
        finally:
            cached.close()

    def _set(self, row: int, col: int, value: str, *, header: bool = False) -> None:
        cell = self.ws.cell(row=row, column=col)
        cell.value = _clean(value)
        # openpyxl would store a string that starts with "=" as a formula; results are always values.
        cell.data_type = "s"
        if header:  # a new header looks like the input column's
            src = self.ws.cell(row=row, column=self._input_col)
            if src.has_style:
                cell.font = copy.copy(src.font)
                cell.fill = copy.copy(src.fill)
                cell.border = copy.copy(src.border)
                cell.alignment = copy.copy(src.alignment)
        self._dirty = True

    def _status_writable(self, row: int) -> bool:
        return self._status_col is not None and not isinstance(
            self.ws.cell(row=row, column=self._status_col), MergedCell
        )

    def _save_to(self, path: Path) -> None:
        self.wb.save(path)
