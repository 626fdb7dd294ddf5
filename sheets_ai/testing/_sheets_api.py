"""Routing and endpoint logic of the Sheets API emulator (no HTTP here: dicts in, dicts out)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from sheets_ai.testing._sheets_cells import ApiError, Cell, a1_of, cell_data, parse_input, quote_sheet
from sheets_ai.testing._sheets_formats import repeat_cell
from sheets_ai.testing._sheets_model import (
    Bounds,
    Sheet,
    Spreadsheet,
    clear_block,
    find_table,
    read_block,
    write_block,
)

Query = dict[str, list[str]]
Json = dict[str, Any]


@dataclass(frozen=True)
class Route:
    method_id: str
    spreadsheet_id: str | None = None
    range: str | None = None

    @property
    def is_read(self) -> bool:
        return self.method_id.endswith((".get", ".batchGet"))


_PREFIX = "/v4/spreadsheets"


def route(http_method: str, raw_path: str) -> Route | None:
    """Map an HTTP method and a still-encoded path to a discovery method id, spreadsheet id and range."""
    if not raw_path.startswith(_PREFIX):
        return None
    rest, verb = raw_path[len(_PREFIX) :], http_method.upper()
    if rest in ("", "/"):
        return Route("sheets.spreadsheets.create") if verb == "POST" else None
    if m := re.fullmatch(r"/([^/:]+)(:batchUpdate)?", rest):
        want = "POST" if m.group(2) else "GET"
        name = "batchUpdate" if m.group(2) else "get"
        return Route(f"sheets.spreadsheets.{name}", unquote(m.group(1))) if verb == want else None
    if m := re.fullmatch(r"/([^/:]+)/values:(batchGet|batchUpdate|batchClear)", rest):
        want = "GET" if m.group(2) == "batchGet" else "POST"
        return (
            Route(f"sheets.spreadsheets.values.{m.group(2)}", unquote(m.group(1))) if verb == want else None
        )
    if m := re.fullmatch(r"/([^/:]+)/values/(.+?)(:append|:clear)?", rest):
        sid, rng, suffix = unquote(m.group(1)), unquote(m.group(2)), m.group(3)
        if suffix:
            return Route(f"sheets.spreadsheets.values.{suffix[1:]}", sid, rng) if verb == "POST" else None
        op = {"GET": "get", "PUT": "update"}.get(verb)
        return Route(f"sheets.spreadsheets.values.{op}", sid, rng) if op else None
    return None


def _q(query: Query, name: str, default: str = "") -> str:
    values = query.get(name)
    return values[0] if values else default


def _qbool(query: Query, name: str) -> bool:
    return _q(query, name).lower() in ("true", "1")


def _input_option(value: str | None) -> str:
    if not value or value == "INPUT_VALUE_OPTION_UNSPECIFIED":
        raise ApiError(400, "'valueInputOption' is required but not specified")
    return value


def _open(b: Bounds) -> Bounds:
    """A bounds whose rows run to the end of the grid (and columns too for a single-cell anchor)."""
    return Bounds(b.sheet, b.r0, None, b.c0, None if b.single else b.c1, single=b.single)


# --------------------------------------------------------------------------------------------- values


def values_get(book: Spreadsheet, rng: str, query: Query) -> Json:
    b = book.resolve(rng)
    major = _q(query, "majorDimension", "ROWS") or "ROWS"
    major = "ROWS" if major == "DIMENSION_UNSPECIFIED" else major
    out: Json = {"range": b.label(), "majorDimension": major}
    values = read_block(b, major, _q(query, "valueRenderOption", "FORMATTED_VALUE"))
    if values:
        out["values"] = values
    return out


def values_batch_get(book: Spreadsheet, query: Query) -> Json:
    out: Json = {"spreadsheetId": book.spreadsheet_id}
    ranges = query.get("ranges", [])
    if ranges:
        out["valueRanges"] = [values_get(book, r, query) for r in ranges]
    return out


def _update_one(book: Spreadsheet, rng: str, body: Json, option: str, query: Query) -> Json:
    b = book.resolve(rng)
    result = write_block(b, body.get("values") or [], option, body.get("majorDimension") or "ROWS")
    out: Json = {"spreadsheetId": book.spreadsheet_id, **result}
    if _qbool(query, "includeValuesInResponse"):
        render = {"valueRenderOption": [_q(query, "responseValueRenderOption", "FORMATTED_VALUE")]}
        out["updatedData"] = values_get(book, result["updatedRange"], render)
    return out


def values_update(book: Spreadsheet, rng: str, query: Query, body: Json) -> Json:
    return _update_one(book, rng, body, _input_option(_q(query, "valueInputOption")), query)


def values_batch_update(book: Spreadsheet, body: Json) -> Json:
    option = _input_option(body.get("valueInputOption"))
    query: Query = {}
    if body.get("includeValuesInResponse"):
        query["includeValuesInResponse"] = ["true"]
        query["responseValueRenderOption"] = [body.get("responseValueRenderOption") or "FORMATTED_VALUE"]
    responses = []
    for i, item in enumerate(body.get("data") or []):
        if not item.get("range"):
            raise ApiError(400, f"Invalid data[{i}]: range is required.")
        responses.append(_update_one(book, item["range"], item, option, query))
    out: Json = {"spreadsheetId": book.spreadsheet_id}
    written = [r for r in responses if "updatedCells" in r]
    if written:
        out["totalUpdatedRows"] = sum(r["updatedRows"] for r in written)
        out["totalUpdatedColumns"] = sum(r["updatedColumns"] for r in written)
        out["totalUpdatedCells"] = sum(r["updatedCells"] for r in written)
        out["totalUpdatedSheets"] = len({r["updatedRange"].rsplit("!", 1)[0] for r in written})
    if responses:
        out["responses"] = responses
    return out


def values_append(book: Spreadsheet, rng: str, query: Query, body: Json) -> Json:
    option = _input_option(_q(query, "valueInputOption"))
    b = book.resolve(rng)
    table = find_table(_open(b))
    target = b.r0 if table is None else table[1] + 1
    values = body.get("values") or []
    if body.get("majorDimension") == "COLUMNS":
        values = [list(r) for r in zip(*values, strict=False)]
    if _q(query, "insertDataOption") == "INSERT_ROWS" and values and target < b.sheet.row_count:
        b.sheet.insert("ROWS", target, len(values))
    anchor = Bounds(b.sheet, target, None, b.c0, None, single=True)
    updates = write_block(anchor, values, option, grow=True)
    out: Json = {"spreadsheetId": book.spreadsheet_id}
    if table is not None:
        first, last, width = table
        out["tableRange"] = (
            f"{quote_sheet(b.sheet.title)}!{a1_of(first, last + 1, b.c0, max(width, b.c0 + 1))}"
        )
    out["updates"] = {"spreadsheetId": book.spreadsheet_id, **updates}
    if _qbool(query, "includeValuesInResponse") and "updatedRows" in updates:
        render = {"valueRenderOption": [_q(query, "responseValueRenderOption", "FORMATTED_VALUE")]}
        out["updates"]["updatedData"] = values_get(book, updates["updatedRange"], render)
    return out


def values_clear(book: Spreadsheet, rng: str) -> Json:
    b = book.resolve(rng)
    clear_block(b)
    return {"spreadsheetId": book.spreadsheet_id, "clearedRange": b.label()}


def values_batch_clear(book: Spreadsheet, body: Json) -> Json:
    cleared = [values_clear(book, r)["clearedRange"] for r in body.get("ranges") or []]
    return {"spreadsheetId": book.spreadsheet_id, "clearedRanges": cleared}


# -------------------------------------------------------------------------------------- spreadsheets


def spreadsheets_get(book: Spreadsheet, query: Query) -> Json:
    out = book.metadata()
    bounds = [book.resolve(r) for r in query.get("ranges", [])]
    if bounds:
        wanted = {id(b.sheet) for b in bounds}
        out["sheets"] = [e for e, s in zip(out["sheets"], book.sheets, strict=True) if id(s) in wanted]
    if _qbool(query, "includeGridData"):
        for entry in out["sheets"]:
            sheet = book.sheet(entry["properties"]["title"])
            parts = [b for b in bounds if b.sheet is sheet] or [Bounds(sheet, 0, None, 0, None)]
            entry["data"] = [_grid_data(b) for b in parts]
    return out


def _grid_data(b: Bounds) -> Json:
    r0, r1, c0, c1 = b.clamp()
    r1, c1 = min(r1, b.sheet.used_rows()), min(c1, b.sheet.used_cols())
    rows = [{"values": [cell_data(b.sheet.cell(r, c)) for c in range(c0, c1)]} for r in range(r0, r1)]
    out: Json = {"startRow": r0, "startColumn": c0}
    if rows:
        out["rowData"] = rows
    return out


def _sheet_for(book: Spreadsheet, sheet_id: Any) -> Sheet:
    sheet = book.by_id(sheet_id if sheet_id is not None else 0)
    if sheet is None:
        raise ApiError(400, f"No grid with id: {sheet_id or 0}")
    return sheet


def _dimension(book: Spreadsheet, rng: Json | None, unbounded_end: bool) -> tuple[Sheet, str, int, int]:
    rng = rng or {}
    sheet = _sheet_for(book, rng.get("sheetId"))
    dim = rng.get("dimension")
    if dim not in ("ROWS", "COLUMNS"):
        raise ApiError(400, "range.dimension must be ROWS or COLUMNS.")
    size = sheet.row_count if dim == "ROWS" else sheet.col_count
    start = int(rng.get("startIndex") or 0)
    end = rng.get("endIndex")
    end = size if end is None and unbounded_end else int(end) if end is not None else None
    if end is None:
        raise ApiError(400, "range.endIndex is required.")
    if start < 0 or end <= start:
        raise ApiError(400, f"The start index must be less than the end index (start: {start}, end: {end}).")
    return sheet, dim, start, end


def _add_sheet(book: Spreadsheet, req: Json) -> Json:
    props = req.get("properties") or {}
    grid = props.get("gridProperties") or {}
    sheet = book.add_sheet(
        props.get("title"),
        props.get("sheetId"),
        props.get("index"),
        int(grid.get("rowCount") or 1000),
        int(grid.get("columnCount") or 26),
    )
    sheet.hidden = bool(props.get("hidden"))
    return {"addSheet": {"properties": sheet.properties(book.sheets.index(sheet))}}


_CELL_VALUES = ("stringValue", "numberValue", "boolValue", "formulaValue")


def _append_cells(book: Spreadsheet, req: Json) -> Json:
    """``appendCells``: rows of CellData after the last row with data, rows added to the grid as needed.
    Only ``userEnteredValue`` is supported (the ``fields`` mask must say so)."""
    fields = str(req.get("fields") or "").strip()
    if not fields:
        raise ApiError(400, "At least one field must be specified in 'fields'.")
    if fields not in ("userEnteredValue", "*"):
        raise ApiError(400, f"appendCells field {fields!r} is not supported by the Sheets emulator.")
    sheet = _sheet_for(book, req.get("sheetId"))
    start = sheet.used_rows()
    for i, row in enumerate(req.get("rows") or []):
        for j, data in enumerate(row.get("values") or []):
            value = (data or {}).get("userEnteredValue")
            if value is None:
                continue
            kinds = [k for k in value if k in _CELL_VALUES]
            if len(kinds) != 1 or len(value) != 1:
                raise ApiError(
                    400, f"Invalid userEnteredValue {value!r}: set exactly one of {', '.join(_CELL_VALUES)}."
                )
            raw = value[kinds[0]]
            cell = parse_input(raw, "USER_ENTERED") if kinds[0] == "formulaValue" else Cell(raw)
            sheet.row_count = max(sheet.row_count, start + i + 1)
            sheet.col_count = max(sheet.col_count, j + 1)
            sheet.put(start + i, j, cell)
    return {}


def _delete_sheet(book: Spreadsheet, req: Json) -> Json:
    sheet = book.by_id(req.get("sheetId") or 0)
    if sheet is None:
        raise ApiError(400, f"No sheet with id: {req.get('sheetId') or 0}")
    if len(book.sheets) == 1:
        raise ApiError(400, "You can't remove all the sheets in a document.")
    book.sheets.remove(sheet)
    return {}


def _insert_dimension(book: Spreadsheet, req: Json) -> Json:
    sheet, dim, start, end = _dimension(book, req.get("range"), unbounded_end=False)
    size = sheet.row_count if dim == "ROWS" else sheet.col_count
    if start > size:
        raise ApiError(400, f"range.startIndex ({start}) is beyond the sheet's {dim.lower()} ({size}).")
    if start == 0 and req.get("inheritFromBefore"):
        raise ApiError(400, "Cannot inherit properties from before if inserting at the start of the sheet.")
    sheet.insert(dim, start, end - start)
    return {}


def _delete_dimension(book: Spreadsheet, req: Json) -> Json:
    sheet, dim, start, end = _dimension(book, req.get("range"), unbounded_end=True)
    size = sheet.row_count if dim == "ROWS" else sheet.col_count
    if end > size:
        raise ApiError(400, f"Invalid range: endIndex ({end}) is beyond the sheet's {dim.lower()} ({size}).")
    if start == 0 and end == size:
        raise ApiError(400, f"You can't delete all the {dim.lower()} on the sheet.")
    sheet.delete(dim, start, end)
    return {}


def _append_dimension(book: Spreadsheet, req: Json) -> Json:
    sheet = _sheet_for(book, req.get("sheetId"))
    length = int(req.get("length") or 0)
    if length <= 0:
        raise ApiError(400, "length must be positive.")
    if req.get("dimension") == "COLUMNS":
        sheet.col_count += length
    else:
        sheet.row_count += length
    return {}


def _update_sheet_properties(book: Spreadsheet, req: Json) -> Json:
    props, fields = req.get("properties") or {}, req.get("fields")
    if not fields:
        raise ApiError(400, "At least one field must be updated, but 'fields' is empty.")
    sheet = _sheet_for(book, props.get("sheetId"))
    want = {f.strip() for f in fields.split(",")}
    everything = "*" in want
    grid = props.get("gridProperties") or {}
    if (everything or "title" in want) and props.get("title"):
        other = book.find(props["title"])
        if other is not None and other is not sheet:
            raise ApiError(400, f'A sheet with the name "{props["title"]}" already exists.')
        sheet.title = props["title"]
    for key, attr in (("rowCount", "row_count"), ("columnCount", "col_count")):
        if (everything or f"gridProperties.{key}" in want or "gridProperties" in want) and grid.get(key):
            new = int(grid[key])
            if attr == "row_count":
                del sheet.grid[new:]
            else:
                for row in sheet.grid:
                    del row[new:]
            setattr(sheet, attr, new)
    if (everything or "index" in want) and props.get("index") is not None:
        book.sheets.remove(sheet)
        book.sheets.insert(int(props["index"]), sheet)
    return {}


def _update_spreadsheet_properties(book: Spreadsheet, req: Json) -> Json:
    props = req.get("properties") or {}
    if props.get("title"):
        book.title = props["title"]
    return {}


_REQUESTS: dict[str, Callable[[Spreadsheet, Json], Json]] = {
    "addSheet": _add_sheet,
    "appendCells": _append_cells,
    "deleteSheet": _delete_sheet,
    "insertDimension": _insert_dimension,
    "deleteDimension": _delete_dimension,
    "appendDimension": _append_dimension,
    "updateSheetProperties": _update_sheet_properties,
    "updateSpreadsheetProperties": _update_spreadsheet_properties,
    "repeatCell": repeat_cell,
}
SUPPORTED_REQUESTS = tuple(_REQUESTS)


def batch_update(book: Spreadsheet, body: Json) -> Json:
    """spreadsheets.batchUpdate (atomic: :func:`dispatch` restores the book on error)."""
    replies: list[Json] = []
    for i, req in enumerate(body.get("requests") or []):
        kinds = [k for k, v in req.items() if v is not None]
        if not kinds:
            raise ApiError(400, f"Invalid requests[{i}]: No request set.")
        if len(kinds) > 1:
            raise ApiError(
                400,
                f"Invalid value at 'requests[{i}]' (oneof), oneof field 'kind' is already set. "
                f"Cannot set '{kinds[1]}'",
            )
        handler = _REQUESTS.get(kinds[0])
        if handler is None:
            raise ApiError(
                501,
                f"requests[{i}].{kinds[0]} is not implemented by the Sheets emulator "
                f"(supported: {', '.join(SUPPORTED_REQUESTS)}).",
            )
        try:
            replies.append(handler(book, req[kinds[0]]))
        except ApiError as exc:
            raise ApiError(exc.code, f"Invalid requests[{i}].{kinds[0]}: {exc.message}") from None
    out: Json = {"spreadsheetId": book.spreadsheet_id, "replies": replies}
    if body.get("includeSpreadsheetInResponse"):
        out["updatedSpreadsheet"] = book.metadata()
    return out


def dispatch(r: Route, book: Spreadsheet, query: Query, body: Json) -> Json:
    """Run one routed request (not ``create``) against a spreadsheet."""
    name = r.method_id.removeprefix("sheets.spreadsheets.")
    rng = r.range or ""
    handlers: dict[str, Callable[[], Json]] = {
        "get": lambda: spreadsheets_get(book, query),
        "batchUpdate": lambda: batch_update(book, body),
        "values.get": lambda: values_get(book, rng, query),
        "values.batchGet": lambda: values_batch_get(book, query),
        "values.update": lambda: values_update(book, rng, query, body),
        "values.batchUpdate": lambda: values_batch_update(book, body),
        "values.append": lambda: values_append(book, rng, query, body),
        "values.clear": lambda: values_clear(book, rng),
        "values.batchClear": lambda: values_batch_clear(book, body),
    }
    if name not in ("batchUpdate", "values.batchUpdate", "values.batchClear"):
        return handlers[name]()
    snapshot, title = copy.deepcopy(book.sheets), book.title  # batches apply all-or-nothing
    try:
        return handlers[name]()
    except BaseException:
        book.sheets, book.title = snapshot, title
        raise
