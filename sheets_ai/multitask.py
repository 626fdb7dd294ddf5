"""Several tasks in one pass: ``--task sentiment,summarize --output Sentiment,Summary``.

Each row's text is sent once for all its tasks: one request per batch carries every task's instructions
and asks for every task's answer (the combined protocol in :mod:`sheets_ai.prompts`). The one pipeline
(:func:`sheets_ai.pipeline.run_one`) does all the work, in three steps:

1. **plan** — the table is read once per task, and each task's rows are chosen and planned exactly as that
   task's own run chooses them (``--rows``, ``--limit``, ``--overwrite``, filled output cells, truncation). A
   row is *combined* when two or more tasks need it, none of their answers is cached, and every one of them
   would send the same text (a row cut to one task's token limit goes to each task alone).
2. **ask** — the combined rows (each distinct text once) go through the pipeline with a
   :class:`~sheets_ai.tasks.CompositeTask` over an in-memory table: batching, budget, re-asks and the breaker
   as in any run. Every part of an answer is validated with its own task's rules; each valid part is stored
   under that task's own result-cache key (in memory with ``--no-cache``). A row whose answer is bad for every
   task is asked again with all its tasks (the pipeline's re-ask policy); a part that is bad while another is
   good is not asked again here.
3. **write** — each task's normal run over the real table, in task order. The answers of step 2 come from the
   cache (no request); rows only that task needs, and the parts that failed in step 2, are asked on their own
   as in any run of that task. Each run writes its column with everything the tables already do (the xlsx
   patch writer, CSV, Google Sheets, the in-memory table), and checks inputs that changed meanwhile.

A rerun asks only for what is missing: a row whose Sentiment is filled and whose Summary is empty is asked
for the summary alone. ``--max-cost`` holds for the whole pass (each step gets what the earlier ones left).
The offline analyzer is free and reads each row locally, so it simply runs each task in turn.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .cache import AnswerStore, MemoryCache, ResultCache
from .config import RunConfig
from .dedup import normalize
from .errors import SheetsAIError, UsageError
from .pipeline import RESULT_HEADERS, ProgressCallback, answer_key, run_one
from .planning import PlannedRow, plan_for, select_rows
from .providers import get_provider, openai_key_configured
from .providers.base import Provider
from .report import RunReport
from .tables import is_google_sheet, open_table
from .tables.base import Table, WriteOutcome
from .tables.memory import HEADER_ROW, MemoryTable
from .task_set import part_configs, task_names
from .tasks import Task, build_task

log = logging.getLogger("sheets_ai")

#: Options of a file run that mean nothing for the in-memory table the combined step runs on.
_MEMORY_RUN = {
    "source": "<memory>",
    "input": "input",
    "rows": None,
    "limit": None,
    "overwrite": False,
    "output_file": None,
    "log_sheet": None,
}


#: A combined request that holds a text task carries about this many input tokens of rows (or the text task's
#: row count, if that is more): long rows (a meeting note) go 8 to a request, as in a summaries run, while short
#: rows (a 10-token review) share a request as in a sentiment run, so a short row's second task does not cost
#: a system prompt every 8 rows (BENCHMARKS.md, *Several tasks in one pass*).
COMBINED_TEXT_TOKENS = 1_500


def combined_batch_limits(
    config: RunConfig, provider: Provider, tasks: Sequence[Task], row_tokens: Sequence[int]
) -> dict[str, int]:
    """``batch_size`` and ``max_batch_tokens`` of the combined requests for rows of these token counts
    (``--batch-size`` and ``--max-batch-tokens`` win). Label tasks only: the smallest defaults, as each task
    would use them."""
    sizes = [provider.default_batch_size(t) for t in tasks]
    tokens = min(provider.default_max_batch_tokens(t) for t in tasks)
    size = min(sizes)
    if not all(t.is_label_task for t in tasks) and row_tokens and sum(row_tokens):
        average = max(1, sum(row_tokens) // len(row_tokens))
        size = max(size, min(max(sizes), COMBINED_TEXT_TOKENS // average))
    return {"batch_size": config.batch_size or size, "max_batch_tokens": config.max_batch_tokens or tokens}


@dataclass
class _Plan:
    """What one task needs: its planned rows (sheet row -> row) and each row's cache key."""

    config: RunConfig
    rows: dict[int, PlannedRow] = field(default_factory=dict)
    keys: dict[int, str] = field(default_factory=dict)
    cached: set[int] = field(default_factory=set)  # rows whose answer the cache already holds
    rows_total: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    combined: set[int] = field(default_factory=set)  # rows asked in the combined step


