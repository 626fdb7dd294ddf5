"""Secrets stay home: keys in URLs and secret variables never leave in text, and the key goes only where the
user sent it.

Runs drive the real CLI (in this process, as ``invoke`` does: the openai SDK takes seconds to import in a
child; one run is a real child process) and the real openai SDK against the fake OpenAI server over
loopback. A base URL that is *not* loopback is reached through the fake server acting as a plain HTTP
forward proxy (``HTTP_PROXY``): the SDK sends ``POST http://models.example.test/v1/chat/completions`` to it,
so the key rule sees a non-loopback host while nothing leaves the machine.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from conftest import invoke, run_json

import sheets_ai
from sheets_ai.config import build_config
from sheets_ai.errors import ConfigError, ProviderError
from sheets_ai.keys import choose_key, is_loopback, is_openai_host
from sheets_ai.redact import Redactor, safe_url, scrub
from sheets_ai.testing.openai_server import FakeOpenAI
from sheets_ai.testing.sheets_server import SheetsEmulator

SECRET = "sk-SECRET-7f3a9c2e41d0"
REVIEW_ARGS = ("--task", "sentiment", "--input", "Review", "--output", "Sentiment")
FAST = {"SHEETS_AI_RETRY_MAX_SECONDS": "5", "SHEETS_AI_REQUEST_TIMEOUT": "5"}
REMOTE = "http://models.example.test/v1"  # not loopback; reached through the fake server as a proxy


def secret_urls(server: FakeOpenAI) -> list[str]:
    return [
        f"http://user:{SECRET}@127.0.0.1:{server.port}/v1",
        f"http://127.0.0.1:{server.port}/v1?api-key={SECRET}",
    ]


def via_proxy(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    """Plain-http requests of this process go through ``server`` as a forward proxy; ``extra`` is set too."""
    proxy = f"http://127.0.0.1:{server.port}"
    for name, value in {
        "HTTP_PROXY": proxy,
        "http_proxy": proxy,
        "NO_PROXY": "",
        "no_proxy": "",
        **FAST,
        **extra,
    }.items():
        monkeypatch.setenv(name, value)


def cli_json(*args: str | Path) -> tuple[Result, dict]:
    result = invoke(*args, "--json")
    assert result.stdout.strip(), result.stderr
    return result, json.loads(result.stdout)


def assert_hidden(*texts: str, secret: str = SECRET) -> None:
    for text in texts:
        assert secret not in text, text


# ------------------------------------------------------------------ keys inside --base-url are never printed
@pytest.mark.parametrize("form", [0, 1], ids=["user-info", "query"])
def test_a_key_in_the_base_url_is_in_no_error_summary_or_report(
    fake_openai: FakeOpenAI, work: Path, form: int
) -> None:
    url = secret_urls(fake_openai)[form]
    fake_openai.script("404", "404")  # the model is "not found": an error that names the server
    plain = invoke("run", work / "reviews.xlsx", *REVIEW_ARGS, "--provider", "openai", "--base-url", url)
    result, report = cli_json(
        "run", work / "reviews.xlsx", *REVIEW_ARGS, "--provider", "openai", "--base-url", url
    )
    assert plain.exit_code == 2 and result.exit_code == 2
    assert f"at http://127.0.0.1:{fake_openai.port}/v1 (404)" in plain.stderr  # the server is still named
    assert_hidden(plain.stdout, plain.stderr, result.stdout, result.stderr, json.dumps(report))
    assert report["error"] and report["stopped"]


def test_a_child_process_run_prints_no_key_either(fake_openai: FakeOpenAI, work: Path) -> None:
    fake_openai.script("404")
    url = secret_urls(fake_openai)[0]
    proc, report = run_json(
        "run", work / "reviews.xlsx", *REVIEW_ARGS, "--provider", "openai", "--base-url", url
    )
    assert proc.returncode == 2 and "was not found at http://127.0.0.1" in report["error"]
    assert_hidden(proc.stdout, proc.stderr)


def test_a_secret_variable_is_scrubbed_from_log_lines_errors_and_the_report(
    fake_openai: FakeOpenAI, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "tok-live-0d9c8b7a6f5e"
    monkeypatch.setenv("MY_SERVICE_TOKEN", token)
    # The model name is the token: the price warning (a log line) and the 404 error would both print it.
    args = ("run", work / "reviews.xlsx", *REVIEW_ARGS, "--provider", "openai", "--base-url", fake_openai.url)
    plain = invoke(*args, "--model", token)
    result, report = cli_json(*args, "--model", token)
    assert plain.exit_code == 2 and "No price for model '***'" in plain.stderr
    assert "Model '***' was not found" in plain.stderr
    assert_hidden(plain.stdout, plain.stderr, result.stdout, result.stderr, json.dumps(report), secret=token)
    # A usage error that would echo it (a column named like the token) is scrubbed too.
    bad = invoke("run", work / "reviews.xlsx", "--input", token, "--output", "X")
    assert bad.exit_code == 2 and "Column '***' not found" in bad.stderr
    assert_hidden(bad.stderr, secret=token)


def test_a_query_key_in_the_base_url_still_reaches_the_server(fake_openai: FakeOpenAI, work: Path) -> None:
    url = secret_urls(fake_openai)[1]
    result, report = cli_json(
        "run", work / "reviews.xlsx", *REVIEW_ARGS, "--provider", "openai", "--base-url", url
    )
    assert result.exit_code == 0, result.stderr
    paths = {r["path"] for r in fake_openai.requests}
    assert paths == {f"/v1/chat/completions?api-key={SECRET}"}  # not glued into the path
    assert report["rows_processed"] == 59
    assert_hidden(result.stdout, result.stderr)


def test_the_cache_does_not_depend_on_the_key_in_the_url(fake_openai: FakeOpenAI, work: Path) -> None:
    args = ("run", work / "reviews.xlsx", *REVIEW_ARGS, "--provider", "openai", "--overwrite")
    first, _ = cli_json(*args, "--base-url", f"http://u:{SECRET}@127.0.0.1:{fake_openai.port}/v1")
    sent = len(fake_openai.requests)
    second, report = cli_json(
        *args, "--base-url", f"http://u:sk-rotated-1234567@127.0.0.1:{fake_openai.port}/v1"
    )
    assert first.exit_code == second.exit_code == 0
    assert sent > 0 and len(fake_openai.requests) == sent  # the second run came from the cache
    assert report["rows_cached"] == 59


def test_the_library_raises_and_reports_without_the_key(fake_openai: FakeOpenAI) -> None:
    fake_openai.script("404")
    url = secret_urls(fake_openai)[0]
    with pytest.raises(ProviderError) as err:
        sheets_ai.run_texts(["great", "awful"], "sentiment", provider="openai", base_url=url, cache=False)
    assert SECRET not in str(err.value) and SECRET not in repr(err.value.args)
    report = err.value.report  # type: ignore[attr-defined]
    assert report.stopped and SECRET not in report.stopped
    assert SECRET not in json.dumps(report.to_dict())


def test_log_lines_from_the_library_are_scrubbed(
    fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "tok-live-1a2b3c4d5e6f"
    monkeypatch.setenv("MY_SERVICE_TOKEN", token)
    with caplog.at_level(logging.WARNING, logger="sheets_ai"), pytest.raises(ProviderError):
        sheets_ai.run_texts(["great"], "sentiment", provider="openai", base_url=fake_openai.url, model=token)
    assert "No price for model" in caplog.text and token not in caplog.text


# ------------------------------------------------------------------ the --log-sheet row (a shared sheet)
@pytest.fixture
def sheets(monkeypatch: pytest.MonkeyPatch) -> Iterator[SheetsEmulator]:
    with SheetsEmulator(port=0) as emu:
        monkeypatch.setenv("SHEETS_AI_SHEETS_ENDPOINT", emu.url)
        yield emu


def test_the_log_sheet_row_never_holds_the_key(fake_openai: FakeOpenAI, sheets: SheetsEmulator) -> None:
    sid = sheets.add_spreadsheet("Book", {"Sheet1": [["Review"], ["I love it"], ["Awful, it broke"]]})
    source = f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid=0"
    for url in secret_urls(fake_openai):
        fake_openai.script("404")
        result = invoke(
            "run", source, *REVIEW_ARGS, "--provider", "openai", "--base-url", url, "--log-sheet", "Runs"
        )
        assert result.exit_code == 2, result.stderr
        assert_hidden(result.stdout, result.stderr)
    header, *rows = sheets.values(sid, "Runs")
    assert len(rows) == 2
    for row in rows:
        entry = dict(zip(header, row, strict=False))
        assert str(entry["status"]).startswith(
            "stopped: Model 'gpt-4.1-mini' was not found at http://127.0.0.1"
        )
        assert_hidden(json.dumps(entry))


# ------------------------------------------------------------------ where OPENAI_API_KEY may go
def test_a_base_url_from_sheets_ai_toml_does_not_get_openai_api_key(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("sheets-ai.toml").write_text(f'base_url = "{REMOTE}"\n')
    with FakeOpenAI(api_key="test-key") as server:
        via_proxy(server, monkeypatch, OPENAI_API_KEY="test-key")
        result = invoke("run", work / "reviews.xlsx", *REVIEW_ARGS, "--provider", "openai")
        assert server.requests and server.counts()["401"] == len(server.requests)  # it asked, with no key
    assert result.exit_code == 2
    assert "base_url comes from ./sheets-ai.toml; OPENAI_API_KEY is not sent there" in result.stderr
    assert 'api_key_env = "' in result.stderr and "--base-url" in result.stderr


def test_a_toml_base_url_gets_the_variable_the_same_file_names(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("sheets-ai.toml").write_text(f'base_url = "{REMOTE}"\napi_key_env = "MY_SERVER_KEY"\n')
    with FakeOpenAI(api_key="server-key-42abcdef") as server:
        via_proxy(server, monkeypatch, OPENAI_API_KEY="test-key", MY_SERVER_KEY="server-key-42abcdef")
        result, report = cli_json("run", work / "reviews.xlsx", *REVIEW_ARGS, "--provider", "openai")
        assert {r["path"] for r in server.requests} == {f"{REMOTE}/chat/completions"}
    assert result.exit_code == 0, result.stderr
    assert report["rows_processed"] == 59
    assert "server-key-42abcdef" not in result.stdout + result.stderr


def test_a_toml_cannot_name_openai_api_key_for_its_own_server(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("sheets-ai.toml").write_text(f'base_url = "{REMOTE}"\napi_key_env = "OPENAI_API_KEY"\n')
    with FakeOpenAI() as server:
        via_proxy(server, monkeypatch, OPENAI_API_KEY="test-key")
        result = invoke("run", work / "reviews.xlsx", *REVIEW_ARGS, "--provider", "openai")
        assert server.requests == []
    assert result.exit_code == 2
    assert "api_key_env" in result.stderr and "--base-url" in result.stderr


def test_a_variable_the_toml_names_but_nobody_set_is_named_in_the_error(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("sheets-ai.toml").write_text(f'base_url = "{REMOTE}"\napi_key_env = "MY_SERVER_KEY"\n')
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    result = invoke("run", work / "reviews.xlsx", *REVIEW_ARGS, "--provider", "openai")
    assert result.exit_code == 2
    assert "MY_SERVER_KEY (api_key_env in ./sheets-ai.toml) is not set" in result.stderr


@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_base_url_the_user_set_gets_openai_api_key_with_a_clear_text_warning(
    work: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    with FakeOpenAI(api_key="test-key") as server:
        via_proxy(server, monkeypatch, OPENAI_API_KEY="test-key")
        if how == "env":
            monkeypatch.setenv("OPENAI_BASE_URL", REMOTE)
        flag = ("--base-url", REMOTE) if how == "flag" else ()
        result = invoke("run", work / "reviews.xlsx", *REVIEW_ARGS, "--provider", "openai", *flag)
    assert result.exit_code == 0, result.stderr
    warning = f"{REMOTE} is not encrypted: the API key and your rows travel in clear text"
    assert result.stderr.count(warning) == 1


def test_a_loopback_base_url_from_the_toml_gets_the_key_and_no_warning(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    with FakeOpenAI(api_key="test-key") as server:
        Path("sheets-ai.toml").write_text(f'base_url = "{server.url}"\n')
        result = invoke("run", work / "reviews.xlsx", *REVIEW_ARGS, "--provider", "openai")
    assert result.exit_code == 0, result.stderr
    assert "not encrypted" not in result.stderr


# ------------------------------------------------------------------ the rule itself
def _toml(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("https://api.openai.com/v1", True),
        ("https://eu.api.openai.com/v1", True),
        ("http://api.openai.com/v1", False),  # not encrypted: not OpenAI's API as far as the rule goes
        ("https://api.openai.com.evil.example/v1", False),
        ("http://localhost:11434/v1", True),
        ("http://127.3.2.1:8000/v1", True),
        ("http://[::1]:8000/v1", True),
        ("https://gpu-box.internal:8000/v1", False),
        ("https://myres.openai.azure.com/openai/v1", False),
    ],
)
def test_which_base_url_from_a_file_gets_openai_api_key(tmp_path: Path, url: str, sent: bool) -> None:
    path = _toml(tmp_path / "team.toml", f'base_url = "{url}"\n')
    env = {"OPENAI_API_KEY": "sk-user-key-123456"}
    choice = choose_key(build_config({}, env=env, config_path=path), url, env)
    assert (choice.key == "sk-user-key-123456") is sent
    if not sent:
        assert choice.key is None and choice.withheld and str(path) in choice.withheld
    # The same URL set by the user (flag or environment) always gets the key.
    for config in (
        build_config({"base_url": url}, env=env),
        build_config({}, env={**env, "SHEETS_AI_BASE_URL": url}),
    ):
        assert choose_key(config, url, env).key == "sk-user-key-123456"


def test_api_key_env_is_honoured_only_from_the_file_that_names_the_url(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "sk-user-key-123456", "TEAM_KEY": "team-key-abcdef12"}
    same = _toml(tmp_path / "a.toml", 'base_url = "https://gpu.example/v1"\napi_key_env = "TEAM_KEY"\n')
    assert choose_key(build_config({}, env=env, config_path=same), "https://gpu.example/v1", env).key == (
        "team-key-abcdef12"
    )
    # Named elsewhere (the environment), the variable does not go to a URL that came from a file.
    only_url = _toml(tmp_path / "b.toml", 'base_url = "https://gpu.example/v1"\n')
    config = build_config({}, env={**env, "SHEETS_AI_API_KEY_ENV": "TEAM_KEY"}, config_path=only_url)
    assert choose_key(config, "https://gpu.example/v1", env).key is None
    # A user-set URL with api_key_env sends that variable instead of OPENAI_API_KEY.
    config = build_config({"base_url": "https://gpu.example/v1", "api_key_env": "TEAM_KEY"}, env=env)
    assert choose_key(config, "https://gpu.example/v1", env).key == "team-key-abcdef12"
    bad = _toml(tmp_path / "c.toml", 'base_url = "https://evil.example/v1"\napi_key_env = "OPENAI_API_KEY"\n')
    with pytest.raises(ConfigError, match="api_key_env"):
        choose_key(build_config({}, env=env, config_path=bad), "https://evil.example/v1", env)


def test_loopback_and_openai_hosts() -> None:
    assert is_loopback("http://localhost/v1") and is_loopback("http://127.0.0.1:1/v1")
    assert is_loopback("http://[::1]/v1") and not is_loopback("http://127.0.0.1.nip.io/v1")
    assert is_openai_host("https://api.openai.com/v1") and not is_openai_host(
        "https://api.openai.com:8443.x/v1"
    )


# ------------------------------------------------------------------ the redaction helpers
@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://api.openai.com/v1", "https://api.openai.com/v1"),
        (f"http://user:{SECRET}@127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
        (f"https://h.example/v1?api-key={SECRET}&api-version=2024-10-21#x", "https://h.example/v1"),
        (f"http://{SECRET}@[::1]:8000/v1", "http://[::1]:8000/v1"),
        ("localhost:8000/v1?key=abc", "localhost:8000/v1"),
    ],
)
def test_safe_url(url: str, shown: str) -> None:
    assert safe_url(url) == shown


def test_scrub_masks_urls_and_secret_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOY_Secret", "hunter2-but-longer")
    monkeypatch.setenv("KEYBOARD_LAYOUT", "us")  # too short to be a secret: left alone
    text = (
        f"failed at http://bob:{SECRET}@10.0.0.1/v1/x?api-key={SECRET}&api-version=2024-10-21 "
        "with hunter2-but-longer on us keyboards"
    )
    out = scrub(text)
    assert SECRET not in out and "hunter2-but-longer" not in out
    assert "http://***@10.0.0.1/v1/x?api-key=***&api-version=2024-10-21" in out
    assert "on us keyboards" in out
    assert Redactor(["abcdefgh12"]).scrub("x abcdefgh12 y") == "x *** y"
