"""Human review: rows below ``--review-below`` are marked ``review`` and listed for a person to check.

* The status column (``--status-column``) says ``review`` instead of ``ok`` for a finished row whose
  confidence is below the threshold (rows without a confidence — reasoning models, text tasks — are never
  flagged: there is nothing to compare).
* For files (xlsx, CSV) the rows are also listed in a UTF-8 CSV beside the file written, ``NAME.review.csv``
  (with a byte-order mark, so Excel opens it as UTF-8): sheet row, input, answer, confidence, and empty
  ``Correct answer`` and ``Reviewed by`` columns to fill in. It is rewritten at every save with every row
  flagged so far (a rerun adds the rows it flags to those already listed), atomically.
* Google Sheets (:mod:`sheets_ai.tables._gsheets_review`): the output cells of flagged rows are highlighted
  (cleared when a row is later answered with confidence >= the threshold, or reviewed), and with
  ``--review-sheet NAME`` the rows are listed in that worksheet, with a link to each row.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HEADER = ["Row", "Input", "Answer", "Confidence", "Correct answer", "Reviewed by"]
REVIEW = "review"


def review_path(location: str) -> Path | None:
    """Where the review list of a run writing to ``location`` goes; None for Google Sheets and memory."""
    if location.startswith(("http://", "https://", "<")):
        return None
    path = Path(location)
    return path.with_name(f"{path.stem}.review.csv")


@dataclass
class ReviewList:
    """The flagged rows of a run and their CSV beside the output file."""

    below: float
    path: Path | None = None
    rows: dict[int, list[str]] = field(default_factory=dict)
    #: Google Sheets: a ``SheetReview`` that highlights the rows and lists them in a worksheet.
    sheet: Any = None
    _flagged: set[int] = field(default_factory=set)
    _cleared: set[int] = field(default_factory=set)

    def flags(self, confidence: float | None) -> bool:
        return confidence is not None and confidence < self.below

    def add(self, row: int, text: str, answer: str, confidence: float) -> None:
        self.rows[row] = [str(row), text, answer, f"{confidence:.2f}", "", ""]
        self._flagged.add(row)
        self._cleared.discard(row)

    def clear(self, row: int) -> None:
        """A row written with a confidence at or above the threshold: its highlight (if any) goes."""
        self._cleared.add(row)
        self._flagged.discard(row)

    def save(self) -> None:
        """Write the list (earlier entries for other rows kept, filled-in corrections never overwritten)."""
        if self.sheet is not None:
            flagged, cleared = self._flagged, self._cleared
            self._flagged, self._cleared = set(), set()
            if flagged or cleared:
                self.sheet.highlight(flagged, cleared)
            self.sheet.save_list({row: self.rows[row] for row in flagged})
        if self.path is None or not self.rows:
            return
        merged = {int(r[0]): r for r in read_review(self.path) if r and r[0].isdigit()}
        for row, entry in self.rows.items():
            old = merged.get(row)
            merged[row] = entry if old is None or not any(old[4:6]) else old
        buf = io.StringIO(newline="")
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows(merged[row] for row in sorted(merged))
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
            fh.write(buf.getvalue())
        os.replace(tmp, self.path)


def read_review(path: Path) -> list[list[str]]:
    """The data rows of a review CSV (padded to the header's width); [] when the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return []
    lines = list(csv.reader(io.StringIO(text, newline="")))
    return [(line + [""] * len(HEADER))[: len(HEADER)] for line in lines[1:]]