class _SplitTable(MemoryTable):
    """The combined step's table: each finished answer goes to the store, under each task's own key."""

    def __init__(self, texts: Sequence[str], keys: Sequence[Mapping[str, str]], store: AnswerStore) -> None:
        super().__init__(list(texts))
        self.keys, self.store = list(keys), store
        #: (the source's table, its --log-sheet): where --monthly-budget keeps the month (sheets_ai.monthly).
        self.ledger_home: tuple[Table, str | None] | None = None

    def write(
        self,
        results: Mapping[int, str],
        expected_inputs: Mapping[int, str],
        statuses: Mapping[int, str] | None = None,
        *,
        confidences: Mapping[int, str] | None = None,
    ) -> WriteOutcome:
        found: dict[str, str] = {}
        for row, value in results.items():
            keys = self.keys[row - HEADER_ROW - 1]
            for name, raw in json.loads(value).items():
                found[keys[name]] = raw
        self.store.put_many(found)  # durable at each checkpoint when the store is the disk cache
        return super().write(results, expected_inputs, statuses, confidences=confidences)


def run_tasks(
    config: RunConfig, *, progress: ProgressCallback | None = None, table: Table | None = None
) -> RunReport:
    """Run every task of ``config`` over its own output column, asking the rows they share in one request."""
    started = time.monotonic()
    notices: list[str] = []
    if config.provider == "auto":  # decided once, said once
        local = not openai_key_configured(config)
        if local:
            notices.append("No OPENAI_API_KEY set: using the offline analyzer (--provider local).")
            log.info("%s", notices[-1])
        config = config.model_copy(update={"provider": "local" if local else "openai"})
    parts = part_configs(config)
    for part in parts:
        build_task(part)  # each task's own options (--labels, --prompt …) checked before anything is read
    pass_ = _Pass(config, parts, progress, table, notices)
    try:
        pass_.execute()
    except SheetsAIError as exc:
        exc.report = pass_.merged(time.monotonic() - started)  # type: ignore[attr-defined]
        raise
    return pass_.merged(time.monotonic() - started)


