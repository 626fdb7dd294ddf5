"""Run state kept in a hidden worksheet of a Google Sheet (``--batch-api``: which batches cover which rows).

The text goes into column A of the worksheet, in cells of at most :data:`CHUNK` characters (a cell holds
50,000), read back joined. One ``values.update`` writes every chunk and blanks what a longer earlier text left
below, so a reader sees either the old text or the new one. The worksheet is created hidden (``addSheet`` with
``hidden: true``) the first time something is saved; an empty text leaves it empty.
"""

from __future__ import annotations

from typing import Any

from gspread.utils import absolute_range_name

#: Characters per cell, below Google Sheets' 50,000 per cell.
CHUNK = 45_000


class SheetState:
    """Read and write one text in the hidden worksheet ``title`` of ``table`` (a GoogleSheetTable)."""

    def __init__(self, table: Any, title: str) -> None:
        self.table, self.title = table, title
        self._rows = 0  # cells in column A the last read or write found filled

    @property
    def where(self) -> str:
        return f"the hidden worksheet {self.title!r} of spreadsheet {self.table.spreadsheet_id}"

    def _exists(self) -> bool:
        return any(p.get("title", "").casefold() == self.title.casefold() for p in self.table.sheets)

    def read(self) -> str | None:
        if not self._exists():
            return None
        t = self.table
        got = t._call(lambda: t.http.values_get(t.spreadsheet_id, absolute_range_name(self.title, "A:A")))
        cells = [str(row[0]) if row else "" for row in got.get("values", [])]
        self._rows = len(cells)
        text = "".join(cells)
        return text or None

    def write(self, text: str) -> None:
        t = self.table
        if not self._exists():
            if not text:
                return
            body = {"requests": [{"addSheet": {"properties": {"title": self.title, "hidden": True}}}]}
            reply = t._call(lambda: t.http.batch_update(t.spreadsheet_id, body))
            t.sheets.append(reply["replies"][0]["addSheet"]["properties"])
        chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]
        values = [[c] for c in chunks] + [[""]] * max(0, self._rows - len(chunks))
        if not values:
            return
        t._call(
            lambda: t.http.values_update(
                t.spreadsheet_id,
                absolute_range_name(self.title, "A1"),
                params={"valueInputOption": "RAW"},
                body={"values": values},
            )
        )
        self._rows = len(chunks)
