"""The OpenAI key from Secret Manager (SHEETS_AI_OPENAI_API_KEY_SECRET), end to end and offline.

Every run is the real CLI as a child process, with Application Default Credentials found the way Cloud Run
finds them: google-auth's metadata-server lookup (GCE_METADATA_HOST / GCE_METADATA_IP), pointed at the
emulator, which hands out tokens for its service account and checks them on ``versions:access``. The
client library (google-cloud-secret-manager, REST transport) talks to the emulator through
SHEETS_AI_SECRETMANAGER_ENDPOINT, and the key it reads is sent to the fake OpenAI server, which accepts only
that key. google-auth reads the metadata variables when it is imported, hence child processes.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import google_crc32c
import pytest
from conftest import run_cli

from sheets_ai.secret_manager import SecretNameError, parse_secret_name
from sheets_ai.testing.openai_server import FakeOpenAI
from sheets_ai.testing.secretmanager_server import SecretManagerEmulator

SECRET = "projects/demo-project/secrets/openai-key"
KEY = "sk-from-secret-manager-4d2c9b7e"
ACCOUNT = "sheets-ai-job@demo-project.iam.gserviceaccount.com"
ARGS = ("--task", "sentiment", "--input", "Review", "--output", "Sentiment", "--no-cache")
ROWS = ["great product", "terrible, broke in a day", "works as described", "love it", "never again"]


@pytest.fixture
def emulator() -> Iterator[SecretManagerEmulator]:
    with SecretManagerEmulator(secrets={SECRET: KEY + "\n"}) as emu:  # `echo KEY | gcloud ...` adds "\n"
        yield emu


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(port=0, api_key=KEY, retry_after=0.05) as server:
        yield server


@pytest.fixture
def reviews(tmp_path: Path) -> Path:
    path = tmp_path / "reviews.csv"
    path.write_text("Review\n" + "\n".join(ROWS) + "\n", encoding="utf-8")
    return path


def secret_env(
    emu: SecretManagerEmulator, name: str = SECRET + "/versions/latest", **extra: str
) -> dict[str, str]:
    return {
        **emu.adc_env(),
        "SHEETS_AI_SECRETMANAGER_ENDPOINT": emu.url,
        "SHEETS_AI_OPENAI_API_KEY_SECRET": name,
        **extra,
    }


def run(
    source: Path, server: FakeOpenAI, env: Mapping[str, str], *more: str
) -> subprocess.CompletedProcess[str]:
    return run_cli("run", source, *ARGS, "--provider", "openai", "--base-url", server.url, *more, env=env)


def assert_no_key(*texts: str) -> None:
    for text in texts:
        assert KEY not in text


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    assert_no_key(proc.stdout, proc.stderr)
    return lines[0]


# ------------------------------------------------------------------------------------------ the key
def test_the_key_comes_from_the_secret_read_once_and_never_shown(
    emulator: SecretManagerEmulator, fake: FakeOpenAI, reviews: Path
) -> None:
    proc = run(reviews, fake, secret_env(emulator), "--json", "--batch-size", "1", "--concurrency", "2")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["rows_processed"] == len(ROWS) and report["provider"] == "openai"
    # The fake server accepts only KEY: five answered requests means it got KEY as the bearer each time.
    assert report["requests"] == len(ROWS) == len([r for r in fake.requests if r["status"] == 200])
    assert emulator.access_count(SECRET) == 1  # once per process, whatever the number of requests
    (access,) = emulator.accesses
    assert access.principal == f"serviceAccount:{ACCOUNT}" and access.status == 200
    assert_no_key(proc.stdout, proc.stderr, reviews.read_text(encoding="utf-8"))


def test_a_bare_secret_name_means_the_latest_version(
    emulator: SecretManagerEmulator, fake: FakeOpenAI, reviews: Path
) -> None:
    emulator.add_version(SECRET, "sk-old-key-that-was-rotated-out", state="DISABLED")
    emulator.add_version(SECRET, KEY)  # version 3, the latest
    proc = run(reviews, fake, secret_env(emulator, SECRET), "--limit", "1")
    assert proc.returncode == 0, proc.stderr
    assert [a.name for a in emulator.accesses] == [SECRET + "/versions/latest"]
    assert f"OpenAI key from Secret Manager: {SECRET} (version 3)." in proc.stderr  # which one, for audits


def test_openai_api_key_wins_and_the_secret_is_not_read(
    emulator: SecretManagerEmulator, fake: FakeOpenAI, reviews: Path
) -> None:
    env = secret_env(emulator, "projects/demo-project/secrets/missing/versions/latest", OPENAI_API_KEY=KEY)
    proc = run(reviews, fake, env, "--limit", "1")
    assert proc.returncode == 0, proc.stderr
    assert emulator.accesses == []


def test_the_secret_makes_auto_choose_openai_and_a_dry_run_reads_nothing(
    emulator: SecretManagerEmulator, fake: FakeOpenAI, reviews: Path
) -> None:
    proc = run_cli("estimate", reviews, *ARGS, "--base-url", fake.url, "--json", env=secret_env(emulator))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["provider"] == "openai"
    assert emulator.accesses == [] and fake.requests == []


def test_a_key_from_the_secret_that_openai_rejects_names_the_secret(
    emulator: SecretManagerEmulator, reviews: Path
) -> None:
    with FakeOpenAI(port=0, api_key="sk-some-other-key-entirely") as server:
        proc = run(reviews, server, secret_env(emulator))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert_no_key(proc.stdout, proc.stderr)
    (line,) = [line for line in proc.stderr.splitlines() if line.startswith("Error: ")]
    assert f"rejected the API key from Secret Manager secret {SECRET}/versions/latest (401" in line


def test_a_base_url_from_a_config_file_gets_no_key_from_the_secret(
    emulator: SecretManagerEmulator, reviews: Path, tmp_path: Path
) -> None:
    """The key rule holds for the secret as for OPENAI_API_KEY: a sheets-ai.toml's server gets neither."""
    cwd = tmp_path / "project"
    cwd.mkdir()
    remote = "http://models.example.test/v1"  # not loopback: reached through the fake server as a proxy
    (cwd / "sheets-ai.toml").write_text(f'base_url = "{remote}"\n', encoding="utf-8")
    with FakeOpenAI(port=0, api_key=KEY) as server:
        proxy = f"http://127.0.0.1:{server.port}"
        env = secret_env(
            emulator,
            HTTP_PROXY=proxy,
            http_proxy=proxy,
            NO_PROXY="127.0.0.1",  # the emulator directly, were it ever asked
            no_proxy="127.0.0.1",
            SHEETS_AI_RETRY_MAX_SECONDS="5",
        )
        proc = run_cli("run", reviews, *ARGS, "--provider", "openai", cwd=cwd, env=env)
        assert server.requests and all(r["status"] == 401 for r in server.requests)
    assert "OPENAI_API_KEY is not sent there" in proc.stderr
    assert emulator.accesses == []
    assert_no_key(proc.stdout, proc.stderr)