class _Pass:
    def __init__(
        self,
        config: RunConfig,
        parts: list[RunConfig],
        progress: ProgressCallback | None,
        table: Table | None,
        notices: list[str],
    ) -> None:
        self.config, self.parts, self.progress, self.table = config, parts, progress, table
        self.notices = notices  # said once for the pass (each run's own notices are added to the report)
        self.names = task_names(config)
        self.combined_reports: list[RunReport] = []
        self.task_reports: dict[str, RunReport] = {}
        self.plans: dict[str, _Plan] = {}
        self.error: SheetsAIError | None = None
        self.combining = False
        self.separately: tuple[int, float] | None = None  # dry runs: (requests, cost) of one run per task

    # ---------------------------------------------------------------- the pass
    def execute(self) -> None:
        provider = get_provider(self.parts[0])
        self.combining = provider.cacheable  # the offline analyzer: each task in turn, nothing to combine
        store: AnswerStore | None = None
        if self.combining:
            store = ResultCache(self.config.cache_dir) if self.config.cache else MemoryCache()
        try:
            self._plan(provider, store)
            if store is not None:
                self._ask(provider, store)
        finally:
            provider.close()
            if isinstance(store, ResultCache):
                store.close()
        if self.config.dry_run:
            self._estimate_rest()
        else:
            self._write(store if isinstance(store, MemoryCache) else None)
        if self.error is not None:
            raise self.error

    def _plan(self, provider: Provider, store: AnswerStore | None) -> None:
        """Read each task's column and plan its rows as its own run will."""
        columns: dict[int, str] = {}
        for name, part in zip(self.names, self.parts, strict=True):
            # A file table reads once (then keeps only the bytes it patches): one read-only open per task.
            source = self.table or open_table(part, for_writing=False)
            try:
                assert part.input and part.output
                data = source.read(
                    part.input, part.output, header_row=part.header_row, new_header=RESULT_HEADERS.get(name)
                )
            finally:
                if self.table is None:
                    source.close()
            if data.output_conflict and not part.overwrite:
                raise UsageError(data.output_conflict)
            if not data.output_header_created and data.output_col in columns:
                raise UsageError(
                    f"--output {self.config.output}: tasks {columns[data.output_col]} and {name} both "
                    f"name column {part.output!r}; each task needs its own output column."
                )
            columns[data.output_col] = name
            task = build_task(part)
            selection = select_rows(data.cells, part)
            plan = _Plan(part, rows_total=len(data.cells), skipped=selection.skipped)
            for p in plan_for(selection.cells, part, provider, task):
                plan.rows[p.row] = p
                if store is not None:
                    plan.keys[p.row] = answer_key(provider, task, p.text)
            hits = store.get_entries(plan.keys.values()) if store is not None else {}
            plan.cached = {row for row, key in plan.keys.items() if key in hits}
            self.plans[name] = plan

    def _groups(self) -> dict[tuple[str, ...], list[int]]:
        """Rows that two or more tasks need, and no task would send differently, by the set of tasks."""
        groups: dict[tuple[str, ...], list[int]] = {}
        every = sorted({row for plan in self.plans.values() for row in plan.rows})
        for row in every:
            needs = tuple(
                n for n in self.names if row in self.plans[n].rows and row not in self.plans[n].cached
            )
            sent = {self.plans[n].rows[row].text for n in needs}
            if len(needs) >= 2 and len(sent) == 1:
                groups.setdefault(needs, []).append(row)
        return groups

    def _ask(self, provider: Provider, store: AnswerStore) -> None:
        """The combined step: each set of tasks over its rows' distinct texts, one request per batch."""
        home = self._ledger_home()
        try:
            self._ask_groups(provider, store, home)
        finally:
            if home is not None and home is not self.table:
                home.close()

    def _ledger_home(self) -> Table | None:
        """--monthly-budget on Google Sheets: the combined step runs on an in-memory table but claims and
        records its spend in the spreadsheet's ledger, which every run of that spreadsheet shares."""
        if self.config.monthly_budget is None or not is_google_sheet(str(self.config.source or "")):
            return None
        return self.table or open_table(self.parts[0], for_writing=not self.config.dry_run)

    def _ask_groups(self, provider: Provider, store: AnswerStore, home: Table | None) -> None:
        for needs, rows in self._groups().items():
            texts: dict[str, str] = {}
            keys: dict[str, dict[str, str]] = {}
            for row in rows:
                text = self.plans[needs[0]].rows[row].text
                same = normalize(text)
                texts.setdefault(same, text)
                keys.setdefault(same, {n: self.plans[n].keys[row] for n in needs})
                for n in needs:
                    self.plans[n].combined.add(row)
            parts = [self.parts[self.names.index(n)] for n in needs]
            tasks = [build_task(p) for p in parts]
            settings = {
                **_MEMORY_RUN,
                "task": ",".join(needs),
                "output": ",".join(str(p.output) for p in parts),
                "max_cost": self._budget_left(),
                **combined_batch_limits(
                    self.config, provider, tasks, [self.plans[needs[0]].rows[r].tokens for r in rows]
                ),
                "max_row_tokens": self.config.max_row_tokens
                or min(provider.default_max_row_tokens(t) for t in tasks),
            }
            split = _SplitTable(list(texts.values()), list(keys.values()), store)
            if home is not None:
                split.ledger_home = (home, self.config.log_sheet)  # sheets_ai.monthly
            self._step(
                None,
                self.config.model_copy(update=settings),
                table=split,
                cache=MemoryCache(),
            )
            if self.error is not None:
                return

    def _write(self, given: MemoryCache | None) -> None:
        """Each task's own run over the real table: combined answers from the cache, the rest asked."""
        first_output: str | None = None
        for name, part in zip(self.names, self.parts, strict=True):
            update: dict[str, Any] = {"max_cost": self._budget_left()}
            if first_output is not None:  # --output-file: the later tasks add their column to that file
                update.update(source=first_output, output_file=None)
            self._step(
                name,
                part.model_copy(update=update),
                table=self.table,
                cache=given,
                ask=self.error is None,
            )
            if part.output_file is not None and first_output is None:
                first_output = str(part.output_file)

    def _estimate_rest(self) -> None:
        """Dry runs: each task's rows that are not combined, estimated over an in-memory table of their texts."""
        for name, part in zip(self.names, self.parts, strict=True):
            plan = self.plans.get(name)
            if plan is None or not self.combining:  # the offline analyzer: each task's own estimate
                self._step(name, part, table=self.table)
                continue
            alone = [p.original for row, p in plan.rows.items() if row not in plan.combined | plan.cached]
            settings = {**_MEMORY_RUN, "output": "output", "max_cost": self._budget_left()}
            if alone:
                self._step(name, part.model_copy(update=settings), table=MemoryTable(alone))
            report = self.task_reports.setdefault(name, RunReport(task=name, dry_run=True))
            report.rows_selected, report.rows_cached = len(plan.rows), len(plan.cached)
        if self.combining and self.error is None:
            self._separately()

    def _separately(self) -> None:
        """Dry runs: what each task would cost run on its own, so the estimate shows what one pass saves
        (or, for very short rows in small batches, does not)."""
        requests, cost = 0, 0.0
        for name, part in zip(self.names, self.parts, strict=True):
            plan = self.plans[name]
            texts = [p.original for row, p in plan.rows.items() if row not in plan.cached]
            if texts:
                settings = {**_MEMORY_RUN, "output": "output", "max_cost": None}
                alone = run_one(part.model_copy(update=settings), table=MemoryTable(texts))
                requests, cost = requests + alone.requests, cost + (alone.estimated_cost_usd or 0.0)
        self.separately = (requests, cost)

    def _step(self, name: str | None, config: RunConfig, **options: Any) -> None:
        """One pipeline run: task ``name``'s own, or (None) a combined one. A stop is kept, and raised after
        the other tasks wrote what they have."""
        try:
            report = run_one(config, progress=self.progress, **options)
        except SheetsAIError as exc:
            report = getattr(exc, "report", None) or RunReport(task=config.task, stopped=str(exc))
            if self.error is None:
                self.error = exc
        if name is None:
            self.combined_reports.append(report)
        else:
            self.task_reports[name] = report

    def _budget_left(self) -> float | None:
        if self.config.max_cost is None:
            return None
        spent = sum(r.cost_usd for r in (*self.combined_reports, *self.task_reports.values()))
        return max(0.0, self.config.max_cost - spent)

    # ---------------------------------------------------------------- the report
    def merged(self, seconds: float) -> RunReport:
        """One report: shared requests, tokens and cost; rows per task in ``tasks``; failures named by task."""
        config = self.config
        report = RunReport(task=config.task, source=config.source, dry_run=config.dry_run, seconds=seconds)
        report.notices.extend(self.notices)
        every = [*self.combined_reports, *self.task_reports.values()]
        for r in every:
            for attr in ("requests", "server_requests", "retries", "rate_limited", "prompt_tokens"):
                setattr(report, attr, getattr(report, attr) + getattr(r, attr))
            report.completion_tokens += r.completion_tokens
            report.cached_tokens += r.cached_tokens
            report.cached_savings_usd += r.cached_savings_usd
            report.reasoning_tokens += r.reasoning_tokens
            report.cost_usd += r.cost_usd
            report.batches += r.batches
            report.notices.extend(n for n in r.notices if n not in report.notices)
            if r.estimated_cost_usd is not None:
                report.estimated_cost_usd = (report.estimated_cost_usd or 0.0) + r.estimated_cost_usd
            if r.estimated_max_cost_usd is not None:
                report.estimated_max_cost_usd = (
                    report.estimated_max_cost_usd or 0.0
                ) + r.estimated_max_cost_usd
            report.provider, report.model = r.provider or report.provider, r.model or report.model
            report.reasoning_effort = r.reasoning_effort or report.reasoning_effort
            report.stopped = report.stopped or r.stopped
        for r in self.task_reports.values():
            report.output, report.sheet = r.output or report.output, r.sheet or report.sheet
        report.requests_combined = sum(r.requests for r in self.combined_reports)
        if self.separately is not None:
            report.requests_separately, report.estimated_cost_separately_usd = self.separately
        every_row = {row for plan in self.plans.values() for row in plan.rows}
        report.rows_selected = len(every_row)
        # rows, like rows_selected: those whose every task is answered from the cache (per task in ``tasks``)
        report.rows_cached = (
            sum(all(row in p.cached for p in self.plans.values() if row in p.rows) for row in every_row)
            if self.combining
            else 0
        )
        skips: list[dict[str, int]] = []
        for name, part in zip(self.names, self.parts, strict=True):
            r = self.task_reports.get(name) or RunReport(task=name, dry_run=config.dry_run)
            plan = self.plans.get(name)
            combined = len(plan.combined) if plan else 0
            cached = len(plan.cached) if plan and self.combining else r.rows_cached
            entry = {
                "task": name,
                "output": part.output,
                "rows_selected": r.rows_selected,
                "rows_written": r.rows_processed,
                "rows_combined": combined,
                "rows_cached": cached,
                "rows_failed": r.rows_failed,
                "requests_alone": r.requests,
            }
            report.tasks.append(entry)
            report.rows_total = max(report.rows_total, plan.rows_total if plan else r.rows_total)
            report.rows_processed = max(report.rows_processed, r.rows_processed)
            report.rows_failed += r.rows_failed
            report.rows_changed += r.rows_changed
            report.rows_remaining += r.rows_remaining
            report.rows_truncated = max(report.rows_truncated, r.rows_truncated)
            report.rows_deduplicated = max(report.rows_deduplicated, r.rows_deduplicated)
            skips.append(plan.skipped if plan else r.skipped)
            report.failures.extend(type(f)(row=f.row, reason=f"{name}: {f.reason}") for f in r.failures)
        # a row counts as skipped when every task skips it (for the same reason)
        report.skipped = {k: n for k in skips[0] if (n := min(s.get(k, 0) for s in skips))}
        report.rows_skipped = sum(report.skipped.values())
        report.failures.sort(key=lambda f: f.row)
        return report.redact()
