"""What Cloud Run tells a task about itself: ``CLOUD_RUN_TASK_INDEX``, ``_COUNT``, ``_ATTEMPT``, the execution
and the job. Outside Cloud Run (no variables) a job is one task, attempt 0."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

INDEX_ENV = "CLOUD_RUN_TASK_INDEX"
COUNT_ENV = "CLOUD_RUN_TASK_COUNT"
ATTEMPT_ENV = "CLOUD_RUN_TASK_ATTEMPT"
EXECUTION_ENV = "CLOUD_RUN_EXECUTION"
JOB_ENV = "CLOUD_RUN_JOB"


@dataclass(frozen=True)
class TaskEnv:
    """One task of one execution: task ``index`` of ``count``, its ``attempt`` (0 first, then retries)."""

    index: int = 0
    count: int = 1
    attempt: int = 0
    execution: str | None = None
    job: str | None = None

    @property
    def on_cloud_run(self) -> bool:
        return self.job is not None

    def fields(self) -> dict[str, Any]:
        """The task's identity for every log line."""
        fields: dict[str, Any] = {}
        if self.job is not None:
            fields["job"] = self.job
        if self.execution is not None:
            fields["execution"] = self.execution
        fields.update(task_index=self.index, task_count=self.count, attempt=self.attempt)
        return fields


def task_env(env: Mapping[str, str]) -> TaskEnv:
    """Read the CLOUD_RUN_* variables; a value that is not a fitting number is a ConfigError naming it."""

    def number(name: str, default: int, low: int) -> int:
        raw = env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(
                f"{name}={raw!r} is not a whole number; Cloud Run sets it, leave it unset."
            ) from None
        if value < low:
            raise ConfigError(f"{name}={value} must be at least {low}.")
        return value

    count = number(COUNT_ENV, 1, 1)
    index = number(INDEX_ENV, 0, 0)
    if index >= count:
        raise ConfigError(f"{INDEX_ENV}={index} is not below {COUNT_ENV}={count}; task indexes start at 0.")
    return TaskEnv(
        index=index,
        count=count,
        attempt=number(ATTEMPT_ENV, 0, 0),
        execution=env.get(EXECUTION_ENV) or None,
        job=env.get(JOB_ENV) or None,
    )
