"""The re-ask policy: what to do with each row of an answered (or rejected) batch.

A row whose answer is valid is done. Bad rows are asked again: first together in a smaller batch
(REASK, with the reason their answer was rejected), then one row per request (SINGLE, twice), then they
fail. A cut-off answer splits its batch in two; a refusal — the model's, or a 400 about the content such as
``invalid_prompt`` or ``context_length_exceeded`` — splits the batch until the row that causes it is alone,
and only that row fails. Everything here is decided from the answer alone: no I/O, no state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .planning import PlannedRow
from .providers.base import BatchAnswer, BatchItem
from .tasks import Task

# Re-ask levels: the first batch, then only the bad rows together, then one row per request.
FIRST, REASK, SINGLE = 0, 1, 2
SINGLE_TRIES = 2  # one-row requests per row before it is reported failed


@dataclass
class Job:
    rows: list[PlannedRow]
    level: int = FIRST
    feedback: dict[int, str] = field(default_factory=dict)  # row -> why its last answer was rejected
    tries: int = 1  # requests made at this level for these rows


@dataclass
class Verdict:
    done: dict[int, tuple[str, object]] = field(default_factory=dict)  # row -> (value, raw answer)
    confidence: dict[int, float] = field(default_factory=dict)  # row -> confidence, where the answer had one
    failed: dict[int, str] = field(default_factory=dict)  # row -> reason
    follow_up: list[Job] = field(default_factory=list)
    #: Set when no row was done and every row's answer was bad for this one reason (the request "failed
    #: alike"; the circuit breaker in :mod:`sheets_ai.breaker` counts these). Refusals are row-specific.
    alike: str | None = None


def items_for(rows: Sequence[PlannedRow]) -> list[BatchItem]:
    """The rows of a request with their short ids (1, 2, 3 …)."""
    return [BatchItem(id=str(i), row=p.row, text=p.text) for i, p in enumerate(rows, start=1)]


def _halves(job: Job, level: int) -> list[Job]:
    half = len(job.rows) // 2
    return [Job(job.rows[:half], level), Job(job.rows[half:], level)]


def judge(task: Task, job: Job, answer: BatchAnswer) -> Verdict:
    """Valid rows are done; the rest are asked again or fail, following the policy above."""
    rows = job.rows
    if answer.truncated and len(rows) > 1:
        return Verdict(follow_up=_halves(job, job.level))
    if answer.refusal is not None and len(rows) > 1:
        return Verdict(follow_up=[Job([p], SINGLE) for p in rows])
    verdict = Verdict()
    bad: dict[int, str] = {}
    for item, p in zip(items_for(rows), rows, strict=True):
        if answer.truncated:
            bad[p.row] = "the answer was cut off by the output token limit"
            continue
        if answer.refusal is not None:
            bad[p.row] = f"the model refused: {answer.refusal}"
            continue
        problem = answer.problems.get(item.id)
        raw = answer.answers.get(item.id)
        if problem is None and raw is None:
            problem = "no answer for this row"
        if problem is None:
            value, problem = task.validate(raw)
            if value is not None:
                verdict.done[p.row] = (value, raw)
                if item.id in answer.confidences:
                    verdict.confidence[p.row] = answer.confidences[item.id]
                continue
        bad[p.row] = problem or "invalid answer"
    if not bad:
        return verdict
    if not verdict.done and answer.refusal is None and len(set(bad.values())) == 1:
        verdict.alike = next(iter(bad.values()))
    retry = [p for p in rows if p.row in bad]
    if answer.refusal is not None or (job.level == SINGLE and job.tries >= SINGLE_TRIES):
        verdict.failed.update(bad)
    elif job.level == SINGLE:  # a garbled or cut-off answer can be bad luck: ask once more on its own
        verdict.follow_up = [Job([p], SINGLE, {p.row: bad[p.row]}, tries=job.tries + 1) for p in retry]
    elif job.level == FIRST and len(retry) > 1:
        if len(retry) < len(rows):
            verdict.follow_up = [Job(retry, REASK, bad)]
        else:  # nothing usable came back (e.g. unparseable JSON): ask again in two smaller batches
            half = len(retry) // 2
            verdict.follow_up = [Job(retry[:half], REASK, bad), Job(retry[half:], REASK, bad)]
    else:
        verdict.follow_up = [Job([p], SINGLE, {p.row: bad[p.row]}) for p in retry]
    return verdict


def rejected(job: Job, reason: str) -> Verdict:
    """The server refused the request because of its content: find the row by halving the batch."""
    if len(job.rows) > 1:
        return Verdict(follow_up=_halves(job, job.level))
    return Verdict(failed={job.rows[0].row: reason})
