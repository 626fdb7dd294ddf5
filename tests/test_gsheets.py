"""The Google Sheets table end to end: the real gspread library over real HTTP against the Sheets emulator.

Runs go through ``sheets_ai.run`` (or the CLI) with ``SHEETS_AI_SHEETS_ENDPOINT`` pointing at the emulator.
The AI provider is a real one too: the offline analyzer, or the openai provider (the official SDK) against the
fake OpenAI server, answering one request at a time after 10 ms so a test can edit the sheet between two
chunks. Nothing of ours is monkeypatched.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import REPO, invoke, local_answers, openai_args, run_cli

import sheets_ai
from sheets_ai.config import build_config
from sheets_ai.errors import SheetNotFoundError, SheetsAIError, SourceError, UsageError
from sheets_ai.report import RunReport
from sheets_ai.testing._openai_answers import REFUSE_MARK, expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI
from sheets_ai.testing.sheets_server import RecordedRequest, SheetsEmulator

ENDPOINT_ENV = "SHEETS_AI_SHEETS_ENDPOINT"


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def server() -> Iterator[SheetsEmulator]:
    with SheetsEmulator(port=0) as emu:
        yield emu


@pytest.fixture
def emu(server: SheetsEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[SheetsEmulator]:
    server.reset_faults()
    server.reset_counts()
    monkeypatch.setenv(ENDPOINT_ENV, server.url)
    yield server
    server.reset_faults()


def url(sid: str, gid: int = 0) -> str:
    return f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid={gid}"


def reviews(n: int, start: int = 0) -> list[list[Any]]:
    """Deterministic reviews the offline analyzer labels: even rows positive, odd rows negative."""
    return [
        [f"I love this, it is great #{i}" if i % 2 == 0 else f"Terrible and awful, it broke #{i}"]
        for i in range(start, start + n)
    ]


def error_lines(stderr: str) -> list[str]:
    """The lines a user reads as the error (info lines such as the provider notice left out)."""
    return [line for line in stderr.strip().splitlines() if not line.startswith("sheets-ai: ")]


def notes(n: int, start: int = 0) -> list[list[str]]:
    """Two-sentence notes: the fake model's summary (the first sentence) differs from the note and per row."""
    return [[f"Note {i}: the order shipped. Details for row {i} follow."] for i in range(start, start + n)]


def summary_of(text: str) -> str:
    """What the fake OpenAI server answers for ``text`` (its first sentence): a misplaced result shows."""
    return expected_answer("summarize", text)


@pytest.fixture
def llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """The fake OpenAI server, 10 ms per answer. Runs use it through :func:`llm_run` or :data:`llm_args`."""
    with FakeOpenAI(port=0, latency=0.01, retry_after=0.05) as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        yield fake


def llm_args(fake: FakeOpenAI) -> tuple[str, ...]:
    """CLI flags: the openai provider against ``fake``, one request at a time (one chunk per batch)."""
    return (*openai_args(fake), "--concurrency", "1")


def llm_run(fake: FakeOpenAI, source: str, **options: Any) -> RunReport:
    """A summarize run through the openai provider against ``fake``, one request at a time."""
    options.setdefault("task", "summarize")
    options.setdefault("output", "Summary")
    return run(source, provider="openai", base_url=fake.url, concurrency=1, **options)


def run(source: str, **options: Any) -> RunReport:
    options.setdefault("task", "sentiment")
    options.setdefault("input", "Review")
    options.setdefault("output", "Sentiment")
    return sheets_ai.run(build_config({"source": source, **options}))


def column(emu: SheetsEmulator, sid: str, sheet: str, col: int) -> list[Any]:
    """Column ``col`` (0-based) below the header row, '' for empty cells."""
    return [(r[col] if col < len(r) else "") for r in emu.values(sid, sheet)[1:]]


def writes(emu: SheetsEmulator) -> list[RecordedRequest]:
    return [r for r in emu.requests if r.method_id == "sheets.spreadsheets.values.batchUpdate"]


