"""The Apps Script menu's own tests (apps_script/): node:test unit tests against stand-ins of the Apps Script
services and the browser tests in headless Chromium, run here so the README's test command covers them.

A missing or old node fails (tests/_node.py); so does a missing Chromium under CI=true (the browser tests check).
"""

from __future__ import annotations

import json
import subprocess

from tests._node import APPS_SCRIPT, ensure_node_modules, node


def run_node_tests(*folders: str) -> subprocess.CompletedProcess[str]:
    exe = node()
    gen = subprocess.run([exe, "tools/gen-pricing.js"], cwd=APPS_SCRIPT, capture_output=True, text=True)
    assert gen.returncode == 0, gen.stderr
    return subprocess.run(
        [exe, "tools/run-tests.js", *folders], cwd=APPS_SCRIPT, capture_output=True, text=True, timeout=600
    )


def summary(run: subprocess.CompletedProcess[str]) -> str:
    lines = run.stdout.splitlines()
    failed = [line for line in lines if line.startswith("not ok")]
    tail = "\n".join(lines[-12:])
    return "\n".join([*failed, tail, run.stderr[-2000:]])


def test_unit_tests_of_the_script_pass() -> None:
    run = run_node_tests("unit")
    assert run.returncode == 0, summary(run)
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout


def test_dialogs_and_sidebar_work_in_headless_chromium() -> None:
    ensure_node_modules()
    run = run_node_tests("browser")
    assert run.returncode == 0, summary(run)
    assert "# fail 0" in run.stdout


def test_the_price_table_in_the_script_is_generated_from_pricing_json() -> None:
    exe = node()
    check = subprocess.run([exe, "tools/gen-pricing.js", "--check"], cwd=APPS_SCRIPT, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    table = json.loads((APPS_SCRIPT.parent / "sheets_ai" / "data" / "pricing.json").read_text(encoding="utf-8"))
    text = (APPS_SCRIPT / "src" / "Pricing.gs").read_text(encoding="utf-8")
    assert f'"asOf": "{table["as_of"]}"' in text


def test_every_scope_is_explained_and_no_broader_sheets_scope_is_asked() -> None:
    manifest = json.loads((APPS_SCRIPT / "src" / "appsscript.json").read_text(encoding="utf-8"))
    assert manifest["runtimeVersion"] == "V8"
    scopes = manifest["oauthScopes"]
    readme = (APPS_SCRIPT / "README.md").read_text(encoding="utf-8")
    menu = (APPS_SCRIPT / "src" / "Menu.gs").read_text(encoding="utf-8")
    for scope in scopes:
        short = scope.rsplit("/", 1)[-1]
        assert f"`{short}`" in readme, f"README.md does not explain the scope {short}"
        assert short in menu, f"Menu.gs does not explain the scope {short}"
    assert "https://www.googleapis.com/auth/spreadsheets" not in scopes
    assert "https://www.googleapis.com/auth/drive" not in scopes
