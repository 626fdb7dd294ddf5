"""run(config) -> RunReport: read, plan, batch, call, validate, re-ask, write, checkpoint.

One pass, one direction. The pipeline owns the loop; tables only read and write cells; providers only turn
a batch into answers; tasks only judge one answer.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import partial

from . import batch_api
from .breaker import Breaker
from .budget import Budget
from .cache import AnswerStore, ResultCache, cache_key
from .confidence import ConfidenceBook
from .config import RunConfig
from .dedup import group_duplicates, normalize
from .dry_run import dry_run
from .errors import ContentRejectedError, Interrupted, SheetsAIError, UsageError
from .keys import remember_run_secrets
from .planning import PlannedRow, pack_batches, plan_for, select_rows
from .prompt_cache import cache_savings
from .prompts import PROTOCOL_VERSION
from .providers import get_provider
from .providers.base import BatchAnswer, Provider, Usage
from .reask import Job, Verdict, items_for, judge, rejected
from .redact import install_log_filter, redact_exception, scrub
from .report import Failure, RunReport
from .signals import StopSignals
from .tables import open_table
from .tables.base import Table
from .task_set import is_multi_task
from .tasks import Task, build_task

log = logging.getLogger("sheets_ai")
ProgressCallback = Callable[[int, int], None]

#: The header a results column without one gets, so a rerun knows the column is the output.
RESULT_HEADERS = {
    "sentiment": "Sentiment",
    "summarize": "Summary",
    "classify": "Category",
    "extract": "Answer",
}


def answer_key(provider: Provider, task: Task, text: str) -> str:
    """The result-cache key of one row's answer: rows that dedup treats as one share one entry."""
    return cache_key(
        provider=provider.cache_namespace,
        model=provider.model,
        task_fingerprint=task.fingerprint(),
        protocol=PROTOCOL_VERSION,
        text=normalize(text),
    )


