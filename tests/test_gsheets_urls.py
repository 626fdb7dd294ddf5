"""Every form of Google Sheets URL people are given is read as (spreadsheet id, gid); other URLs get a clear error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import invoke

from sheets_ai.errors import SourceError
from sheets_ai.tables import is_google_sheet
from sheets_ai.tables.gsheets import parse_source
from sheets_ai.testing.sheets_server import SheetsEmulator

ID = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd"
D = f"docs.google.com/spreadsheets/d/{ID}"


@pytest.mark.parametrize(
    ("source", "gid"),
    [
        (f"https://{D}/edit", None),
        (f"https://{D}/edit#gid=0", 0),
        (f"https://docs.google.com/spreadsheets/u/1/d/{ID}/edit", None),  # signed in to a 2nd account
        (f"https://docs.google.com/spreadsheets/u/0/d/{ID}/edit#gid=123", 123),
        (f"{D}/edit#gid=123", 123),  # copied without the scheme
        (f"docs.google.com/spreadsheets/u/2/d/{ID}/edit?usp=sharing", None),
        (f"http://{D}/edit#gid=123", 123),
        (f"https://{D}/edit?gid=123", 123),
        (f"https://{D}/edit?gid=123#gid=123", 123),  # the form the address bar shows today
        (f"https://{D}/edit?gid=5#gid=9", 9),  # the tab that was open wins
        (f"https://{D}/edit#gid=42&range=A1:C10", 42),  # "copy link to this range"
        (f"https://{D}/edit?usp=sharing", None),  # the Share dialog's link
        (f"https://{D}/edit?usp=drivesdk", None),
        (f"https://{D}/htmlview", None),
        (f"https://{D}/htmlview#gid=7", 7),
        (f"https://{D}/edit?ouid=104471182960938501234&usp=sheets_home&ths=true", None),  # the mobile app
        (f"https://{D}", None),
        (f"https://{D}/", None),
        (f"https://docs.google.com/a/example.com/spreadsheets/d/{ID}/edit#gid=3", 3),  # old Workspace form
        (f"HTTPS://DOCS.GOOGLE.COM/spreadsheets/d/{ID}/edit", None),
        (f"  https://{D}/edit#gid=0\n", 0),  # pasted with whitespace
        (ID, None),  # a bare id
    ],
)
def test_sheet_urls_are_read_as_id_and_gid(source: str, gid: int | None) -> None:
    assert is_google_sheet(source)
    assert parse_source(source) == (ID, gid)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("https://docs.google.com/spreadsheets/d/e/2PACX-1vQx9Fq/pubhtml", "'Publish to the web' link"),
        (f"https://docs.google.com/document/d/{ID}/edit", "is not a Google Sheets URL"),
        ("https://example.com/reviews.csv", "is not a Google Sheets URL"),
        ("docs.google.com/spreadsheets/", "is not a Google Sheets URL"),
    ],
)
def test_other_urls_are_refused_with_what_to_give_instead(source: str, message: str) -> None:
    assert is_google_sheet(source)  # a URL never falls through to "file not found"
    with pytest.raises(SourceError, match=message) as exc:
        parse_source(source)
    assert "https://docs.google.com/spreadsheets/d/" in str(exc.value)


@pytest.mark.parametrize("path", ["reviews.xlsx", "data/tickets.csv", "notes.tsv", "C:/data/x.csv"])
def test_file_paths_are_not_taken_for_sheets(path: str) -> None:
    assert not is_google_sheet(path)


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[SheetsEmulator]:
    with SheetsEmulator(port=0) as server:
        monkeypatch.setenv("SHEETS_AI_SHEETS_ENDPOINT", server.url)
        yield server


@pytest.mark.parametrize(
    "form",
    [
        "docs.google.com/spreadsheets/u/1/d/{sid}/edit?usp=sharing#gid={gid}",
        "http://docs.google.com/spreadsheets/d/{sid}/htmlview?gid={gid}",
    ],
)
def test_the_cli_runs_on_the_tab_a_url_names(emu: SheetsEmulator, form: str) -> None:
    rows = [["Review"], ["I love it, great"], ["Terrible, it broke"]]
    sid = emu.add_spreadsheet("Book", {"First": [["Review"], ["untouched"]], "Second": rows})
    gid = emu.gspread_client().open_by_key(sid).worksheet("Second").id
    result = invoke("run", form.format(sid=sid, gid=gid), "--input", "Review", "--output", "Sentiment")
    assert result.exit_code == 0, result.output
    assert emu.values(sid, "Second")[1:] == [
        ["I love it, great", "positive"],
        ["Terrible, it broke", "negative"],
    ]
    assert emu.values(sid, "First") == [["Review"], ["untouched"]]
