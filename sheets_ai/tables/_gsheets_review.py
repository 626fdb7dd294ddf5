"""Human review on Google Sheets: highlighted output cells and the review worksheet.

* ``--review-below X``: the output cells of rows flagged ``review`` get a light orange background, and a row
  written later with confidence >= X (or corrected by ``apply-review``) has it cleared: one
  ``spreadsheets.batchUpdate`` per saved chunk, ``repeatCell`` per run of adjacent rows, fields
  ``userEnteredFormat.backgroundColor`` (nothing else of the cell's format is touched).
* ``--review-sheet NAME``: the flagged rows listed in that worksheet (created with ``addSheet`` if missing):
  Row, Input, Answer, Confidence, Correct answer, Reviewed by, Link — the link a plain-text URL to the output
  cell (``…/edit#gid=G&range=C5``), written RAW, never a formula. A listed row someone filled in (Correct
  answer or Reviewed by) is kept as it is; other rows are refreshed, and new ones added in row order.

Each request waits for its turn of the table's write pace (the job's shared 60-per-minute quota).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from gspread.utils import absolute_range_name, rowcol_to_a1

from ..review import HEADER

SHEET_HEADER = [*HEADER, "Link"]
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

    def _fit(self, rows: int) -> None:
        """Grow the review worksheet to ``rows`` rows (values.update does not grow a grid)."""
        props = self._props()
        if props is None:
            return
        grid = props.setdefault("gridProperties", {})
        have = int(grid.get("rowCount", 1000))
        if rows <= have:
            return
        t = self.table
        dim = {"sheetId": props.get("sheetId", 0), "dimension": "ROWS", "length": rows - have}
        body = {"requests": [{"appendDimension": dim}]}
        self._do(lambda: t.http.batch_update(t.spreadsheet_id, body))
        grid["rowCount"] = rows

    def read_list(self) -> list[list[str]]:
        """The review worksheet's data rows, padded to its width ([] when it does not exist)."""
        title = self.worksheet_title()
        if title is None:
            return []
        t = self.table
        got = self._do(lambda: t.http.values_get(t.spreadsheet_id, absolute_range_name(title, "A:G")))
        lines = got.get("values", [])
        width = len(SHEET_HEADER)
        return [([str(v) for v in line] + [""] * width)[:width] for line in lines[1:]]

    def save_list(self, entries: Mapping[int, list[str]]) -> None:
        """List ``entries`` (row -> Row..Reviewed by) in the review worksheet, keeping filled-in rows."""
        if not self.sheet_name or not entries:
            return
        t = self.table
        title = self.worksheet_title()
        if title is None:
            title = self.sheet_name.strip()
            body = {"requests": [{"addSheet": {"properties": {"title": title}}}]}
            reply = self._do(lambda: t.http.batch_update(t.spreadsheet_id, body))
            t.sheets.append(reply["replies"][0]["addSheet"]["properties"])
            merged: dict[int, list[str]] = {}
        else:
            merged = {int(r[0]): r for r in self.read_list() if r[0].isdigit()}
        for row, entry in entries.items():
            old = merged.get(row)
            if old is None or not any(old[4:6]):
                merged[row] = [*entry[: len(HEADER)], self.link(row)]
        values = [SHEET_HEADER, *(merged[row] for row in sorted(merged))]
        self._fit(len(values))
        self._do(
            lambda: t.http.values_update(
                t.spreadsheet_id,
                absolute_range_name(title, "A1"),
                params={"valueInputOption": "RAW"},
                body={"values": values},
            )
        )
