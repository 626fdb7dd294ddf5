"""The Cloud Run Admin API v2 emulator: real HTTP, the wire shapes of run.googleapis.com (checked with the
discovery-based google-api-python-client), tasks as local processes with Cloud Run's environment, retries,
timeouts, cancellation, parallelism and Google's error shapes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from sheets_ai.testing.cloudrun_server import CloudRunEmulator

PY = sys.executable
AUTH = {"Authorization": "Bearer test-token"}


def py(code: str) -> list[str]:
    return [PY, "-c", code]


ECHO_ENV = py(
    "import json, os, sys; print(json.dumps({k: v for k, v in os.environ.items() "
    "if k.startswith(('CLOUD_RUN_', 'SHEETS_AI_'))})); print(json.dumps(sys.argv[1:]))"
)


@pytest.fixture
def cloudrun(tmp_path: Path) -> Iterator[CloudRunEmulator]:
    jobs = [
        {
            "name": "echo",
            "command": ECHO_ENV,
            "env": {"SHEETS_AI_TASK": "sentiment", "SHEETS_AI_INPUT": "Review"},
            "args": ["--quiet"],
            "taskCount": 2,
            "maxRetries": 0,
        },
    ]
    with CloudRunEmulator(jobs=jobs, log_dir=tmp_path / "logs", kill_grace=0.5) as emu:
        yield emu


def run_api(emu: CloudRunEmulator) -> Any:
    """The discovery-based Google client, built from the real run v2 document, pointed at the emulator."""
    return build(
        "run",
        "v2",
        credentials=Credentials(token="test-token"),
        client_options={"api_endpoint": emu.url},
        cache_discovery=False,
    )


def test_run_with_overrides_through_googles_own_client(cloudrun: CloudRunEmulator) -> None:
    api = run_api(cloudrun)
    name = cloudrun.job_name("echo")
    job = api.projects().locations().jobs().get(name=name).execute()
    assert job["name"] == name and job["template"]["taskCount"] == 2
    assert job["template"]["template"]["maxRetries"] == 0 and job["template"]["template"]["timeout"] == "600s"
    body = {
        "overrides": {
            "containerOverrides": [
                {"env": [{"name": "SHEETS_AI_OUTPUT", "value": "Sentiment"}], "args": ["--rows", "2:9"]}
            ],
            "taskCount": 3,
            "timeout": "120s",
        }
    }
    op = api.projects().locations().jobs().run(name=name, body=body).execute()
    execution = op["metadata"]
    assert op["name"].startswith("projects/local-project/locations/us-central1/operations/")
    assert execution["@type"] == "type.googleapis.com/google.cloud.run.v2.Execution"
    assert execution["name"].startswith(name + "/executions/echo-") and execution["taskCount"] == 3
    done = cloudrun.wait(execution["name"])
    assert (done["succeededCount"], done["failedCount"], done["runningCount"]) == (3, 0, 0)
    assert done["completionTime"] and done["conditions"][-1]["state"] == "CONDITION_SUCCEEDED"
    fetched = api.projects().locations().jobs().executions().get(name=execution["name"]).execute()
    assert fetched["succeededCount"] == 3
    listed = api.projects().locations().jobs().executions().list(parent=name).execute()
    assert [e["name"] for e in listed["executions"]] == [execution["name"]]
    op_done = api.projects().locations().operations().get(name=op["name"]).execute()
    assert op_done["done"] is True and op_done["response"]["name"] == execution["name"]
    job = api.projects().locations().jobs().get(name=name).execute()
    assert job["latestCreatedExecution"]["completionStatus"] == "EXECUTION_SUCCEEDED"

    logs = Path(done["logUri"].removeprefix("file://"))
    for index in range(3):
        env_line, args_line = (logs / f"task-{index}-attempt-0.log").read_text().splitlines()
        env = json.loads(env_line)
        assert env == {
            "CLOUD_RUN_JOB": "echo",
            "CLOUD_RUN_EXECUTION": execution["name"].rsplit("/", 1)[-1],
            "CLOUD_RUN_TASK_INDEX": str(index),
            "CLOUD_RUN_TASK_COUNT": "3",
            "CLOUD_RUN_TASK_ATTEMPT": "0",
            "SHEETS_AI_TASK": "sentiment",
            "SHEETS_AI_INPUT": "Review",
            "SHEETS_AI_OUTPUT": "Sentiment",
        }
        assert json.loads(args_line) == ["--rows", "2:9"]  # args override the job's


def test_a_failed_task_is_retried_with_the_next_attempt_number(tmp_path: Path) -> None:
    fail_first = py("import os, sys; sys.exit(0 if os.environ['CLOUD_RUN_TASK_ATTEMPT'] == '2' else 3)")
    jobs = [{"name": "flaky", "command": fail_first, "taskCount": 1, "maxRetries": 2}]
    with CloudRunEmulator(jobs=jobs, log_dir=tmp_path) as emu:
        op = requests.post(
            f"{emu.url}/v2/{emu.job_name('flaky')}:run", headers=AUTH, json={}, timeout=10
        ).json()
        done = emu.wait(op["metadata"]["name"])
    assert (done["succeededCount"], done["failedCount"], done["retriedCount"]) == (1, 0, 2)
    assert emu.execution(done["name"]).tasks[0].exit_codes == [3, 3, 0]


def test_a_task_that_fails_every_attempt_fails_the_execution(tmp_path: Path) -> None:
    jobs = [{"name": "broken", "command": py("import sys; sys.exit(1)"), "taskCount": 2, "maxRetries": 1}]
    with CloudRunEmulator(jobs=jobs, log_dir=tmp_path) as emu:
        op = requests.post(f"{emu.url}/v2/{emu.job_name('broken')}:run", headers=AUTH, timeout=10).json()
        done = emu.wait(op["metadata"]["name"])
    assert (done["succeededCount"], done["failedCount"], done["retriedCount"]) == (0, 2, 2)
    completed = done["conditions"][-1]
    assert completed["state"] == "CONDITION_FAILED" and completed["executionReason"] == "NON_ZERO_EXIT_CODE"


def test_timeout_sends_sigterm_then_sigkill(tmp_path: Path) -> None:
    stubborn = py(
        "import signal, time, pathlib, os\n"
        "def term(*a): pathlib.Path(os.environ['OUT']).write_text('got SIGTERM')\n"
        "signal.signal(signal.SIGTERM, term)\n"
        "print('started', flush=True)\n"
        "time.sleep(60)"
    )
    out = tmp_path / "term.txt"
    jobs = [{"name": "slow", "command": stubborn, "timeout": "1s", "maxRetries": 0, "env": {"OUT": str(out)}}]
    with CloudRunEmulator(jobs=jobs, log_dir=tmp_path, kill_grace=0.5) as emu:
        op = requests.post(f"{emu.url}/v2/{emu.job_name('slow')}:run", headers=AUTH, timeout=10).json()
        done = emu.wait(op["metadata"]["name"], timeout=30)
    assert out.read_text() == "got SIGTERM"
    assert done["failedCount"] == 1 and emu.execution(done["name"]).tasks[0].exit_codes == [-9]


def test_cancel_stops_running_tasks_and_never_starts_the_rest(tmp_path: Path) -> None:
    jobs = [{"name": "long", "command": py("import time; time.sleep(60)"), "taskCount": 3, "parallelism": 1}]
    with CloudRunEmulator(jobs=jobs, log_dir=tmp_path) as emu:
        op = requests.post(f"{emu.url}/v2/{emu.job_name('long')}:run", headers=AUTH, timeout=10).json()
        name = op["metadata"]["name"]
        while requests.get(f"{emu.url}/v2/{name}", headers=AUTH, timeout=10).json()["runningCount"] != 1:
            time.sleep(0.05)
        cancel = requests.post(f"{emu.url}/v2/{name}:cancel", headers=AUTH, json={}, timeout=10)
        assert cancel.status_code == 200 and cancel.json()["metadata"]["name"] == name
        done = emu.wait(name)
    assert (done["cancelledCount"], done["succeededCount"], done["runningCount"]) == (3, 0, 0)
    assert done["conditions"][-1]["executionReason"] == "CANCELLED"


def test_parallelism_bounds_the_tasks_running_at_once(tmp_path: Path) -> None:
    record = py(
        "import os, time, pathlib\n"
        "p = pathlib.Path(os.environ['OUT']) / os.environ['CLOUD_RUN_TASK_INDEX']\n"
        "start = time.time(); time.sleep(0.3); p.write_text(f'{start} {time.time()}')"
    )
    jobs = [{"name": "p", "command": record, "taskCount": 4, "parallelism": 2, "env": {"OUT": str(tmp_path)}}]
    with CloudRunEmulator(jobs=jobs, log_dir=tmp_path / "logs") as emu:
        op = requests.post(f"{emu.url}/v2/{emu.job_name('p')}:run", headers=AUTH, timeout=10).json()
        emu.wait(op["metadata"]["name"])
    spans = [tuple(map(float, (tmp_path / str(i)).read_text().split())) for i in range(4)]
    for start, _ in spans:
        assert sum(1 for s, e in spans if s <= start < e) <= 2


def test_errors_come_in_googles_shape(cloudrun: CloudRunEmulator) -> None:
    api = run_api(cloudrun)
    base = f"{cloudrun.url}/v2/{cloudrun.job_name('echo')}"

    anonymous = requests.post(f"{base}:run", json={}, timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["status"] == "UNAUTHENTICATED"

    cloudrun.deny("run.jobs.run")
    with pytest.raises(HttpError) as denied:
        api.projects().locations().jobs().run(name=cloudrun.job_name("echo"), body={}).execute()
    error = json.loads(denied.value.content)["error"]
    assert error["code"] == 403 and error["status"] == "PERMISSION_DENIED"
    assert "Permission 'run.jobs.run' denied on resource" in error["message"]
    cloudrun.allow("run.jobs.run")

    cloudrun.deny("run.jobs.runWithOverrides")  # overrides need their own permission, as on Cloud Run
    with_overrides = requests.post(
        f"{base}:run", headers=AUTH, json={"overrides": {"taskCount": 1}}, timeout=10
    )
    assert (
        with_overrides.status_code == 403
        and "run.jobs.runWithOverrides" in with_overrides.json()["error"]["message"]
    )
    cloudrun.allow("run.jobs.runWithOverrides")

    missing = requests.get(f"{cloudrun.url}/v2/{cloudrun.job_name('nope')}", headers=AUTH, timeout=10).json()
    assert missing["error"] == {
        "code": 404,
        "message": "Resource 'nope' of kind 'JOB' in region 'us-central1' in project 'local-project' does not exist.",
        "status": "NOT_FOUND",
    }
    for body, expected in [
        ({"overrides": {"timeout": "10 minutes"}}, "Invalid value at 'overrides.timeout'"),
        ({"overrides": {"tasks": 3}}, 'Unknown name "tasks"'),
        ({"overrides": {"containerOverrides": [{"env": [{"value": "x"}]}]}}, "env[0].name"),
    ]:
        bad = requests.post(f"{base}:run", headers=AUTH, json=body, timeout=10)
        assert bad.status_code == 400 and bad.json()["error"]["status"] == "INVALID_ARGUMENT"
        assert expected in bad.json()["error"]["message"]


def test_tokens_map_to_permissions(tmp_path: Path) -> None:
    tokens = {"viewer": ["run.jobs.get"], "invoker": ["run.jobs.get", "run.jobs.run"]}
    jobs = [{"name": "echo", "command": ECHO_ENV}]
    with CloudRunEmulator(jobs=jobs, tokens=tokens, log_dir=tmp_path) as emu:
        url = f"{emu.url}/v2/{emu.job_name('echo')}"
        assert requests.get(url, headers={"Authorization": "Bearer viewer"}, timeout=10).status_code == 200
        assert (
            requests.post(f"{url}:run", headers={"Authorization": "Bearer viewer"}, timeout=10).status_code
            == 403
        )
        assert (
            requests.post(f"{url}:run", headers={"Authorization": "Bearer stranger"}, timeout=10).status_code
            == 401
        )
        ran = requests.post(f"{url}:run", headers={"Authorization": "Bearer invoker"}, timeout=10)
        assert ran.status_code == 200
        emu.wait(ran.json()["metadata"]["name"])


def test_runs_as_a_process_on_loopback(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps({"jobs": [{"name": "echo", "command": ECHO_ENV, "taskCount": 1}]}))
    proc = subprocess.Popen(
        [PY, "-m", "sheets_ai.testing.cloudrun_server", "--port", "0", "--jobs", str(jobs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().removeprefix("listening on ")
        assert url.startswith("http://127.0.0.1:")
        job = requests.get(
            f"{url}/v2/projects/local-project/locations/us-central1/jobs/echo", headers=AUTH, timeout=10
        )
        assert job.status_code == 200 and job.json()["template"]["taskCount"] == 1
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0
