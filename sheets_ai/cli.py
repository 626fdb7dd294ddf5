"""The command line: flags -> RunConfig -> run() -> a summary and an exit code.

Exit codes: 0 every selected row done; 1 some rows not done (failed, changed, budget); 2 a usage,
configuration or input error; 130 interrupted (finished rows saved).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

import click

from . import __version__, logs
from .config import build_config
from .errors import Interrupted, SheetsAIError, UsageError
from .job import run_job, task_env
from .pipeline import ProgressCallback, run
from .pricing import BATCH_DISCOUNT, cost_by_model, estimate_lines
from .prompt_cache import cache_line
from .redact import scrub
from .report import RunReport

log = logging.getLogger("sheets_ai")

RUN_EXAMPLE = """\b
Examples:
  sheets-ai run examples/reviews.xlsx --task sentiment --input Review --output Sentiment
  sheets-ai run notes.xlsx --task summarize --input Notes --output Summary --max-chars 200
  sheets-ai run notes.xlsx --task sentiment,summarize --input Notes --output Sentiment,Summary
  sheets-ai run tickets.csv --task classify --labels "billing,shipping,quality,other" \\
      --input B --output Category --provider openai --max-cost 0.50
"""


class _TaskList(click.ParamType):
    """``sentiment``, or several tasks for one pass: ``sentiment,summarize`` (each checked like a choice)."""

    name = "task"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        choice = click.Choice(["sentiment", "summarize", "classify", "extract"])
        return ",".join(choice.convert(part.strip(), param, ctx) for part in str(value).split(","))


_TASKS = _TaskList()


def _selection_options(fn: Callable[..., Any], *, source_required: bool = True) -> Callable[..., Any]:
    options = [
        click.argument("source", required=source_required),
        click.option(
            "--task",
            type=_TASKS,
            metavar="TASK[,TASK…]",
            help="sentiment, summarize, classify or extract (default: sentiment); several in one pass: "
            "sentiment,summarize with one --output column each.",
        ),
        click.option("--input", "input_", metavar="COLUMN", help="Input column: header text or letter."),
        click.option(
            "--output",
            metavar="COLUMN[,COLUMN…]",
            help="Output column: header text (created if missing) or letter; one per task.",
        ),
        click.option("--sheet", help="Worksheet name (default: the active sheet)."),
        click.option("--header-row", type=int, help="Row number of the header row (default 1)."),
        click.option(
            "--encoding",
            metavar="NAME",
            help="CSV: the file's text encoding, e.g. cp1252 (default: detected; UTF-8, cp1252 or cp932).",
        ),
        click.option("--rows", metavar="FIRST:LAST", help="Only these sheet rows, e.g. 2:500."),
        click.option("--limit", type=int, help="Process at most N rows."),
        click.option(
            "--overwrite", is_flag=True, default=None, help="Also redo rows whose output is filled."
        ),
        click.option(
            "--labels", help="Sentiment: rename positive,negative,neutral,mixed. Classify: the categories."
        ),
        click.option(
            "--max-chars", type=int, help="Summary/extract length limit in characters (default 200)."
        ),
        click.option("--prompt", help="Extract: the question to answer for each row."),
        click.option(
            "--instructions",
            metavar="TEXT",
            help="A domain role and rules for the model, e.g. 'You read hotel reviews'.",
        ),
        click.option(
            "--instructions-file", type=click.Path(dir_okay=False), help="The same, from a UTF-8 text file."
        ),
        click.option(
            "--examples",
            metavar="PATH",
            help="Worked examples: a CSV of Input,Answer (default: NAME.examples.csv beside the source; 'none': off).",
        ),
        click.option(
            "--provider",
            type=click.Choice(["auto", "local", "openai"]),
            help="auto (default): OpenAI when OPENAI_API_KEY is set, else the offline analyzer.",
        ),
        click.option("--model", help="OpenAI model name."),
        click.option(
            "--reasoning-effort",
            metavar="LEVEL",
            help="Reasoning models: none, minimal, low, medium, high, xhigh (default: the cheapest the model takes).",
        ),
        click.option("--base-url", help="OpenAI-compatible server URL (default: OPENAI_BASE_URL or OpenAI)."),
        click.option(
            "--batch-api",
            is_flag=True,
            default=None,
            help="OpenAI Batch API: half price, answers within 24 h; run the same command again to collect them.",
        ),
        click.option(
            "--service-tier",
            type=click.Choice(["default", "flex"]),
            help="flex: half price, slower, for o3, o4-mini and the gpt-5 family (OpenAI's flex processing).",
        ),
        click.option("--batch-size", type=int, help="Rows per request (default: per task)."),
        click.option("--max-batch-tokens", type=int, help="Estimated input tokens per request at most."),
        click.option("--max-row-tokens", type=int, help="Longer rows are cut to this many tokens."),
        click.option("--concurrency", type=int, help="Requests in flight (default 4)."),
        click.option("--rpm", type=int, help="Requests per minute at most (default 300)."),
        click.option("--tpm", type=int, help="Tokens per minute at most (default 100000)."),
        click.option(
            "--retry-seconds",
            type=float,
            help="Retry a request that failed (429, 5xx, timeout) for at most this long (default 300).",
        ),
        click.option(
            "--credentials",
            type=click.Path(dir_okay=False),
            help="Google service-account key file (default: GOOGLE_APPLICATION_CREDENTIALS / ADC).",
        ),
        click.option("--cache-dir", type=click.Path(file_okay=False), help="Result cache folder."),
        click.option(
            "--no-cache", is_flag=True, default=False, help="Do not read or write the result cache."
        ),
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False),
            help="A sheets-ai.toml file (default: ./sheets-ai.toml if present).",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object."),
        click.option("--debug", is_flag=True, help="Show tracebacks and debug logs."),
        click.option("-q", "--quiet", is_flag=True, help="Only errors and the summary."),
        click.option(
            "--log-format",
            type=click.Choice(["text", "json"]),
            help="json: one JSON object per line on stdout for Cloud Logging (default on Cloud Run), the "
            "report as the last line.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _explicit(params: dict[str, Any]) -> dict[str, Any]:
    """Flags the user actually gave, as RunConfig fields."""
    names = {"input_": "input"}
    skip = {"config_path", "as_json", "debug", "quiet", "no_cache", "log_format"}
    values = {names.get(k, k): v for k, v in params.items() if k not in skip and v is not None}
    if params.get("no_cache"):
        if params.get("cache_dir"):
            raise UsageError("Cannot use --no-cache with --cache-dir.")
        values["cache"] = False
    return values


def _setup_logging(debug: bool, quiet: bool, fmt: logs.LogFormat = "text", fields: Any = None) -> None:
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    logs.setup(fmt, level=level, fields=fields)


def _progress(enabled: bool) -> tuple[ProgressCallback | None, Callable[[], None]]:
    if not enabled or not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, unit="row", file=sys.stderr, dynamic_ncols=True, leave=False)
        b = bar["bar"]
        b.total = total
        b.n = done
        b.refresh()

    def close() -> None:
        if "bar" in bar:
            bar["bar"].close()

    return update, close


@dataclass
class _Out:
    """How a command reports: the summary or --json on stdout, or JSON log lines (--log-format json)."""

    as_json: bool = False
    fmt: logs.LogFormat = "text"
    debug: bool = False
    fields: dict[str, Any] = field(default_factory=dict)
    #: "batch" (--batch-api) or "flex" (--service-tier flex): estimate shows that price beside the standard one.
    tier: str | None = None


def _emit(report: RunReport | None, out: _Out) -> None:
    if report is None:
        return
    if out.fmt == "json":
        logs.emit(logs.report_entry(report, out.fields))
        return
    estimate = report.dry_run and report.provider == "openai"
    if out.as_json:
        data = report.to_dict()
        if estimate:
            data["cost_by_model"] = cost_by_model(
                report.model, report.prompt_tokens, report.completion_tokens
            )
            if out.tier is not None and (standard := data["cost_by_model"].get(report.model)) is not None:
                data[f"estimated_cost_{out.tier}_usd"] = round(standard * BATCH_DISCOUNT, 6)
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    for line in report.summary_lines():
        click.echo(line)
    if estimate:
        for line in estimate_lines(
            report.model,
            report.rows_selected - report.rows_cached,
            report.requests,
            report.prompt_tokens,
            report.completion_tokens,
            reasoning_effort=report.reasoning_effort,
            max_cost=report.estimated_max_cost_usd,
            tier=out.tier,
        ):
            click.echo(line)
        if report.system_prompt_tokens is not None:
            click.echo(cache_line(report))
    if report.dry_run and report.preview:
        click.echo("  preview:")
        for entry in report.preview:
            text = entry["input"].replace("\n", " ")
            shown = text if len(text) <= 60 else text[:59] + "…"
            result = entry.get("result", "(sent to the model)")
            click.echo(f"    row {entry['row']}: {shown!r} -> {result!r}")


def _execute(params: dict[str, Any], *, dry_run: bool = False, job: bool = False) -> None:
    """Run (or estimate, or run as a Cloud Run job task) and exit with the report's code."""
    debug, quiet = bool(params.get("debug")), bool(params.get("quiet"))
    out = _Out(bool(params.get("as_json")), logs.choose_format(params.get("log_format"), os.environ), debug)
    _setup_logging(debug, quiet, out.fmt)
    close_bar: Callable[[], None] = lambda: None  # noqa: E731
    try:
        task = task_env(os.environ) if job else None
        if task is not None:
            out.fields = task.fields()
            _setup_logging(debug, quiet, out.fmt, out.fields)
        explicit = _explicit(params)
        if dry_run:
            explicit["dry_run"] = True
        config = build_config(explicit, config_path=params.get("config_path"))
        out.tier = "batch" if config.batch_api else "flex" if config.service_tier == "flex" else None
        if config.wait and not config.batch_api:
            raise UsageError("--wait only applies with --batch-api; add --batch-api or leave --wait out.")
        progress, close_bar = _progress(out.fmt == "text" and not out.as_json and not config.dry_run)
        report = run_job(config, task) if task is not None else run(config, progress=progress)
    except SheetsAIError as exc:
        close_bar()
        _fail(str(exc), exc.exit_code, exc, out, partial=getattr(exc, "report", None))
    except KeyboardInterrupt as exc:  # pragma: no cover - only outside run()
        close_bar()
        _fail("Interrupted.", 130, exc, out)
    except Exception as exc:
        close_bar()
        hint = "" if debug else " (run with --debug for details)"
        _fail(f"unexpected {type(exc).__name__}: {exc}{hint}", 1, exc, out)
    close_bar()
    _emit(report, out)
    sys.exit(report.exit_code)


