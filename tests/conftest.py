"""Shared fixtures: temporary copies of the examples, an isolated environment and CLI runners.

Every test runs with HOME / XDG dirs inside ``tmp_path``, no OpenAI key and no ``SHEETS_AI_*`` variables,
in a fresh working directory (so a stray ./sheets-ai.toml cannot change a run).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sheets_ai.testing.openai_server import FakeOpenAI

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
CLI = [sys.executable, "-m", "sheets_ai"]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No keys, no SHEETS_AI_* settings, caches and config under tmp_path, cwd in a fresh folder."""
    home = tmp_path / "home"
    home.mkdir()
    for name in list(os.environ):
        if name.startswith(("SHEETS_AI_", "OPENAI_", "GOOGLE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("PYTHONIOENCODING", "utf-8")
    monkeypatch.setenv("NO_COLOR", "1")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return home


@pytest.fixture(scope="session")
def pristine_examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example files as the generator makes them.

    Not the copies in examples/: the README's quick start fills their Sentiment column, and the tests must
    pass after it (and after any other run a user made there).
    """
    spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = tmp_path_factory.mktemp("examples")
    module.write_examples(folder)
    return folder


@pytest.fixture
def work(tmp_path: Path, pristine_examples: Path) -> Path:
    """A folder holding fresh copies of the example workbooks and CSV."""
    folder = tmp_path / "work"
    folder.mkdir()
    for name in ("reviews.xlsx", "meetings.xlsx", "reviews.csv"):
        shutil.copy2(pristine_examples / name, folder / name)
        os.chmod(folder / name, 0o644)
    return folder


def run_cli(
    *args: str | os.PathLike[str],
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sheets_ai ARGS`` as a real process (stdout not a TTY: no progress bar)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [*CLI, *map(str, args)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def start_cli(*args: str | os.PathLike[str], **kwargs: Any) -> subprocess.Popen[str]:
    """Start ``python -m sheets_ai ARGS`` and return the process (for signals and concurrency)."""
    return subprocess.Popen(
        [*CLI, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        **kwargs,
    )


def run_json(*args: str | os.PathLike[str], **kwargs: Any) -> tuple[subprocess.CompletedProcess[str], dict]:
    """Run the CLI with --json and return (process, report)."""
    proc = run_cli(*args, "--json", **kwargs)
    assert proc.stdout.strip(), f"no JSON on stdout; stderr: {proc.stderr}"
    return proc, json.loads(proc.stdout)


def invoke(*args: str | os.PathLike[str]) -> Result:
    """Run the CLI in this process (so a test can watch emulators or set hooks while it runs)."""
    from sheets_ai.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def fake_openai(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """The fake OpenAI server on loopback, and a dummy OPENAI_API_KEY for runs in this process or children.

    Point a run at it with ``*openai_args(fake_openai)`` (CLI) or ``provider="openai", base_url=fake.url``.
    """
    with FakeOpenAI(port=0, retry_after=0.05) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        yield server


def openai_args(server: FakeOpenAI) -> tuple[str, ...]:
    """CLI flags for a run through the real openai provider against ``server``."""
    return ("--provider", "openai", "--base-url", server.url)


def sent_rows(server: FakeOpenAI) -> list[list[str]]:
    """The row texts each chat-completions request carried, in arrival order (read by the server's own reader)."""
    from sheets_ai.testing._openai_protocol import read_request

    return [
        [text for _, text in read_request(r["body"]["messages"]).items]
        for r in list(server.requests)
        if "body" in r
    ]


def local_answers(task: str, texts: Sequence[str], **options: Any) -> list[str]:
    """The offline analyzer's answers for ``texts``, computed here as the oracle for what a run writes."""
    from sheets_ai.config import build_config
    from sheets_ai.providers.base import BatchItem
    from sheets_ai.providers.local import LocalProvider
    from sheets_ai.tasks import build_task

    built = build_task(build_config({"task": task, **options}))
    answer = LocalProvider().run(built, [BatchItem(str(i), i, t) for i, t in enumerate(texts)])
    return [answer.answers[str(i)] for i in range(len(texts))]


def immutable(path: Path, request: pytest.FixtureRequest) -> None:
    """Make ``path`` unwritable even for root.

    Tests run as root here, where chmod does not stop writes and os.access() says yes. The ext4
    immutable flag (chattr +i) stops root too, and access() reports it. Without chattr, non-root users get
    a plain chmod; root without chattr support skips.
    """
    if os.geteuid() != 0:
        os.chmod(path, 0o555 if path.is_dir() else 0o444)
        request.addfinalizer(lambda: os.chmod(path, 0o755 if path.is_dir() else 0o644))
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("running as root on a filesystem without chattr +i: cannot make a file read-only")
    request.addfinalizer(lambda: subprocess.run([chattr, "-i", str(path)], check=False))
    assert not os.access(path, os.W_OK)


def make_xlsx(path: Path, rows: Sequence[Sequence[Any]], *, title: str = "Data") -> Path:
    """A one-sheet workbook with ``rows`` (the first is the header row)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


def add_cached_values(path: Path, values: Mapping[str, tuple[str, str]], sheet: int = 1) -> None:
    """Give formula cells the value Excel would have cached: {"B2": ("str" | "n" | "e", "text")}.

    openpyxl cannot write cached values, so this edits the sheet XML inside the zip.
    """
    import zipfile
    from xml.sax.saxutils import escape

    part = f"xl/worksheets/sheet{sheet}.xml"
    with zipfile.ZipFile(path) as zf:
        entries = [(info, zf.read(info.filename)) for info in zf.infolist()]
    out = path.with_suffix(".patched")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in entries:
            if info.filename == part:
                xml = data.decode()
                for ref, (kind, value) in values.items():
                    # openpyxl writes an empty <v/> or <v></v> (with lxml), or none at all.
                    pattern = re.compile(rf'<c r="{ref}"([^>]*)><f>(.*?)</f>(?:<v\s*/>|<v></v>)?</c>')
                    kind_attr = "" if kind == "n" else f' t="{kind}"'
                    xml, n = pattern.subn(
                        lambda m, r=ref, k=kind_attr, v=value: (
                            f'<c r="{r}"{m.group(1)}{k}><f>{m.group(2)}</f><v>{escape(v)}</v></c>'
                        ),
                        xml,
                    )
                    assert n == 1, f"no formula cell {ref} in {part}"
                data = xml.encode()
            zf.writestr(info, data)
    out.replace(path)


def column_values(path: Path, column: str, *, sheet: str | None = None, first: int = 2) -> list[Any]:
    """The values of one column from row ``first`` to the last row."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb[sheet] if sheet else wb.active
    values = [ws[f"{column}{r}"].value for r in range(first, ws.max_row + 1)]
    wb.close()
    return values