class _Run:
    def __init__(
        self,
        config: RunConfig,
        progress: ProgressCallback | None,
        table: Table | None,
        cache: AnswerStore | None = None,
        ask: bool = True,  # False: only what the cache answers is written (run_one)
    ) -> None:
        self.config = config
        self.given_table, self.given_cache, self.ask = table, cache, ask
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
        self.cache: AnswerStore | None = None
        self.cache_keys: dict[int, str] = {}
        self.copies: dict[int, list[int]] = {}  # sent row -> rows with the same input (sheets_ai.dedup)
        self.budget = Budget(config.max_cost)
        self.breaker = Breaker()
        self._budget_left: int | None = None
        self.signals = StopSignals()
        self.confidence = ConfidenceBook.for_run(config.confidence_column, self.task, config.review_below)

    # ---------------------------------------------------------------- the run
    def execute(self) -> RunReport:
        config, report = self.config, self.report
        provider = get_provider(config, notices=report.notices)
        report.provider, report.model = provider.name, provider.model
        report.reasoning_effort = getattr(provider, "reasoning_effort", None)
        try:
            self.task = self.confidence.adopt(provider, self.task)  # a self-reported one if need be
            provider.check(self.task)
            table = self.given_table or open_table(config, for_writing=not config.dry_run)
            status = "error"
            try:
                report.output = table.location
                self.confidence.place_review(table, config.review_sheet)
                self._with_table(table, provider)
                status = "ok" if report.exit_code == 0 else "partial"
            except Interrupted:
                status = "interrupted"
                raise
            except SheetsAIError as exc:
                status = f"stopped: {scrub(str(exc))}"[:200]  # scrubbed before the cut
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
        self.report.seconds = time.monotonic() - self.started
        if self.budget.settle_month(self.report, status):  # on Sheets the ledger's cost entry is the log row
            return
        if not self.config.log_sheet or self.config.dry_run or not hasattr(table, "append_log"):
            return
        from .tables.gsheets import log_entry

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
            **({"confidence_column": config.confidence_column} if config.confidence_column else {}),
        )
        if data.output_conflict and not config.overwrite:
            raise UsageError(data.output_conflict)
        fixed = [*self.task.fixed_outputs(), *(("ok", "error: ") if config.status_column else ())]
        if (problem := table.unstorable(fixed)) is not None:  # e.g. Japanese labels for a cp1252 CSV
            raise UsageError(problem)
        report.sheet = getattr(table, "sheet_title", None)
        report.notices.extend(n for n in data.notices if n not in report.notices)
        for notice in data.notices:
            log.info("%s", notice)
        selection = select_rows(data.cells, config)
        report.rows_total = len(data.cells)
        report.rows_selected = len(selection.cells)
        report.skipped = selection.skipped
        report.rows_skipped = sum(selection.skipped.values())

        planned = plan_for(selection.cells, config, provider, self.task)
        report.rows_truncated = sum(1 for p in planned if p.truncated)
        self.originals = {p.row: p.original for p in planned}
        groups = group_duplicates(planned)
        self.copies = groups.copies
        report.rows_deduplicated = groups.deduplicated
        every_row, planned = planned, self._use_cache(provider, groups.leaders)
        report.rows_isolated = sum(1 for p in planned if p.isolated)

        self._pack = partial(
            pack_batches,
            batch_size=config.batch_size or provider.default_batch_size(self.task),
            max_batch_tokens=config.max_batch_tokens or provider.default_max_batch_tokens(self.task),
        )
        batches = self._pack(planned)
        report.batches = len(batches)
        self.total, self.done = len(every_row), len(self.results)
        if config.dry_run:
            unsent = [p for p in every_row if p.row not in self.results]
            without = self._pack(unsent) if groups.deduplicated else None  # each duplicate sent too
            dry_run(report, self.task, provider, batches, planned, without_dedup=without)
            report.month = self.budget.show_month(config, provider, table, self.task, batches)
            return
        try:
            self.budget.claim_month(config, provider, table, self.task, batches)  # --monthly-budget, once
            (batch_api.process if config.batch_api else _Run._process)(self, table, provider, batches)
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
        if self.given_cache is None and not (provider.cacheable and self.config.cache):
            return planned
        self.cache = self.given_cache or ResultCache(self.config.cache_dir)
        for p in planned:
            self.cache_keys[p.row] = answer_key(provider, self.task, p.text)
        hits = self.cache.get_entries(self.cache_keys.values())
        remaining = []
        for p in planned:
            raw, confidence = hits.get(self.cache_keys[p.row], (None, None))
            value = self.task.validate(raw)[0] if raw is not None else None
            if value is None:
                remaining.append(p)
                continue
            for row in (p.row, *self.copies.get(p.row, ())):
                self.results[row] = value
                self.confidence.add(row, confidence)
                self.statuses[row] = self.confidence.status(row)
                self.report.rows_cached += 1
        return remaining if self.ask else []  # ask=False: write what the cache answers, send nothing

    # ------------------------------------------------------------- main loop
    def _process(self, table: Table, provider: Provider, batches: Sequence[list[PlannedRow] | Job]) -> None:
        config = self.config
        queue: deque[Job] = deque(b if isinstance(b, Job) else Job(rows=b) for b in batches)
        workers = max(1, min(config.concurrency, provider.max_concurrency))
        pending: dict[Future[BatchAnswer], tuple[Job, Usage]] = {}
        last_save = time.monotonic()
        self._tick()
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sheets-ai")
        try:
            stop_error: BaseException | None = None
            while queue or pending:
                while queue and len(pending) < workers and stop_error is None:
                    job = queue.popleft()
                    items = items_for(job.rows)
                    worst = provider.worst_case(self.task, items)  # reserved, and charged if no usage comes
                    if not self.budget.reserve(worst):
                        queue.appendleft(job)
                        self._budget_left = sum(
                            len(self.copies.get(r.row, ())) + 1 for j in queue for r in j.rows
                        )
                        queue.clear()
                        break
                    feedback = {item.id: job.feedback[item.row] for item in items if item.row in job.feedback}
                    pending[executor.submit(provider.run, self.task, items, feedback or None)] = (job, worst)
                if not pending:
                    break
                finished, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    job, worst = pending.pop(future)
                    try:
                        answer = future.result()
                    except ContentRejectedError as exc:  # one row's content: narrow it down, fail only it
                        self.budget.release(worst)
                        follow_up = self._record(rejected(job, str(exc)))
                    except SheetsAIError as exc:
                        # Stop sending, but keep what the requests already in flight bring back (and paid for).
                        self.budget.release(worst)
                        if stop_error is None:
                            stop_error = exc
                            queue.clear()
                        continue
                    else:
                        answer.usage = self.budget.settle(worst, answer.usage)
                        self.usage.add(answer.usage)
                        verdict = judge(self.task, job, answer)
                        follow_up = self._record(verdict)
                        if (tripped := self.breaker.observe(verdict)) is not None and stop_error is None:
                            stop_error = tripped  # requests keep failing alike: stop, do not go row by row
                            queue.clear()
                    if stop_error is None:
                        queue.extendleft(reversed(follow_up))
                    self._tick()
                if time.monotonic() - last_save >= config.checkpoint_seconds:
                    self._save(table)
                    last_save = time.monotonic()
            if stop_error is not None:
                raise stop_error
            if self._budget_left is not None:
                self.report.stopped = self.budget.stop_message(self._budget_left)
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            self.budget.note_unreported(self.report.notices)

    def _record(self, verdict: Verdict) -> list[Job]:
        """Keep the rows a verdict finished or failed; return the jobs that ask again."""
        fresh_cache: dict[str, str] = {}
        for row, (value, raw) in verdict.done.items():
            for same in (row, *self.copies.get(row, ())):  # duplicates take the answer of the row sent
                self.results[same] = value
                self.confidence.add(same, verdict.confidence.get(row))
                self.statuses[same] = self.confidence.status(same)
                self.done += 1
            if self.cache is not None and isinstance(raw, str):
                fresh_cache[self.cache_keys[row]] = raw.strip()
        if self.cache is not None and fresh_cache:
            sure = {self.cache_keys[row]: c for row, c in verdict.confidence.items()}
            self.cache.put_many(fresh_cache, sure)
        for row, reason in verdict.failed.items():
            self._fail(row, reason)
        return verdict.follow_up

    def _fail(self, row: int, reason: str) -> None:
        for same in (row, *self.copies.get(row, ())):  # the request failed for every row with this input
            self.report.failures.append(Failure(row=same, reason=reason))
            self.report.rows_failed += 1
            self.statuses[same] = f"error: {reason}"
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
            confidences = self.confidence.take(results)
            extra = {"confidences": confidences} if confidences is not None else {}
            outcome = table.write(results, expected, statuses if self.config.status_column else None, **extra)
            report.rows_processed += len(outcome.written)
            self.confidence.list_for_review(outcome.written, self.originals, results)
            report.rows_changed += len(outcome.changed)
            for row, reason in outcome.failed.items():  # results the table cannot hold (e.g. its encoding)
                report.failures.append(Failure(row=row, reason=reason))
            report.rows_failed += len(outcome.failed)
        table.flush()
        report.output = table.location  # a save may have gone beside a file someone else changed
        for notice in getattr(table, "notices", []):
            if notice not in report.notices:
                report.notices.append(notice)
        report.requests = self.usage.requests
        report.prompt_tokens = self.usage.prompt_tokens
        report.completion_tokens = self.usage.completion_tokens
        report.cached_tokens = self.usage.cached_tokens
        report.reasoning_tokens = self.usage.reasoning_tokens
        report.cost_usd = self.usage.cost_usd
        report.cached_savings_usd = cache_savings(report.model, report.cached_tokens)
        report.confidence = self.confidence.report()
        report.failures.sort(key=lambda f: f.row)


