"""The ``sheets-ai apply-review`` command: the review list's corrections -> the output column."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .errors import SheetsAIError

EXAMPLE = """\b
Example:
  sheets-ai run reviews.xlsx --input Review --output Sentiment --status-column Status --review-below 0.8
  # fill in "Correct answer" in reviews.review.csv, then:
  sheets-ai apply-review reviews.xlsx --input Review --output Sentiment --status-column Status
  # Google Sheets: run with --review-sheet Review, fill in that worksheet, then:
  sheets-ai apply-review SPREADSHEET_URL --review-sheet Review --input Review --output Sentiment
"""


@click.command("apply-review", epilog=EXAMPLE)
@click.argument("source")
@click.option("--input", "input_", required=True, metavar="COLUMN", help="The input column (as in the run).")
@click.option("--output", required=True, metavar="COLUMN", help="The output column to correct.")
@click.option("--status-column", metavar="COLUMN", help="Mark corrected rows 'reviewed' in this column.")
@click.option(
    "--review-file", type=click.Path(dir_okay=False), help="The review list (default: NAME.review.csv)."
)
@click.option(
    "--review-sheet", metavar="NAME", help="Google Sheets: the worksheet the rows to review are listed in."
)
@click.option("--sheet", help="Worksheet name.")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Google Sheets: where examples are kept.")
@click.option("--header-row", type=int, help="Row number of the header row (default 1).")
@click.option("--credentials", type=click.Path(dir_okay=False), help="Google service-account key file.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def apply_review_command(**params: Any) -> None:
    """Write the corrected answers from the review list into the output column and keep them as examples."""
    from .config import build_config
    from .corrections import apply_review

    as_json = bool(params.pop("as_json"))
    review_file = params.pop("review_file")
    review_sheet = params.pop("review_sheet")
    explicit = {("input" if k == "input_" else k): v for k, v in params.items() if v is not None}
    try:
        config = build_config(explicit)
        applied = apply_review(config, review_file, review_sheet)
    except SheetsAIError as exc:
        if as_json:
            click.echo(json.dumps({"error": str(exc), "exit_code": exc.exit_code}, ensure_ascii=False))
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    if as_json:
        click.echo(json.dumps(applied.to_dict(), ensure_ascii=False))
    else:
        click.echo(
            f"Corrected {applied.rows_corrected} rows from {applied.review_file}"
            + (f"; kept as examples in {applied.examples_file}" if applied.examples_file else "")
            + (
                f"; {applied.rows_unchanged} listed rows have no correct answer yet"
                if applied.rows_unchanged
                else ""
            )
            + (
                f"; {len(applied.rows_changed)} rows changed since the review and were left alone"
                if applied.rows_changed
                else ""
            )
        )
    sys.exit(1 if applied.rows_changed else 0)
