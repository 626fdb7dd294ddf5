"""Google Sheets through gspread: two reads per run, then a re-read and a write per chunk written.

Before each chunk is written, the input cells of those rows are read again; only rows whose input is still
the text that was processed, and whose output cell nobody filled meanwhile, are written. Everything is
written with ``valueInputOption=RAW``, so a result that starts with ``=`` stays text. A chunk whose results
pass 2 MB is written in several ``values.batchUpdate`` requests of at most 2 MB each (``_gsheets_batches``).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import socket
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from gspread.exceptions import APIError
from gspread.utils import absolute_range_name
from openpyxl.utils.cell import get_column_letter

from ..config import RunConfig
from ..errors import SheetNotFoundError, SourceError
from ..ledger import LEDGER_COLUMNS
from ..redact import scrub_data
from ._google import SpreadsheetNotFoundError, make_client
from ._gsheets_batches import batch_update_bodies
from ._gsheets_review import SheetReview
from ._sheet_url import parse_source
from .base import (
    InputCell,
    Table,
    TableData,
    WriteOutcome,
    check_confidence_column,
    check_distinct_columns,
    column_index_to_letter,
    display_text,
    resolve_input_column,
    resolve_output_column,
)

log = logging.getLogger("sheets_ai")
ERROR_VALUES = {
    "#N/A",
    "#DIV/0!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#VALUE!",
    "#NULL!",
    "#ERROR!",
    "#SPILL!",
    "#CALC!",
}
LOG_HEADER = [
    "time",
    "task",
    "model",
    "processed",
    "failed",
    "skipped",
    "changed",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "seconds",
    "status",
    "where",
    *LEDGER_COLUMNS,  # --monthly-budget (sheets_ai.ledger): the run's id, its month, its claim
]


class GoogleSheetTable(Table):
    """``pace`` is called before each write of results (its re-read and values.batchUpdate; each further 2 MB
    request) and each --log-sheet request: the job passes one that spaces them so the tasks of an execution
    share the 60 writes (and reads) per minute quota."""

    def __init__(
        self, config: RunConfig, *, for_writing: bool = True, pace: Callable[[], None] | None = None
    ) -> None:
        self.config = config
        self.for_writing = for_writing
        self._pace = pace or (lambda: None)
        self.spreadsheet_id, gid = parse_source(config.source)
        self.client, self.account_email = make_client(
            config.credentials,
            attempts=config.retry_attempts or 6,
            max_seconds=config.retry_seconds,
            timeout=config.request_timeout,
        )
        self.http = self.client.http_client
        meta = self._call(lambda: self.http.fetch_sheet_metadata(self.spreadsheet_id))
        self.title = meta.get("properties", {}).get("title", self.spreadsheet_id)
        self.sheets = [s["properties"] for s in meta.get("sheets", [])]
        self.props = self._select(config.sheet, gid)
        self.sheet_title: str = self.props["title"]
        self.location = f"https://docs.google.com/spreadsheets/d/{self.spreadsheet_id}/edit#gid={self.props.get('sheetId', 0)}"
        self._in_col = self._out_col = 0
        self._status_col: int | None = None
        self._confidence_col: int | None = None
        self._header_row = 1
        self._pending_headers: dict[int, str] = {}
        # What each data row held when it was read; a write goes only where the row still holds it.
        self._inputs_at_read: dict[int, str | None] = {}
        self._outputs_at_read: dict[int, str | None] = {}
        self._statuses_at_read: dict[int, str | None] = {}

    @classmethod
    def from_config(
        cls, config: RunConfig, *, for_writing: bool = True, pace: Callable[[], None] | None = None
    ) -> GoogleSheetTable:
        return cls(config, for_writing=for_writing, pace=pace)

    # ------------------------------------------------------------------ errors
    def _call(self, fn: Any) -> Any:
        try:
            return fn()
        except APIError as exc:
            raise self._explain(exc) from None

    def _explain(self, exc: APIError) -> SourceError:
        code = exc.code
        message = str(exc.error.get("message", ""))
        if code == 403:
            who = f"the service account {self.account_email}" if self.account_email else "your Google account"
            return SourceError(
                f"Permission denied for spreadsheet {self.spreadsheet_id}: share it (Editor) with {who}, "
                "then run again."
            )
        if code == 404:
            return SpreadsheetNotFoundError(
                f"Spreadsheet {self.spreadsheet_id!r} not found. Check the URL or id (and that it is a Google "
                "Sheet, not an uploaded .xlsx)."
            )
        if code == 401:
            return SourceError(
                "Google rejected the credentials (401). Check --credentials or run "
                "`gcloud auth application-default login`."
            )
        return SourceError(f"Google Sheets API error {code}: {message}")

    def _select(self, name: str | None, gid: int | None) -> dict[str, Any]:
        titles = [p["title"] for p in self.sheets]
        if name is not None:
            for p in self.sheets:
                if p["title"].strip().casefold() == name.strip().casefold():
                    return p
            raise SheetNotFoundError(name, titles)
        if gid is not None:
            for p in self.sheets:
                if p.get("sheetId") == gid:
                    return p
            raise SourceError(
                f"No worksheet with gid={gid} in this spreadsheet. Worksheets: {', '.join(titles)}"
            )
        if not self.sheets:
            raise SourceError("The spreadsheet has no worksheets.")
        return self.sheets[0]

    # -------------------------------------------------------------------- read
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
        self._header_row = header_row
        rng = absolute_range_name(self.sheet_title, f"{header_row}:{max(header_row, self._row_count())}")
        data = self._call(
            lambda: self.http.values_batch_get(
                self.spreadsheet_id,
                [rng],
                params={"valueRenderOption": "FORMATTED_VALUE", "majorDimension": "ROWS"},
            )
        )
        values: list[list[Any]] = data.get("valueRanges", [{}])[0].get("values", [])
        if not values:
            raise SourceError(f"Worksheet {self.sheet_title!r} is empty. Choose another with --sheet.")
        headers = [display_text(h) or "" for h in values[0]]
        self._in_col = resolve_input_column(input_column, headers, header_row=header_row)
        # Right of every used cell, not only of the last header: the API trims each row's trailing blanks.
        used = max((len(r) for r in values), default=0)
        self._out_col, created = resolve_output_column(
            output_column, headers, header_row=header_row, used_width=used
        )
        notices = []
        if created:
            self._pending_headers[self._out_col] = output_column.strip()
            headers.append(output_column.strip())
            notices.append(
                f"New column {column_index_to_letter(self._out_col)} {output_column.strip()!r} for the results."
            )
        if status_column:
            col, made = resolve_output_column(status_column, headers, header_row=header_row)
            if made:
                col = max(col, self._out_col + 1) if created else col
                self._pending_headers[col] = status_column.strip()
            self._status_col = col
        check_distinct_columns(self._in_col, self._out_col, self._status_col)
        if confidence_column:
            planned = headers + [""] * max(0, max(self._pending_headers, default=0) - len(headers))
            for pending_col, pending in self._pending_headers.items():
                planned[pending_col - 1] = pending
            conf_col, conf_made = resolve_output_column(
                confidence_column, planned, header_row=header_row, used_width=used
            )
            if conf_made:
                self._pending_headers[conf_col] = confidence_column.strip()
            self._confidence_col = conf_col
            check_confidence_column(conf_col, self._in_col, self._out_col, self._status_col)
        cells: list[InputCell] = []
        for offset, row_values in enumerate(values[1:], start=1):
            row = header_row + offset
            raw = row_values[self._in_col - 1] if self._in_col <= len(row_values) else ""
            out = row_values[self._out_col - 1] if self._out_col <= len(row_values) else ""
            text = display_text(raw)
            cell = InputCell(row=row, text=text, output=display_text(out))
            if text is not None and text.strip() in ERROR_VALUES:
                cell.text, cell.error = None, text.strip()
            self._inputs_at_read[row] = text
            self._outputs_at_read[row] = cell.output
            if self._status_col:
                status = row_values[self._status_col - 1] if self._status_col <= len(row_values) else ""
                self._statuses_at_read[row] = display_text(status)
            cells.append(cell)
        return TableData(
            headers=headers,
            input_col=self._in_col,
            output_col=self._out_col,
            cells=cells,
            output_header_created=created,
            status_col=self._status_col,
            notices=notices,
        )

    def _row_count(self) -> int:
        return int(self.props.get("gridProperties", {}).get("rowCount", 1000))

    # ------------------------------------------------------------------- write
    def write(
        self,
        results: Mapping[int, str],
        expected_inputs: Mapping[int, str],
        statuses: Mapping[int, str] | None = None,
        *,
        confidences: Mapping[int, str] | None = None,
    ) -> WriteOutcome:
        rows = sorted(set(results) | set(statuses or {}))
        outcome = WriteOutcome()
        if not rows or not self.for_writing:
            return outcome
        self._pace()  # the re-read and the write that follows it take one turn of the pace
        current = self._reread(rows[0], rows[-1])
        updates: dict[tuple[int, int], str] = {}
        for row in rows:
            now_in, now_out, now_status = current.get(row, (None, None, None))
            # The same row, untouched: its input is the text processed and nobody filled its output.
            same_row = now_in is not None and now_in == expected_inputs.get(
                row, self._inputs_at_read.get(row)
            )
            untouched = now_out == self._outputs_at_read.get(row)
            if row in results and not (same_row and untouched):
                outcome.changed.append(row)
                # Label the row only where that cannot mislabel another one: the same row (a user filled
                # its output), or a row whose output and status are as read; a finished row that moved
                # into this position keeps its status.
                if (
                    statuses is not None
                    and self._status_col
                    and now_in is not None
                    and (same_row or untouched)
                    and now_status == self._statuses_at_read.get(row)
                ):
                    updates[(row, self._status_col)] = "changed during run"
                continue
            if row in results:
                updates[(row, self._out_col)] = results[row]
                outcome.written.append(row)
                if confidences and self._confidence_col and row in confidences:
                    updates[(row, self._confidence_col)] = confidences[row]
            elif not (same_row and untouched):
                continue  # a failed row that moved or was edited: its error belongs to another row now
            if statuses is not None and self._status_col and row in statuses:
                updates[(row, self._status_col)] = statuses[row]
        for col, text in list(self._pending_headers.items()):
            updates[(self._header_row, col)] = text
        self._ensure_columns(max(c for _, c in updates) if updates else 0)
        self._send(updates)
        self._pending_headers.clear()
        for row in outcome.written:
            self._outputs_at_read[row] = results[row]
        for (row, col), value in updates.items():
            if col == self._status_col and row != self._header_row:
                self._statuses_at_read[row] = value
        return outcome

    def _reread(self, first: int, last: int) -> dict[int, tuple[str | None, str | None, str | None]]:
        """Input, output and status cells of rows first..last as they are now (one batchGet)."""
        columns = [self._in_col, self._out_col] + ([self._status_col] if self._status_col else [])
        ranges = [
            absolute_range_name(
                self.sheet_title, f"{get_column_letter(c)}{first}:{get_column_letter(c)}{last}"
            )
            for c in columns
        ]
        data = self._call(
            lambda: self.http.values_batch_get(
                self.spreadsheet_id,
                ranges,
                params={"valueRenderOption": "FORMATTED_VALUE", "majorDimension": "COLUMNS"},
            )
        )
        cols = []
        for vr in data.get("valueRanges", []):
            values = vr.get("values", [])
            cols.append(values[0] if values else [])
        while len(cols) < 3:
            cols.append([])

        def at(col: list[Any], i: int) -> str | None:
            return display_text(col[i]) if i < len(col) else None

        return {first + i: (at(cols[0], i), at(cols[1], i), at(cols[2], i)) for i in range(last - first + 1)}

    def _ensure_columns(self, needed: int) -> None:
        have = int(self.props.get("gridProperties", {}).get("columnCount", 26))
        if needed <= have:
            return
        body = {
            "requests": [
                {
                    "insertDimension": {
                        "range": {
                            "sheetId": self.props["sheetId"],
                            "dimension": "COLUMNS",
                            "startIndex": have,
                            "endIndex": needed,
                        },
                        "inheritFromBefore": True,
                    }
                }
            ]
        }
        self._call(lambda: self.http.batch_update(self.spreadsheet_id, body))
        self.props.setdefault("gridProperties", {})["columnCount"] = needed

    def _send(self, updates: dict[tuple[int, int], str]) -> None:
        """values.batchUpdate RAW, one range per run of adjacent rows in a column, no body over 2 MB."""
        for i, body in enumerate(batch_update_bodies(self.sheet_title, updates)):
            if i:
                self._pace()  # a write over 2 MB: each further request waits for its turn
            self._call(partial(self.http.values_batch_update, self.spreadsheet_id, body))

    # ------------------------------------------------------------ human review
    def review(self, sheet_name: str | None = None) -> SheetReview:
        """Highlights of rows to review and the --review-sheet worksheet (``_gsheets_review``)."""
        return SheetReview(self, sheet_name)

    def add_worksheet(self, title: str) -> bool:
        """Create the worksheet ``title``; False when it already exists (another process, such as another
        task of the same job, created it meanwhile: the API's "already exists" answer means it is there)."""
        body = {"requests": [{"addSheet": {"properties": {"title": title}}}]}
        self._pace()
        try:
            reply = self.http.batch_update(self.spreadsheet_id, body)
        except APIError as exc:
            if exc.code != 400 or "already exists" not in str(exc.error.get("message", "")):
                raise self._explain(exc) from None
            self.sheets.append({"title": title})
            return False
        self.sheets.append(reply["replies"][0]["addSheet"]["properties"])
        return True

    # --------------------------------------------------------------- run log
    def append_log(self, name: str, entry: Mapping[str, Any]) -> None:
        """Append one row describing a run to the worksheet ``name`` (created with a header if missing)."""
        name = self._log_sheet(name)
        rows: list[list[Any]] = [[entry.get(k, "") for k in LOG_HEADER]]
        self._pace()
        self._call(
            lambda: self.http.values_append(
                self.spreadsheet_id,
                absolute_range_name(name, "A1"),
                params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
                body={"values": rows},
            )
        )

    def _log_sheet(self, name: str) -> str:
        """The log worksheet's title; a missing one is created with its header row in one atomic request, so
        a row another run (a Cloud Run task) appends at the same moment lands below the header."""
        existing = [p["title"] for p in self.sheets if p["title"].casefold() == name.casefold()]
        if existing:
            return str(existing[0])
        taken = {p.get("sheetId") for p in self.sheets}
        sheet_id = secrets.randbelow(2**31 - 2) + 1
        while sheet_id in taken:
            sheet_id = secrets.randbelow(2**31 - 2) + 1
        header = {"values": [{"userEnteredValue": {"stringValue": h}} for h in LOG_HEADER]}
        body = {
            "requests": [
                {"addSheet": {"properties": {"title": name, "sheetId": sheet_id}}},
                {"appendCells": {"sheetId": sheet_id, "rows": [header], "fields": "userEnteredValue"}},
            ]
        }
        self._pace()
        try:
            self.http.batch_update(self.spreadsheet_id, body)
        except APIError as exc:
            if exc.code != 400 or "already exists" not in str(exc.error.get("message", "")):
                raise self._explain(exc) from None
            self.sheets.append({"title": name})  # another run (a Cloud Run task) created it first
            return name
        self.sheets.append({"title": name, "sheetId": sheet_id})
        return name

    def log_rows(self, name: str) -> list[tuple[int, dict[str, Any]]]:
        """The log worksheet's rows as (row number, LOG_HEADER name -> value), header rows left out; read by
        position, so rows appended before a header are read too. An older, shorter header is completed."""
        existing = [p["title"] for p in self.sheets if p["title"].casefold() == name.casefold()]
        if not existing:
            self._refresh_sheets()
            existing = [p["title"] for p in self.sheets if p["title"].casefold() == name.casefold()]
            if not existing:
                return []
        last = column_index_to_letter(len(LOG_HEADER))
        self._pace()
        values = self._call(
            lambda: self.http.values_get(
                self.spreadsheet_id,
                absolute_range_name(existing[0], f"A:{last}"),
                params={"valueRenderOption": "UNFORMATTED_VALUE"},
            )
        ).get("values", [])
        rows = []
        for number, row in enumerate(values, start=1):
            if row[:1] == LOG_HEADER[:1]:
                if self.for_writing and number == 1 and row == LOG_HEADER[: len(row)] != LOG_HEADER:
                    self._complete_header(existing[0], len(row))
                continue
            rows.append((number, dict(zip(LOG_HEADER, row, strict=False))))
        return rows

    def _complete_header(self, name: str, have: int) -> None:
        first, last = column_index_to_letter(have + 1), column_index_to_letter(len(LOG_HEADER))
        self._pace()
        self._call(
            lambda: self.http.values_update(
                self.spreadsheet_id,
                absolute_range_name(name, f"{first}1:{last}1"),
                params={"valueInputOption": "RAW"},
                body={"values": [LOG_HEADER[have:]]},
            )
        )

    def _refresh_sheets(self) -> None:
        meta = self._call(lambda: self.http.fetch_sheet_metadata(self.spreadsheet_id))
        self.sheets = [s["properties"] for s in meta.get("sheets", [])]


def log_entry(report: Any, status: str) -> dict[str, Any]:
    """One --log-sheet row; a shared sheet, so every text is scrubbed of secrets (sheets_ai.redact)."""
    entry = {
        "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "task": report.task,
        "model": f"{report.provider}:{report.model}",
        "processed": report.rows_processed,
        "failed": report.rows_failed,
        "skipped": report.rows_skipped,
        "changed": report.rows_changed,
        "prompt_tokens": report.prompt_tokens,
        "completion_tokens": report.completion_tokens,
        "cost_usd": round(report.cost_usd, 6),
        "seconds": round(report.seconds, 1),
        "status": status,
        "where": socket.gethostname(),
    }
    return scrub_data(entry)