def after_first_write(emu: SheetsEmulator, action: Callable[[], None]) -> None:
    """Call ``action`` once, just before the first request that follows the first values.batchUpdate.

    The hook runs on the server thread before that request is answered, so the edit lands between two
    chunks of the run: after chunk 1 was written, before chunk 2's re-read.
    """
    done = threading.Event()

    def hook(record: RecordedRequest) -> None:
        if done.is_set():
            return
        earlier = emu.requests[:-1]
        if any(r.method_id == "sheets.spreadsheets.values.batchUpdate" and r.status == 200 for r in earlier):
            done.set()
            action()

    emu.on_request(hook)


def assert_beside_own_input(emu: SheetsEmulator, sid: str, expected: Callable[[str], str]) -> int:
    """Every filled output cell holds the result of the input in its own row; return how many are filled."""
    filled = 0
    for row in emu.values(sid, "Sheet1")[1:]:
        if len(row) > 1 and row[1] != "":
            assert row[1] == expected(row[0]), row
            filled += 1
    return filled


# ------------------------------------------------------------------------------------ §1 the source


def test_url_with_gid_selects_that_worksheet(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet(
        "Book", {"First": [["Review"], ["untouched"]], "Second": [["Review"], *reviews(4)]}
    )
    gid = emu.gspread_client().open_by_key(sid).worksheet("Second").id
    assert gid != 0
    report = run(url(sid, gid))
    assert report.sheet == "Second" and report.rows_processed == 4
    assert report.output == url(sid, gid)
    assert column(emu, sid, "Second", 1) == ["positive", "negative", "positive", "negative"]
    assert emu.values(sid, "First") == [["Review"], ["untouched"]]


def test_bare_id_and_sheet_option(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet("Book", {"First": [["x"]], "Second Tab": [["Review"], *reviews(2)]})
    assert len(sid) >= 30
    report = run(sid, sheet="second tab")  # matched without regard to case
    assert report.sheet == "Second Tab"
    assert column(emu, sid, "Second Tab", 1) == ["positive", "negative"]


def test_unknown_worksheet_lists_the_worksheets(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet("Book", {"Reviews": [["Review"]], "Archive 2023": [["Review"]]})
    with pytest.raises(SheetNotFoundError) as exc:
        run(url(sid), sheet="Revews")
    assert "Sheets: Reviews, Archive 2023" in str(exc.value)
    with pytest.raises(SourceError) as exc2:
        run(url(sid, 12345))
    assert "gid=12345" in str(exc2.value) and "Reviews, Archive 2023" in str(exc2.value)


def test_columns_by_letter_or_header_and_a_missing_output_header_is_created(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet(
        "Book", {"Sheet1": [["Date", "Review", "Stars"], *[["2024", r[0], 5] for r in reviews(3)]]}
    )
    report = run(url(sid), input="B", output="Sentiment")
    assert any("New column D 'Sentiment'" in n for n in report.notices)
    values = emu.values(sid, "Sheet1")
    assert values[0] == ["Date", "Review", "Stars", "Sentiment"]
    assert [r[3] for r in values[1:]] == ["positive", "negative", "positive"]

    sid2 = emu.add_spreadsheet("Book", {"Sheet1": [["Review", "Stars"], *reviews(2)]})
    run(url(sid2), input="review", output="E")  # header text in any case; an output letter past the headers
    assert [r[4] for r in emu.values(sid2, "Sheet1")[1:]] == ["positive", "negative"]
    assert emu.values(sid2, "Sheet1")[0] == ["Review", "Stars"]  # a letter creates no header


def test_a_new_output_column_goes_right_of_data_under_a_blank_header(emu: SheetsEmulator) -> None:
    rows = [["Review", "Stars"], *[[r[0], 5, "note" if i == 1 else ""] for i, r in enumerate(reviews(3))]]
    sid = emu.add_spreadsheet("Book", {"Sheet1": rows})
    report = run(url(sid), input="Review", output="Sentiment")
    assert any("New column D 'Sentiment'" in n for n in report.notices)
    values = emu.values(sid, "Sheet1")
    assert values[2][2] == "note" and [r[3] for r in values[1:]] == ["positive", "negative", "positive"]


def test_output_on_the_input_column_is_refused(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet("Book", {"Sheet1": [["Review", "Out"], *reviews(2)]})
    with pytest.raises(UsageError, match="same column"):
        run(url(sid), input="Review", output="A")
    assert emu.values(sid, "Sheet1")[1] == reviews(1)[0]


def test_header_row_rows_and_limit(emu: SheetsEmulator) -> None:
    rows: list[list[Any]] = [["Quarterly export"], [], ["Review", "Sentiment"], *reviews(10)]
    sid = emu.add_spreadsheet("Book", {"Sheet1": rows})
    report = run(url(sid), header_row=3, rows="6:11", limit=3)
    assert report.rows_total == 10 and report.rows_processed == 3
    assert report.skipped == {"outside_rows": 4, "over_limit": 3}
    out = [r[1] if len(r) > 1 else "" for r in emu.values(sid, "Sheet1")[3:]]
    assert out == ["", "", "positive", "negative", "positive", "", "", "", "", ""]
    assert emu.values(sid, "Sheet1")[:3] == [["Quarterly export"], [], ["Review", "Sentiment"]]


def test_filled_outputs_are_kept_unless_overwrite(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet(
        "Book", {"Sheet1": [["Review", "Sentiment"], [reviews(1)[0][0], "kept"], *reviews(2, 1)]}
    )
    report = run(url(sid))
    assert report.skipped == {"already_done": 1} and report.rows_processed == 2
    assert column(emu, sid, "Sheet1", 1) == ["kept", "negative", "positive"]
    report = run(url(sid), overwrite=True)
    assert report.rows_processed == 3
    assert column(emu, sid, "Sheet1", 1) == ["positive", "negative", "positive"]


# ---------------------------------------------------------------------------------- §4 values, not formulas


def test_results_that_look_like_formulas_land_as_text(emu: SheetsEmulator, llm: FakeOpenAI) -> None:
    # One-sentence inputs (stored RAW, as text): the fake model's summary of each is the input itself.
    answers = ["=SUM(A1:A3)", "+1 great", "-bad", "@mention", "=1+2"]
    assert [summary_of(a) for a in answers] == answers
    sid = emu.add_spreadsheet("Book", {"Sheet1": [["Review"], *[[a] for a in answers]]})
    report = llm_run(llm, url(sid))
    assert report.rows_processed == 5
    assert column(emu, sid, "Sheet1", 1) == answers
    for row in range(2, 7):
        assert not emu.cell_is_formula(sid, "Sheet1", f"B{row}")
    assert emu.get_cell(sid, "Sheet1", "B6", "UNFORMATTED_VALUE") == "=1+2"  # not evaluated to 3
    (write,) = writes(emu)
    assert write.body["valueInputOption"] == "RAW"


# ---------------------------------------------------------------------------------- §3 economy


@pytest.mark.parametrize(("rows", "target"), [(1_000, 6), (10_000, 15)])
def test_request_counts_including_the_log_row(emu: SheetsEmulator, rows: int, target: int) -> None:
    sid = emu.add_spreadsheet("Book", {"Sheet1": [["Review"], *reviews(rows)]})
    report = run(url(sid), log_sheet="Runs", status_column="Status")
    assert report.rows_processed == rows and report.exit_code == 0
    methods = [r.method_id for r in emu.requests]
    assert len(methods) <= target, methods
    assert methods[:2] == ["sheets.spreadsheets.get", "sheets.spreadsheets.values.batchGet"]
    assert "sheets.spreadsheets.values.update" not in methods  # no per-cell writes
    assert column(emu, sid, "Sheet1", 1) == local_answers("sentiment", [r[0] for r in reviews(rows)])
    assert column(emu, sid, "Sheet1", 2).count("ok") == rows
    # every write request is under 2 MB
    assert all(r.size <= 2_000_000 for r in writes(emu))


def test_each_chunk_costs_one_reread_and_one_write(emu: SheetsEmulator, llm: FakeOpenAI) -> None:
    sid = emu.add_spreadsheet("Book", {"Sheet1": [["Review"], *notes(40)]})
    report = llm_run(llm, url(sid), batch_size=10, checkpoint_seconds=0.001)
    assert report.rows_processed == 40
    chunks = len(writes(emu))
    assert chunks >= 2
    assert emu.request_count == 2 + 2 * chunks


# ---------------------------------------------------------------------------------- §5 concurrent edits


def test_row_inserted_above_mid_run_never_misplaces_a_result(emu: SheetsEmulator, llm: FakeOpenAI) -> None:
    sid = emu.add_spreadsheet("Book", {"Sheet1": [["Review", "Summary"], *notes(60)]})
    after_first_write(emu, lambda: emu.insert_rows(sid, "Sheet1", 2, [["A row someone inserted. Really."]]))
    first = llm_run(llm, url(sid), status_column="Status", batch_size=10, checkpoint_seconds=0.001)
    assert emu.values(sid, "Sheet1")[1] == ["A row someone inserted. Really."]
    for row in emu.values(sid, "Sheet1")[2:]:
        # a finished row keeps "ok" after moving; rows not written say so; nothing is mislabelled
        assert row[1:] in ([summary_of(row[0]), "ok"], ["", "changed during run"], []), row
    assert first.rows_processed == 10  # the first chunk, written before the insert
    assert first.rows_changed == 50 and first.exit_code == 1
    assert assert_beside_own_input(emu, sid, summary_of) == 10

    second = llm_run(llm, url(sid))
    assert second.rows_processed == 51 and second.rows_changed == 0 and second.exit_code == 0
    assert assert_beside_own_input(emu, sid, summary_of) == 61


def test_output_cell_filled_by_a_user_mid_run_is_never_overwritten(
    emu: SheetsEmulator, llm: FakeOpenAI
) -> None:
    sid = emu.add_spreadsheet("Book", {"Sheet1": [["Review", "Summary", "Status"], *notes(40)]})
    after_first_write(emu, lambda: emu.set_cell(sid, "Sheet1", "B31", "typed by a person"))
    report = llm_run(llm, url(sid), status_column="Status", batch_size=10, checkpoint_seconds=0.001)
    assert report.rows_changed == 1 and report.rows_processed == 39
    assert emu.get_cell(sid, "Sheet1", "B31") == "typed by a person"
    assert emu.get_cell(sid, "Sheet1", "C31") == "changed during run"
    again = llm_run(llm, url(sid))
    assert again.rows_processed == 0 and again.skipped == {"already_done": 40}
    assert emu.get_cell(sid, "Sheet1", "B31") == "typed by a person"


def test_status_column_ok_error_and_changed(emu: SheetsEmulator, llm: FakeOpenAI) -> None:
    rows = notes(20)
    rows[3] = [f"{REFUSE_MARK} {rows[3][0]}"]  # the fake model refuses this row, and only this row
    sid = emu.add_spreadsheet("Book", {"Sheet1": [["Review"], *rows]})
    after_first_write(emu, lambda: emu.set_cell(sid, "Sheet1", "A18", "edited while running"))
    report = llm_run(llm, url(sid), status_column="Status", batch_size=10, checkpoint_seconds=0.001)
    assert report.rows_failed == 1 and report.rows_changed == 1 and report.rows_processed == 18
    values = emu.values(sid, "Sheet1")
    assert values[0] == ["Review", "Summary", "Status"]
    status = {i + 1: (r[2] if len(r) > 2 else "") for i, r in enumerate(values)}
    assert status[5] == "error: the model refused: I'm sorry, I can't help with that request."  # note 3
    assert status[18] == "changed during run"
    assert values[17] == ["edited while running", "", "changed during run"]
    assert [s for r, s in status.items() if r not in (1, 5, 18)] == ["ok"] * 18


# ---------------------------------------------------------------------------------- §3 retries and quotas


def test_quota_exhausted_mid_run_waits_and_finishes(emu: SheetsEmulator, llm: FakeOpenAI) -> None:
    sid = emu.add_spreadsheet("Book", {"Sheet1": [["Review"], *notes(30)]})
    emu.set_quota(read_per_minute=3, write_per_minute=60)  # the 2nd chunk's re-read is the 4th read

    def minute_passes(record: RecordedRequest) -> None:
        # The emulator's window is a fixed 60 s; let "the minute pass" once the client has been refused.
        if any(r.status == 429 for r in emu.requests[:-1]):
            emu.remove_hook(minute_passes)
            emu.set_quota(read_per_minute=60, write_per_minute=60)  # also clears the window

    emu.on_request(minute_passes)
    report = llm_run(llm, url(sid), batch_size=10, checkpoint_seconds=0.001)
    statuses = [r.status for r in emu.requests]
    assert 429 in statuses
    refused = statuses.index(429)
    assert statuses[refused + 1] == 200  # the same request, retried after waiting
    assert report.exit_code == 0 and report.rows_processed == 30
    assert assert_beside_own_input(emu, sid, summary_of) == 30


def test_persistent_503_stops_with_a_clear_error_and_keeps_finished_rows(
    emu: SheetsEmulator, llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHEETS_AI_RETRY_ATTEMPTS", "3")
    sid = emu.add_spreadsheet("Book", {"Sheet1": [["Review"], *notes(30)]})
    after_first_write(emu, lambda: emu.fail_next(503, count=1000, retry_after=0))
    result = invoke(
        "run", url(sid), "--task", "summarize", "--input", "Review", "--output", "Summary",
        "--batch-size", "10", "--checkpoint-seconds", "0.001", *llm_args(llm),
    )  # fmt: skip
    assert result.exit_code == 1
    assert "Error: Google Sheets kept answering 503 (UNAVAILABLE) after 3 tries." in result.stderr
    assert "run the same command again" in result.stderr
    assert "Traceback" not in result.output
    emu.reset_faults()
    assert assert_beside_own_input(emu, sid, summary_of) == 10  # the chunk written before the outage


# ---------------------------------------------------------------------------------- §2 errors and auth


def test_404_says_spreadsheet_not_found(emu: SheetsEmulator) -> None:
    result = invoke("run", url("1" * 44), "--input", "Review", "--output", "Sentiment")
    assert result.exit_code == 2
    assert f"Spreadsheet '{'1' * 44}' not found" in result.stderr


def test_403_with_anonymous_credentials_says_to_share_the_sheet(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet("Book", {"Sheet1": [["Review"], *reviews(2)]})
    emu.forbid(sid)
    result = invoke("run", url(sid), "--input", "Review", "--output", "Sentiment")
    assert result.exit_code == 2
    assert error_lines(result.stderr) == [
        f"Error: Permission denied for spreadsheet {sid}: share it (Editor) with your Google account, "
        "then run again."
    ]


class _TokenHandler(BaseHTTPRequestHandler):
    """A stand-in for oauth2.googleapis.com/token: any signed JWT grant gets a token (or a refusal)."""

    refuse = False
    grants: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        type(self).grants.append(body)
        if self.refuse:
            payload, status = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, 400
        else:
            payload, status = {"access_token": "test-token", "expires_in": 3600, "token_type": "Bearer"}, 200
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def token_server() -> Iterator[tuple[str, type[_TokenHandler]]]:
    handler = type("Handler", (_TokenHandler,), {"refuse": False, "grants": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/token", handler
    httpd.shutdown()
    httpd.server_close()


def service_account_key(
    tmp_path: Path, token_uri: str, email: str = "sheets-bot@demo.iam.gserviceaccount.com"
) -> Path:
    """credentials.example.json's shape with a freshly generated RSA key and a local token endpoint."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = json.loads((REPO / "credentials.example.json").read_text())
    info.update(private_key=pem, client_email=email, token_uri=token_uri)
    path = tmp_path / "key.json"
    path.write_text(json.dumps(info))
    return path


def test_403_names_the_service_account_email(
    emu: SheetsEmulator, token_server: tuple[str, type[_TokenHandler]], tmp_path: Path
) -> None:
    token_uri, handler = token_server
    key = service_account_key(tmp_path, token_uri)
    sid = emu.add_spreadsheet("Book", {"Sheet1": [["Review"], *reviews(2)]})
    assert run(url(sid), credentials=key).rows_processed == 2  # the key works: a token, then the API
    assert len(handler.grants) == 1 and "grant_type=urn" in handler.grants[0]
    emu.forbid(sid)
    result = invoke("run", url(sid), "--input", "Review", "--output", "Sentiment", "--credentials", key)
    assert result.exit_code == 2
    assert (
        "share it (Editor) with the service account sheets-bot@demo.iam.gserviceaccount.com" in result.stderr
    )
    assert "BEGIN PRIVATE KEY" not in result.output


def test_a_key_google_refuses_is_one_clear_line(
    emu: SheetsEmulator, token_server: tuple[str, type[_TokenHandler]], tmp_path: Path
) -> None:
    token_uri, handler = token_server
    handler.refuse = True
    key = service_account_key(tmp_path, token_uri)
    sid = emu.add_spreadsheet("Book", {"Sheet1": [["Review"], *reviews(2)]})
    result = invoke("run", url(sid), "--input", "Review", "--output", "Sentiment", "--credentials", key)
    assert result.exit_code == 2
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and "did not issue an access token" in lines[0] and "invalid_grant" in lines[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found. Check --credentials or GOOGLE_APPLICATION_CREDENTIALS"),
        ("this is not json", "is not JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"type": "external_account"}', "has type 'external_account'; expected a service-account key"),
        ('{"type": "service_account", "client_email": "a@b.c"}', "is missing private_key, token_uri"),
        ("EXAMPLE", "has an invalid private key"),
    ],
    ids=["missing", "not-json", "not-object", "wrong-type", "missing-fields", "placeholder-key"],
)
def test_bad_credentials_file_is_one_clear_line_and_exit_2(
    emu: SheetsEmulator, tmp_path: Path, content: str | None, message: str
) -> None:
    key = tmp_path / "key.json"
    if content == "EXAMPLE":
        key.write_text((REPO / "credentials.example.json").read_text())
    elif content is not None:
        key.write_text(content)
    result = invoke("run", url("x" * 44), "--input", "Review", "--output", "Out", "--credentials", key)
    assert result.exit_code == 2
    lines = error_lines(result.stderr)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"Error: Credentials file {str(key)!r} ") and message in lines[0]
    assert emu.request_count == 0


def test_google_application_credentials_is_used_when_no_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "nowhere.json"))
    result = invoke("run", url("x" * 44), "--input", "Review", "--output", "Out")
    assert result.exit_code == 2
    assert "nowhere.json' not found" in result.stderr


def test_credentials_example_is_a_placeholder_service_account_key() -> None:
    info = json.loads((REPO / "credentials.example.json").read_text())
    assert info["type"] == "service_account"
    for field in ("project_id", "private_key_id", "private_key", "client_email", "client_id", "token_uri"):
        assert info[field]
    assert "REPLACE_ME" in info["private_key"] and info["private_key"].count("\n") <= 3
    assert info["token_uri"] == "https://oauth2.googleapis.com/token"


# ---------------------------------------------------------------------------------- §6 run log


def test_log_sheet_gets_one_row_per_run_under_one_header(emu: SheetsEmulator) -> None:
    sid = emu.add_spreadsheet("Book", {"Sheet1": [["Review"], *reviews(5)]})
    run(url(sid), log_sheet="Runs")
    emu.set_cell(sid, "Sheet1", "A7", "Wonderful, best purchase ever")
    run(url(sid), log_sheet="Runs")
    log = emu.values(sid, "Runs")
    assert len(log) == 3
    header = log[0]
    assert header[:4] == ["time", "task", "model", "processed"] and "status" in header and "where" in header
    rows = [dict(zip(header, r, strict=False)) for r in log[1:]]
    assert [(r["task"], r["processed"], r["skipped"], r["status"]) for r in rows] == [
        ("sentiment", 5, 0, "ok"),
        ("sentiment", 1, 5, "ok"),
    ]
    assert rows[0]["model"] == "local:local-analyzer"


def test_two_runs_creating_the_log_sheet_at_once_both_log(emu: SheetsEmulator) -> None:
    """Two tasks of a job finish together: run B logs from start to end while run A's addSheet of the log
    worksheet waits. A's then meets "already exists" and appends its row to B's worksheet."""
    sid = emu.add_spreadsheet("Book", {"Sheet1": [["Review"], *reviews(4)]})
    other: dict[str, Any] = {}

    def run_b_now(record: RecordedRequest) -> None:
        if "addSheet" in json.dumps(record.body or {}) and "report" not in other:
            other["report"] = None
            other["report"] = run(url(sid), log_sheet="Runs", rows="4:5")

    emu.on_request(run_b_now)
    report = run(url(sid), log_sheet="Runs", rows="2:3")
    assert report.exit_code == 0 and other["report"] is not None and other["report"].exit_code == 0
    log = emu.values(sid, "Runs")
    assert log[0][:4] == ["time", "task", "model", "processed"]
    assert [r[3] for r in log[1:]] == [2, 2]


def test_log_sheet_records_a_stopped_run(
    emu: SheetsEmulator, llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHEETS_AI_RETRY_ATTEMPTS", "2")
    sid = emu.add_spreadsheet("Book", {"Sheet1": [["Review"], *notes(20)]})
    after_first_write(emu, lambda: emu.fail_next(503, count=2, retry_after=0))  # one chunk's re-read
    with pytest.raises(SheetsAIError, match="kept answering 503"):
        llm_run(llm, url(sid), log_sheet="Runs", batch_size=10, checkpoint_seconds=0.001)
    (header, entry) = emu.values(sid, "Runs")
    row = dict(zip(header, entry, strict=False))  # the ledger columns (run, month, claim) stay empty here
    assert row["processed"] == 10
    assert str(row["status"]).startswith("stopped: Google Sheets kept answering 503")


def test_log_sheet_with_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text("Review\ngreat\n")
    result = invoke("run", path, "--input", "Review", "--output", "Sentiment", "--log-sheet", "Runs")
    assert result.exit_code == 2
    assert "Cannot use --log-sheet with a file" in result.stderr


# ---------------------------------------------------------------------------------- Done when


def test_cli_fills_every_row_correctly_while_the_sheet_is_edited(server: SheetsEmulator) -> None:
    """`SHEETS_AI_SHEETS_ENDPOINT=… sheets-ai run <URL> --task sentiment --input Review --output Sentiment`."""
    emu = server
    emu.reset_faults()
    emu.reset_counts()
    data = reviews(1_000)
    sid = emu.add_spreadsheet("Reviews", {"Sheet1": [["Review"], *data]})
    edited = threading.Event()

    def edit(record: RecordedRequest) -> None:
        # Between the read and the write: insert a row in the middle, edit one input, fill one output.
        if emu.request_count == 3 and not edited.is_set():
            edited.set()
            emu.insert_rows(sid, "Sheet1", 502, [["Wonderful, best purchase ever"]])
            emu.set_cell(sid, "Sheet1", "A11", "Wonderful after all, I changed my mind")
            emu.set_values(sid, "Sheet1", "B21", [["someone typed this"]])

    emu.on_request(edit)
    env = {"SHEETS_AI_SHEETS_ENDPOINT": emu.url}
    args = ["run", url(sid), "--task", "sentiment", "--input", "Review", "--output", "Sentiment", "--json"]
    first = run_cli(*args, env=env)
    assert edited.is_set()
    assert first.returncode == 1, first.stderr
    report = json.loads(first.stdout)
    assert report["rows_changed"] == 1 + 1 + 500  # the edited row, the filled row, every row that moved
    assert report["rows_processed"] == 498
    assert emu.request_count <= 6
    emu.remove_hook(edit)

    emu.reset_counts()
    second = run_cli(*args, env=env)
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert report["rows_processed"] == 1 + 1 + 500  # row 11, the inserted row, the moved rows
    assert report["skipped"] == {"already_done": 499}  # row 21 stays the user's
    assert emu.request_count <= 6

    values = emu.values(sid, "Sheet1")
    assert len(values) == 1 + 1_001
    expected = local_answers("sentiment", [row[0] for row in values[1:]])
    for row, label in zip(values[1:], expected, strict=True):
        if row[0] != data[19][0]:  # row 21 holds the user's own value
            assert row[1] == label, row
    assert values[20] == [data[19][0], "someone typed this"]
    assert values[10][1] == "positive" and values[501][1] == "positive"
