"""Corrections teach the next run: ``apply-review`` and the worked examples (few-shot) they become.

``sheets-ai apply-review SOURCE --input COL --output COL`` reads the review list of SOURCE
(``NAME.review.csv``, :mod:`sheets_ai.review`; ``--review-file`` for another) and, for every row whose
``Correct answer`` a person filled in, writes that answer into the output column (status ``reviewed`` when
``--status-column`` is given) — only where the row's input is still the text that was reviewed; a row that
changed since is counted and left alone. The (input, corrected answer) pairs are kept in
``NAME.examples.csv`` beside the source.

Google Sheets: ``apply-review SPREADSHEET --review-sheet NAME`` reads the corrections from that worksheet (see
:mod:`sheets_ai.tables._gsheets_review`), clears the corrected rows' highlight, and keeps the pairs in the
cache folder, ``<cache>/examples/<spreadsheet id>.examples.csv`` (``--cache-dir``; a spreadsheet is not a
place to keep files, and a worksheet of them would be one more thing for its owners to trip over).

Worked examples: ``--examples PATH`` (a CSV whose ``Input`` and ``Answer`` columns — else its first two —
hold a text and its right answer), and by default ``NAME.examples.csv`` beside the source when it exists
(``--examples none`` turns that off), go into the system prompt as its stable prefix, so prompt caching
applies once it is long enough; they are part of the cache key and counted by ``estimate``.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import RunConfig
from .errors import UsageError
from .review import read_review, review_path

MAX_EXAMPLES = 50
MAX_EXAMPLE_CHARS = 500
EXAMPLES_HEADER = ["Input", "Answer"]
FILE_SUFFIXES = (".xlsx", ".xlsm", ".csv", ".tsv", ".txt")


def examples_path(source: str, cache_dir: Path | None = None) -> Path | None:
    """``NAME.examples.csv`` beside a file source; for a Google Sheet ``<cache>/examples/<id>.examples.csv``;
    None for in-memory runs."""
    from .tables import is_google_sheet

    if source and not source.startswith("<") and is_google_sheet(source):
        from .cache import default_cache_dir
        from .tables._sheet_url import parse_source

        spreadsheet_id, _ = parse_source(source)
        return (cache_dir or default_cache_dir()) / "examples" / f"{spreadsheet_id}.examples.csv"
    path = Path(source) if source else None
    if path is None or path.suffix.lower() not in FILE_SUFFIXES or source.startswith(("http://", "https://")):
        return None
    return path.with_name(f"{path.stem}.examples.csv")


def read_examples(path: Path) -> list[tuple[str, str]]:
    """(input, answer) pairs from a CSV: its Input/Answer columns, else the first two; blanks skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"--examples {str(path)!r} not found.") from None
    except (OSError, UnicodeDecodeError):
        raise UsageError(f"--examples {str(path)!r} cannot be read as UTF-8 CSV; save it as UTF-8.") from None
    lines = [line for line in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in line)]
    if not lines:
        return []
    head = [c.strip().casefold() for c in lines[0]]
    if "input" in head and "answer" in head:
        i, a = head.index("input"), head.index("answer")
        body = lines[1:]
    else:
        i, a = 0, 1
        body = lines[1:] if head[:2] == ["text", "label"] else lines
    pairs = [(line[i].strip(), line[a].strip()) for line in body if len(line) > max(i, a)]
    return [(t[:MAX_EXAMPLE_CHARS], ans) for t, ans in pairs if t and ans][-MAX_EXAMPLES:]


def run_examples(config: RunConfig) -> list[tuple[str, str]]:
    """The worked examples of a run: --examples, else the source's NAME.examples.csv if it exists."""
    if config.examples is not None:
        if config.examples.strip().casefold() == "none":
            return []
        return read_examples(Path(config.examples))
    default = examples_path(config.source, config.cache_dir)
    return read_examples(default) if default is not None and default.is_file() else []


def _save_examples(path: Path, pairs: dict[str, str]) -> None:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(EXAMPLES_HEADER)
    writer.writerows(pairs.items())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
        fh.write(buf.getvalue())
    os.replace(tmp, path)


@dataclass
class Applied:
    review_file: str = ""
    examples_file: str | None = None
    rows_corrected: int = 0
    rows_unchanged: int = 0  # listed, but nobody filled in a correct answer
    rows_changed: list[int] = field(default_factory=list)  # the input is no longer what was reviewed

    def to_dict(self) -> dict[str, Any]:
        return {
            "review_file": self.review_file,
            "examples_file": self.examples_file,
            "rows_corrected": self.rows_corrected,
            "rows_unchanged": self.rows_unchanged,
            "rows_changed": self.rows_changed,
        }


def _entries(
    table: Any, review_file: str | Path | None, review_sheet: str | None
) -> tuple[str, list[list[str]]]:
    """Where the review list is and its rows: the --review-sheet worksheet (Google Sheets) or the CSV."""
    if review_sheet:
        if not hasattr(table, "review"):
            raise UsageError(
                "--review-sheet is for Google Sheets; for a file, leave it out (NAME.review.csv)."
            )
        sheet = table.review(review_sheet)
        if sheet.worksheet_title() is None:
            raise UsageError(
                f"No worksheet {review_sheet!r}: run with --review-below and --review-sheet {review_sheet!r} first."
            )
        return review_sheet, sheet.read_list()
    path = Path(review_file) if review_file else review_path(table.location)
    if path is None or not path.is_file():
        hint = " (Google Sheets: give --review-sheet NAME)" if hasattr(table, "review") else ""
        raise UsageError(
            f"No review list {str(path) if path else ''!r}: run with --review-below first, or give "
            f"--review-file{hint}."
        )
    return str(path), read_review(path)


def apply_review(
    config: RunConfig, review_file: str | Path | None = None, review_sheet: str | None = None
) -> Applied:
    """Write the corrected answers of the review list into the output column; keep them as examples."""
    from .tables import open_table

    assert config.input and config.output
    table = open_table(config, for_writing=True)
    try:
        where, entries = _entries(table, review_file, review_sheet)
        out = Applied(review_file=where)
        data = table.read(
            config.input, config.output, header_row=config.header_row, status_column=config.status_column
        )
        texts = {cell.row: cell.text for cell in data.cells}
        results: dict[int, str] = {}
        inputs: dict[int, str] = {}
        for entry in entries:
            if not entry[0].isdigit():
                continue
            row, text, correct = int(entry[0]), entry[1], entry[4].strip()
            if not correct:
                out.rows_unchanged += 1
            elif texts.get(row) != text:
                out.rows_changed.append(row)
            else:
                results[row], inputs[row] = correct, text
        if results:
            statuses = dict.fromkeys(results, "reviewed") if config.status_column else None
            outcome = table.write(results, inputs, statuses)
            table.flush()
            out.rows_corrected = len(outcome.written)
            out.rows_changed += outcome.changed
            if hasattr(table, "review"):
                table.review().highlight((), outcome.written)
            keep = examples_path(config.source, config.cache_dir)
            if keep is not None:
                known = dict(read_examples(keep)) if keep.is_file() else {}
                known.update({inputs[row]: results[row] for row in outcome.written})
                _save_examples(keep, known)
                out.examples_file = str(keep)
        return out
    finally:
        table.close()
