"""The notebook API: ``df["sentiment"] = sheets_ai.enrich(df["review"], task="sentiment")``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from .config import build_config
from .errors import UsageError
from .report import RunReport
from .tables.memory import MemoryTable

log = logging.getLogger("sheets_ai")


def run_texts(
    texts: Sequence[Any], task: str = "sentiment", **options: Any
) -> tuple[list[str | None], RunReport]:
    """Run ``task`` over a list of texts: one result per text (``None`` when empty or failed) and the report.

    The same pipeline as the CLI, with the texts as an in-memory column. ``options`` are RunConfig fields.
    """
    from .pipeline import run

    table = MemoryTable(texts)
    config = build_config(
        {**options, "task": task, "source": "<memory>", "input": "input", "output": "output"}
    )
    report = run(config, table=table)
    return table.results, report


def enrich(texts: Any, task: str = "sentiment", **options: Any) -> Any:
    """Run ``task`` over each text and return one result per text, in the same order.

    ``texts`` may be a list (a list comes back) or a pandas Series (a Series comes back, with the same index,
    named after the task). Empty and missing values give ``None``; so do rows that failed after every retry
    (a warning says how many). ``options`` are RunConfig fields: ``provider``, ``model``, ``labels``,
    ``max_chars``, ``prompt``, ``batch_size``, ``max_cost``, ``api_key`` … (same precedence as the CLI:
    keyword > ``SHEETS_AI_*`` environment > sheets-ai.toml > defaults). :func:`run_texts` also returns the
    report.
    """
    if isinstance(texts, str | bytes):
        raise UsageError("enrich() takes a list or a pandas Series of texts; wrap a single text as [text].")
    is_series = type(texts).__name__ == "Series" and hasattr(texts, "index")
    values = list(texts.tolist() if is_series else texts)
    results, report = run_texts(values, task, **options)
    if report.rows_failed:
        log.warning(
            "%d of %d rows failed and are None: %s",
            report.rows_failed,
            len(values),
            "; ".join(f"item {f.row - 2}: {f.reason}" for f in report.failures[:3]),
        )
    if is_series:
        import pandas as pd

        return pd.Series(results, index=texts.index, name=task, dtype="object")
    return results
