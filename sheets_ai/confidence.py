"""Confidence per row: how sure the answer is, at no extra output tokens.

* **OpenAI (label tasks).** Requests ask for ``logprobs`` (models that take it: the gpt-4o / gpt-4.1 families
  and other non-reasoning chat models). The compact answer ``{"a":"1p2n3u"}`` puts each row's code in its
  own token(s) (o200k splits digits from letters), so a row's confidence is the probability of its code:
  ``exp`` of the sum of the logprobs of the tokens that cover the code's characters. Nothing is added to
  the prompt or the answer, so the protocol costs what it cost.
* **Models without logprobs** (reasoning models: gpt-5, o-series; unknown models on compatible servers):
  only when a confidence is wanted (``--confidence-column``, ``--review-below``, ``eval``), the model
  reports one itself, compactly (:func:`sheets_ai.prompts.rated_answer_line`): ``{"a":"1p92n73u8"}`` —
  each code followed by one digit 0-9, its confidence in tenths. Digit ``d`` is read as ``(d + 0.5) / 10``,
  the middle of its tenth (9 -> 0.95, 7 -> 0.75, 0 -> 0.05; :func:`from_digits`). o200k merges the digit
  with the next id's digits, so it costs well under one output token per row (BENCHMARKS.md). It is the
  model's own word, not a probability: poorly calibrated, mostly 8s and 9s (docs/quality.md). Runs that
  want no confidence send the plain protocol, byte for byte; the variant is part of the task's fingerprint,
  so cached answers of one are never served for the other.
* **Text tasks** (summaries, extraction): no confidence (a summary has no single answer to be sure of).
* **Offline analyzer:** from its scores (:func:`sheets_ai.providers.local_nlp._confidence`).

Confidences are cached with their answers (:mod:`sheets_ai.cache`), reported as a distribution
(:func:`distribution`, with its ``source``: ``logprobs``, ``self-reported`` or ``offline analyzer``) and
written by ``--confidence-column`` as plain values (``0.93``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import UsageError
from .review import REVIEW, ReviewList, review_path
from .tasks import Task

#: Bucket edges of the reported distribution (lower bounds; the last bucket includes 1.0).
BUCKETS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
_LABEL_VALUE = re.compile(r'"a"\s*:\s*"([^"]*)"')
_ID_CODE = re.compile(r"([0-9]+)\s*[:=]?\s*([A-Za-z]+)")


def label_confidences(content: str, tokens: Sequence[tuple[bytes, float]]) -> dict[str, float]:
    """id -> probability of its code, from the answer text and its ``(token bytes, logprob)`` list.

    Empty when the tokens do not spell the answer (nothing can be placed) or there is no ``"a"`` value.
    """
    raw = content.encode()
    if not tokens or b"".join(t for t, _ in tokens) != raw:
        return {}
    match = _LABEL_VALUE.search(content)
    if match is None:
        return {}
    bounds: list[tuple[int, int, float]] = []
    pos = 0
    for token, logprob in tokens:
        bounds.append((pos, pos + len(token), logprob))
        pos += len(token)
    out: dict[str, float] = {}
    base = match.start(1)
    for m in _ID_CODE.finditer(match.group(1)):
        start = len(content[: base + m.start(2)].encode())
        end = len(content[: base + m.end(2)].encode())
        total = sum(lp for s, e, lp in bounds if s < end and start < e)
        out[str(int(m.group(1)))] = round(math.exp(total), 4)
    return out


def from_completion(content: str, choice: Any) -> dict[str, float]:
    """Confidences from a Chat Completions ``choice`` with ``logprobs`` (an SDK object); {} without them."""
    logprobs = getattr(choice, "logprobs", None)
    entries = getattr(logprobs, "content", None) if logprobs is not None else None
    if not entries:
        return {}
    tokens = []
    for entry in entries:
        raw = getattr(entry, "bytes", None)
        token = bytes(raw) if raw is not None else str(getattr(entry, "token", "")).encode()
        tokens.append((token, float(getattr(entry, "logprob", 0.0) or 0.0)))
    return label_confidences(content, tokens)


def from_digits(digits: Mapping[str, int]) -> dict[str, float]:
    """Self-reported confidence digits (id -> 0-9, tenths) as confidences: the middle of each tenth."""
    return {item: round((min(max(d, 0), 9) + 0.5) / 10, 4) for item, d in digits.items()}


def shown(value: float) -> str:
    """How a confidence is written into a cell: two decimals, a plain value (``0.93``)."""
    return f"{value:.2f}"


def bucket_name(value: float) -> str:
    lows = [b for b in BUCKETS if value >= b]
    low = lows[-1] if lows else 0.0
    i = BUCKETS.index(low)
    high = BUCKETS[i + 1] if i + 1 < len(BUCKETS) else 1.0
    return f"{low:.2f}-{high:.2f}"


def distribution(values: Iterable[float], without: int = 0) -> dict[str, Any]:
    """The report's ``confidence``: rows with one, mean, and how many fall in each bucket."""
    vals = list(values)
    buckets = {bucket_name(b): 0 for b in BUCKETS}
    for v in vals:
        buckets[bucket_name(v)] += 1
    return {
        "rows": len(vals),
        "rows_without": without,
        "mean": round(sum(vals) / len(vals), 4) if vals else None,
        "min": round(min(vals), 4) if vals else None,
        "buckets": buckets,
    }


