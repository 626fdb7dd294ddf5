"""A local Google Sheets API v4 emulator over real HTTP on loopback, for tests and CI.

Run it as a process::

    python -m sheets_ai.testing.sheets_server --port 0 --load reviews.xlsx --load fixtures.json

or in-process::

    with SheetsEmulator() as emu:
        sid = emu.add_spreadsheet("Reviews", {"Sheet1": [["Review"], ["great"]]})
        gc = gspread_client_for(emu.url)
        gc.open_by_key(sid).sheet1.get_all_values()

See docs/sheets-emulator.md for ranges, value options, fault scripting, quotas and counters.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

from sheets_ai.testing import _sheets_validation as validation
from sheets_ai.testing._loopback import LoopbackServer
from sheets_ai.testing._sheets_api import Route, dispatch, route
from sheets_ai.testing._sheets_cells import ApiError, not_found, quote_sheet, render
from sheets_ai.testing._sheets_faults import (
    FAULT_MESSAGES,
    PAYLOAD_LIMIT,
    RecordedRequest,
    Script,
    payload_too_large,
    quota_error,
    take,
)
from sheets_ai.testing._sheets_model import (
    Bounds,
    Spreadsheet,
    build_spreadsheet,
    new_spreadsheet_id,
    read_block,
    sheets_from_xlsx,
    specs_from_json,
    write_block,
)

if TYPE_CHECKING:
    import gspread
    from google.auth.credentials import Credentials
    from gspread.http_client import HTTPClient

__all__ = [
    "ApiError",
    "RecordedRequest",
    "SheetsEmulator",
    "gspread_client_for",
    "gspread_http_client",
    "main",
    "quota_error",
]

log = logging.getLogger(__name__)

GOOGLE_API_ORIGINS = ("https://sheets.googleapis.com", "https://www.googleapis.com")

Answer = tuple[int, dict[str, Any] | None, dict[str, str]]


class SheetsEmulator(LoopbackServer):
    """In-memory spreadsheets served as Sheets API v4 on ``http://127.0.0.1:PORT``.

    All public methods are thread-safe; use them from a test thread while a client talks to the server.
    A request body over ``max_body_bytes`` gets Google's 400 "Request payload size exceeds the limit": the
    default is Google's own 10 MiB; ``max_body_bytes=2_000_000`` holds a client to the 2 MB Google
    recommends.
    """

    thread_name = "sheets-emulator"
    label = "Sheets emulator"

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        latency: float = 0.0,
        validate: bool = True,
        max_body_bytes: int | None = PAYLOAD_LIMIT,
    ):
        self.host, self.port = host, port
        self.latency = latency
        self.validate = validate
        self.max_body_bytes = max_body_bytes
        self._lock = threading.RLock()
        self._books: dict[str, Spreadsheet] = {}
        self._forbidden: set[str] = set()
        self._faults: list[Script] = []
        self._delays: list[Script] = []
        self._hooks: list[Callable[[RecordedRequest], None]] = []
        self._quota: dict[str, int | None] = {"read": None, "write": None}
        self._windows: dict[str, deque[float]] = {"read": deque(), "write": deque()}
        self._requests: list[RecordedRequest] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------------------------- lifecycle

    def _new_server(self) -> _Server:
        return _Server((self.host, self.port), _Handler)

    @property
    def url(self) -> str:
        """Base URL to point clients at, e.g. ``http://127.0.0.1:50123`` (the API lives under ``/v4``)."""
        return f"http://{self.host}:{self.port}"

    def gspread_client(self, credentials: Credentials | None = None) -> gspread.Client:
        return gspread_client_for(self.url, credentials)

    # -------------------------------------------------------------------------------------- data

    def add_spreadsheet(
        self,
        title: str = "Untitled spreadsheet",
        sheets: Mapping[str, Sequence[Sequence[Any]]] | None = None,
        spreadsheet_id: str | None = None,
        *,
        value_input_option: str = "RAW",
    ) -> str:
        """Create a spreadsheet (one empty ``Sheet1`` by default) and return its id."""
        sid = spreadsheet_id or new_spreadsheet_id()
        book = build_spreadsheet(title, sheets, sid, value_input_option)
        with self._lock:
            self._books[sid] = book
        return sid

    def load_json(self, path: str | Path) -> list[str]:
        """Load ``{"id"?, "title", "sheets": {name: rows}, "valueInputOption"?}`` or a list of them."""
        ids = []
        for spec in specs_from_json(path):
            ids.append(
                self.add_spreadsheet(
                    spec.get("title") or Path(path).stem,
                    spec["sheets"],
                    spec.get("id") or spec.get("spreadsheetId"),
                    value_input_option=spec.get("valueInputOption", "RAW"),
                )
            )
        return ids

    def load_xlsx(self, path: str | Path, spreadsheet_id: str | None = None, title: str | None = None) -> str:
        """Load every worksheet of an .xlsx file; the id defaults to the file name without extension."""
        stem = Path(path).stem
        sid = spreadsheet_id or "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)
        return self.add_spreadsheet(title or stem, sheets_from_xlsx(path), sid)

    def load(self, path: str | Path) -> list[str]:
        """Load an .xlsx or .json file by its extension."""
        if str(path).lower().endswith((".xlsx", ".xlsm")):
            return [self.load_xlsx(path)]
        return self.load_json(path)

    def spreadsheet_ids(self) -> list[str]:
        with self._lock:
            return list(self._books)

    def sheet_titles(self, spreadsheet_id: str) -> list[str]:
        with self._lock:
            return [s.title for s in self._book(spreadsheet_id).sheets]

    def values(self, spreadsheet_id: str, sheet: str, render_option: str = "FORMULA") -> list[list[Any]]:
        """The sheet's cells, trailing blanks trimmed; formulas as ``=...`` text unless another render is asked."""
        with self._lock:
            return read_block(self._bounds(spreadsheet_id, sheet, None), "ROWS", render_option)

    def get_cell(
        self, spreadsheet_id: str, sheet: str, a1: str, render_option: str = "UNFORMATTED_VALUE"
    ) -> Any:
        with self._lock:
            b = self._bounds(spreadsheet_id, sheet, a1)
            return render(b.sheet.cell(b.r0, b.c0), render_option)

    def cell_format(self, spreadsheet_id: str, sheet: str, a1: str) -> dict[str, Any]:
        """The cell's ``userEnteredFormat`` as set by ``repeatCell`` ({} when none)."""
        with self._lock:
            b = self._bounds(spreadsheet_id, sheet, a1)
            return dict(b.sheet.formats.get((b.r0, b.c0), {}))

    def cell_is_formula(self, spreadsheet_id: str, sheet: str, a1: str) -> bool:
        with self._lock:
            b = self._bounds(spreadsheet_id, sheet, a1)
            cell = b.sheet.cell(b.r0, b.c0)
            return cell is not None and cell.formula is not None

    def set_values(
        self,
        spreadsheet_id: str,
        sheet: str,
        a1: str,
        rows: Sequence[Sequence[Any]],
        value_input_option: str = "RAW",
    ) -> None:
        """Write a block of values with its top-left corner at ``a1`` (the grid grows if needed)."""
        with self._lock:
            b = self._bounds(spreadsheet_id, sheet, a1)
            write_block(
                Bounds(b.sheet, b.r0, None, b.c0, None, single=True), rows, value_input_option, grow=True
            )

    def set_cell(
        self, spreadsheet_id: str, sheet: str, a1: str, value: Any, value_input_option: str = "RAW"
    ) -> None:
        self.set_values(spreadsheet_id, sheet, a1, [[value]], value_input_option)

    def insert_rows(
        self,
        spreadsheet_id: str,
        sheet: str,
        at_row: int,
        rows: Sequence[Sequence[Any]],
        value_input_option: str = "RAW",
    ) -> None:
        """Insert ``rows`` so the first becomes row ``at_row`` (1-based); rows below shift down."""
        with self._lock:
            target = self._bounds(spreadsheet_id, sheet, None).sheet
            target.insert("ROWS", at_row - 1, max(1, len(rows)))
            self.set_values(spreadsheet_id, sheet, f"A{at_row}", rows, value_input_option)

    def delete_rows(self, spreadsheet_id: str, sheet: str, at_row: int, count: int = 1) -> None:
        with self._lock:
            self._bounds(spreadsheet_id, sheet, None).sheet.delete("ROWS", at_row - 1, at_row - 1 + count)

    def _book(self, spreadsheet_id: str) -> Spreadsheet:
        try:
            return self._books[spreadsheet_id]
        except KeyError:
            raise KeyError(f"no spreadsheet {spreadsheet_id!r} in the emulator") from None

    def _bounds(self, spreadsheet_id: str, sheet: str, a1: str | None) -> Bounds:
        book = self._book(spreadsheet_id)
        book.sheet(sheet)  # KeyError for an unknown sheet
        try:
            return book.resolve(quote_sheet(sheet) + (f"!{a1}" if a1 else ""))
        except ApiError as exc:
            raise ValueError(exc.message) from None

    # ------------------------------------------------------------------------- faults and counters

    def fail_next(
        self,
        status: int = 503,
        count: int = 1,
        path_contains: str | None = None,
        *,
        message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status`` (0 = drop the connection unanswered).

        429 uses the real quota body; ``retry_after`` adds a ``Retry-After`` header (the real API sends none).
        """
        with self._lock:
            self._faults.append(
                Script(count, path_contains, status, message=message, retry_after=retry_after)
            )

    def slow_next(self, seconds: float, count: int = 1, path_contains: str | None = None) -> None:
        """Delay the next ``count`` matching requests by ``seconds`` before they are answered."""
        with self._lock:
            self._delays.append(Script(count, path_contains, seconds=seconds))

    def forbid(self, spreadsheet_id: str) -> None:
        """Answer every request for this spreadsheet with 403 PERMISSION_DENIED."""
        with self._lock:
            self._forbidden.add(spreadsheet_id)

    def allow(self, spreadsheet_id: str) -> None:
        with self._lock:
            self._forbidden.discard(spreadsheet_id)

    def set_quota(self, read_per_minute: int | None = 60, write_per_minute: int | None = 60) -> None:
        """Per-minute (sliding window) request quotas; None = unlimited. Over-quota requests get 429."""
        with self._lock:
            self._quota = {"read": read_per_minute, "write": write_per_minute}
            self._windows = {"read": deque(), "write": deque()}

    def on_request(self, callback: Callable[[RecordedRequest], None]) -> Callable[[RecordedRequest], None]:
        """Call ``callback(record)`` before each request is served (on the server thread, lock not held)."""
        with self._lock:
            self._hooks.append(callback)
        return callback

    def remove_hook(self, callback: Callable[[RecordedRequest], None]) -> None:
        with self._lock:
            self._hooks.remove(callback)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    def reset_faults(self) -> None:
        """Drop scripted faults and delays, hooks, quotas and forbidden ids (data and counters stay)."""
        with self._lock:
            self._faults.clear()
            self._delays.clear()
            self._hooks.clear()
            self._forbidden.clear()
            self._quota = {"read": None, "write": None}

    def reset_counts(self) -> None:
        """Forget recorded requests and the quota windows (scripted faults and delays stay)."""
        with self._lock:
            self._requests.clear()
            for window in self._windows.values():
                window.clear()

    # --------------------------------------------------------------------------------- serving

    def serve(self, method: str, target: str, raw_body: bytes) -> Answer:
        """Answer one HTTP request: (status, JSON body or None to drop the connection, extra headers)."""
        arrived = time.time()
        parts = urlsplit(target)
        limit = self.max_body_bytes
        too_big = limit is not None and len(raw_body) > limit
        try:
            body = json.loads(raw_body) if raw_body.strip() and not too_big else None
        except ValueError:
            body = raw_body.decode("utf-8", "replace")
        record = RecordedRequest(method, unquote(parts.path), parts.query, arrived, body, size=len(raw_body))
        with self._lock:
            self._requests.append(record)
            hooks = list(self._hooks)
            delay = take(self._delays, record)
        for hook in hooks:
            try:
                hook(record)
            except Exception:
                log.exception("on_request hook failed")
        pause = self.latency + (delay.seconds if delay else 0.0)
        if pause > 0:
            time.sleep(pause)
        if (
            too_big and limit is not None
        ):  # refused before anything else looks at it, as Google's front end does
            record.status = 400
            return 400, payload_too_large(limit).body(), {}
        status, payload, headers = self._answer(method, parts.path, parts.query, body, record)
        record.status = status
        return status, payload, headers

    def _answer(self, method: str, raw_path: str, qs: str, body: Any, record: RecordedRequest) -> Answer:
        with self._lock:
            fault = take(self._faults, record)
            if fault is not None:
                return self._fault(fault, record)
            r = route(method, raw_path)
            if r is None:
                return 404, ApiError(404, f"Method not found: {method} {unquote(raw_path)}").body(), {}
            record.method_id = r.method_id
            try:
                return 200, self._call(r, parse_qs(qs, keep_blank_values=True), body), {}
            except ApiError as exc:
                return exc.code, exc.body(), {}

    def _call(self, r: Route, query: dict[str, list[str]], body: Any) -> dict[str, Any]:
        if isinstance(body, str):
            raise ApiError(400, f"Invalid JSON payload received. Unexpected token.\n{body[:40]}\n^")
        kind = "read" if r.is_read else "write"
        limit = self._quota[kind]
        if limit is not None:
            window, now = self._windows[kind], time.monotonic()
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= limit:
                raise quota_error(kind, limit)
            window.append(now)
        if r.spreadsheet_id is not None and r.spreadsheet_id in self._forbidden:
            raise ApiError(403, "The caller does not have permission")
        book = self._books.get(r.spreadsheet_id or "")
        if book is None and r.spreadsheet_id is not None:
            raise not_found()
        checker = validation.validator() if self.validate else None
        if checker is not None:
            body = checker.check(r.method_id, query, body)
        fields = validation.parse_fields(query["fields"][0]) if query.get("fields") else None
        if book is None:  # spreadsheets.create
            book = self._create(body or {})
            result = book.metadata()
        else:
            result = dispatch(r, book, query, body or {})
        return cast(dict[str, Any], validation.apply_fields(result, fields))

    def _create(self, body: dict[str, Any]) -> Spreadsheet:
        title = (body.get("properties") or {}).get("title") or "Untitled spreadsheet"
        names = [
            ((s.get("properties") or {}).get("title") or f"Sheet{i + 1}")
            for i, s in enumerate(body.get("sheets") or [])
        ]
        sid = self.add_spreadsheet(title, {n: [] for n in names} or None, body.get("spreadsheetId"))
        return self._books[sid]

    def _fault(self, fault: Script, record: RecordedRequest) -> Answer:
        if fault.status == 0:
            return 0, None, {}
        if fault.status == 429:
            kind = "read" if record.is_read else "write"
            err = quota_error(kind, self._quota[kind] or 60)
        else:
            message, status = FAULT_MESSAGES.get(fault.status, ("Error.", "UNKNOWN"))
            err = ApiError(fault.status, message, status)
        if fault.message:
            err.message = fault.message
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
        return fault.status, err.body(), headers


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: SheetsEmulator


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SheetsEmulator/1.0"
    # Headers and body go out in separate writes; without this, Nagle + delayed ACK add ~40 ms a request.
    disable_nagle_algorithm = True

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        emulator = cast(_Server, self.server).emulator
        status, payload, headers = emulator.serve(self.command, self.path, raw)
        if payload is None:
            self.close_connection = True
            return
        data = json.dumps(payload, indent=2).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


# ------------------------------------------------------------------------------------------- gspread


def _rewrite(url: str, endpoint: str) -> str:
    for origin in GOOGLE_API_ORIGINS:
        if url.startswith(origin):
            return endpoint + url[len(origin) :]
    return url


def gspread_http_client(endpoint: str, base: type[HTTPClient] | None = None) -> type[HTTPClient]:
    """A gspread HTTPClient class that sends every Google API URL to ``endpoint`` instead.

    gspread builds absolute ``https://sheets.googleapis.com/v4/...`` URLs from ``gspread.urls``; this
    subclass rewrites the origin per request, so no global state is patched. Pass it as
    ``gspread.Client(credentials, http_client=gspread_http_client(url))``. ``base`` may be
    ``gspread.BackOffHTTPClient`` or your own subclass.
    """
    from gspread.http_client import HTTPClient

    parent: type[HTTPClient] = base or HTTPClient
    target = endpoint.rstrip("/")

    def request(self: HTTPClient, method: str, endpoint: str, *args: Any, **kwargs: Any) -> Any:
        return parent.request(self, method, _rewrite(endpoint, target), *args, **kwargs)

    return cast(
        "type[HTTPClient]", type("EndpointHTTPClient", (parent,), {"request": request, "endpoint": target})
    )


def gspread_client_for(
    url: str, credentials: Credentials | None = None, base: type[HTTPClient] | None = None
) -> gspread.Client:
    """A real ``gspread.Client`` talking to the emulator (or any Sheets endpoint) at ``url``.

    Authorizes with ``google.auth.credentials.AnonymousCredentials()`` unless credentials are given.
    """
    import gspread
    from google.auth.credentials import AnonymousCredentials

    return gspread.Client(credentials or AnonymousCredentials(), http_client=gspread_http_client(url, base))


# ------------------------------------------------------------------------------------------------ CLI


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sheets_ai.testing.sheets_server",
        description="Serve Google Sheets API v4 from in-memory spreadsheets on 127.0.0.1.",
        epilog="example: python -m sheets_ai.testing.sheets_server --port 8089 --load reviews.xlsx",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0 = pick a free one)")
    parser.add_argument(
        "--load",
        nargs="+",
        action="extend",
        default=[],
        metavar="FILE",
        help=".xlsx or .json files to load (repeatable)",
    )
    parser.add_argument(
        "--quota-per-minute",
        type=int,
        default=None,
        help="read and write requests allowed per minute each; more get 429",
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every response")
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=PAYLOAD_LIMIT,
        help=f"refuse request bodies over this many bytes with Google's 400 (default {PAYLOAD_LIMIT}, "
        "Google's limit; 2000000 checks the 2 MB Google recommends)",
    )
    parser.add_argument("--no-validate", action="store_true", help="skip discovery-document validation")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )

    emulator = SheetsEmulator(
        args.port, latency=args.latency, validate=not args.no_validate, max_body_bytes=args.max_body_bytes
    )
    if args.quota_per_minute is not None:
        emulator.set_quota(args.quota_per_minute, args.quota_per_minute)
    for path in args.load:
        try:
            ids = emulator.load(path)
        except (OSError, ValueError, KeyError) as exc:
            print(f"error: cannot load {path}: {exc}", file=sys.stderr)
            return 2
        for sid in ids:
            print(
                f"loaded {path} as spreadsheet {sid} (sheets: {', '.join(emulator.sheet_titles(sid))})",
                file=sys.stderr,
            )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    emulator.start()
    print(f"listening on {emulator.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
