"""The Cloud Run emulator's API surface: routes and the permission each needs, request checks against the v2
discovery document, and the ``jobs.run`` request's overrides."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sheets_ai.testing._cloudrun_model import JobSpec, parse_duration
from sheets_ai.testing._sheets_cells import ApiError

ALL_PERMISSIONS = frozenset(
    {
        "run.jobs.get",
        "run.jobs.run",
        "run.jobs.runWithOverrides",
        "run.executions.get",
        "run.executions.list",
        "run.executions.cancel",
        "run.operations.get",
    }
)
_NAME = r"projects/([^/]+)/locations/([^/]+)"
ROUTES = [
    ("GET", re.compile(rf"^/v2/{_NAME}/jobs/([^/:]+)$"), "jobs.get", "run.jobs.get"),
    ("POST", re.compile(rf"^/v2/{_NAME}/jobs/([^/:]+):run$"), "jobs.run", "run.jobs.run"),
    ("GET", re.compile(rf"^/v2/{_NAME}/jobs/([^/:]+)/executions$"), "executions.list", "run.executions.list"),
    (
        "GET",
        re.compile(rf"^/v2/{_NAME}/jobs/([^/:]+)/executions/([^/:]+)$"),
        "executions.get",
        "run.executions.get",
    ),
    (
        "POST",
        re.compile(rf"^/v2/{_NAME}/jobs/([^/:]+)/executions/([^/:]+):cancel$"),
        "executions.cancel",
        "run.executions.cancel",
    ),
    ("GET", re.compile(rf"^/v2/{_NAME}/operations/([^/:]+)$"), "operations.get", "run.operations.get"),
]
EXECUTION_TYPE = "type.googleapis.com/google.cloud.run.v2.Execution"
_OVERRIDE_KEYS = {"containerOverrides", "taskCount", "timeout"}
_CONTAINER_KEYS = {"name", "args", "env", "clearArgs"}


@functools.cache
def validator() -> Any:
    """The v2 discovery document's request checks (google-api-python-client ships it), or None."""
    import importlib.util

    from sheets_ai.testing._sheets_validation import Validator

    spec = importlib.util.find_spec("googleapiclient")
    for base in (spec.submodule_search_locations or []) if spec else []:
        path = Path(base) / "discovery_cache" / "documents" / "run.v2.json"
        if path.is_file():
            return Validator(json.loads(path.read_text(encoding="utf-8")))
    return None


@dataclass(frozen=True)
class RunRequest:
    """What one execution runs with: the job's settings with the request's overrides applied."""

    env: dict[str, str]
    args: list[str]
    task_count: int
    timeout: float


def parse_run_request(job: JobSpec, request: Mapping[str, Any]) -> RunRequest:
    """``jobs.run``'s body: ``overrides.containerOverrides[0]`` (env merged over the job's, args replacing
    them), ``taskCount``, ``timeout``; a 400 in Google's words for what the API refuses."""
    overrides = request.get("overrides") or {}
    check_keys(overrides, _OVERRIDE_KEYS, "overrides")
    containers = overrides.get("containerOverrides") or []
    if len(containers) > 1:
        raise ApiError(
            400, "overrides.containerOverrides: only one container can be overridden.", "INVALID_ARGUMENT"
        )
    container = containers[0] if containers else {}
    check_keys(container, _CONTAINER_KEYS, "overrides.containerOverrides[0]")
    env = {e["name"]: e["value"] for e in job.env}
    for i, item in enumerate(container.get("env") or []):
        if not isinstance(item, Mapping) or not item.get("name"):
            raise ApiError(
                400,
                f"overrides.containerOverrides[0].env[{i}].name: must not be empty.",
                "INVALID_ARGUMENT",
            )
        env[str(item["name"])] = str(item.get("value", ""))
    args = job.args
    if container.get("clearArgs"):
        args = []
    if container.get("args"):
        args = [str(a) for a in container["args"]]
    task_count = overrides.get("taskCount", job.task_count)
    if not isinstance(task_count, int) or task_count < 0:
        raise ApiError(400, "overrides.task_count: must be a non-negative number.", "INVALID_ARGUMENT")
    timeout = job.timeout
    if "timeout" in overrides:
        parsed = parse_duration(str(overrides["timeout"]))
        if parsed is None:
            raise ApiError(
                400,
                f"Invalid value at 'overrides.timeout' (type.googleapis.com/google.protobuf.Duration), "
                f'"{overrides["timeout"]}"',
                "INVALID_ARGUMENT",
            )
        timeout = parsed
    return RunRequest(env=env, args=args, task_count=task_count or job.task_count, timeout=timeout)


def route(method: str, path: str) -> tuple[re.Match[str], str, str]:
    """The route of a request: the path's groups, the method (``jobs.run`` …) and the permission it needs."""
    for verb, pattern, kind, permission in ROUTES:
        match = pattern.match(path)
        if match and verb == method:
            return match, kind, permission
    raise ApiError(404, f"The requested URL {path} was not found on this server.", "NOT_FOUND")


def check_keys(data: Any, allowed: set[str], where: str) -> None:
    if not isinstance(data, Mapping):
        raise ApiError(
            400, f"Invalid JSON payload received. '{where}' must be an object.", "INVALID_ARGUMENT"
        )
    for key in data:
        if key not in allowed:
            raise ApiError(
                400,
                f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field.",
                "INVALID_ARGUMENT",
            )