def run(
    config: RunConfig, *, progress: ProgressCallback | None = None, table: Table | None = None
) -> RunReport:
    """Run the task (or several tasks in one pass, sheets_ai.multitask) over one column and return the report.

    Raises :class:`~sheets_ai.errors.SheetsAIError` for problems a user can fix; finished rows are always
    saved first. The partial report is attached to the exception as ``exc.report``. ``table`` replaces the
    table ``config.source`` names (the Python API passes an in-memory one).

    Secrets (sheets_ai.redact) are scrubbed from the report, the exception and the ``sheets_ai`` log.
    """
    if is_multi_task(config):
        from .multitask import run_tasks

        return run_tasks(config, progress=progress, table=table)
    return run_one(config, progress=progress, table=table)


def run_one(
    config: RunConfig,
    *,
    progress: ProgressCallback | None = None,
    table: Table | None = None,
    cache: AnswerStore | None = None,
    ask: bool = True,
) -> RunReport:
    """:func:`run` for one task. ``cache`` replaces the result cache (sheets_ai.multitask hands its answers
    over in one); ``ask=False`` writes what the cache answers and sends no request."""
    remember_run_secrets(config)
    install_log_filter()
    try:
        state = _Run(config, progress, table, cache, ask)
    except SheetsAIError as exc:
        raise redact_exception(exc) from None
    try:
        with state.signals:
            try:
                return state.execute().redact()
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
        exc.report = state.report.redact()  # type: ignore[attr-defined]
        redact_exception(exc)
        raise
