"""The ``sheets-ai eval`` command: flags -> evaluate() -> table, report files and an exit code."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from ..errors import SheetsAIError, UsageError
from ..redact import SecretFilter, scrub

EXAMPLE = """\b
Examples:
  sheets-ai eval examples/labelled_reviews.csv --input text --gold label --provider local
  sheets-ai eval labelled.xlsx --input Review --gold Expected --models gpt-4.1-mini,gpt-4.1-nano \\
      --batch-sizes 1,20,100 --sample 200 --seed 7 --out eval-report
"""


def _ints(value: str | None) -> list[int] | None:
    if not value:
        return None
    try:
        sizes = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise UsageError(
            f"--batch-sizes {value!r}: give whole numbers separated by commas, e.g. 1,20,100."
        ) from None
    if any(s < 1 or s > 500 for s in sizes):
        raise UsageError("--batch-sizes: each size must be between 1 and 500.")
    return sizes


@click.command("eval", epilog=EXAMPLE)
@click.argument("source")
@click.option("--input", "input_", required=True, metavar="COLUMN", help="The column with the texts.")
@click.option("--gold", required=True, metavar="COLUMN", help="The column with the expected answers.")
@click.option(
    "--task", type=click.Choice(["sentiment", "summarize", "classify", "extract"]), default="sentiment"
)
@click.option("--labels", help="Sentiment renames / classify categories (gold is matched through them).")
@click.option("--prompt", help="Extract: the question.")
@click.option("--instructions", metavar="TEXT", help="A domain role and rules for the model.")
@click.option("--instructions-file", type=click.Path(dir_okay=False), help="The same, from a UTF-8 file.")
@click.option("--examples", metavar="PATH", help="Worked examples: a CSV of Input,Answer.")
@click.option("--max-chars", type=int, help="Summary/extract length limit.")
@click.option("--batch-sizes", metavar="N,N", help="Rows per request to compare, e.g. 1,20,100.")
@click.option("--models", metavar="A,B", help="OpenAI models to compare, e.g. gpt-4.1-mini,gpt-4.1-nano.")
@click.option("--provider", type=click.Choice(["auto", "local", "openai"]))
@click.option("--base-url", help="OpenAI-compatible server URL.")
@click.option("--sample", type=int, help="Use a seeded random sample of N labelled rows.")
@click.option("--seed", type=int, default=0, show_default=True, help="The sample's seed.")
@click.option(
    "--out",
    default="sheets-ai-eval",
    show_default=True,
    help="Folder for report.md, report.json and the charts.",
)
@click.option("--sheet", help="Worksheet name.")
@click.option("--header-row", type=int, help="Row number of the header row (default 1).")
@click.option("--max-cost", type=float, help="Stop a configuration before it spends more than USD.")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Result cache folder.")
@click.option("--no-cache", is_flag=True, default=False, help="Do not read or write the result cache.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="A sheets-ai.toml file.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the table.")
def eval_command(**params: Any) -> None:
    """Measure accuracy, cost and confidence of configurations on labelled rows (the source is not written)."""
    from . import evaluate
    from .report import table_lines

    as_json = bool(params["as_json"])
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("sheets-ai: %(message)s"))
    handler.addFilter(SecretFilter())
    root = logging.getLogger("sheets_ai")
    root.handlers[:] = [handler]
    root.propagate = False
    root.setLevel(logging.DEBUG if params["debug"] else logging.WARNING)
    bar: dict[str, Any] = {}

    def progress(name: str, done: int, total: int) -> None:
        if as_json or not sys.stderr.isatty():
            return
        from tqdm import tqdm

        if bar.get("name") != name:
            if "bar" in bar:
                bar["bar"].close()
            bar.update(name=name, bar=tqdm(total=total, desc=name, unit="row", file=sys.stderr, leave=False))
        bar["bar"].total, bar["bar"].n = total, done
        bar["bar"].refresh()

    options = {
        k: params[k]
        for k in (
            "labels",
            "instructions",
            "instructions_file",
            "examples",
            "prompt",
            "max_chars",
            "provider",
            "base_url",
            "sheet",
            "header_row",
            "max_cost",
            "cache_dir",
        )
        if params[k] is not None
    }
    try:
        if params["no_cache"]:
            if params["cache_dir"]:
                raise UsageError("Cannot use --no-cache with --cache-dir.")
            options["cache"] = False
        models = [m.strip() for m in params["models"].split(",") if m.strip()] if params["models"] else None
        result = evaluate(
            params["source"],
            input=params["input_"],
            gold=params["gold"],
            task=params["task"],
            models=models,
            batch_sizes=_ints(params["batch_sizes"]),
            sample=params["sample"],
            seed=params["seed"],
            out=params["out"],
            progress=progress,
            config_path=params["config_path"],
            **options,
        )
    except SheetsAIError as exc:
        message = scrub(str(exc))
        if as_json:
            click.echo(json.dumps({"error": message, "exit_code": exc.exit_code}, ensure_ascii=False))
        click.echo(f"Error: {message}", err=True)
        sys.exit(exc.exit_code)
    finally:
        if "bar" in bar:
            bar["bar"].close()
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    for line in table_lines(result):
        click.echo(line)
    if not params["quiet"]:
        click.echo(f"Report: {params['out']}/report.md (report.json and PNG charts beside it)")
