"""Node for the Apps Script tests: found and new enough, or a failure that says how to get it (never a skip)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

APPS_SCRIPT = Path(__file__).resolve().parent.parent / "apps_script"
MIN_NODE = 18


def node() -> str:
    """The node executable; fails the test with the fix when node is missing or older than 18."""
    exe = shutil.which("node")
    if exe is None:
        pytest.fail(
            f"node is not installed: the Apps Script tests (apps_script/) need Node {MIN_NODE} or newer. "
            "Install it (e.g. apt-get install nodejs, or https://nodejs.org) and run the tests again.",
            pytrace=False,
        )
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    try:
        major = int(version.lstrip("v").split(".")[0])
    except ValueError:
        pytest.fail(f"could not read the version of {exe} ({version!r})", pytrace=False)
    if major < MIN_NODE:
        pytest.fail(
            f"{exe} is Node {version}: the Apps Script tests need Node {MIN_NODE} or newer (node:test).",
            pytrace=False,
        )
    return exe


def ensure_node_modules() -> None:
    """`npm ci` in apps_script/ when its devDependencies (playwright-core) are not installed yet."""
    if (APPS_SCRIPT / "node_modules" / "playwright-core" / "package.json").is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "npm is not installed: CI needs it to install apps_script/'s playwright-core", pytrace=False
            )
        return  # the browser tests say they are skipped, and why
    run = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=APPS_SCRIPT, capture_output=True, text=True, check=False
    )
    if run.returncode != 0 and os.environ.get("CI") == "true":
        pytest.fail(f"npm ci in apps_script/ failed:\n{run.stdout}\n{run.stderr}", pytrace=False)
