"""Several tasks in one pass: ``--task sentiment,summarize --output Sentiment,Summary``.

Each task keeps its own options: ``--labels`` goes to classify (else to sentiment, which it renames),
``--prompt`` to extract, ``--max-chars`` to summarize and extract, ``--instructions`` to every task. Each
task has its own output column, in the order of the tasks. :func:`part_configs` turns one run's options into
one :class:`~sheets_ai.config.RunConfig` per task: those are what the per-task runs and the cache keys use, so
an answer found in one pass serves a later run of that task alone, and the other way round.
"""

from __future__ import annotations

from .config import RunConfig
from .errors import UsageError
from .tables.base import normalize_header
from .tasks import CompositeTask, build_task

#: Options that describe one output column; with several tasks there is no single column they belong to.
_ONE_COLUMN_OPTIONS = {
    "status_column": "--status-column",
    "confidence_column": "--confidence-column",
    "review_below": "--review-below",
    "review_sheet": "--review-sheet",
}


def task_names(config: RunConfig) -> list[str]:
    return config.task.split(",")


def is_multi_task(config: RunConfig) -> bool:
    return "," in config.task


def part_configs(config: RunConfig) -> list[RunConfig]:
    """One config per task, with that task's output column and options; a UsageError for what cannot work."""
    names = task_names(config)
    outputs = [o.strip() for o in config.output.split(",")] if config.output else []
    if len(outputs) != len(names):
        given = ",".join(outputs) if outputs else "none"
        raise UsageError(
            f"--task {config.task} has {len(names)} tasks but --output names {len(outputs)} "
            f"column{'' if len(outputs) == 1 else 's'} ({given}); "
            f"give one output column per task, in the same order, e.g. --output "
            f"{','.join(_default_headers(names))}."
        )
    seen: dict[str, str] = {}
    for name, column in zip(names, outputs, strict=True):
        if not column:
            raise UsageError(f"--output has an empty column name for --task {name}; give one per task.")
        if normalize_header(column) in seen:
            raise UsageError(
                f"--output {config.output}: tasks {seen[normalize_header(column)]} and {name} both write "
                f"column {column!r}; each task needs its own output column."
            )
        seen[normalize_header(column)] = name
    for field, flag in _ONE_COLUMN_OPTIONS.items():
        if getattr(config, field) is not None:
            raise UsageError(
                f"{flag} works with one task; with --task {config.task} run that task on its own to use it."
            )
    if config.batch_api:  # the pass is several runs in a row; one batch state per command cannot follow it
        raise UsageError(
            f"--batch-api runs one task; with --task {config.task} run each task on its own with --batch-api "
            "(or leave --batch-api out)."
        )
    if config.examples is not None and config.examples.strip().casefold() != "none":
        raise UsageError(
            f"--examples holds answers for one task; with --task {config.task} run that task on its own to "
            "use them."
        )
    labelled = next((n for n in ("classify", "sentiment") if n in names), None)
    if config.labels and labelled is None:
        raise UsageError(f"--labels is for classify or sentiment; --task {config.task} has neither.")
    return [
        config.model_copy(
            update={
                "task": name,
                "output": column,
                "labels": config.labels if name == labelled else None,
                "examples": "none",
            }
        )
        for name, column in zip(names, outputs, strict=True)
    ]


def build_composite(config: RunConfig) -> CompositeTask:
    """The task that asks every part of ``config`` in one request (each part built as if run alone)."""
    parts = tuple(build_task(part) for part in part_configs(config))
    domain = next((p.domain for p in parts if p.domain), None)
    return CompositeTask(name=config.task, instructions="", parts=parts, domain=domain)


def _default_headers(names: list[str]) -> list[str]:
    headers = {"sentiment": "Sentiment", "summarize": "Summary", "classify": "Category", "extract": "Answer"}
    return [headers.get(n, n.title()) for n in names]
