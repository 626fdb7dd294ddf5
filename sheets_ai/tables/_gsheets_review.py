"""Human review on Google Sheets: highlighted output cells and the review worksheet.

* ``--review-below X``: the output cells of rows flagged ``review`` get a light orange background, and a row
  written later with confidence >= X (or corrected by ``apply-review``) has it cleared: one
  ``spreadsheets.batchUpdate`` per saved chunk, ``repeatCell`` per run of adjacent rows, fields
  ``userEnteredFormat.backgroundColor`` (nothing else of the cell's format is touched).
* ``--review-sheet NAME``: the flagged rows listed in that worksheet (created with ``addSheet`` if missing):
  Row, Input, Answer, Confidence, Correct answer, Reviewed by, Link — the link a plain-text URL to the output
  cell (``…/edit#gid=G&range=C5``), written RAW, never a formula. A listed row someone filled in (Correct
  answer or Reviewed by) is kept as it is; other rows are refreshed in place, and new ones appended
  (``values.append``) in row order. Lines are keyed by (worksheet id from the link, row), so several tasks of
  one job, or several tabs, can list into one worksheet at the same time without erasing each other's rows
  (:meth:`SheetReview.save_list`).

Each request waits for its turn of the table's write pace (the job's shared 60-per-minute quota).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from gspread.utils import absolute_range_name, rowcol_to_a1

from ..review import HEADER

SHEET_HEADER = [*HEADER, "Link"]
_GID = re.compile(r"[#&]gid=(\d+)")
#: The highlight of a row to review (light orange 2).
HIGHLIGHT = {"red": 0.99, "green": 0.9, "blue": 0.8}


def _runs(rows: Iterable[int]) -> list[tuple[int, int]]:
    """Adjacent rows as (first, last) runs."""
    out: list[tuple[int, int]] = []
    for row in sorted(set(rows)):
        if out and row == out[-1][1] + 1:
            out[-1] = (out[-1][0], row)
        else:
            out.append((row, row))
    return out


class SheetReview:
    """Highlights and the review worksheet of one Google Sheets table (``GoogleSheetTable.review``)."""

    def __init__(self, table: Any, sheet_name: str | None) -> None:
        self.table = table
        self.sheet_name = sheet_name

    def _do(self, fn: Callable[[], Any]) -> Any:
        self.table._pace()
        return self.table._call(fn)

    def highlight(self, flagged: Iterable[int], cleared: Iterable[int]) -> None:
        """Highlight the output cells of ``flagged`` rows and clear those of ``cleared`` (one batchUpdate)."""
        t = self.table
        col = t._out_col - 1
        requests: list[dict[str, Any]] = []
        for rows, colour in ((flagged, HIGHLIGHT), (cleared, None)):
            for first, last in _runs(rows):
                fmt = {"backgroundColor": colour} if colour else {}
                rng = {
                    "sheetId": t.props.get("sheetId", 0),
                    "startRowIndex": first - 1,
                    "endRowIndex": last,
                    "startColumnIndex": col,
                    "endColumnIndex": col + 1,
                }
                requests.append(
                    {
                        "repeatCell": {
                            "range": rng,
                            "cell": {"userEnteredFormat": fmt},
                            "fields": "userEnteredFormat.backgroundColor",
                        }
                    }
                )
        if requests:
            self._do(lambda: t.http.batch_update(t.spreadsheet_id, {"requests": requests}))

    def link(self, row: int) -> str:
        t = self.table
        a1 = rowcol_to_a1(row, t._out_col)
        return f"https://docs.google.com/spreadsheets/d/{t.spreadsheet_id}/edit#gid={t.props.get('sheetId', 0)}&range={a1}"

    def _props(self) -> dict[str, Any] | None:
        want = (self.sheet_name or "").strip().casefold()
        found = [p for p in self.table.sheets if p["title"].strip().casefold() == want]
        return found[0] if found else None

    def worksheet_title(self) -> str | None:
        props = self._props()
        return props["title"] if props else None

    def read_list(self) -> list[list[str]]:
        """This table's rows in the review worksheet, padded to its width ([] when it does not exist). Rows
        whose link names another worksheet (two tabs listed into one review worksheet) are left out."""
        gid = self.table.props.get("sheetId", 0)
        return [line for line in self._read()[1:] if (self._key(line) or (gid, 0))[0] == gid]

    def _read(self) -> list[list[str]]:
        """Every line of the review worksheet, header first, padded to its width ([] when there is none)."""
        title = self.worksheet_title()
        if title is None:
            return []
        t = self.table
        got = self._do(lambda: t.http.values_get(t.spreadsheet_id, absolute_range_name(title, "A:G")))
        width = len(SHEET_HEADER)
        return [([str(v) for v in line] + [""] * width)[:width] for line in got.get("values", [])]

    def _key(self, line: list[str]) -> tuple[int, int] | None:
        """(worksheet id, row) a listed line is about; a line without a link belongs to this table."""
        if not line[0].isdigit():
            return None
        gid = _GID.search(line[len(HEADER)])
        return (int(gid.group(1)) if gid else self.table.props.get("sheetId", 0), int(line[0]))

    def save_list(self, entries: Mapping[int, list[str]]) -> None:
        """List ``entries`` (row -> Row..Reviewed by) in the review worksheet, keeping filled-in rows.

        Safe when several processes (the tasks of a Cloud Run job) list into the same worksheet at once: it
        is created only if absent (another task creating it first is fine), a row already listed is updated
        in place (its own line only, never one filled in) and new rows are appended with ``values.append``,
        which the API serializes, instead of rewriting the whole list over rows another task added meanwhile.
        """
        if not self.sheet_name or not entries:
            return
        t = self.table
        existing = self.worksheet_title()
        title = existing or self.sheet_name.strip()
        created = existing is None and t.add_worksheet(title)
        lines = [] if created else self._read()
        head = [] if lines and any(lines[0]) else [SHEET_HEADER]
        if head and not created:  # created by another task, not yet written: the header first, in row 1
            self._write(title, {1: SHEET_HEADER})
            head = []
        listed: dict[tuple[int, int], int] = {}
        for i, line in enumerate(lines[1:], start=2):
            key = self._key(line)
            if key is not None and key not in listed and not any(line[4:6]):
                listed[key] = i
        filled = {self._key(line) for line in lines[1:] if any(line[4:6])}
        gid = t.props.get("sheetId", 0)
        updates: dict[int, list[str]] = {}  # worksheet row -> its refreshed line
        new: list[list[str]] = head  # a worksheet just created: the header goes with the first rows
        for row in sorted(entries):
            line = [*entries[row][: len(HEADER)], self.link(row)]
            if (gid, row) in filled:
                continue
            if (gid, row) in listed:
                updates[listed[gid, row]] = line
            else:
                new.append(line)
        if updates:
            self._write(title, updates)
        if new:
            self._do(
                lambda: t.http.values_append(
                    t.spreadsheet_id,
                    absolute_range_name(title, "A1"),
                    params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
                    body={"values": new},
                )
            )

    def _write(self, title: str, lines: Mapping[int, list[str]]) -> None:
        """One ``values.batchUpdate`` (RAW): each line in its own row of the review worksheet."""
        t = self.table
        data = [
            {"range": absolute_range_name(title, f"A{at}"), "values": [line]} for at, line in lines.items()
        ]
        body = {"valueInputOption": "RAW", "data": data}
        self._do(lambda: t.http.values_batch_update(t.spreadsheet_id, body))
