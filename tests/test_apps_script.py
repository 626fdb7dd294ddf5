"""The Apps Script menu's own tests (apps_script/): node:test unit tests against stand-ins of the Apps Script
services and the browser tests in headless Chromium, run here so the README's test command covers them.

A missing or old node fails (tests/_node.py); so does a missing Chromium under CI=true (the browser tests check).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from _node import APPS_SCRIPT, ensure_node_modules, node
from conftest import run_json


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
    check = subprocess.run(
        [exe, "tools/gen-pricing.js", "--check"], cwd=APPS_SCRIPT, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    table = json.loads(
        (APPS_SCRIPT.parent / "sheets_ai" / "data" / "pricing.json").read_text(encoding="utf-8")
    )
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


ESTIMATE_JS = """
const { world } = require('./test/support/world');
const input = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
const ex = world().click('getSettings');
process.stdout.write(JSON.stringify(ex.ctx.estimateRun_(input.task, input.texts, input.model, input.options)));
"""

ESTIMATE_CASES = [
    ("sentiment", {}, {}),
    ("summarize", {"maxChars": 120}, {"--max-chars": "120"}),
    (
        "classify",
        {"labels": "shipping,quality,price,service"},
        {"--labels": "shipping,quality,price,service"},
    ),
    ("extract", {"prompt": "Which product is mentioned?"}, {"--prompt": "Which product is mentioned?"}),
]


@pytest.mark.parametrize(
    ("task", "js_options", "cli_options"), ESTIMATE_CASES, ids=[c[0] for c in ESTIMATE_CASES]
)
def test_the_dialogs_estimate_is_of_the_same_kind_as_sheets_ai_estimate(
    work: Path, task: str, js_options: dict[str, Any], cli_options: dict[str, str]
) -> None:
    """Same rows, same model: the same number of requests and a cost within 30% of the exact count's."""
    book = work / "reviews.xlsx"
    sheet = openpyxl.load_workbook(book).active
    assert sheet is not None
    col = [c.value for c in sheet[1]].index("Review")
    texts = [str(r[col]) for r in sheet.iter_rows(min_row=2, values_only=True) if r[col] not in (None, "")]
    flags = [x for kv in cli_options.items() for x in kv]
    args = ("estimate", book, "--task", task, "--input", "Review", "--output", "Result", *flags)
    _, report = run_json(
        *args, "--provider", "openai", "--model", "gpt-4.1-mini", env={"OPENAI_API_KEY": "unused"}
    )
    payload = json.dumps({"task": task, "texts": texts, "model": "gpt-4.1-mini", "options": js_options})
    proc = subprocess.run(
        [node(), "-e", ESTIMATE_JS],
        cwd=APPS_SCRIPT,
        input=payload,
        capture_output=True,
        text=True,
        check=True,
    )
    js = json.loads(proc.stdout)
    assert js["rows"] == report["rows_total"] - report["rows_skipped"]
    assert js["requests"] == report["requests"]
    assert js["costUsd"] == pytest.approx(report["estimated_cost_usd"], rel=0.3), (js, report)
    assert js["promptTokens"] == pytest.approx(report["prompt_tokens"], rel=0.3)
