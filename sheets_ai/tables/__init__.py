"""Tables: where rows come from and results go. ``open_table`` picks the backend for a source."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

from ..config import RunConfig
from ..errors import SourceError, UsageError
from ._sheet_url import is_url
from .base import InputCell, Table, TableData, WriteOutcome

__all__ = ["InputCell", "Table", "TableData", "WriteOutcome", "is_google_sheet", "open_table"]

_SHEET_ID = re.compile(r"^[A-Za-z0-9_-]{30,}$")
_ANY_ID = re.compile(r"^[A-Za-z0-9_-]+$")
log = logging.getLogger("sheets_ai")
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


def open_table(
    config: RunConfig, *, for_writing: bool = True, pace: Callable[[], None] | None = None
) -> Table:
    """The table ``config.source`` names. ``pace`` (Google Sheets only) is called before each write request."""
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
        if config.encoding is not None:
            raise UsageError("Cannot use --encoding with a Google Sheet; it is for CSV files.")
        from .gsheets import GoogleSheetTable

        if not _ANY_ID.match(source):  # a URL: certainly meant as a spreadsheet
            return GoogleSheetTable.from_config(config, for_writing=for_writing, pace=pace)
        try:
            return GoogleSheetTable.from_config(config, for_writing=for_writing, pace=pace)
        except SourceError as exc:
            raise _neither_file_nor_spreadsheet(source, exc) or exc from None
    if config.log_sheet:
        raise UsageError("Cannot use --log-sheet with a file; it appends to a worksheet of a Google Sheet.")
    path = Path(source)
    suffix = path.suffix.lower()
    if path.is_dir():
        raise SourceError(f"{source!r} is a folder. Pass an .xlsx or .csv file inside it.")
    if config.output_file is not None:
        out_suffix = Path(config.output_file).suffix.lower()
        # A workbook keeps its kind: an .xlsm saved as .xlsx would not open in Excel (its macros need .xlsm).
        same_kind = (suffix in CSV_SUFFIXES and out_suffix in CSV_SUFFIXES) or (
            suffix in XLSX_SUFFIXES and out_suffix == suffix
        )
        if not same_kind and suffix in CSV_SUFFIXES | XLSX_SUFFIXES:
            wanted = "a .csv/.tsv/.txt" if suffix in CSV_SUFFIXES else f"a {suffix}"
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

        return CsvTable(
            path, output_file=config.output_file, for_writing=for_writing, encoding=config.encoding
        )
    if config.encoding is not None:
        raise UsageError(f"Cannot use --encoding with a {suffix or 'non-CSV'} file; it is for CSV files.")
    if suffix in XLSX_SUFFIXES:
        from .xlsx import XlsxTable

        log.debug("reading %s", path)
        return XlsxTable(path, sheet=config.sheet, output_file=config.output_file, for_writing=for_writing)
    if suffix == ".xls":
        raise SourceError(f"{path.name} is an old .xls workbook. Open it in Excel and save it as .xlsx.")
    if not path.exists():
        raise SourceError(f"File {source!r} not found. Check the path.")
    raise SourceError(
        f"{path.name}: unsupported file type {suffix or '(none)'}. Use .xlsx, .csv or a Google Sheets URL."
    )


def _neither_file_nor_spreadsheet(name: str, exc: SourceError) -> SourceError | None:
    """A bare name that is no file here and did not open as a spreadsheet id: say the file is not found first
    (it is most often a mistyped file name), then what it would take to open it as a spreadsheet."""
    from ._google import (
        ENDPOINT_ENV,
        GOOGLE_ORIGIN,
        NoGoogleCredentialsError,
        SheetsUnreachableError,
        SpreadsheetNotFoundError,
    )

    missing = f"File {name!r} not found. Check the path"
    if isinstance(exc, NoGoogleCredentialsError):
        return SourceError(
            f"{missing}; if it is a Google Sheets spreadsheet id, give Google credentials to open it: "
            "--credentials KEY.json, GOOGLE_APPLICATION_CREDENTIALS, or `gcloud auth application-default login`."
        )
    if isinstance(exc, SpreadsheetNotFoundError):
        return SourceError(f"{missing}; no Google Sheets spreadsheet has that id either.")
    if isinstance(exc, SheetsUnreachableError):
        where = "Google Sheets" if exc.where == GOOGLE_ORIGIN else f"{exc.where} ({ENDPOINT_ENV})"
        return SourceError(f"{missing}. Cannot reach {where} to open it as a spreadsheet id either.")
    return None