def _fail(
    message: str, exit_code: int, exc: BaseException, out: _Out, *, partial: RunReport | None = None
) -> NoReturn:
    """End the command on an error: the traceback with --debug, the report (or with --json one object with
    ``error`` and ``exit_code``) on stdout, one ``Error:`` line on stderr, and the error's exit code. With
    --log-format json: one JSON log line (severity ERROR, the error, the report so far) and nothing else."""
    message = scrub(message)
    if out.debug:
        traceback.print_exception(exc, file=sys.stderr)
    if out.fmt == "json":
        logs.emit(logs.report_entry(partial, out.fields, error=message, exit_code=exit_code))
    else:
        if out.as_json:
            _echo_json_error(message, exit_code, partial)
        elif partial is not None and (partial.rows_processed or partial.requests):
            _emit(partial, out)  # the run got somewhere: say what was saved before the error line
        click.echo(f"Error: {message}", err=True)
    if isinstance(exc, Interrupted):
        # Finished rows are saved; don't wait for in-flight requests to time out before exiting.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exit_code)
    sys.exit(exit_code)


def _echo_json_error(message: str, exit_code: int, report: RunReport | None = None) -> None:
    """The --json answer to an error: the report so far when a run started, else only the error."""
    data = report.to_dict() if report is not None else {}
    data.update(error=message, exit_code=exit_code)
    click.echo(json.dumps(data, ensure_ascii=False))


