"""The Sheets API v4 emulator, exercised with the real gspread library over real HTTP on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gspread
import pytest
import requests
from gspread.exceptions import APIError, SpreadsheetNotFound
from gspread.utils import ValueRenderOption

from sheets_ai.testing.sheets_server import RecordedRequest, SheetsEmulator, gspread_client_for

ROWS: list[list[Any]] = [["Review", "Stars", "Sentiment"], ["great", 5], ["awful", 1], ["fine", 3]]


@pytest.fixture(scope="module")
def server() -> Iterator[SheetsEmulator]:
    with SheetsEmulator(port=0) as emu:
        yield emu


@pytest.fixture
def emu(server: SheetsEmulator) -> Iterator[SheetsEmulator]:
    server.reset_faults()
    server.reset_counts()
    yield server
    server.reset_faults()


@pytest.fixture
def gc(emu: SheetsEmulator) -> gspread.Client:
    return gspread_client_for(emu.url)


@pytest.fixture
def sid(emu: SheetsEmulator) -> str:
    return emu.add_spreadsheet(
        "Reviews", {"Sheet1": [list(r) for r in ROWS], "My Sheet": [["a", "b"], ["c"]]}
    )


def api_error(exc: pytest.ExceptionInfo[APIError]) -> dict[str, Any]:
    body: dict[str, Any] = exc.value.response.json()["error"]
    return body


# ------------------------------------------------------------------------------------------- reading


def test_open_by_key_lists_worksheets_with_real_metadata(gc: gspread.Client, sid: str) -> None:
    sh = gc.open_by_key(sid)
    assert sh.title == "Reviews"
    assert [(w.title, w.index) for w in sh.worksheets()] == [("Sheet1", 0), ("My Sheet", 1)]
    meta = sh.fetch_sheet_metadata()
    assert meta["spreadsheetId"] == sid
    props = meta["sheets"][0]["properties"]
    assert props == {
        "sheetId": 0,
        "title": "Sheet1",
        "index": 0,
        "sheetType": "GRID",
        "gridProperties": {"rowCount": 1000, "columnCount": 26},
    }
    only = sh.fetch_sheet_metadata({"fields": "sheets.properties(title,sheetId)", "includeGridData": "false"})
    assert only == {
        "sheets": [
            {"properties": {"sheetId": 0, "title": "Sheet1"}},
            {"properties": {"sheetId": meta["sheets"][1]["properties"]["sheetId"], "title": "My Sheet"}},
        ]
    }
    assert gc.open_by_key(sid).worksheet("My Sheet").get_all_values() == [["a", "b"], ["c", ""]]


def test_batch_get_trims_and_renders(gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).sheet1
    first, stars, empty = ws.batch_get(["A1:C2", "B:B", "E1:F3"])
    assert first == [["Review", "Stars", "Sentiment"], ["great", "5"]]  # trailing empty C2 trimmed
    assert stars == [["Stars"], ["5"], ["1"], ["3"]]
    assert empty == []
    raw = ws.batch_get(["B2:B3"], value_render_option=ValueRenderOption.unformatted)
    assert raw == [[[5], [1]]]


def test_values_batch_get_ranges_and_major_dimension(gc: gspread.Client, sid: str) -> None:
    sh = gc.open_by_key(sid)
    res = sh.values_batch_get(
        ["'My Sheet'!A:A", "Sheet1", "A2:B", "Sheet1!3:4"], params={"majorDimension": "COLUMNS"}
    )
    ranges = [(v["range"], v.get("values")) for v in res["valueRanges"]]
    assert ranges == [
        ("'My Sheet'!A1:A1000", [["a", "c"]]),
        ("Sheet1!A1:Z1000", [["Review", "great", "awful", "fine"], ["Stars", "5", "1", "3"], ["Sentiment"]]),
        ("Sheet1!A2:B1000", [["great", "awful", "fine"], ["5", "1", "3"]]),
        ("Sheet1!A3:Z4", [["awful", "fine"], ["1", "3"]]),
    ]


# ------------------------------------------------------------------------------------------- writing


def test_raw_formula_looking_strings_stay_text(gc: gspread.Client, emu: SheetsEmulator, sid: str) -> None:
    sh = gc.open_by_key(sid)
    body = {
        "valueInputOption": "RAW",
        "data": [{"range": "Sheet1!C2:C4", "values": [["=SUM(A1)"], ["+1"], ["-bad"]]}],
    }
    res = sh.values_batch_update(body)
    assert res["totalUpdatedCells"] == 3 and res["responses"][0]["updatedRange"] == "Sheet1!C2:C4"
    assert not emu.cell_is_formula(sid, "Sheet1", "C2")
    assert emu.get_cell(sid, "Sheet1", "C2") == "=SUM(A1)"
    assert sh.sheet1.get("C2:C4", value_render_option=ValueRenderOption.formula) == [
        ["=SUM(A1)"],
        ["+1"],
        ["-bad"],
    ]


def test_user_entered_parses_formulas_and_numbers(gc: gspread.Client, emu: SheetsEmulator, sid: str) -> None:
    ws = gc.open_by_key(sid).sheet1
    ws.batch_update([{"range": "D1:G1", "values": [["=1+2", "42", "TRUE", "'=not"]]}], raw=False)
    assert emu.cell_is_formula(sid, "Sheet1", "D1")
    assert not emu.cell_is_formula(sid, "Sheet1", "G1")
    assert ws.get("D1:G1", value_render_option=ValueRenderOption.formula) == [["=1+2", 42, True, "=not"]]
    assert ws.get("D1:G1") == [["3", "42", "TRUE", "=not"]]
    assert ws.get("D1:F1", value_render_option=ValueRenderOption.unformatted) == [[3, 42, True]]


def test_update_append_and_clear(gc: gspread.Client, emu: SheetsEmulator, sid: str) -> None:
    sh = gc.open_by_key(sid)
    ws = sh.sheet1
    ws.update([["pos"], ["neg"]], "C2")
    res = ws.append_rows([["new", 4, "pos"]])
    assert res["tableRange"] == "Sheet1!A1:C4"
    assert res["updates"]["updatedRange"] == "Sheet1!A5:C5"
    raw = sh.values_append("Sheet1!A1", {"valueInputOption": "RAW"}, {"values": [["x"]]})
    assert raw["updates"]["updatedRange"] == "Sheet1!A6"
    cleared = sh.values_clear("Sheet1!B2:C3")
    assert cleared["clearedRange"] == "Sheet1!B2:C3"
    assert emu.values(sid, "Sheet1") == [
        ["Review", "Stars", "Sentiment"],
        ["great"],
        ["awful"],
        ["fine", 3],
        ["new", 4, "pos"],
        ["x"],
    ]


def test_insert_and_delete_dimension_shift_data(gc: gspread.Client, emu: SheetsEmulator, sid: str) -> None:
    sh = gc.open_by_key(sid)
    res = sh.batch_update(
        {
            "requests": [
                {
                    "insertDimension": {
                        "range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 1, "endIndex": 3}
                    }
                },
                {
                    "insertDimension": {
                        "range": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1}
                    }
                },
            ]
        }
    )
    assert res == {"spreadsheetId": sid, "replies": [{}, {}]}
    assert emu.values(sid, "Sheet1")[:4] == [["", "Review", "Stars", "Sentiment"], [], [], ["", "great", 5]]
    props = sh.fetch_sheet_metadata()["sheets"][0]["properties"]["gridProperties"]
    assert props == {"rowCount": 1002, "columnCount": 27}
    ws = sh.sheet1
    ws.delete_rows(2, 3)
    ws.delete_columns(1)
    assert emu.values(sid, "Sheet1") == [list(r) for r in ROWS]
    ws.insert_rows([["inserted"]], row=2)
    assert ws.col_values(1) == ["Review", "inserted", "great", "awful", "fine"]


def test_add_sheet_reply_and_write(gc: gspread.Client, emu: SheetsEmulator, sid: str) -> None:
    sh = gc.open_by_key(sid)
    out = sh.add_worksheet("Results", rows=10, cols=3)
    assert (out.title, out.index, out.row_count, out.col_count) == ("Results", 2, 10, 3)
    out.update([["done"]], "A1")
    assert emu.values(sid, "Results") == [["done"]]
    with pytest.raises(APIError) as exc:
        sh.add_worksheet("Results", rows=1, cols=1)
    assert 'A sheet with the name "Results" already exists' in api_error(exc)["message"]


def test_batch_update_is_atomic(gc: gspread.Client, emu: SheetsEmulator, sid: str) -> None:
    sh = gc.open_by_key(sid)
    with pytest.raises(APIError) as exc:
        sh.batch_update(
            {
                "requests": [
                    {"addSheet": {"properties": {"title": "Kept?"}}},
                    {
                        "deleteDimension": {
                            "range": {"sheetId": 999, "dimension": "ROWS", "startIndex": 0, "endIndex": 1}
                        }
                    },
                ]
            }
        )
    assert api_error(exc)["message"] == "Invalid requests[1].deleteDimension: No grid with id: 999"
    assert emu.sheet_titles(sid) == ["Sheet1", "My Sheet"]


def test_writes_outside_the_range_or_grid_are_rejected(gc: gspread.Client, sid: str) -> None:
    sh = gc.open_by_key(sid)
    with pytest.raises(APIError) as exc:
        sh.values_update("Sheet1!A1:B1", {"valueInputOption": "RAW"}, {"values": [[1], [2]]})
    assert (
        api_error(exc)["message"]
        == "Requested writing within range [Sheet1!A1:B1], but tried writing to row [2]"
    )
    with pytest.raises(APIError) as exc:
        sh.values_update("Sheet1!A1000", {"valueInputOption": "RAW"}, {"values": [[1], [2]]})
    assert "exceeds grid limits. Max rows: 1000, max columns: 26" in api_error(exc)["message"]
    with pytest.raises(APIError) as exc:
        sh.values_update("Sheet1!A1", None, {"values": [[1]]})
    assert api_error(exc)["message"] == "'valueInputOption' is required but not specified"


# -------------------------------------------------------------------------------------------- errors


def test_not_found_forbidden_and_bad_range(gc: gspread.Client, emu: SheetsEmulator, sid: str) -> None:
    with pytest.raises(SpreadsheetNotFound):
        gc.open_by_key("missing")
    with pytest.raises(APIError) as exc:
        gc.http_client.values_get("missing", "Sheet1!A1")
    assert api_error(exc) == {
        "code": 404,
        "message": "Requested entity was not found.",
        "status": "NOT_FOUND",
    }

    ws = gc.open_by_key(sid).sheet1
    with pytest.raises(APIError) as exc:
        gc.http_client.values_get(sid, "Foo!A1")
    assert exc.value.code == 400
    assert api_error(exc)["message"] == "Unable to parse range: Foo!A1"
    assert api_error(exc)["status"] == "INVALID_ARGUMENT"

    emu.forbid(sid)
    with pytest.raises(APIError) as exc:
        ws.get("A1")
    assert api_error(exc) == {
        "code": 403,
        "message": "The caller does not have permission",
        "status": "PERMISSION_DENIED",
    }
    emu.allow(sid)
    assert ws.acell("A1").value == "Review"


def test_discovery_validation_rejects_unknown_fields_and_bad_enums(gc: gspread.Client, sid: str) -> None:
    sh = gc.open_by_key(sid)
    with pytest.raises(APIError) as exc:
        sh.values_batch_update(
            {"valueInputOption": "RAW", "data": [{"range": "A1", "values": [[1]], "foo": 1}]}
        )
    err = api_error(exc)
    assert (
        err["message"]
        == "Invalid JSON payload received. Unknown name \"foo\" at 'data[0]': Cannot find field."
    )
    assert err["details"][0]["fieldViolations"][0]["field"] == "data[0]"
    with pytest.raises(APIError) as exc:
        sh.batch_update({"requests": [{"insertDimension": {"range": {"sheetId": 0, "startIndex": "x"}}}]})
    assert (
        "Invalid value at 'requests[0].insert_dimension.range.start_index' (TYPE_INT32)"
        in api_error(exc)["message"]
    )
    with pytest.raises(APIError) as exc:
        sh.values_get("A1", params={"valueRenderOption": "PRETTY"})
    assert api_error(exc)["message"].startswith("Invalid value at 'value_render_option'")
    with pytest.raises(APIError) as exc:
        sh.batch_update({"requests": [{"addSheet": {"properties": {"title": "X"}, "bogus": True}}]})
    assert "Unknown name \"bogus\" at 'requests[0].add_sheet'" in api_error(exc)["message"]


# ------------------------------------------------------------------------------- faults and counters


def test_quota_answers_the_real_429_body(gc: gspread.Client, emu: SheetsEmulator, sid: str) -> None:
    sh = gc.open_by_key(sid)
    emu.set_quota(read_per_minute=2, write_per_minute=None)
    sh.values_get("A1")
    sh.values_get("A1")
    with pytest.raises(APIError) as exc:
        sh.values_get("A1")
    err = api_error(exc)
    assert exc.value.code == 429 and err["status"] == "RESOURCE_EXHAUSTED"
    assert err["message"].startswith(
        "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' "
        "of service 'sheets.googleapis.com'"
    )
    assert err["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"
    sh.values_update("A1", {"valueInputOption": "RAW"}, {"values": [["writes are not limited"]]})
    emu.reset_counts()  # empties the quota window too
    assert sh.values_get("A1")["values"] == [["writes are not limited"]]


def test_scripted_failures_and_delays(gc: gspread.Client, emu: SheetsEmulator, sid: str) -> None:
    sh = gc.open_by_key(sid)
    emu.fail_next(503, count=2, path_contains="values:batchGet")
    sh.values_get("A1")  # does not match the script
    for _ in range(2):
        with pytest.raises(APIError) as exc:
            sh.values_batch_get(["A1"])
        assert api_error(exc) == {
            "code": 503,
            "message": "The service is currently unavailable.",
            "status": "UNAVAILABLE",
        }
    assert sh.values_batch_get(["A1"])["valueRanges"][0]["values"] == [["Review"]]

    emu.fail_next(429, retry_after=7)
    with pytest.raises(APIError) as exc:
        sh.values_get("A1")
    assert exc.value.response.headers["Retry-After"] == "7"
    emu.fail_next(0)
    with pytest.raises(requests.ConnectionError):
        sh.values_get("A1")

    emu.slow_next(0.3)
    started = time.monotonic()
    sh.values_get("A1")
    assert time.monotonic() - started >= 0.3


def batch_update_body(size: int) -> bytes:
    """A values.batchUpdate body of exactly ``size`` bytes, in column B cells of at most 20,000 characters."""

    def body(rows: int, last: int) -> bytes:
        values = [["x" * 20_000]] * rows + [["x" * last]]
        data = [{"range": f"Sheet1!B1:B{rows + 1}", "values": values}]
        return json.dumps({"valueInputOption": "RAW", "data": data}).encode()

    rows = max(0, (size - 200) // 20_006 - 1)
    raw = body(rows, size - len(body(rows, 0)))
    assert len(raw) == size
    return raw


def post_batch_update(emu: SheetsEmulator, sid: str, body: bytes) -> requests.Response:
    return requests.post(
        f"{emu.url}/v4/spreadsheets/{sid}/values:batchUpdate",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def test_a_body_over_googles_payload_limit_gets_its_400(emu: SheetsEmulator, sid: str) -> None:
    # Google's front end refuses bodies over 10 MiB with this 400; the Sheets API documents no hard limit.
    too_big = post_batch_update(emu, sid, batch_update_body(10_485_761))
    assert too_big.status_code == 400
    assert too_big.json()["error"] == {
        "code": 400,
        "message": "Request payload size exceeds the limit: 10485760 bytes.",
        "status": "INVALID_ARGUMENT",
    }
    assert emu.get_cell(sid, "Sheet1", "B1") == "Stars"  # nothing applied
    assert [r.size for r in emu.requests] == [10_485_761]
    assert post_batch_update(emu, sid, batch_update_body(10_485_760)).status_code == 200


def test_max_body_bytes_holds_clients_to_the_recommended_2_mb() -> None:
    with SheetsEmulator(max_body_bytes=2_000_000) as strict:
        sid = strict.add_spreadsheet("Book", {"Sheet1": [["Review"]]})
        refused = post_batch_update(strict, sid, batch_update_body(2_000_001))
        assert refused.status_code == 400
        assert refused.json()["error"]["message"] == "Request payload size exceeds the limit: 2000000 bytes."
        assert post_batch_update(strict, sid, batch_update_body(2_000_000)).status_code == 200
        assert [r.size for r in strict.requests] == [2_000_001, 2_000_000]
        assert len(strict.values(sid, "Sheet1")) == 99  # 98 cells of 20,000 characters and the rest


def test_request_counting(gc: gspread.Client, emu: SheetsEmulator, sid: str) -> None:
    sh = gc.open_by_key(sid)
    sh.sheet1.batch_get(["A1:B2"])
    sh.values_update("Sheet1!A1", {"valueInputOption": "RAW"}, {"values": [["x"]]})
    methods = [(r.method, r.method_id, r.status) for r in emu.requests]
    assert methods == [
        ("GET", "sheets.spreadsheets.get", 200),
        ("GET", "sheets.spreadsheets.get", 200),
        ("GET", "sheets.spreadsheets.values.batchGet", 200),
        ("PUT", "sheets.spreadsheets.values.update", 200),
    ]
    assert emu.requests[-1].path == f"/v4/spreadsheets/{sid}/values/Sheet1!A1"
    assert emu.requests[-1].body == {"values": [["x"]]}
    assert emu.request_count == 4
    emu.reset_counts()
    assert emu.request_count == 0


def test_on_request_hook_can_insert_a_row_mid_run(gc: gspread.Client, emu: SheetsEmulator, sid: str) -> None:
    ws = gc.open_by_key(sid).sheet1
    seen: list[RecordedRequest] = []

    def hook(record: RecordedRequest) -> None:
        seen.append(record)
        if len(seen) == 2:  # before the second read is served, someone inserts a row above the data
            emu.insert_rows(sid, "Sheet1", 2, [["sneaky", 0]])

    emu.on_request(hook)
    assert ws.col_values(1) == ["Review", "great", "awful", "fine"]
    assert ws.col_values(1) == ["Review", "sneaky", "great", "awful", "fine"]
    emu.set_cell(sid, "Sheet1", "C2", "=1+1", value_input_option="USER_ENTERED")
    assert emu.cell_is_formula(sid, "Sheet1", "C2")


def test_concurrent_clients_are_served(emu: SheetsEmulator, sid: str) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            sh = gspread_client_for(emu.url).open_by_key(sid)
            for i in range(5):
                sh.values_update(f"Sheet1!H{n * 5 + i + 1}", {"valueInputOption": "RAW"}, {"values": [[n]]})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(row[7] for row in emu.values(sid, "Sheet1")) == sorted(
        [n for n in range(4) for _ in range(5)]
    )


# ---------------------------------------------------------------------------------- loading and CLI


def test_load_xlsx_keeps_formulas(tmp_path: Path, gc: gspread.Client, emu: SheetsEmulator) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Data"
    ws.append(["n", "double"])
    ws.append([2, "=A2*2"])
    wb.save(tmp_path / "book.xlsx")
    key = emu.load_xlsx(tmp_path / "book.xlsx")
    assert key == "book"
    assert emu.cell_is_formula(key, "Data", "B2")
    assert gc.open_by_key(key).worksheet("Data").get(
        "A1:B2", value_render_option=ValueRenderOption.formula
    ) == [
        ["n", "double"],
        [2, "=A2*2"],
    ]


def test_cli_serves_a_loaded_json_file(tmp_path: Path) -> None:
    fixture = tmp_path / "x.json"
    fixture.write_text(
        json.dumps({"id": "fixture1", "title": "From JSON", "sheets": {"Data": [["h"], ["v"]]}})
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "sheets_ai.testing.sheets_server", "--port", "0", "--load", str(fixture)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:"), line
        url = line.removeprefix("listening on ")
        sh = gspread_client_for(url).open_by_key("fixture1")
        assert sh.title == "From JSON"
        assert sh.worksheet("Data").get_all_values() == [["h"], ["v"]]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
    assert "fixture1" in (proc.stderr.read() if proc.stderr else "")


def test_add_sheet_with_append_cells_creates_a_sheet_with_its_header_in_one_request(
    gc: gspread.Client, emu: SheetsEmulator, sid: str
) -> None:
    sh = gc.open_by_key(sid)
    header = {"values": [{"userEnteredValue": {"stringValue": h}} for h in ("time", "cost")]}
    sh.batch_update(
        {
            "requests": [
                {"addSheet": {"properties": {"title": "Log", "sheetId": 77}}},
                {"appendCells": {"sheetId": 77, "rows": [header], "fields": "userEnteredValue"}},
            ]
        }
    )
    assert emu.values(sid, "Log") == [["time", "cost"]]
    row = {
        "values": [{"userEnteredValue": {"stringValue": "noon"}}, {"userEnteredValue": {"numberValue": 0.5}}]
    }
    sh.batch_update({"requests": [{"appendCells": {"sheetId": 77, "rows": [row], "fields": "*"}}]})
    assert emu.values(sid, "Log") == [["time", "cost"], ["noon", 0.5]]
    with pytest.raises(APIError) as exc:
        sh.batch_update(
            {"requests": [{"appendCells": {"sheetId": 77, "rows": [row], "fields": "userEnteredFormat"}}]}
        )
    assert "not supported" in api_error(exc)["message"]
