"""End to end, offline: a click on Sheets AI > Analyze sentiment fills the sheet.

The Apps Script code runs in Node (apps_script/test/e2e/click.js) with its SpreadsheetApp reading and writing
through the Sheets emulator's REST API and its UrlFetchApp making real HTTP requests to the Cloud Run emulator,
which runs `sheets-ai job` tasks (several, sharded) against that same sheet and the fake OpenAI server. The
test waits until Recent runs shows the execution finished, then reads the results from the emulated sheet.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from collections.abc import Iterator

import pytest
from _node import APPS_SCRIPT, node

from sheets_ai.testing.cloudrun_server import CloudRunEmulator
from sheets_ai.testing.openai_server import FakeOpenAI
from sheets_ai.testing.sheets_server import SheetsEmulator

PROJECT, REGION, JOB = "my-sheets-ai", "us-central1", "sheets-ai"
REVIEWS = [
    ["Date", "Review", "Stars"],
    ["2024-05-01", "Great product, arrived early. I love it.", 5],
    ["2024-05-02", "Broke after two days, terrible.", 1],
    ["2024-05-03", "", 3],
    ["2024-05-04", "It works. Packaging was damaged though.", 3],
    ["2024-05-05", "Excellent service, very happy.", 5],
    ["2024-05-06", "Awful. Never again.", 1],
    ["2024-05-07", "思ったより良かった", 4],
    ["2024-05-08", "Fine, nothing special.", 3],
    ["2024-05-09", "The best purchase this year!", 5],
    ["2024-05-10", "Refund took a month, annoying.", 2],
]
AUTH = {"Authorization": "Bearer test-token"}
LABELS = {"positive", "negative", "neutral", "mixed"}


@pytest.fixture
def stack(tmp_path) -> Iterator[tuple[SheetsEmulator, CloudRunEmulator, str]]:
    with SheetsEmulator(port=0) as sheets, FakeOpenAI(port=0, retry_after=0.05) as openai:
        sid = sheets.add_spreadsheet("Customer reviews", {"Reviews": REVIEWS})
        job = {
            "name": JOB,
            # The job's own configuration, as deploy/README.md creates it: where the sheets are and the key (on
            # Cloud Run, from Secret Manager). The menu adds only what a run needs, in its overrides.
            "env": {
                "SHEETS_AI_SHEETS_ENDPOINT": sheets.url,
                "SHEETS_AI_BASE_URL": openai.url,
                "OPENAI_API_KEY": "test-key",
            },
            "taskCount": 1,
            "maxRetries": 1,
            "timeout": "300s",
        }
        with CloudRunEmulator(jobs=[job], project=PROJECT, location=REGION, log_dir=tmp_path / "logs") as run:
            yield sheets, run, sid


def test_a_click_on_analyze_sentiment_fills_the_sheet(
    stack: tuple[SheetsEmulator, CloudRunEmulator, str],
) -> None:
    sheets, run, sid = stack
    env = {
        **os.environ,
        "E2E_CLOUDRUN_URL": run.url,
        "E2E_SHEETS_URL": sheets.url,
        "E2E_SPREADSHEET_ID": sid,
        "E2E_PROJECT": PROJECT,
        "E2E_REGION": REGION,
        "E2E_JOB": JOB,
        "E2E_TIMEOUT_S": "240",
    }
    proc = subprocess.run(
        [node(), "test/e2e/click.js"], cwd=APPS_SCRIPT, env=env, capture_output=True, text=True, timeout=400
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    steps = json.loads(proc.stdout)["steps"]

    assert steps["settings"]["ok"] is True
    view = steps["dialog"]["view"]
    assert steps["dialog"]["title"] == "Sheets AI: Analyze sentiment"
    assert view["input"] == {"column": 2, "letter": "B", "header": "Review"}
    assert view["output"]["letter"] == "D" and view["output"]["exists"] is False
    assert view["rows"] == {"first": 2, "last": 11, "todo": 9, "empty": 1, "filled": 0}
    assert view["taskCount"] == 3, "9 rows at 4 rows per task"

    start = steps["start"]
    assert start["ok"], start["error"]
    assert start["value"]["taskCount"] == 3
    assert start["value"]["execution"].startswith(
        f"projects/{PROJECT}/locations/{REGION}/jobs/{JOB}/executions/"
    )
    assert start["toasts"][0]["msg"].startswith(f"Started {start['value']['id']} on 9 rows (3 tasks)")
    req = urllib.request.Request(f"{run.url}/v2/{start['value']['execution']}", headers=AUTH)
    with urllib.request.urlopen(req, timeout=10) as answer:
        execution = json.load(answer)
    sent = {e["name"]: e.get("value", "") for e in execution["template"]["containers"][0]["env"]}
    assert sent["SHEETS_AI_MAX_COST"] == "0.166666", "the run's cap of $0.50 split between its 3 tasks"
    assert steps["second"]["ok"] is False and "still going" in steps["second"]["error"]

    final = steps["recentRuns"]["final"]
    assert final["error"] == ""
    latest = final["executions"][0]
    assert latest["id"] == start["value"]["id"]
    assert latest["state"] == "Succeeded", steps["recentRuns"]
    assert latest["tasksDone"] == latest["taskCount"] == 3
    assert latest["logUri"]
    assert any("Running" in s or "Pending" in s for s in steps["recentRuns"]["seen"]), (
        "the sidebar saw it going"
    )
    assert final["log"]["rows"], "the run log sheet the job appends to is shown"
    assert all(row[5] for row in final["log"]["rows"])

    values = sheets.values(sid, "Reviews")
    assert values[0][3] == "Sentiment (AI)"
    for row in values[1:]:
        review, result = row[1], (row[3] if len(row) > 3 else "")
        if review:
            assert result in LABELS, row
        else:
            assert result in ("", None), "an empty review stays without a result"
    assert [r[3] for r in steps["sheet"][1:] if r[1]] == [r[3] for r in values[1:] if r[1]], (
        "the script sees them"
    )