# ------------------------------------------------------------------------------------------ errors
def _missing(emu: SecretManagerEmulator) -> str:
    emu.grant(ACCOUNT, "projects/demo-project")  # may read every secret: Google then says "not found"
    return "projects/demo-project/secrets/no-such-secret/versions/latest"


def _missing_version(emu: SecretManagerEmulator) -> str:
    emu.grant(ACCOUNT, "projects/demo-project")
    return SECRET + "/versions/7"


def _denied(emu: SecretManagerEmulator) -> str:
    emu.revoke(ACCOUNT, SECRET)
    emu.grant("serviceAccount:someone-else@demo-project.iam.gserviceaccount.com", SECRET)
    return SECRET + "/versions/1"


def _disabled(emu: SecretManagerEmulator) -> str:
    emu.set_state(SECRET + "/versions/1", "DISABLED")
    return SECRET + "/versions/1"


def _destroyed_latest(emu: SecretManagerEmulator) -> str:
    emu.add_version(SECRET, "sk-second-key-0123456789")
    emu.set_state(SECRET + "/versions/2", "DESTROYED")
    return SECRET + "/versions/latest"


def _corrupt(emu: SecretManagerEmulator) -> str:
    emu.corrupt_crc()
    return SECRET + "/versions/1"


def _expired(emu: SecretManagerEmulator) -> str:
    emu.expire_tokens()
    return SECRET + "/versions/1"


