"""Tables: where rows come from and results go. ``open_table`` picks the backend for a source."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..config import RunConfig
from ..errors import SourceError, UsageError
from ._sheet_url import is_url
from .base import InputCell, Table, TableData, WriteOutcome

__all__ = ["InputCell", "Table", "TableData", "WriteOutcome", "is_google_sheet", "open_table"]

_SHEET_ID = re.compile(r"^[A-Za-z0-9_-]{30,}$")
_ANY_ID = re.compile(r"^[A-Za-z0-9_-]+$")
CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}


def is_google_sheet(source: str) -> bool:
    """A URL (a Sheets URL in any form Google gives, or another URL, refused with a clear message later), or a
    bare spreadsheet id (no such file here). Real ids are 44 characters; against the emulator
    (SHEETS_AI_SHEETS_ENDPOINT) any id-like name without a file extension counts."""
    if is_url(source):
        return True
    if Path(source).exists() or not _ANY_ID.match(source):
        return False
    return bool(_SHEET_ID.match(source)) or bool(os.environ.get("SHEETS_AI_SHEETS_ENDPOINT"))


def open_table(config: RunConfig, *, for_writing: bool = True) -> Table:
    source = config.source
    if not source:
        raise UsageError("No SOURCE given: pass an .xlsx or .csv file, or a Google Sheets URL.")
    if config.input is None or config.output is None:
        raise UsageError("--input and --output are required, e.g. --input Review --output Sentiment.")
    if is_google_sheet(source):
        if config.output_file is not None:
            raise UsageError(
                "Cannot use --output-file with a Google Sheet; results go into the sheet itself."
            )
        from .gsheets import GoogleSheetTable

        return GoogleSheetTable.from_config(config, for_writing=for_writing)
    if config.log_sheet:
        raise UsageError("Cannot use --log-sheet with a file; it appends to a worksheet of a Google Sheet.")
    path = Path(source)
    suffix = path.suffix.lower()
    if path.is_dir():
        raise SourceError(f"{source!r} is a folder. Pass an .xlsx or .csv file inside it.")
    if config.output_file is not None:
        out_suffix = Path(config.output_file).suffix.lower()
        same_kind = (suffix in CSV_SUFFIXES and out_suffix in CSV_SUFFIXES) or (
            suffix in XLSX_SUFFIXES and out_suffix == ".xlsx"
        )
        if not same_kind and suffix in CSV_SUFFIXES | XLSX_SUFFIXES:
            wanted = "a .csv/.tsv/.txt" if suffix in CSV_SUFFIXES else "an .xlsx"
            raise UsageError(
                f"--output-file {str(config.output_file)!r}: a {suffix} source is written as {wanted} file; "
                "choose a name with that extension."
            )
    if config.status_column and config.status_column.strip().casefold() == config.output.strip().casefold():
        raise UsageError("Cannot use the same column for --output and --status-column.")
    if suffix in CSV_SUFFIXES:
        if config.sheet:
            raise UsageError("Cannot use --sheet with a CSV file (it has one sheet).")
        from .csv import CsvTable

        return CsvTable(path, output_file=config.output_file, for_writing=for_writing)
    if suffix in XLSX_SUFFIXES:
        from .xlsx import XlsxTable

        return XlsxTable(path, sheet=config.sheet, output_file=config.output_file, for_writing=for_writing)
    if suffix == ".xls":
        raise SourceError(f"{path.name} is an old .xls workbook. Open it in Excel and save it as .xlsx.")
    if not path.exists():
        raise SourceError(f"File {source!r} not found. Check the path.")
    raise SourceError(
        f"{path.name}: unsupported file type {suffix or '(none)'}. Use .xlsx, .csv or a Google Sheets URL."
    )
