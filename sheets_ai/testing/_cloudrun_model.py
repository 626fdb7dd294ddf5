"""The Cloud Run emulator's state: jobs as configured, executions, and the local processes that run tasks.

Each task attempt is a subprocess started with the environment Cloud Run gives a container: the emulator's own
environment, then the job's ``env``, then the run's ``containerOverrides[0].env``, then ``CLOUD_RUN_JOB``,
``CLOUD_RUN_EXECUTION``, ``CLOUD_RUN_TASK_INDEX``, ``CLOUD_RUN_TASK_COUNT`` and ``CLOUD_RUN_TASK_ATTEMPT``.
Its stdout and stderr go to one log file per task attempt. A task that exits non-zero is started again with
the attempt number + 1 until ``maxRetries`` is used up; one that outlives the timeout gets SIGTERM, then
SIGKILL after the grace period (10 s, as on Cloud Run). Resources are rendered in the v2 API's JSON shape.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import signal
import string
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_COMMAND = (sys.executable, "-m", "sheets_ai", "job")
KILL_GRACE = 10.0
_DURATION = re.compile(r"^(\d+(?:\.\d{1,9})?)s$")


def parse_duration(text: str) -> float | None:
    """A protobuf Duration in JSON (``"600s"``, ``"1.5s"``) as seconds; None when malformed."""
    match = _DURATION.match(str(text).strip())
    return float(match.group(1)) if match else None


def timestamp(moment: float | None) -> str | None:
    if moment is None:
        return None
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def env_list(env: Mapping[str, str] | Sequence[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    """Env as the API's ``[{"name": .., "value": ..}]`` from a mapping or that list."""
    if env is None:
        return []
    if isinstance(env, Mapping):
        return [{"name": str(k), "value": str(v)} for k, v in env.items()]
    return [{"name": str(e["name"]), "value": str(e.get("value", ""))} for e in env]


@dataclass
class JobSpec:
    """A job as configured: what a real Job's ``template`` holds, in a flat form."""

    project: str
    location: str
    job_id: str
    env: list[dict[str, str]] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    command: list[str] | None = None
    image: str = "local"
    task_count: int = 1
    parallelism: int = 0  # 0: as many as tasks
    max_retries: int = 3
    timeout: float = 600.0
    created: float = field(default_factory=time.time)
    execution_count: int = 0

    @property
    def name(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/jobs/{self.job_id}"

    @classmethod
    def from_config(cls, data: Mapping[str, Any], *, project: str, location: str) -> JobSpec:
        name = str(data["name"])
        match = re.fullmatch(r"projects/([^/]+)/locations/([^/]+)/jobs/([^/]+)", name)
        if match:
            project, location, job_id = match.groups()
        else:
            job_id = name
        timeout = parse_duration(str(data.get("timeout", "600s")))
        if timeout is None:
            raise ValueError(
                f"job {job_id}: timeout {data.get('timeout')!r} is not a duration such as '600s'"
            )
        return cls(
            project=str(data.get("project", project)),
            location=str(data.get("location", location)),
            job_id=job_id,
            env=env_list(data.get("env")),
            args=[str(a) for a in data.get("args", [])],
            command=[str(c) for c in data["command"]] if data.get("command") else None,
            image=str(data.get("image", "local")),
            task_count=int(data.get("taskCount", 1)),
            parallelism=int(data.get("parallelism", 0)),
            max_retries=int(data.get("maxRetries", 3)),
            timeout=timeout,
        )

    def task_template(self, env: list[dict[str, str]], args: list[str], timeout: float) -> dict[str, Any]:
        container: dict[str, Any] = {"image": self.image, "env": env, "args": args}
        if self.command:
            container["command"] = self.command
        return {
            "containers": [container],
            "maxRetries": self.max_retries,
            "timeout": f"{timeout:g}s",
            "serviceAccount": f"sheets-ai@{self.project}.iam.gserviceaccount.com",
        }

    def resource(self, latest: Execution | None) -> dict[str, Any]:
        job: dict[str, Any] = {
            "name": self.name,
            "uid": self.job_id,
            "generation": "1",
            "createTime": timestamp(self.created),
            "updateTime": timestamp(self.created),
            "launchStage": "GA",
            "template": {
                "taskCount": self.task_count,
                "parallelism": self.parallelism,
                "template": self.task_template(self.env, self.args, self.timeout),
            },
            "observedGeneration": "1",
            "terminalCondition": {
                "type": "Ready",
                "state": "CONDITION_SUCCEEDED",
                "lastTransitionTime": timestamp(self.created),
            },
            "executionCount": self.execution_count,
            "reconciling": False,
        }
        if latest is not None:
            ref: dict[str, Any] = {
                "name": latest.name,
                "createTime": timestamp(latest.created),
                "completionStatus": latest.completion_status(),
            }
            if latest.completed is not None:
                ref["completionTime"] = timestamp(latest.completed)
            job["latestCreatedExecution"] = ref
        return job


@dataclass
class TaskRun:
    """One task of an execution: its attempts so far and where it stands."""

    index: int
    attempt: int = -1  # the attempt running or last run; -1 before the first
    state: str = "pending"  # pending, running, succeeded, failed, cancelled
    process: subprocess.Popen[bytes] | None = None
    exit_codes: list[int] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)


