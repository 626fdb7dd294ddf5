"""Log lines for people and for Cloud Logging.

Plain text (``sheets-ai: message`` on stderr) by default. With ``--log-format json``, or when
``CLOUD_RUN_JOB`` is set (a Cloud Run job), every line on stdout is one JSON object Cloud Logging reads as a
structured entry: ``severity``, ``message``, and the run's fields (job, execution, task index, attempt); the
final report is the last line, with rows, tokens, cost and ``exit_code``.

Nothing a line carries is a key or a row's text: messages pass through :mod:`sheets_ai.redact`, and the
report line leaves out the preview (row texts) and failure reasons (they can quote a model's answer), keeping
only the failed rows' numbers.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from typing import Any, Literal

from .redact import SecretFilter, scrub, scrub_data
from .report import RunReport

LogFormat = Literal["text", "json"]
_SEVERITY = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}


def choose_format(option: str | None, env: Mapping[str, str]) -> LogFormat:
    """``--log-format`` when given, else JSON on Cloud Run (``CLOUD_RUN_JOB`` set), else text."""
    if option in ("text", "json"):
        return option  # type: ignore[return-value]
    return "json" if env.get("CLOUD_RUN_JOB") else "text"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``severity``, ``message`` and the fixed ``fields`` of this run."""

    def __init__(self, fields: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.fields = dict(fields or {})

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        entry = {
            "severity": _SEVERITY.get(record.levelno, "DEFAULT"),
            "message": scrub(message),
            **self.fields,
        }
        return json.dumps(entry, ensure_ascii=False)


def setup(fmt: LogFormat, *, level: int, fields: Mapping[str, Any] | None = None) -> None:
    """Send the ``sheets_ai`` logger to stderr as text, or to stdout as JSON lines; secrets filtered."""
    if fmt == "json":
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter(fields))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("sheets-ai: %(message)s"))
    handler.addFilter(SecretFilter())  # keys and secret variables never reach the terminal or a log file
    root = logging.getLogger("sheets_ai")
    root.handlers[:] = [handler]
    root.propagate = False
    root.setLevel(level)


def report_entry(
    report: RunReport | None,
    fields: Mapping[str, Any] | None = None,
    *,
    error: str | None = None,
    exit_code: int | None = None,
) -> dict[str, Any]:
    """The last log line of a run: its outcome in Cloud Logging's shape (severity, message, fields)."""
    code = exit_code if exit_code is not None else (report.exit_code if report is not None else 1)
    entry: dict[str, Any] = {
        "severity": "ERROR" if error else ("INFO" if code == 0 else "WARNING"),
        "message": f"Error: {scrub(error)}" if error else _summary(report),
        **(fields or {}),
    }
    if report is not None:
        data = report.to_dict()
        data.pop("preview", None)
        data["failures"] = [f["row"] for f in data.get("failures", [])]
        entry["rows"] = {
            "total": report.rows_total,
            "selected": report.rows_selected,
            "processed": report.rows_processed,
            "skipped": report.rows_skipped,
            "failed": report.rows_failed,
            "changed": report.rows_changed,
            "remaining": report.rows_remaining,
            "cached": report.rows_cached,
        }
        entry["tokens"] = {
            "prompt": report.prompt_tokens,
            "completion": report.completion_tokens,
            "cached": report.cached_tokens,
            "reasoning": report.reasoning_tokens,
        }
        entry["requests"] = report.requests
        entry["cost_usd"] = round(report.cost_usd, 6)
        entry["seconds"] = round(report.seconds, 3)
        entry["report"] = data
    if error:
        entry["error"] = scrub(error)
    entry["exit_code"] = code
    return scrub_data(entry)


def _summary(report: RunReport | None) -> str:
    if report is None:
        return "finished"
    lines = report.summary_lines()
    return lines[0] if lines else "finished"


def emit(entry: Mapping[str, Any]) -> None:
    """Print one JSON log line on stdout."""
    sys.stdout.write(json.dumps(entry, ensure_ascii=False) + "\n")
    sys.stdout.flush()
