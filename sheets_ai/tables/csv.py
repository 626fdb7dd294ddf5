"""CSV files, written back with the delimiter, quoting, encoding, BOM and line endings they had."""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Sequence
from pathlib import Path

from ..errors import SourceError
from ._encoding import BOM_FOR, Decoded, decode_as, describe, detect, fit_for_status, unencodable
from ._files import ChangeGuard, FileTable, carry_over, check_earlier_output
from .base import (
    InputCell,
    TableData,
    check_distinct_columns,
    column_index_to_letter,
    display_text,
    is_formula_like,
    resolve_input_column,
    resolve_output_column,
    unheaded_output_conflict,
)

log = logging.getLogger("sheets_ai")
DELIMITERS = ",;\t|"
# The csv module refuses fields over 128 KiB by default; a cell can hold far more (a long note, a pasted
# document). The limit is a C long: 2**31 - 1 fits on every platform.
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))


def _last_filled(row: list[str]) -> int:
    return max((i for i, field in enumerate(row, start=1) if field.strip()), default=0)


class _Dialect(csv.Dialect):
    delimiter = ","
    quotechar = '"'
    doublequote = True
    escapechar = None
    skipinitialspace = False
    lineterminator = "\r\n"
    quoting = csv.QUOTE_MINIMAL


def _choose_dialect(sample: str, *, complete: bool, suffix: str) -> csv.Dialect:
    """Pick the delimiter that splits the first row into the most consistent columns.

    csv.Sniffer alone guesses ',' for a one-column file whose texts contain commas (and then a result
    would overwrite part of a text). A candidate must split the first row into at least two fields; the
    one that gives most rows that same width wins. No candidate: a one-column file.
    """
    best: tuple[float, str] | None = None
    for delimiter in DELIMITERS:
        rows = [r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter) if r]
        if not complete and len(rows) > 1:
            rows = rows[:-1]  # the sample may end inside a row
        if not rows or len(rows[0]) < 2:
            continue
        share = sum(len(r) == len(rows[0]) for r in rows) / len(rows)
        if best is None or share > best[0]:
            best = (share, delimiter)
    chosen = best[1] if best else ("\t" if suffix == ".tsv" else ",")
    dialect = _Dialect()
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=chosen)
        if sniffed.delimiter == chosen and sniffed.quotechar:
            dialect.quotechar = sniffed.quotechar
            dialect.doublequote = sniffed.doublequote
    except csv.Error:
        pass
    dialect.delimiter = chosen
    return dialect