@dataclass
class ConfidenceBook:
    """The run's confidences: every finished row's (for the report), and those not yet written."""

    column: bool = False
    #: False for text tasks (summaries, extraction): no confidence at all, nothing reported.
    applies: bool = True
    values: dict[int, float] = field(default_factory=dict)
    pending: dict[int, str] = field(default_factory=dict)
    without: int = 0

    #: --review-below: rows under it are flagged (status ``review``) and listed.
    review: ReviewList | None = None
    #: Where the confidences come from (``logprobs``, ``self-reported``, ``offline analyzer``; None: nowhere).
    source: str | None = None

    @classmethod
    def for_run(cls, column: str | None, task: Task, review_below: float | None = None) -> ConfidenceBook:
        """The book for a run of ``task``; confidence options on a text task are a usage error."""
        for given, option in ((column, "--confidence-column"), (review_below, "--review-below")):
            if given and not task.is_label_task:
                raise UsageError(
                    f"{option} is for label tasks (sentiment, classify); --task {task.name} gives no "
                    "confidence. Leave the option out."
                )
        review = ReviewList(review_below) if review_below else None
        return cls(column=bool(column), applies=task.is_label_task, review=review)

    def adopt(self, provider: Any, task: Task) -> Task:
        """The task as the provider will send it, asked for a confidence only if one is wanted (a column,
        a review threshold, an eval) and the model has no other way to give one; notes the source."""
        wanted = self.applies and (self.column or self.review is not None)
        task, self.source = provider.confidence_plan(task, wanted)
        return task

    def status(self, row: int) -> str:
        """``review`` for a finished row below --review-below, else ``ok``."""
        flagged = self.review is not None and self.review.flags(self.values.get(row))
        return REVIEW if flagged else "ok"

    def list_for_review(
        self, written: Iterable[int], texts: Mapping[int, str], answers: Mapping[int, str]
    ) -> None:
        """Add the flagged rows among those just written to the review list, and save it."""
        if self.review is None:
            return
        for row in written:
            if self.status(row) == REVIEW:
                self.review.add(row, texts.get(row, ""), answers[row], self.values[row])
            elif row in self.values:
                self.review.clear(row)
        self.review.save()

    def place_review(self, table: Any, sheet_name: str | None = None) -> None:
        """The review list goes beside the file the results are written to; on Google Sheets the rows are
        highlighted and (``sheet_name``) listed in a worksheet (``table.review``)."""
        if sheet_name and self.review is None:
            raise UsageError(
                "--review-sheet lists the rows --review-below flags: add --review-below 0.8 (say)."
            )
        if sheet_name and not hasattr(table, "review"):
            raise UsageError(
                "--review-sheet is for Google Sheets; a file's rows are listed in NAME.review.csv."
            )
        if self.review is None:
            return
        self.review.path = review_path(table.location)
        if hasattr(table, "review"):
            self.review.sheet = table.review(sheet_name)

    def flagged(self) -> int:
        return sum(1 for row in self.values if self.status(row) == REVIEW)

    def add(self, row: int, value: float | None) -> None:
        if not self.applies:
            return
        if value is None:
            self.without += 1
            return
        self.values[row] = value
        if self.column:
            self.pending[row] = shown(value)

    def take(self, rows: Iterable[int]) -> dict[int, str] | None:
        """The confidences to write with these rows' results (None when no column was asked for)."""
        if not self.column:
            return None
        return {row: self.pending.pop(row) for row in rows if row in self.pending}

    def report(self) -> dict[str, Any] | None:
        if not self.values and not self.without:
            return None
        out = {**distribution(self.values.values(), self.without), "source": self.source}
        if self.review is not None:
            out["review_below"] = self.review.below
            out["rows_review"] = self.flagged()
            out["review_file"] = str(self.review.path) if self.review.path else None
            if self.review.sheet is not None and self.review.sheet.sheet_name:
                out["review_sheet"] = self.review.sheet.sheet_name
        return out

    def lookup(self) -> Mapping[int, float]:
        return self.values