ERRORS: dict[str, tuple[Any, list[str]]] = {
    "not-found": (
        _missing,
        [
            "Secret projects/demo-project/secrets/no-such-secret not found or has no versions",
            "gcloud secrets create",
        ],
    ),
    "version-not-found": (
        _missing_version,
        [f"Secret version {SECRET}/versions/7 not found", "gcloud secrets versions list openai-key"],
    ),
    "permission-denied": (
        _denied,
        [
            f"Permission denied reading secret {SECRET}/versions/1",
            f"the service account {ACCOUNT} needs the role roles/secretmanager.secretAccessor",
            f"--member serviceAccount:{ACCOUNT}",
        ],
    ),
    "disabled": (
        _disabled,
        [f"Secret {SECRET} version 1 is disabled", "gcloud secrets versions enable 1 --secret openai-key"],
    ),
    "destroyed": (
        _destroyed_latest,
        [f"Secret {SECRET} version 2 (latest) is destroyed", "gcloud secrets versions add openai-key"],
    ),
    "crc-mismatch": (_corrupt, [f"secret {SECRET}/versions/1 does not match its CRC32C checksum"]),
    "token-refused": (_expired, [f"refused the credentials used to read secret {SECRET}/versions/1 (401"]),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_each_secret_error_is_one_line_with_the_fix_and_exit_2(
    case: str, emulator: SecretManagerEmulator, fake: FakeOpenAI, reviews: Path
) -> None:
    setup, expected = ERRORS[case]
    name = setup(emulator)
    proc = run(reviews, fake, secret_env(emulator, name))
    line = one_error_line(proc)
    for text in expected:
        assert text in line
    # Asked once: no retry loop on a definite answer. A refused token is refreshed and tried again twice
    # by google-auth's AuthorizedSession (its refresh on 401), as against Google.
    assert emulator.access_count() == (3 if case == "token-refused" else 1)
    assert fake.requests == []  # nothing sent to OpenAI
    assert "Sentiment" not in reviews.read_text(encoding="utf-8")


def test_a_malformed_name_is_refused_before_any_request(
    emulator: SecretManagerEmulator, fake: FakeOpenAI, reviews: Path
) -> None:
    proc = run(reviews, fake, secret_env(emulator, "projects/demo-project/openai-key"))
    line = one_error_line(proc)
    assert (
        "SHEETS_AI_OPENAI_API_KEY_SECRET='projects/demo-project/openai-key' is not a secret version name"
        in line
    )
    assert "projects/PROJECT/secrets/SECRET/versions/VERSION" in line
    assert emulator.accesses == []


@pytest.mark.parametrize(
    ("value", "version_name"),
    [
        (
            "projects/my-project/secrets/openai-api-key",
            "projects/my-project/secrets/openai-api-key/versions/latest",
        ),
        (
            " projects/123456789012/secrets/key_2/versions/4 ",
            "projects/123456789012/secrets/key_2/versions/4",
        ),
        ("projects/example.com:my-project/secrets/k/versions/latest", None),
    ],
)
def test_secret_names_that_are_accepted(value: str, version_name: str | None) -> None:
    assert parse_secret_name(value).version_name == (version_name or value)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("projects/my-project/secrets/k/versions/0", "is not a secret version name"),
        ("my-project/openai-api-key", "is not a secret version name"),
        ("projects/my-project/secrets/k/versions/latest/extra", "is not a secret version name"),
        ("projects/my-project/locations/us-east1/secrets/k/versions/1", "names a regional secret"),
    ],
)
def test_secret_names_that_are_refused(value: str, says: str) -> None:
    with pytest.raises(SecretNameError, match=says) as caught:
        parse_secret_name(value)
    assert caught.value.exit_code == 2 and "projects/PROJECT/secrets/SECRET/versions/VERSION" in str(
        caught.value
    )


def test_no_application_default_credentials(
    emulator: SecretManagerEmulator, fake: FakeOpenAI, reviews: Path
) -> None:
    env = {
        "SHEETS_AI_SECRETMANAGER_ENDPOINT": emulator.url,
        "SHEETS_AI_OPENAI_API_KEY_SECRET": SECRET,
        "NO_GCE_CHECK": "true",  # no metadata server here (and do not wait for one)
    }
    line = one_error_line(run(reviews, fake, env))
    assert f"No Application Default Credentials to read secret {SECRET}/versions/latest" in line
    assert "gcloud auth application-default login" in line and "OPENAI_API_KEY" in line
    assert emulator.accesses == []


def test_an_endpoint_that_is_not_loopback_is_refused(
    emulator: SecretManagerEmulator, fake: FakeOpenAI, reviews: Path
) -> None:
    env = secret_env(emulator, SHEETS_AI_SECRETMANAGER_ENDPOINT="https://secrets.example.com")
    line = one_error_line(run(reviews, fake, env))
    assert "SHEETS_AI_SECRETMANAGER_ENDPOINT='https://secrets.example.com' is not a loopback URL" in line
    assert emulator.accesses == []


