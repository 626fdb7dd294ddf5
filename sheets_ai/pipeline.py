"""run(config) -> RunReport: read, plan, batch, call, validate, re-ask, write, checkpoint.

One pass, one direction. The pipeline owns the loop; tables only read and write cells; providers only turn
a batch into answers; tasks only judge one answer.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from .cache import ResultCache, cache_key
from .config import RunConfig
from .errors import Interrupted, SheetsAIError, UsageError
from .planning import PlannedRow, pack_batches, plan_rows, select_rows
from .prompts import PROTOCOL_VERSION
from .providers import get_provider
from .providers.base import BatchAnswer, BatchItem, Provider, Usage
from .report import Failure, RunReport
from .signals import StopSignals
from .tables import open_table
from .tables.base import Table
from .tasks import Task, build_task
from .tokens import count_tokens, truncate_to_tokens

log = logging.getLogger("sheets_ai")
ProgressCallback = Callable[[int, int], None]
PREVIEW_ROWS = 5

# Re-ask levels: the first batch, then only the bad rows together, then one row per request.
FIRST, REASK, SINGLE = 0, 1, 2
SINGLE_TRIES = 2  # one-row requests per row before it is reported failed


@dataclass
class Job:
    rows: list[PlannedRow]
    level: int = FIRST
    feedback: dict[int, str] = field(default_factory=dict)  # row -> why its last answer was rejected
    estimate: Usage | None = None
    tries: int = 1  # requests made at this level for these rows


#: The header a results column without one gets, so a rerun knows the column is the output.
RESULT_HEADERS = {
    "sentiment": "Sentiment",
    "summarize": "Summary",
    "classify": "Category",
    "extract": "Answer",
}


class _Run:
    def __init__(self, config: RunConfig, progress: ProgressCallback | None, table: Table | None) -> None:
        self.config = config
        self.given_table = table
        self.progress = progress
        self.started = time.monotonic()
        self.task: Task = build_task(config)
        self.report = RunReport(task=self.task.name, source=config.source, dry_run=config.dry_run)
        self.usage = Usage()
        self.results: dict[int, str] = {}  # finished, not yet written
        self.statuses: dict[int, str] = {}
        self.originals: dict[int, str] = {}
        self.done = 0
        self.total = 0
        self.cache: ResultCache | None = None
        self.cache_keys: dict[int, str] = {}
        self.inflight_cost = 0.0
        self._budget_left: int | None = None
        self.signals = StopSignals()

    # ---------------------------------------------------------------- the run
    def execute(self) -> RunReport:
        config, report = self.config, self.report
        provider = get_provider(config, notices=report.notices)
        report.provider, report.model = provider.name, provider.model
        try:
            provider.check(self.task)
            table = self.given_table or open_table(config, for_writing=not config.dry_run)
            status = "error"
            try:
                report.output = table.location
                self._with_table(table, provider)
                status = "ok" if report.exit_code == 0 else "partial"
            except Interrupted:
                status = "interrupted"
                raise
            except SheetsAIError as exc:
                status = f"stopped: {exc}"[:200]
                raise
            finally:
                try:
                    self._append_log(table, status)
                finally:
                    table.close()
        finally:
            traffic = provider.traffic()
            report.server_requests = traffic.server_requests
            report.retries, report.rate_limited = traffic.retries, traffic.rate_limited
            provider.close()
            if self.cache is not None:
                self.cache.close()
            report.seconds = time.monotonic() - self.started
        return report

    def _append_log(self, table: Table, status: str) -> None:
        """--log-sheet: one row per run, even a stopped one; a failure here never hides the run's result."""
        if not self.config.log_sheet or self.config.dry_run or not hasattr(table, "append_log"):
            return
        from .tables.gsheets import log_entry

        self.report.seconds = time.monotonic() - self.started
        try:
            table.append_log(self.config.log_sheet, log_entry(self.report, status))
        except SheetsAIError as exc:
            log.warning("Could not append to log sheet %r: %s", self.config.log_sheet, exc)

    def _with_table(self, table: Table, provider: Provider) -> None:
        config, report = self.config, self.report
        assert config.input and config.output
        data = table.read(
            config.input,
            config.output,
            header_row=config.header_row,
            status_column=config.status_column,
            new_header=RESULT_HEADERS.get(self.task.name),
        )
        if data.output_conflict and not config.overwrite:
            raise UsageError(data.output_conflict)
        report.sheet = getattr(table, "sheet_title", None)
        report.notices.extend(n for n in data.notices if n not in report.notices)
        for notice in data.notices:
            log.info("%s", notice)
        selection = select_rows(data.cells, config)
        report.rows_total = len(data.cells)
        report.rows_selected = len(selection.cells)
        report.skipped = selection.skipped
        report.rows_skipped = sum(selection.skipped.values())

        token_limited = provider.counts_tokens or config.max_row_tokens is not None
        max_row_tokens = config.max_row_tokens or provider.default_max_row_tokens(self.task)
        planned = plan_rows(
            selection.cells,
            max_row_tokens=max_row_tokens,
            count=count_tokens if token_limited else None,
            truncate=truncate_to_tokens if token_limited else None,
        )
        report.rows_truncated = sum(1 for p in planned if p.truncated)
        self.originals = {p.row: p.original for p in planned}
        planned = self._use_cache(provider, planned)

        batches = pack_batches(
            planned,
            batch_size=config.batch_size or provider.default_batch_size(self.task),
            max_batch_tokens=config.max_batch_tokens or provider.default_max_batch_tokens(self.task),
        )
        report.batches = len(batches)
        self.total = len(planned) + len(self.results)
        self.done = len(self.results)
        if config.dry_run:
            self._dry_run(provider, batches, planned)
            return
        try:
            self._process(table, provider, batches)
            self._save(table)
        except KeyboardInterrupt:
            self._save(table)
            report.stopped = "interrupted"
            report.rows_remaining = self.total - self.done
            raise Interrupted(
                f"Interrupted; {report.rows_processed} finished rows were saved to {table.location}. "
                "Run the same command again to complete the remaining rows."
            ) from None
        except SheetsAIError as exc:
            self._save(table)
            report.stopped = str(exc)
            report.rows_remaining = self.total - self.done
            raise
        except BaseException:
            self._save(table)
            raise
        report.rows_remaining = self.total - self.done

    # ------------------------------------------------------------- the cache
    def _use_cache(self, provider: Provider, planned: list[PlannedRow]) -> list[PlannedRow]:
        if not (provider.cacheable and self.config.cache):
            return planned
        self.cache = ResultCache(self.config.cache_dir)
        fingerprint = self.task.fingerprint()
        for p in planned:
            self.cache_keys[p.row] = cache_key(
                provider=provider.cache_namespace,
                model=provider.model,
                task_fingerprint=fingerprint,
                protocol=PROTOCOL_VERSION,
                text=p.text,
            )
        hits = self.cache.get_many(self.cache_keys.values())
        remaining = []
        for p in planned:
            raw = hits.get(self.cache_keys[p.row])
            value = self.task.validate(raw)[0] if raw is not None else None
            if value is None:
                remaining.append(p)
            else:
                self.results[p.row] = value
                self.statuses[p.row] = "ok"
                self.report.rows_cached += 1
        return remaining

    # ------------------------------------------------------------- dry run
    def _dry_run(
        self, provider: Provider, batches: list[list[PlannedRow]], planned: list[PlannedRow]
    ) -> None:
        report = self.report
        estimate = Usage()
        for batch in batches:
            estimate.add(provider.estimate(self.task, self._items(batch)))
        report.estimated_cost_usd = round(estimate.cost_usd, 6)
        report.requests = estimate.requests
        report.prompt_tokens = estimate.prompt_tokens
        report.completion_tokens = estimate.completion_tokens
        preview_rows = planned[:PREVIEW_ROWS]
        answers: dict[int, str] = {}
        if preview_rows and not provider.cacheable:  # free and offline: show what rows would become
            answer = provider.run(self.task, self._items(preview_rows))
            for item, p in zip(self._items(preview_rows), preview_rows, strict=True):
                value, _ = self.task.validate(answer.answers.get(item.id))
                if value is not None:
                    answers[p.row] = value
        for p in preview_rows:
            entry: dict[str, Any] = {"row": p.row, "input": p.original[:200]}
            if p.row in answers:
                entry["result"] = answers[p.row]
            report.preview.append(entry)

    # ------------------------------------------------------------- main loop
    @staticmethod
    def _items(rows: list[PlannedRow]) -> list[BatchItem]:
        return [BatchItem(id=str(i), row=p.row, text=p.text) for i, p in enumerate(rows, start=1)]

    def _process(self, table: Table, provider: Provider, batches: list[list[PlannedRow]]) -> None:
        config = self.config
        queue: deque[Job] = deque(Job(rows=b) for b in batches)
        workers = max(1, min(config.concurrency, provider.max_concurrency))
        pending: dict[Future[BatchAnswer], Job] = {}
        last_save = time.monotonic()
        self._tick()
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sheets-ai")
        try:
            stop_error: BaseException | None = None
            while queue or pending:
                while queue and len(pending) < workers and stop_error is None:
                    job = queue.popleft()
                    if not self._within_budget(provider, job):
                        queue.appendleft(job)
                        self._budget_left = sum(len(j.rows) for j in queue)
                        queue.clear()
                        break
                    items = self._items(job.rows)
                    feedback = {item.id: job.feedback[item.row] for item in items if item.row in job.feedback}
                    pending[executor.submit(provider.run, self.task, items, feedback or None)] = job
                if not pending:
                    break
                finished, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    job = pending.pop(future)
                    if job.estimate is not None:
                        self.inflight_cost -= job.estimate.cost_usd
                    try:
                        answer = future.result()
                    except SheetsAIError as exc:
                        # Stop sending, but keep what the requests already in flight bring back (and paid for).
                        if stop_error is None:
                            stop_error = exc
                            queue.clear()
                        continue
                    follow_up = self._handle(job, answer)
                    if stop_error is None:
                        queue.extendleft(reversed(follow_up))
                    self._tick()
                if time.monotonic() - last_save >= config.checkpoint_seconds:
                    self._save(table)
                    last_save = time.monotonic()
            if stop_error is not None:
                raise stop_error
            if self._budget_left is not None:
                self.report.stopped = (
                    f"budget: the next request would take the cost past --max-cost ${self.config.max_cost:.4f} "
                    f"(spent ${self.usage.cost_usd:.4f}); {self._budget_left} rows not sent. "
                    "Raise --max-cost and run again to continue."
                )
        finally:
            executor.shutdown(wait=False, cancel_futures=True)

    def _within_budget(self, provider: Provider, job: Job) -> bool:
        if self.config.max_cost is None:
            return True
        job.estimate = provider.estimate(self.task, self._items(job.rows))
        projected = self.usage.cost_usd + self.inflight_cost + job.estimate.cost_usd
        if projected > self.config.max_cost:
            return False
        self.inflight_cost += job.estimate.cost_usd
        return True

    def _handle(self, job: Job, answer: BatchAnswer) -> list[Job]:
        """Record good answers; return follow-up jobs for rows that must be asked again."""
        self.usage.add(answer.usage)
        rows = job.rows
        if answer.truncated and len(rows) > 1:
            half = len(rows) // 2
            return [Job(rows[:half], job.level), Job(rows[half:], job.level)]
        if answer.refusal is not None and len(rows) > 1:
            return [Job([p], SINGLE) for p in rows]
        bad: dict[int, str] = {}
        fresh_cache: dict[str, str] = {}
        for item, p in zip(self._items(rows), rows, strict=True):
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
                value, problem = self.task.validate(raw)
                if value is not None:
                    self.results[p.row] = value
                    self.statuses[p.row] = "ok"
                    self.done += 1
                    if self.cache is not None and isinstance(raw, str):
                        fresh_cache[self.cache_keys[p.row]] = raw.strip()
                    continue
            bad[p.row] = problem or "invalid answer"
        if self.cache is not None and fresh_cache:
            self.cache.put_many(fresh_cache)
        if not bad:
            return []
        retry = [p for p in rows if p.row in bad]
        if answer.refusal is not None or (job.level == SINGLE and job.tries >= SINGLE_TRIES):
            for p in retry:
                self._fail(p.row, bad[p.row])
            return []
        if job.level == SINGLE:  # a garbled or cut-off answer can be bad luck: ask once more on its own
            return [Job([p], SINGLE, {p.row: bad[p.row]}, tries=job.tries + 1) for p in retry]
        if job.level == FIRST and len(retry) > 1:
            if len(retry) < len(rows):
                return [Job(retry, REASK, bad)]
            # Nothing usable came back (e.g. unparseable JSON): ask again in two smaller batches.
            half = len(retry) // 2
            return [Job(retry[:half], REASK, bad), Job(retry[half:], REASK, bad)]
        return [Job([p], SINGLE, {p.row: bad[p.row]}) for p in retry]

    def _fail(self, row: int, reason: str) -> None:
        self.report.failures.append(Failure(row=row, reason=reason))
        self.report.rows_failed += 1
        self.statuses[row] = f"error: {reason}"
        self.done += 1

    def _tick(self) -> None:
        if self.progress is not None:
            self.progress(self.done, self.total)

    def _save(self, table: Table) -> None:
        """Write what is finished and make it durable; a stop signal waits until the save is complete."""
        with self.signals.shield():
            self._write_and_flush(table)

    def _write_and_flush(self, table: Table) -> None:
        report = self.report
        results, statuses = self.results, self.statuses
        self.results, self.statuses = {}, {}
        if results or statuses:
            expected = {row: self.originals.get(row, "") for row in results}
            outcome = table.write(results, expected, statuses if self.config.status_column else None)
            report.rows_processed += len(outcome.written)
            report.rows_changed += len(outcome.changed)
        table.flush()
        report.output = table.location  # a save may have gone beside a file someone else changed
        for notice in getattr(table, "notices", []):
            if notice not in report.notices:
                report.notices.append(notice)
        report.requests = self.usage.requests
        report.prompt_tokens = self.usage.prompt_tokens
        report.completion_tokens = self.usage.completion_tokens
        report.cached_tokens = self.usage.cached_tokens
        report.cost_usd = self.usage.cost_usd
        report.failures.sort(key=lambda f: f.row)


def run(
    config: RunConfig, *, progress: ProgressCallback | None = None, table: Table | None = None
) -> RunReport:
    """Run one task over one column and return the report.

    Raises :class:`~sheets_ai.errors.SheetsAIError` for problems a user can fix; finished rows are always
    saved first. The partial report is attached to the exception as ``exc.report``. ``table`` replaces the
    table ``config.source`` names (the Python API passes an in-memory one).
    """
    state = _Run(config, progress, table)
    try:
        with state.signals:
            try:
                return state.execute()
            except KeyboardInterrupt:  # before any row was finished, or after the last save
                report = state.report
                saved = (
                    f"{report.rows_processed} finished rows were saved"
                    if report.rows_processed
                    else ("nothing was changed")
                )
                report.stopped = "interrupted"
                raise Interrupted(f"Interrupted; {saved}. Run the same command again to continue.") from None
    except SheetsAIError as exc:
        state.report.seconds = time.monotonic() - state.started
        exc.report = state.report  # type: ignore[attr-defined]
        raise
