"""values.batchUpdate bodies of at most 2 MB each, measured exactly as they go over the wire.

Google recommends request bodies under 2 MB (its front end refuses them past 10 MiB). Rows go into a body in
order, each column's run of adjacent rows as one range, until the next row would push the body past the
limit; that row starts the next body, so one long range is cut in several. A row's cells (its result and its
status) always travel in the same request: if a later request fails, every row already written is whole.

Sizes are those of the JSON that ``requests`` sends for gspread (``json=body``): the same encoder, its
default separators and ASCII escapes, so a Japanese character counts its 6 bytes (``\\uXXXX``), not 3.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from gspread.utils import absolute_range_name
from openpyxl.utils.cell import get_column_letter
from requests.compat import json as wire_json

#: The request size Google recommends for the Sheets API: no values.batchUpdate body is larger.
MAX_REQUEST_BYTES = 2_000_000
_SEPARATOR = 2  # ", " between list items in the JSON requests sends


def json_size(obj: Any) -> int:
    """Bytes of ``obj`` as requests serialises a ``json=`` body."""
    return len(wire_json.dumps(obj, allow_nan=False).encode("utf-8"))


@dataclass
class _Range:
    col: int
    first: int
    last: int
    values: list[list[str]] = field(default_factory=list)


class _Bodies:
    """Fills bodies row by row; every body stays within ``limit`` bytes (a lone row over it goes alone)."""

    def __init__(self, sheet_title: str, limit: int) -> None:
        self.sheet_title, self.limit = sheet_title, limit
        self.envelope = json_size(self._body([]))
        self.bodies: list[dict[str, Any]] = []
        self._start()

    def _start(self) -> None:
        self.ranges: list[_Range] = []  # the ranges of the body being filled
        self.open: dict[int, _Range] = {}  # column -> its range the next row may extend
        self.size = self.envelope  # that body's exact size
        self._sizes: dict[tuple[int, int, int], int] = {}

    @staticmethod
    def _body(data: list[dict[str, Any]]) -> dict[str, Any]:
        return {"valueInputOption": "RAW", "data": data}

    def _item(self, col: int, first: int, last: int) -> dict[str, Any]:
        letter = get_column_letter(col)
        name = absolute_range_name(self.sheet_title, f"{letter}{first}:{letter}{last}")
        return {"range": name, "majorDimension": "ROWS", "values": []}

    def _item_size(self, col: int, first: int, last: int) -> int:
        """Bytes of a range with no values; its name grows only with the digits of ``last``."""
        key = (col, first, len(str(last)))
        if key not in self._sizes:
            self._sizes[key] = json_size(self._item(col, first, last))
        return self._sizes[key]

    def _growth(self, row: int, cells: list[tuple[int, str, int]]) -> int:
        """How many bytes the body grows by if ``row``'s cells (column, value, size) are added to it."""
        growth, ranges = 0, len(self.ranges)
        for col, _value, size in cells:
            run = self.open.get(col)
            if run is not None and run.last == row - 1:
                longer = self._item_size(col, run.first, row) - self._item_size(col, run.first, run.last)
                growth += longer + _SEPARATOR + size
            else:
                growth += (_SEPARATOR if ranges else 0) + self._item_size(col, row, row) + size
                ranges += 1
        return growth

    def add_row(self, row: int, cells: list[tuple[int, str]]) -> None:
        sized = [(col, value, json_size([value])) for col, value in cells]
        growth = self._growth(row, sized)
        if self.ranges and self.size + growth > self.limit:
            self.flush()
            growth = self._growth(row, sized)
        self.size += growth
        for col, value, _size in sized:
            run = self.open.get(col)
            if run is None or run.last != row - 1:
                run = self.open[col] = _Range(col, row, row)
                self.ranges.append(run)
            run.last = row
            run.values.append([value])

    def flush(self) -> None:
        if self.ranges:
            data = [{**self._item(r.col, r.first, r.last), "values": r.values} for r in self.ranges]
            self.bodies.append(self._body(data))
        self._start()


def batch_update_bodies(
    sheet_title: str, updates: Mapping[tuple[int, int], str], *, limit: int = MAX_REQUEST_BYTES
) -> list[dict[str, Any]]:
    """RAW values.batchUpdate bodies writing ``updates`` ((row, column) -> text), each at most ``limit`` bytes.

    Whole rows per body, one range per run of adjacent rows in a column. A single row larger than the limit
    could not be split and would go alone; it does not happen, as a Sheets cell holds at most 50,000
    characters (600 KB as JSON even if every one were an escaped emoji) and a row here has two or three.
    """
    bodies = _Bodies(sheet_title, limit)
    for row, cells in groupby(sorted(updates.items()), key=lambda kv: kv[0][0]):
        bodies.add_row(row, [(col, value) for (_row, col), value in cells])
    bodies.flush()
    return bodies.bodies
