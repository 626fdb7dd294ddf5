"""The notebook API: ``df["sentiment"] = sheets_ai.enrich(df["review"], task="sentiment")``."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping, Sequence, Set
from typing import Any

from .config import RunConfig, build_config
from .errors import ArgumentTypeError, UsageError
from .report import RunReport
from .tables.memory import MemoryColumns, MemoryTable

log = logging.getLogger("sheets_ai")

#: Options of a file run — which rows, columns, sheet and file — that mean nothing for a list of texts. Set in
#: ``SHEETS_AI_*`` variables or sheets-ai.toml (for ``sheets-ai run``) they are ignored here; passed as
#: keyword arguments they are an error.
FILE_RUN_OPTIONS = frozenset(
    {
        "source",
        "input",
        "output",
        "sheet",
        "header_row",
        "rows",
        "limit",
        "overwrite",
        "dry_run",
        "output_file",
        "checkpoint_seconds",
        "status_column",
        "confidence_column",
        "review_below",
        "review_sheet",
        "log_sheet",
        "credentials",
    }
)


def run_texts(
    texts: Iterable[Any], task: str = "sentiment", **options: Any
) -> tuple[list[str | None], RunReport]:
    """Run ``task`` over a list of texts: one result per text (``None`` when empty or failed) and the report.

    The same pipeline as the CLI, with the texts as an in-memory column. ``options`` are RunConfig fields,
    except the file-run ones (:data:`FILE_RUN_OPTIONS`).
    """
    values = _texts(texts, "run_texts")
    if len(_task_names(task)) > 1:
        raise UsageError(
            f"run_texts() runs one task; for several in one pass use enrich(texts, task={task!r}), which "
            "returns one result list per task, or run one task per call."
        )
    return _run(values, task, options, "run_texts")


def enrich(texts: Any, task: str | Sequence[str] = "sentiment", **options: Any) -> Any:
    """Run ``task`` over each text and return one result per text, in the same order.

    ``texts`` may be a list (a list comes back) or a pandas Series (a Series comes back, with the same index,
    named after the task). Empty and missing values give ``None``; so do rows that failed after every retry
    (a warning says how many). ``options`` are RunConfig fields: ``provider``, ``model``, ``labels``,
    ``max_chars``, ``prompt``, ``batch_size``, ``max_cost``, ``api_key`` … (same precedence as the CLI:
    keyword > ``SHEETS_AI_*`` environment > sheets-ai.toml > defaults). File-run options (``limit``, ``rows``,
    ``overwrite``, ``dry_run``, columns, sheet, files) are ignored in the environment and the file and
    rejected as keywords. A DataFrame, a dict, a set or a single string raise :class:`TypeError` (also a
    :class:`~sheets_ai.UsageError`) saying what to pass. :func:`run_texts` also returns the report.

    Several tasks in one pass (``task="sentiment,summarize"`` or a list): each text is sent once for all of
    them; the result is a dict of one list per task (a Series gives a DataFrame with one column per task).
    """
    values = _texts(texts, "enrich")
    names = _task_names(task)
    if len(names) > 1:
        return _enrich_tasks(texts, values, names, options)
    results, report = _run(values, ",".join(names), options, "enrich")
    if report.rows_failed:
        log.warning(
            "%d of %d rows failed and are None: %s",
            report.rows_failed,
            len(values),
            "; ".join(f"item {f.row - 2}: {f.reason}" for f in report.failures[:3]),
        )
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(texts, pd.Series):
        return pd.Series(results, index=texts.index, name=task, dtype="object")
    return results


def _task_names(task: str | Sequence[str]) -> list[str]:
    parts = task.split(",") if isinstance(task, str) else list(task)
    return [str(p).strip() for p in parts]


def _enrich_tasks(texts: Any, values: list[Any], names: list[str], options: Mapping[str, Any]) -> Any:
    """enrich() with several tasks: one pass (sheets_ai.multitask) over an in-memory table of one column each."""
    from .pipeline import run

    table = MemoryColumns(values, names)
    config = _config(",".join(names), options, "enrich", output=",".join(names))
    report = run(config, table=table)
    if report.rows_failed:
        log.warning(
            "%d results failed and are None: %s",
            report.rows_failed,
            "; ".join(f"item {f.row - 2}: {f.reason}" for f in report.failures[:3]),
        )
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(texts, pd.Series):
        return pd.DataFrame(table.columns, index=texts.index, dtype="object")
    return dict(table.columns)


def _run(
    values: list[Any], task: str, options: Mapping[str, Any], fn: str
) -> tuple[list[str | None], RunReport]:
    from .pipeline import run

    table = MemoryTable(values)
    config = _config(task, options, fn)
    report = run(config, table=table)
    return table.results, report


def _config(task: str, options: Mapping[str, Any], fn: str, output: str = "output") -> RunConfig:
    misplaced = sorted(k for k, v in options.items() if k in FILE_RUN_OPTIONS and v is not None)
    if misplaced:
        raise UsageError(
            f"{fn}() runs on a list of texts; {', '.join(misplaced)} only apply to files (sheets-ai run, "
            "sheets_ai.run). Leave them out; to process part of the list, slice it first (texts[:100])."
        )
    return build_config(
        {**options, "task": task, "source": "<memory>", "input": "input", "output": output},
        ignore=FILE_RUN_OPTIONS,
    )


def _texts(texts: Any, fn: str) -> list[Any]:
    """The texts as a list, or a clear error for a value that is not one column of texts."""
    pd = sys.modules.get("pandas")  # a caller with a DataFrame or Series has imported pandas
    if pd is not None and isinstance(texts, pd.DataFrame):
        raise ArgumentTypeError(
            f"{fn}() takes one column: pass df[{_text_column(texts)!r}], not the whole DataFrame"
            f" (columns: {', '.join(map(str, texts.columns[:10]))})."
        )
    if pd is not None and isinstance(texts, pd.Series):
        return list(texts.tolist())
    wanted = f"{fn}() takes a list or a pandas Series of texts"
    if isinstance(texts, str | bytes):
        raise ArgumentTypeError(f"{wanted}, not a bare {type(texts).__name__}: wrap a single text as [text].")
    if isinstance(texts, Mapping):
        raise ArgumentTypeError(
            f"{wanted}, not a {type(texts).__name__}: pass list(d.values()) and match the results to "
            "list(d) yourself."
        )
    if isinstance(texts, Set):
        raise ArgumentTypeError(
            f"{wanted}, not a {type(texts).__name__}, which has no order to return results in: pass a list."
        )
    if not isinstance(texts, Iterable):
        name = "None" if texts is None else type(texts).__name__
        raise ArgumentTypeError(f"{wanted}, not {name}; wrap a single text as [text].")
    return list(texts)


def _text_column(df: Any) -> str:
    """The column the user most likely meant: the first one holding text, else the first one."""
    from pandas.api.types import is_string_dtype

    for name, dtype in df.dtypes.items():
        if is_string_dtype(dtype):
            return str(name)
    return str(df.columns[0]) if len(df.columns) else "Review"