def test_an_emulator_that_is_not_running_is_named(
    emulator: SecretManagerEmulator, fake: FakeOpenAI, reviews: Path
) -> None:
    with SecretManagerEmulator() as stopped:
        gone = stopped.url  # a loopback port nobody listens on once it stops
    line = one_error_line(run(reviews, fake, secret_env(emulator, SHEETS_AI_SECRETMANAGER_ENDPOINT=gone)))
    assert f"Cannot reach Secret Manager at {gone} to read secret {SECRET}/versions/latest" in line
    assert fake.requests == []


# ------------------------------------------------------------------------------------------ the emulator
def _get(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, Any, Mapping[str, str]]:
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read().decode()
            status, got = response.status, response.headers
    except urllib.error.HTTPError as err:
        body, status, got = err.read().decode(), err.code, err.headers
    try:
        return status, json.loads(body), got
    except ValueError:
        return status, body, got


def test_the_emulator_speaks_the_v1_wire_shapes() -> None:
    with SecretManagerEmulator(secrets={SECRET: {"versions": ["first", "sk-second ✓"]}}) as emu:
        access = f"{emu.url}/v1/{SECRET}/versions/latest:access"
        assert _get(access)[:2] == (
            401,
            {
                "error": {
                    "code": 401,
                    "message": "Request is missing required authentication credential. Expected OAuth 2 access "
                    "token, login cookie or other valid authentication credential. See "
                    "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                    "status": "UNAUTHENTICATED",
                }
            },
        )
        status, body, _ = _get(access, {"Authorization": "Bearer not-issued"})
        assert (status, body["error"]["status"]) == (401, "UNAUTHENTICATED")

        token = emu.issue_token()
        status, body, _ = _get(access, {"Authorization": f"Bearer {token}"})
        assert status == 200
        number = body["name"].split("/")[1]
        assert number.isdigit() and body["name"] == f"projects/{number}/secrets/openai-key/versions/2"
        data = base64.b64decode(body["payload"]["data"])
        assert data == "sk-second ✓".encode()
        assert body["payload"]["dataCrc32c"] == str(google_crc32c.value(data))  # int64: a decimal string
        by_number = f"{emu.url}/v1/projects/{number}/secrets/openai-key/versions/1:access"
        assert _get(by_number, {"Authorization": f"Bearer {token}"})[0] == 200

        stranger = emu.issue_token("user:someone@example.com")
        status, body, _ = _get(access, {"Authorization": f"Bearer {stranger}"})
        assert status == 403 and body["error"] == {
            "code": 403,
            "message": "Permission 'secretmanager.versions.access' denied for resource "
            f"'{SECRET}/versions/latest' (or it may not exist).",
            "status": "PERMISSION_DENIED",
        }
        emu.set_state(SECRET + "/versions/1", "DISABLED")
        status, body, _ = _get(by_number, {"Authorization": f"Bearer {token}"})
        assert status == 400 and body["error"]["status"] == "FAILED_PRECONDITION"
        assert (
            body["error"]["message"]
            == f"Secret Version [projects/{number}/secrets/openai-key/versions/1] is in DISABLED state."
        )
        assert emu.access_count(SECRET) == 6


def test_the_metadata_server_needs_its_header_and_hands_out_tokens_for_the_service_account() -> None:
    with SecretManagerEmulator() as emu:
        root = f"{emu.url}/computeMetadata/v1/instance/service-accounts/default"
        assert _get(root + "/token")[0] == 403
        status, body, headers = _get(root + "/token", {"Metadata-Flavor": "Google"})
        assert status == 200 and headers["Metadata-Flavor"] == "Google"
        assert body["token_type"] == "Bearer" and body["expires_in"] > 0
        assert _get(root + "/email", {"Metadata-Flavor": "Google"})[1] == ACCOUNT


def test_the_emulator_runs_as_a_process_with_a_seed_file(tmp_path: Path) -> None:
    seed = tmp_path / "secrets.json"
    seed.write_text(
        json.dumps({"secrets": {SECRET: {"versions": [{"data": "v1", "state": "DESTROYED"}, "v2"]}}})
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "sheets_ai.testing.secretmanager_server", "--port", "0", "--seed", str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:"), line
        url = line.removeprefix("listening on ")
        token = _get(
            f"{url}/computeMetadata/v1/instance/service-accounts/default/token", {"Metadata-Flavor": "Google"}
        )[1]["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        status, body, _ = _get(f"{url}/v1/{SECRET}/versions/latest:access", auth)
        assert status == 200 and base64.b64decode(body["payload"]["data"]) == b"v2"
        status, body, _ = _get(f"{url}/v1/{SECRET}/versions/1:access", auth)
        assert status == 400 and "DESTROYED" in body["error"]["message"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_emulator_listens_on_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback only"):
        SecretManagerEmulator(host="0.0.0.0")