class CsvTable(FileTable):
    """A local CSV file. Results that look like formulas get a leading apostrophe (see README)."""

    def __init__(
        self,
        path: str | Path,
        *,
        output_file: str | Path | None = None,
        for_writing: bool = True,
        encoding: str | None = None,
    ) -> None:
        self.source = Path(path)
        if not self.source.exists():
            raise SourceError(f"File {str(self.source)!r} not found. Check the path.")
        if self.source.is_dir():
            raise SourceError(f"{str(self.source)!r} is a folder, not a CSV file.")
        self.target = Path(output_file) if output_file is not None else self.source
        self.location = str(self.target)
        self.notices: list[str] = []
        self.for_writing = for_writing
        if for_writing:
            self._lock_target()
        try:
            self._guard = ChangeGuard(self.target)
            raw = self.source.read_bytes()
        except PermissionError:
            self.close()
            raise SourceError(f"Cannot read {str(self.source)!r} (permission denied).") from None
        try:
            decoded: Decoded = (
                decode_as(raw, encoding, self.source.name) if encoding else detect(raw, self.source.name)
            )
        except BaseException:
            self.close()
            raise
        text, self.encoding, self.bom = decoded.text, decoded.encoding, decoded.bom
        self.notices.extend(decoded.notices)
        # The source is written back in its own encoding. A separate --output-file is a new file: UTF-8, so it
        # can hold any result; with a BOM when the source is not UTF-8 (a cp1252/cp932 CSV comes from Excel,
        # which reads a UTF-8 CSV right only with a BOM), else with or without one as the source had.
        self.out_encoding, self.out_bom = self.encoding, self.bom
        if self.target.resolve() != self.source.resolve():
            self.out_encoding, self.out_bom = "utf-8", self.bom or self.encoding != "utf-8"
        self.newline = "\r\n" if "\r\n" in text[:65536] else ("\r" if "\r" in text[:65536] else "\n")
        self.trailing_newline = text.endswith(("\n", "\r"))
        sample = text[:65536]
        self.dialect = _choose_dialect(sample, complete=len(text) <= 65536, suffix=self.source.suffix.lower())
        self.quote_all = self._all_quoted(sample, complete=len(text) <= 65536)
        self.rows: list[list[str]] = list(csv.reader(io.StringIO(text, newline=""), self.dialect))
        self._input_col = self._output_col = 0
        self._status_col: int | None = None
        self._header_row = 1
        self._pending_headers: list[tuple[int, int, str]] = []
        self._dirty = False

    def _all_quoted(self, sample: str, *, complete: bool) -> bool:
        """True when every field of the first records is quoted (the file was written with QUOTE_ALL).

        Fields are scanned with their quotes, so delimiters and line breaks inside quoted text do not count.
        """
        q = getattr(self.dialect, "quotechar", '"') or '"'
        d = getattr(self.dialect, "delimiter", ",")
        field = re.compile(f"{re.escape(q)}(?:[^{re.escape(q)}]|{re.escape(q)}{re.escape(q)})*{re.escape(q)}")
        pos, records, fields = 0, 0, 0
        while pos < len(sample) and records < 20:
            if sample[pos] in "\r\n" and (pos == 0 or sample[pos - 1] in "\r\n"):
                pos += 1  # a blank line
                continue
            m = field.match(sample, pos)
            if m is None:
                # A quoted field cut off where the sample ends is still a quoted field.
                return not complete and sample.startswith(q, pos) and fields > 0
            fields += 1
            pos = m.end()
            if sample.startswith(d, pos):
                pos += len(d)
            elif pos < len(sample) and sample[pos] in "\r\n":
                pos += 2 if sample.startswith("\r\n", pos) else 1
                records += 1
            elif pos < len(sample):
                return False
        return fields > 0

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
        if not self.rows or all(not any(c.strip() for c in r) for r in self.rows):
            raise SourceError(f"{self.source.name} is empty. Add a header row and some rows.")
        if header_row > len(self.rows):
            raise SourceError(
                f"{self.source.name} has only {len(self.rows)} rows; --header-row {header_row} is past the end."
            )
        self._header_row = header_row
        headers = list(self.rows[header_row - 1])
        # Past the last field that holds text in the header row or any data row (rows can be ragged).
        used = max((_last_filled(r) for r in self.rows[header_row - 1 :]), default=0)
        self._input_col = resolve_input_column(input_column, headers, header_row=header_row)
        self._output_col, created = resolve_output_column(
            output_column, headers, header_row=header_row, used_width=used
        )
        planned = list(headers)
        planned.extend([""] * (max(self._output_col, used) - len(planned)))
        if created:
            planned[self._output_col - 1] = output_column.strip()
        made = False
        if status_column:
            self._status_col, made = resolve_output_column(
                status_column, planned, header_row=header_row, used_width=max(used, self._output_col)
            )
        check_distinct_columns(self._input_col, self._output_col, self._status_col)
        confidence_made = self._place_confidence(
            confidence_column, planned, status_column, made, header_row=header_row, used=used
        )
        notices = list(self.notices)
        # New headers are written with the first results, so a run with nothing to do changes nothing.
        self._pending_headers = []
        out_header = planned[self._output_col - 1]
        if created:
            self._pending_headers.append((header_row, self._output_col, output_column.strip()))
            notices.append(
                f"New column {column_index_to_letter(self._output_col)} {output_column.strip()!r} for the results."
            )
        elif not out_header.strip() and new_header:
            self._pending_headers.append((header_row, self._output_col, new_header))
        if made and self._status_col is not None and status_column:
            self._pending_headers.append((header_row, self._status_col, status_column.strip()))
        if confidence_made and self._confidence_col is not None and confidence_column:
            self._pending_headers.append((header_row, self._confidence_col, confidence_column.strip()))
        headers = planned
        cells: list[InputCell] = []
        for number, row in enumerate(self.rows[header_row:], start=header_row + 1):
            value = row[self._input_col - 1] if self._input_col <= len(row) else ""
            out = row[self._output_col - 1] if self._output_col <= len(row) else ""
            cells.append(InputCell(row=number, text=display_text(value), output=display_text(out)))
        filled = sum(1 for c in cells if c.output is not None)
        if self.target != self.source and self.target.exists() and self.for_writing:
            notices.append(self._continue_earlier_output(header_row, headers, cells))
        return TableData(
            headers=headers,
            input_col=self._input_col,
            output_col=self._output_col,
            cells=cells,
            output_header_created=created,
            status_col=self._status_col,
            notices=notices,
            output_conflict=None
            if created
            else unheaded_output_conflict(output_column, self._output_col, out_header, filled),
        )

    def _continue_earlier_output(self, header_row: int, headers: list[str], cells: list[InputCell]) -> str:
        """--output-file that exists: take the results an earlier run left there for unchanged rows."""
        try:
            text = detect(self.target.read_bytes(), self.target.name).text
        except PermissionError:
            raise SourceError(f"Cannot read {str(self.target)!r} (permission denied).") from None
        earlier = list(csv.reader(io.StringIO(text, newline=""), self.dialect))
        head = earlier[header_row - 1] if len(earlier) >= header_row else []
        own = {self._output_col, self._status_col or 0, self._confidence_col or 0}
        check_earlier_output(head, headers, own, self.source.name, self.target.name)

        def field(line: list[str], col: int) -> str | None:
            return display_text(line[col - 1]) if col <= len(line) else None

        found = {
            number: (field(line, self._input_col), field(line, self._output_col))
            for number, line in enumerate(earlier[header_row:], start=header_row + 1)
        }
        carried = carry_over(cells, found)
        for row, value in carried.items():
            line = self.rows[row - 1]
            line.extend([""] * (self._output_col - len(line)))
            line[self._output_col - 1] = value  # as the earlier run stored it (apostrophe included)
        return f"Continuing in {self.target.name}: {len(carried)} rows were done by an earlier run."

    def _set(self, row: int, col: int, value: str, *, header: bool = False) -> None:
        line = self.rows[row - 1]
        if len(line) < col:
            line.extend([""] * (col - len(line)))
        line[col - 1] = value
        self._dirty = True

    def _result_text(self, value: str) -> str:
        # A CSV opened in Excel turns "=..." into a formula; an apostrophe keeps it text (OWASP advice).
        return "'" + value if is_formula_like(value) else value

    def _utf8_hint(self) -> str:
        copy = self.source.with_name(f"{self.source.stem}-utf8{self.source.suffix}").name
        return f"save the CSV as UTF-8, or add --output-file {copy} to write the results to a UTF-8 copy"

    def unstorable(self, texts: Sequence[str]) -> str | None:
        """The first new header or result (``texts``) the file's encoding cannot hold, as an error message."""
        where = f"{self.target.name} is encoded as {self.out_encoding}, which cannot hold"
        for _, _, header in self._pending_headers:
            if unencodable(header, self.out_encoding):
                return f"{where} the new column header {header!r}. Choose another header, or {self._utf8_hint()}."
        for text in texts:
            if unencodable(text, self.out_encoding):
                hint = self._utf8_hint()
                return f"{where} the result {text!r}. {hint[0].upper()}{hint[1:]}."
        return None

    def _unstorable_result(self, value: str) -> str | None:
        missing = unencodable(value, self.out_encoding)
        if not missing:
            return None
        return f"the result has characters {self.out_encoding} cannot hold ({describe(missing)}); {self._utf8_hint()}"

    def _status_text(self, status: str) -> str:
        return fit_for_status(status, self.out_encoding)

    def _render(self) -> bytes:
        buf = io.StringIO(newline="")
        writer = csv.writer(
            buf,
            delimiter=getattr(self.dialect, "delimiter", ","),
            quotechar=getattr(self.dialect, "quotechar", '"') or '"',
            doublequote=getattr(self.dialect, "doublequote", True),
            escapechar=getattr(self.dialect, "escapechar", None),
            lineterminator=self.newline,
            quoting=csv.QUOTE_ALL if self.quote_all else csv.QUOTE_MINIMAL,
        )
        # Keep the header row and every other row as wide as the widest one.
        width = max(len(r) for r in self.rows)
        for row in self.rows:
            writer.writerow(row + [""] * (width - len(row)) if len(row) < width and self._dirty else row)
        text = buf.getvalue()
        if not self.trailing_newline and text.endswith(self.newline):
            text = text[: -len(self.newline)]
        bom = BOM_FOR[self.out_encoding] if self.out_bom else b""
        try:
            return bom + text.encode(self.out_encoding)  # never "?" for what it cannot hold
        except UnicodeEncodeError as exc:  # pragma: no cover - unstorable() and write() keep such text out
            raise SourceError(
                f"Cannot save {self.target.name}: {exc.object[exc.start : exc.end]!r} does not fit its encoding "
                f"{self.out_encoding}; {self._utf8_hint()}."
            ) from None

    def _save_to(self, path: Path) -> None:
        path.write_bytes(self._render())