_JSON_META = "sheets_ai.json"


def _wants_json(args: list[str]) -> bool:
    """Whether --json is on the command line (before a ``--``), read before click parses it."""
    head = args[: args.index("--")] if "--" in args else args
    return "--json" in head


class _Cli(click.Group):
    """The ``sheets-ai`` group. With --json on the command line, click's own usage errors (an unknown option or
    command, a bad choice or number, a missing value) also print one JSON object with ``error`` and
    ``exit_code`` on stdout; the usual message still goes to stderr and the exit code stays 2."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        as_json = _wants_json(args)  # before parsing, which consumes ``args``
        try:
            ctx = super().make_context(info_name, args, parent=parent, **extra)
        except click.ClickException as exc:
            if as_json:
                _echo_json_error(exc.format_message(), exc.exit_code)
            raise
        ctx.meta[_JSON_META] = as_json
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:  # raised while choosing or parsing the subcommand
            if ctx.meta.get(_JSON_META):
                _echo_json_error(exc.format_message(), exc.exit_code)
            raise


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="sheets-ai")
def main() -> None:
    """Run AI tasks over a spreadsheet column: batched, checked row by row, cost-capped, never losing work."""


@main.command("run", epilog=RUN_EXAMPLE)
@_selection_options
@click.option("--max-cost", type=float, help="Stop before a request that would push the cost past USD.")
@click.option(
    "--monthly-budget",
    type=float,
    metavar="USD",
    help="Stop before this calendar month's spend (UTC), kept in a ledger every run shares, passes USD.",
)
@click.option(
    "--output-file", type=click.Path(dir_okay=False), help="Write the results to this file instead."
)
@click.option(
    "--dry-run", is_flag=True, default=None, help="Read and plan; show what would happen; write nothing."
)
@click.option("--checkpoint-seconds", type=float, help="Save finished rows at least this often (default 30).")
@click.option("--status-column", metavar="COLUMN", help="Also write ok / error: … per row into this column.")
@click.option(
    "--confidence-column", metavar="COLUMN", help="Label tasks: also write each row's confidence (0-1)."
)
@click.option(
    "--review-below",
    type=float,
    metavar="CONFIDENCE",
    help="Label tasks: mark rows below this confidence 'review' and list them in NAME.review.csv "
    "(Google Sheets: highlight their output cells).",
)
@click.option(
    "--review-sheet",
    metavar="NAME",
    help="Google Sheets, with --review-below: list the rows to review in this worksheet.",
)
@click.option("--log-sheet", help="Google Sheets: append one row per run to this worksheet.")
@click.option(
    "--wait", is_flag=True, default=None, help="With --batch-api: poll until the batches finish, then write."
)
def run_command(**params: Any) -> None:
    """Fill the output column with one result per row of the input column."""
    _execute(params)


@main.command("estimate")
@_selection_options
@click.option(
    "--monthly-budget",
    type=float,
    metavar="USD",
    help="Also show this month's spend (UTC) and what is left of USD.",
)
@click.option(
    "--log-sheet", help="Google Sheets, with --monthly-budget: the worksheet that keeps the ledger."
)
def estimate_command(**params: Any) -> None:
    """Show rows, requests, tokens and cost before anything is spent (same options as run).

    \b
    Example:
      sheets-ai estimate examples/reviews.xlsx --task sentiment --input Review --output Sentiment
    """
    _execute(params, dry_run=True)


JOB_EXAMPLE = """\b
Examples (Cloud Run sets CLOUD_RUN_TASK_INDEX / _COUNT / _ATTEMPT; see deploy/README.md):
  SHEETS_AI_SOURCE=<spreadsheet id> SHEETS_AI_INPUT=Review SHEETS_AI_OUTPUT=Sentiment sheets-ai job
  sheets-ai job <spreadsheet id> --task summarize --input Notes --output Summary --log-format json
"""


@main.command("job", epilog=JOB_EXAMPLE)
@functools.partial(_selection_options, source_required=False)
@click.option("--max-cost", type=float, help="Stop before a request that would push the cost past USD.")
@click.option(
    "--monthly-budget",
    type=float,
    metavar="USD",
    help="Stop before this calendar month's spend (UTC), kept in a ledger every run shares, passes USD.",
)
@click.option("--checkpoint-seconds", type=float, help="Save finished rows at least this often (default 30).")
@click.option("--status-column", metavar="COLUMN", help="Also write ok / error: … per row into this column.")
@click.option("--log-sheet", help="Google Sheets: append one row per task to this worksheet.")
def job_command(**params: Any) -> None:
    """Run one Cloud Run task: this task's block of rows, options from SHEETS_AI_* variables and arguments.

    Exit codes: 0 every row of the block done; 1 rows failed or remain (Cloud Run retries the task, and the
    retry resumes); 2 a configuration error (one log line); 130 stopped by SIGTERM after saving.
    """
    _execute(params, job=True)


from .evaluation.command import eval_command  # noqa: E402 - the command body lives in its own module

main.add_command(eval_command)
from .review_cli import apply_review_command  # noqa: E402

main.add_command(apply_review_command)
