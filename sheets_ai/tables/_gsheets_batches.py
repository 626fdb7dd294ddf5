"""values.batchUpdate bodies of at most 2 MB each, measured exactly as they go over the wire.

Google recommends request bodies under 2 MB (its front end refuses them past 10 MiB). A long run of adjacent
rows is one range until it would push its body past the limit; then the range is cut and the rest goes in the
next body. Sizes are those of the JSON that ``requests`` sends for gspread (``json=body``): the same encoder,
its default separators and ASCII escapes, so a Japanese character counts its 6 bytes (``\\uXXXX``), not 3.
"""

from __future__ import annotations

from collections.abc import Mapping
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


class _Bodies:
    """Accumulates ranges into bodies; every body stays within ``limit`` bytes."""

    def __init__(self, sheet_title: str, limit: int) -> None:
        self.sheet_title, self.limit = sheet_title, limit
        self.envelope = json_size(self._body([]))
        self.done: list[dict[str, Any]] = []
        self.items: list[dict[str, Any]] = []  # finished ranges of the body being filled
        self.items_size = 0  # their bytes, separators included
        # The open range: its column, first and last row, values and the bytes of those values.
        self.col, self.first, self.last = 0, 0, 0
        self.values: list[list[str]] = []
        self.values_size = 0
        self._range_sizes: dict[tuple[int, int, int], int] = {}

    @staticmethod
    def _body(data: list[dict[str, Any]]) -> dict[str, Any]:
        return {"valueInputOption": "RAW", "data": data}

    def _range(self, col: int, first: int, last: int) -> dict[str, Any]:
        letter = get_column_letter(col)
        name = absolute_range_name(self.sheet_title, f"{letter}{first}:{letter}{last}")
        return {"range": name, "majorDimension": "ROWS", "values": []}

    def _range_size(self, col: int, first: int, last: int) -> int:
        """Bytes of the range col first..last with no values; its name grows only with the digits of ``last``."""
        key = (col, first, len(str(last)))
        if key not in self._range_sizes:  # keep only the open range's entry: one is all that is asked for
            self._range_sizes = {key: json_size(self._range(col, first, last))}
        return self._range_sizes[key]

    def _size_with(self, col: int, first: int, last: int, values_size: int) -> int:
        """The body's bytes if it held the finished ranges plus the range col first..last."""
        item = self._range_size(col, first, last) + values_size
        separator = _SEPARATOR if self.items else 0
        return self.envelope + self.items_size + separator + item

    def add(self, row: int, col: int, value: str) -> None:
        cell = json_size([value])
        if self.values and col == self.col and row == self.last + 1:
            grown = self.values_size + _SEPARATOR + cell
            if self._size_with(col, self.first, row, grown) <= self.limit:
                self.last, self.values_size = row, grown
                self.values.append([value])
                return
            self._close()
            self._flush()
        else:
            self._close()
            if self.items and self._size_with(col, row, row, cell) > self.limit:
                self._flush()
        self.col, self.first, self.last = col, row, row
        self.values, self.values_size = [[value]], cell

    def _close(self) -> None:
        """Move the open range into the body being filled."""
        if not self.values:
            return
        item = self._range(self.col, self.first, self.last)
        size = self._range_size(self.col, self.first, self.last) + self.values_size
        self.items_size += (_SEPARATOR if self.items else 0) + size
        item["values"] = self.values
        self.items.append(item)
        self.values, self.values_size = [], 0

    def _flush(self) -> None:
        if self.items:
            self.done.append(self._body(self.items))
        self.items, self.items_size = [], 0

    def finish(self) -> list[dict[str, Any]]:
        self._close()
        self._flush()
        return self.done


def batch_update_bodies(
    sheet_title: str, updates: Mapping[tuple[int, int], str], *, limit: int = MAX_REQUEST_BYTES
) -> list[dict[str, Any]]:
    """RAW values.batchUpdate bodies writing ``updates`` ((row, column) -> text), each at most ``limit`` bytes.

    One range per run of adjacent rows in a column, cut where a body would pass the limit. A single cell
    larger than the limit could not be split and would go alone; it does not happen, as a Sheets cell holds
    at most 50,000 characters (600 KB as JSON even if every one were an escaped emoji).
    """
    bodies = _Bodies(sheet_title, limit)
    for (row, col), value in sorted(updates.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        bodies.add(row, col, value)
    return bodies.finish()
