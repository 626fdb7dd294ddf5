"""Cell formats in the Sheets emulator: the ``repeatCell`` request (spreadsheets.batchUpdate).

Formats are kept per sheet beside the values (``Sheet.formats``: (row, col) -> ``userEnteredFormat`` dict,
0-based), and read by tests with :meth:`SheetsEmulator.cell_format`. Like the real API, ``fields`` is required
and names what is set: a path in it whose value the request leaves out is cleared (that is how a background
colour is removed). Only ``userEnteredFormat`` paths are accepted; the request body's shape itself (unknown
fields, types) is checked against the discovery document before it gets here. Formats do not move when rows
or columns are inserted or deleted (nothing here needs that).
"""

from __future__ import annotations

from typing import Any

from sheets_ai.testing._sheets_cells import ApiError
from sheets_ai.testing._sheets_model import Sheet, Spreadsheet

Json = dict[str, Any]


def _grid_range(book: Spreadsheet, rng: Json | None) -> tuple[Sheet, int, int, int, int]:
    rng = rng or {}
    sheet = book.by_id(rng.get("sheetId") if rng.get("sheetId") is not None else 0)
    if sheet is None:
        raise ApiError(400, f"No grid with id: {rng.get('sheetId') or 0}")
    r0 = int(rng.get("startRowIndex") or 0)
    r1 = int(rng["endRowIndex"]) if rng.get("endRowIndex") is not None else sheet.row_count
    c0 = int(rng.get("startColumnIndex") or 0)
    c1 = int(rng["endColumnIndex"]) if rng.get("endColumnIndex") is not None else sheet.col_count
    if r0 < 0 or c0 < 0 or r1 < r0 or c1 < c0:
        raise ApiError(400, "The range's start index must be less than or equal to its end index.")
    if r1 > sheet.row_count or c1 > sheet.col_count:
        raise ApiError(
            400,
            f"Range ({sheet.title}!R{r0 + 1}C{c0 + 1}:R{r1}C{c1}) exceeds grid limits. "
            f"Max rows: {sheet.row_count}, max columns: {sheet.col_count}",
        )
    return sheet, r0, r1, c0, c1


def _set_path(target: Json, path: list[str], source: Json) -> None:
    """Copy ``source``'s value at ``path`` into ``target`` (deleting it there when ``source`` has none)."""
    src: Any = source
    for key in path:
        src = src.get(key) if isinstance(src, dict) else None
    node = target
    for key in path[:-1]:
        node = node.setdefault(key, {})
    if src is None:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = src


def _prune(fmt: Json) -> Json:
    return {k: (_prune(v) if isinstance(v, dict) else v) for k, v in fmt.items() if v != {}}


def repeat_cell(book: Spreadsheet, req: Json) -> Json:
    """``repeatCell``: the ``userEnteredFormat`` paths named in ``fields`` set on every cell of ``range``."""
    fields = str(req.get("fields") or "").strip()
    if not fields:
        raise ApiError(400, "At least one field must be specified in 'fields'.")
    paths = [f.strip().split(".") for f in fields.split(",") if f.strip()]
    for path in paths:
        if path[0] != "userEnteredFormat":
            raise ApiError(
                400, f"repeatCell field {'.'.join(path)!r} is not supported by the Sheets emulator."
            )
    cell = req.get("cell") or {}
    sheet, r0, r1, c0, c1 = _grid_range(book, req.get("range"))
    for r in range(r0, r1):
        for c in range(c0, c1):
            fmt: Json = {"userEnteredFormat": dict(sheet.formats.get((r, c), {}))}
            for path in paths:
                if len(path) == 1:
                    fmt["userEnteredFormat"] = dict(cell.get("userEnteredFormat") or {})
                else:
                    _set_path(fmt, path, cell)
            kept = _prune(fmt["userEnteredFormat"])
            if kept:
                sheet.formats[(r, c)] = kept
            else:
                sheet.formats.pop((r, c), None)
    return {}
