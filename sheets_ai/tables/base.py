"""The Table interface: read one column, write a batch of cells. Nothing else.

Tables know nothing about tasks or providers. The pipeline reads a :class:`TableData` snapshot, decides
what to do, and hands back finished results with :meth:`Table.write`; :meth:`Table.flush` makes them
durable (an atomic save for files; a no-op where writes are already remote).
"""

from __future__ import annotations

import datetime as dt
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl.utils.cell import column_index_from_string, get_column_letter

from ..errors import ColumnNotFoundError, UsageError

_LETTERS_RE = re.compile(r"^[A-Za-z]{1,3}$")
MAX_COLUMN = 16384  # XFD, the last Excel column
FORMULA_PREFIXES = ("=", "+", "-", "@")


@dataclass
class InputCell:
    """One data row: its sheet row number, the input as displayed text, and the output cell."""

    row: int
    text: str | None  # None when the cell is empty
    error: str | None = None  # an error value such as "#N/A"
    output: str | None = None  # the current output cell, as text; None when empty
    skip_reason: str | None = None  # the table cannot take a result for this row (e.g. "output_merged")


@dataclass
class TableData:
    """What a table read: headers, resolved columns and one InputCell per data row."""

    headers: list[str]
    input_col: int  # 1-based
    output_col: int  # 1-based
    cells: list[InputCell]
    output_header_created: bool = False
    status_col: int | None = None
    notices: list[str] = field(default_factory=list)
    #: Set when the output column has no header but holds data: refused unless --overwrite.
    output_conflict: str | None = None


@dataclass
class WriteOutcome:
    """What a write did: rows written, rows skipped because their input changed or output got filled, and
    rows whose result the table cannot hold (row -> reason; e.g. a character the CSV's encoding lacks)."""

    written: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


class Table(ABC):
    """A place rows come from and results go to."""

    #: Human-readable location where results are written (a path or URL).
    location: str = ""

    @abstractmethod
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
        """Read the header row and the input/output columns of every data row.

        ``confidence_column`` (label tasks, ``--confidence-column``) is resolved like the status column: a
        header that does not exist yet becomes a new column, written with the first results.

        ``new_header`` is written (with the first results) into the header cell of an output column that
        was given by letter and has no header, so a rerun can tell the results there from other data.
        """

    @abstractmethod
    def write(
        self,
        results: Mapping[int, str],
        expected_inputs: Mapping[int, str],
        statuses: Mapping[int, str] | None = None,
        *,
        confidences: Mapping[int, str] | None = None,
    ) -> WriteOutcome:
        """Write results (row -> value) as plain values.

        ``confidences`` (row -> ``0.93``) go to the confidence column, for the rows whose result was written.

        ``expected_inputs`` holds the input text each result was made from; a backend that can change under
        us (Google Sheets) writes only rows whose input still matches. ``statuses`` (row -> text) go to the
        status column when one was configured, including rows that have no result.
        """

    def unstorable(self, texts: Sequence[str]) -> str | None:
        """Why this table cannot store some of ``texts`` (results or statuses a run will write), or None.

        Called after :meth:`read` and before any request, so a run that could only fail stops at once. The
        default: everything fits.
        """
        return None

    def flush(self) -> None:  # noqa: B027 - optional hook
        """Make everything written so far durable."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release locks and handles. Safe to call twice."""

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def column_letter_to_index(letters: str) -> int:
    """``A`` -> 1, ``Z`` -> 26, ``AA`` -> 27."""
    return column_index_from_string(letters.upper())


def column_index_to_letter(index: int) -> str:
    """1 -> ``A``, 27 -> ``AA``."""
    return get_column_letter(index)


def normalize_header(value: Any) -> str:
    return " ".join(str(value).split()).casefold() if value is not None else ""


def find_column(spec: str, headers: Sequence[Any], *, header_row: int = 1) -> int | None:
    """Resolve a column given as header text or letter; None when it is neither.

    Header text wins over letters, so a header called ``ID`` is found as a header, not column 238.
    Three letters count as a column only in capitals (``ABC``): ``Out`` or ``tag`` are header names,
    so a new output header with a short name is created instead of writing into column OUT or TAG.
    """
    wanted = normalize_header(spec)
    if not wanted:
        raise UsageError("A column name is empty. Use a header text or a column letter such as B.")
    for i, header in enumerate(headers, start=1):
        if normalize_header(header) == wanted:
            return i
    letters = spec.strip()
    if _LETTERS_RE.match(letters) and (len(letters) <= 2 or letters.isupper()):
        index = column_letter_to_index(letters)
        if index <= MAX_COLUMN:
            return index
    return None


def resolve_input_column(spec: str, headers: Sequence[Any], *, header_row: int = 1) -> int:
    index = find_column(spec, headers, header_row=header_row)
    if index is None:
        raise ColumnNotFoundError(spec, [str(h) if h is not None else "" for h in headers], header_row)
    return index


def resolve_output_column(
    spec: str, headers: Sequence[Any], *, header_row: int = 1, used_width: int = 0
) -> tuple[int, bool]:
    """Return (column, created). An unknown header becomes a new column right of every used cell.

    ``used_width`` is the last column that holds a value in the header row or any data row: a column with
    a blank header can still hold someone's notes, and a new column must never land on them.
    """
    index = find_column(spec, headers, header_row=header_row)
    if index is not None:
        return index, False
    last = max((i for i, h in enumerate(headers, start=1) if h not in (None, "")), default=0)
    return max(last, used_width) + 1, True


def unheaded_output_conflict(
    spec: str, col: int, header: str, filled_rows: int, *, what: str = "--output"
) -> str | None:
    """The message for an output column given by letter that has no header but holds data, else None."""
    if header.strip() or not filled_rows:
        return None
    letter = column_index_to_letter(col)
    return (
        f"{what} {spec.strip()}: column {letter} has no header but holds data in {filled_rows} rows, which "
        f"would be taken as finished results. Give a new header name to put the results in a new column, "
        f"or add --overwrite to replace that data."
    )


def check_confidence_column(col: int | None, *others: int | None) -> None:
    """Refuse a --confidence-column that is the input, output or status column."""
    if col is not None and col in others:
        raise UsageError(
            f"Cannot use column {column_index_to_letter(col)} for --confidence-column: it is the input, output "
            "or status column. Give a new header name, e.g. --confidence-column Confidence."
        )


def check_distinct_columns(input_col: int, output_col: int, status_col: int | None = None) -> None:
    """Refuse to write results over the input (or statuses over the results)."""
    if input_col == output_col:
        raise UsageError(
            f"Cannot use the same column ({column_index_to_letter(input_col)}) for --input and --output: "
            "the results would replace the texts. Choose another --output."
        )
    if status_col is not None and status_col in (input_col, output_col):
        raise UsageError(
            f"Cannot use column {column_index_to_letter(status_col)} for --status-column: it is the "
            "input or output column."
        )


def display_text(value: Any) -> str | None:
    """A cell value as the text a person sees; None for an empty cell."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    text = str(value)
    return text if text.strip() else None


def is_formula_like(value: str) -> bool:
    return value.startswith(FORMULA_PREFIXES)
