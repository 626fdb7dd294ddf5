"""A local Cloud Run Admin API v2 emulator (the jobs subset) over real HTTP on loopback, for tests and CI.

Run it as a process::

    python -m sheets_ai.testing.cloudrun_server --port 0 --jobs jobs.json

or in-process::

    with CloudRunEmulator(jobs=[{"name": "sheets-ai", "taskCount": 3, "env": {...}}]) as run:
        op = requests.post(f"{run.url}/v2/{run.job_name('sheets-ai')}:run", headers=AUTH, json={}).json()

Endpoints (paths, bodies and answers as ``https://run.googleapis.com/v2/...``): ``jobs.get``, ``jobs.run``
with ``overrides`` (``containerOverrides[0].env``/``args``, ``taskCount``, ``timeout``) answering a long-running
Operation whose ``metadata`` is the Execution, ``operations.get``, ``executions.get``, ``executions.list`` and
``executions.cancel``. Each task runs as a local ``sheets-ai job`` process with the environment Cloud Run gives
it (see :mod:`sheets_ai.testing._cloudrun_model`). Errors come in Google's shape: 401 without a bearer token,
403 naming the missing permission, 404, 400. See docs/cloudrun-emulator.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import tempfile
import threading
import uuid
from collections.abc import Collection, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sheets_ai.testing._cloudrun_api import (
    ALL_PERMISSIONS,
    EXECUTION_TYPE,
    parse_run_request,
    route,
    validator,
)
from sheets_ai.testing._cloudrun_model import KILL_GRACE, Execution, JobSpec, base_environment, env_list
from sheets_ai.testing._sheets_cells import ApiError

__all__ = ["ApiError", "CloudRunEmulator", "main"]

log = logging.getLogger(__name__)


class CloudRunEmulator:
    """Jobs served as the Cloud Run Admin API v2 on ``http://127.0.0.1:PORT``; tasks run as local processes.

    ``jobs``: job configs — ``name`` (a job id, or ``projects/P/locations/L/jobs/J``), ``env`` (a mapping or
    ``[{"name", "value"}]``), ``args``, ``command`` (default ``python -m sheets_ai job``), ``taskCount``,
    ``parallelism`` (0: all tasks at once), ``maxRetries`` (default 3), ``timeout`` (``"600s"``); ``image`` is
    ignored. ``tokens``: bearer token -> the permissions it has (None: any token has all of them).
    """

    def __init__(
        self,
        port: int = 0,
        *,
        jobs: Iterable[Mapping[str, Any]] = (),
        project: str = "local-project",
        location: str = "us-central1",
        tokens: Mapping[str, Collection[str]] | None = None,
        log_dir: str | Path | None = None,
        kill_grace: float = KILL_GRACE,
        base_env: Mapping[str, str] | None = None,
    ) -> None:
        self.host, self.port = "127.0.0.1", port
        self.project, self.location = project, location
        self.tokens = {k: frozenset(v) for k, v in tokens.items()} if tokens is not None else None
        self._tmp = tempfile.TemporaryDirectory(prefix="cloudrun-logs-") if log_dir is None else None
        self.log_dir = Path(log_dir) if log_dir is not None else Path(self._tmp.name)  # type: ignore[union-attr]
        self.kill_grace = kill_grace
        self.base_env = dict(base_env) if base_env is not None else None
        self.lock = threading.RLock()
        self.jobs: dict[str, JobSpec] = {}
        self.executions: dict[str, Execution] = {}  # by full name
        self.operations: dict[str, tuple[str, str]] = {}  # operation name -> (execution name, kind)
        self.denied: set[str] = set()
        for job in jobs:
            self.add_job(job)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------------------- set-up for tests
    def add_job(self, config: Mapping[str, Any]) -> str:
        """Configure a job; returns its full name."""
        spec = JobSpec.from_config(config, project=self.project, location=self.location)
        with self.lock:
            self.jobs[spec.name] = spec
        return spec.name

    def job_name(self, job_id: str) -> str:
        return f"projects/{self.project}/locations/{self.location}/jobs/{job_id}"

    def deny(self, permission: str) -> None:
        """Every caller lacks ``permission`` (e.g. ``run.jobs.run``) until :meth:`allow`."""
        self.denied.add(permission)

    def allow(self, permission: str) -> None:
        self.denied.discard(permission)

    def execution(self, name: str) -> Execution:
        with self.lock:
            return self.executions[name]

    def wait(self, name: str, timeout: float = 120) -> dict[str, Any]:
        """Wait for an execution to finish; its resource."""
        execution = self.execution(name)
        if not execution.wait(timeout):
            raise TimeoutError(f"execution {name} still running after {timeout}s")
        return execution.resource()

    # --------------------------------------------------------------------------------- lifecycle
    def start(self) -> CloudRunEmulator:
        if self._server is None:
            server = ThreadingHTTPServer((self.host, self.port), _Handler)
            server.daemon_threads = True
            server.emulator = self  # type: ignore[attr-defined]
            self.port = server.server_address[1]
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever, name="cloudrun-emulator", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        with self.lock:
            executions = list(self.executions.values())
        for execution in executions:
            execution.cancel()
        for execution in executions:
            execution.wait(self.kill_grace + 5)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._tmp is not None:
            self._tmp.cleanup()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> CloudRunEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------ the API
    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, Any]:
        try:
            return 200, self._dispatch(method, path, headers, body)
        except ApiError as err:
            return err.code, err.body()

    def _dispatch(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> Any:
        parts = urlsplit(raw_path)
        match, kind, permission = route(method, parts.path)
        self._authorize(headers, permission, parts.path.removeprefix("/v2/"))
        payload = self._json(body) if method == "POST" else None
        checker = validator()
        if checker is not None:
            method_id = "run.projects.locations." + (
                kind if kind.startswith(("jobs.", "operations.")) else f"jobs.{kind}"
            )
            payload = checker.check(method_id, parse_qs(parts.query), payload)
        project, location, *rest = match.groups()
        if kind == "operations.get":
            return self._operation(f"projects/{project}/locations/{location}/operations/{rest[0]}")
        job = self._job(f"projects/{project}/locations/{location}/jobs/{rest[0]}")
        if kind == "jobs.get":
            return job.resource(self._latest(job))
        if kind == "jobs.run":
            if (payload or {}).get("overrides"):
                self._authorize(headers, "run.jobs.runWithOverrides", job.name)
            return self._run(job, payload or {})
        if kind == "executions.list":
            with self.lock:
                found = [e for e in self.executions.values() if e.job is job]
            found.sort(key=lambda e: e.created, reverse=True)
            return {"executions": [e.resource() for e in found]} if found else {}
        execution = self._execution(f"{job.name}/executions/{rest[1]}")
        if kind == "executions.get":
            return execution.resource()
        execution.cancel()
        return self._new_operation(execution, done=False)

    def _authorize(self, headers: Mapping[str, str], permission: str, resource: str) -> None:
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            raise ApiError(
                401,
                "Request is missing required authentication credential. Expected OAuth 2 access token, login "
                "cookie or other valid authentication credential.",
                "UNAUTHENTICATED",
            )
        token = auth[7:].strip()
        if self.tokens is not None and token not in self.tokens:
            raise ApiError(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED")
        granted = ALL_PERMISSIONS if self.tokens is None else self.tokens[token]
        if permission in self.denied or permission not in granted:
            raise ApiError(
                403,
                f"Permission '{permission}' denied on resource '{resource}' (or resource may not exist).",
                "PERMISSION_DENIED",
            )

    @staticmethod
    def _json(body: bytes) -> Any:
        if not body.strip():
            return {}
        try:
            return json.loads(body)
        except ValueError:
            raise ApiError(400, "Invalid JSON payload received.", "INVALID_ARGUMENT") from None

    def _job(self, name: str) -> JobSpec:
        with self.lock:
            job = self.jobs.get(name)
        if job is None:
            project, location, job_id = name.split("/")[1::2]
            raise ApiError(
                404,
                f"Resource '{job_id}' of kind 'JOB' in region '{location}' in project '{project}' does not exist.",
                "NOT_FOUND",
            )
        return job

    def _execution(self, name: str) -> Execution:
        with self.lock:
            execution = self.executions.get(name)
        if execution is None:
            project, location, _, execution_id = name.split("/")[1::2]
            raise ApiError(
                404,
                f"Resource '{execution_id}' of kind 'EXECUTION' in region '{location}' in project "
                f"'{project}' does not exist.",
                "NOT_FOUND",
            )
        return execution

    def _latest(self, job: JobSpec) -> Execution | None:
        with self.lock:
            mine = [e for e in self.executions.values() if e.job is job]
        return max(mine, key=lambda e: e.created) if mine else None

    def _run(self, job: JobSpec, request: Mapping[str, Any]) -> dict[str, Any]:
        run = parse_run_request(job, request)
        execution = Execution(
            job,
            env=env_list(run.env),
            args=run.args,
            task_count=run.task_count,
            timeout=run.timeout,
            log_dir=self.log_dir,
            base_env=self.base_env if self.base_env is not None else base_environment(),
            kill_grace=self.kill_grace,
        )
        with self.lock:
            self.executions[execution.name] = execution
            job.execution_count += 1
        execution.start()
        return self._new_operation(execution, done=False)

    def _new_operation(self, execution: Execution, *, done: bool) -> dict[str, Any]:
        name = (
            f"projects/{execution.job.project}/locations/{execution.job.location}/operations/{uuid.uuid4()}"
        )
        with self.lock:
            self.operations[name] = (execution.name, "run")
        return self._operation(name)

    def _operation(self, name: str) -> dict[str, Any]:
        with self.lock:
            found = self.operations.get(name)
        if found is None:
            raise ApiError(404, f"Operation '{name.rsplit('/', 1)[-1]}' not found.", "NOT_FOUND")
        execution = self._execution(found[0])
        resource = {"@type": EXECUTION_TYPE, **execution.resource()}
        operation: dict[str, Any] = {
            "name": name,
            "metadata": resource,
            "done": execution.completed is not None,
        }
        if operation["done"]:
            operation["response"] = resource
        return operation


class _Handler(BaseHTTPRequestHandler):
    server_version = "cloudrun-emulator"

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        emulator: CloudRunEmulator = self.server.emulator  # type: ignore[attr-defined]
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload = emulator.handle(method, self.path, headers, body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


def load_jobs(path: str | Path) -> list[dict[str, Any]]:
    """A jobs file: a list of job configs, one config, or ``{"jobs": [...]}``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, Mapping):
        data = data.get("jobs", [data])
    return list(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sheets_ai.testing.cloudrun_server",
        description="Cloud Run Admin API v2 emulator (jobs).",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--jobs", action="append", default=[], help="a JSON file of job configs (repeatable)")
    parser.add_argument("--project", default="local-project")
    parser.add_argument("--location", default="us-central1")
    parser.add_argument("--log-dir", help="where task logs go (default: a temporary folder)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr)
    jobs: list[dict[str, Any]] = []
    try:
        for path in args.jobs:
            jobs.extend(load_jobs(path))
        emulator = CloudRunEmulator(
            args.port, jobs=jobs, project=args.project, location=args.location, log_dir=args.log_dir
        )
    except (OSError, ValueError, KeyError) as exc:
        print(f"cloudrun_server: cannot load jobs: {exc}", file=sys.stderr)
        return 2
    emulator.start()
    for name in emulator.jobs:
        print(f"job {name}", file=sys.stderr)
    print(f"listening on {emulator.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