class Execution:
    """One run of a job: ``taskCount`` tasks, at most ``parallelism`` at a time, each retried on failure."""

    def __init__(
        self,
        job: JobSpec,
        *,
        env: list[dict[str, str]],
        args: list[str],
        task_count: int,
        timeout: float,
        log_dir: Path,
        base_env: Mapping[str, str],
        kill_grace: float = KILL_GRACE,
    ) -> None:
        suffix = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(5))
        self.job, self.execution_id = job, f"{job.job_id}-{suffix}"
        self.env, self.args, self.task_count, self.timeout = env, args, task_count, timeout
        self.parallelism = job.parallelism
        self.max_retries = job.max_retries
        self.log_dir = log_dir / self.execution_id
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.base_env, self.kill_grace = dict(base_env), kill_grace
        self.created = time.time()
        self.started: float | None = None
        self.completed: float | None = None
        self.cancelled = False
        self.tasks = [TaskRun(i) for i in range(task_count)]
        self.lock = threading.RLock()
        self._thread = threading.Thread(target=self._drive, name=f"cloudrun-{self.execution_id}", daemon=True)

    @property
    def name(self) -> str:
        return f"{self.job.name}/executions/{self.execution_id}"

    def start(self) -> None:
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # ------------------------------------------------------------------------------- the scheduler
    def _drive(self) -> None:
        self.started = time.time()
        limit = self.parallelism or self.task_count or 1
        pending = list(self.tasks)
        running: list[tuple[TaskRun, float, float | None]] = []  # task, deadline, when SIGTERM was sent
        while True:
            with self.lock:
                if self.cancelled:
                    for task in pending:
                        task.state = "cancelled"
                    pending.clear()
                while pending and len(running) < limit:
                    task = pending.pop(0)
                    self._launch(task)
                    running.append((task, time.monotonic() + self.timeout, None))
                still: list[tuple[TaskRun, float, float | None]] = []
                for task, deadline, termed in running:
                    assert task.process is not None
                    code = task.process.poll()
                    now = time.monotonic()
                    if code is None:
                        if termed is None and (now >= deadline or self.cancelled):
                            task.process.send_signal(signal.SIGTERM)
                            termed = now
                        elif termed is not None and now >= termed + self.kill_grace:
                            task.process.kill()
                        still.append((task, deadline, termed))
                        continue
                    task.exit_codes.append(code)
                    task.process = None
                    if code == 0:
                        task.state = "succeeded"
                    elif self.cancelled:
                        task.state = "cancelled"
                    elif task.attempt < self.max_retries:
                        self._launch(task)  # a retry: the same task, attempt + 1
                        still.append((task, time.monotonic() + self.timeout, None))
                    else:
                        task.state = "failed"
                running = still
                if not pending and not running:
                    self.completed = time.time()
                    return
            time.sleep(0.05)

    def _launch(self, task: TaskRun) -> None:
        task.attempt += 1
        task.state = "running"
        env = dict(self.base_env)
        env.update({e["name"]: e["value"] for e in self.env})
        env.update(
            CLOUD_RUN_JOB=self.job.job_id,
            CLOUD_RUN_EXECUTION=self.execution_id,
            CLOUD_RUN_TASK_INDEX=str(task.index),
            CLOUD_RUN_TASK_COUNT=str(self.task_count),
            CLOUD_RUN_TASK_ATTEMPT=str(task.attempt),
        )
        command = list(self.job.command or DEFAULT_COMMAND)
        log_path = self.log_dir / f"task-{task.index}-attempt-{task.attempt}.log"
        task.logs.append(log_path)
        with log_path.open("wb") as log_file:
            task.process = subprocess.Popen(
                [*command, *self.args],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def cancel(self) -> None:
        with self.lock:
            if self.completed is None:
                self.cancelled = True

    def kill_task(self, index: int, sig: int = signal.SIGKILL) -> bool:
        """Send ``sig`` to task ``index``'s running process (tests: a task that dies mid-run)."""
        with self.lock:
            process = self.tasks[index].process
            if process is None or process.poll() is not None:
                return False
            process.send_signal(sig)
            return True

    # -------------------------------------------------------------------------------- rendering
    def counts(self) -> dict[str, int]:
        states = [t.state for t in self.tasks]
        return {
            "runningCount": states.count("running"),
            "succeededCount": states.count("succeeded"),
            "failedCount": states.count("failed"),
            "cancelledCount": states.count("cancelled"),
            "retriedCount": sum(max(0, t.attempt) for t in self.tasks),
        }

    def completion_status(self) -> str:
        if self.completed is None:
            return "EXECUTION_RUNNING" if self.started is not None else "EXECUTION_PENDING"
        counts = self.counts()
        if counts["cancelledCount"]:
            return "EXECUTION_CANCELLED"
        return "EXECUTION_FAILED" if counts["failedCount"] else "EXECUTION_SUCCEEDED"

    def conditions(self) -> list[dict[str, Any]]:
        created = timestamp(self.created)
        started = {"type": "Started", "lastTransitionTime": timestamp(self.started or self.created)}
        started["state"] = "CONDITION_SUCCEEDED" if self.started else "CONDITION_PENDING"
        completed: dict[str, Any] = {"type": "Completed"}
        counts = self.counts()
        if self.completed is None:
            completed["state"] = "CONDITION_PENDING"
            completed["lastTransitionTime"] = created
            if self.cancelled:
                completed["executionReason"] = "CANCELLING"
        else:
            completed["lastTransitionTime"] = timestamp(self.completed)
            seconds = self.completed - (self.started or self.created)
            if counts["cancelledCount"]:
                completed.update(state="CONDITION_FAILED", executionReason="CANCELLED")
                completed["message"] = "The execution was cancelled."
            elif counts["failedCount"]:
                completed.update(state="CONDITION_FAILED", executionReason="NON_ZERO_EXIT_CODE")
                completed["message"] = (
                    f"Task {self._first_failed()} failed with exit code {self._failed_code()}; "
                    f"{counts['failedCount']} of {self.task_count} tasks failed."
                )
            else:
                completed.update(state="CONDITION_SUCCEEDED")
                completed["message"] = f"Execution completed successfully in {seconds:.0f}s."
        return [
            {"type": "ResourcesAvailable", "state": "CONDITION_SUCCEEDED", "lastTransitionTime": created},
            started,
            completed,
        ]

    def _first_failed(self) -> str:
        return next((f"{self.execution_id}-task{t.index}" for t in self.tasks if t.state == "failed"), "")

    def _failed_code(self) -> int:
        return next((t.exit_codes[-1] for t in self.tasks if t.state == "failed" and t.exit_codes), 1)

    def resource(self) -> dict[str, Any]:
        with self.lock:
            data: dict[str, Any] = {
                "name": self.name,
                "uid": self.execution_id,
                "generation": "1",
                "createTime": timestamp(self.created),
                "updateTime": timestamp(self.completed or self.started or self.created),
                "launchStage": "GA",
                "job": self.job.job_id,
                "parallelism": self.parallelism,
                "taskCount": self.task_count,
                "template": self.job.task_template(self.env, self.args, self.timeout),
                "reconciling": self.completed is None,
                "conditions": self.conditions(),
                "observedGeneration": "1",
                **self.counts(),
                "logUri": self.log_dir.as_uri(),
            }
            if self.started is not None:
                data["startTime"] = timestamp(self.started)
            if self.completed is not None:
                data["completionTime"] = timestamp(self.completed)
            return data

    def task_logs(self) -> dict[int, list[Path]]:
        return {t.index: list(t.logs) for t in self.tasks}


def base_environment() -> dict[str, str]:
    """The environment every task starts from: this process's (PATH, HOME …) without CLOUD_RUN_* leftovers."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CLOUD_RUN_")}
