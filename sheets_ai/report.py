"""RunReport: what a run did, in numbers a person can check."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .redact import current, scrub_data


def _below(confidence: dict[str, Any], limit: float) -> int:
    """Rows whose confidence falls in a bucket below ``limit`` (bucket names are ``low-high``)."""
    return sum(n for name, n in confidence["buckets"].items() if float(name.split("-")[1]) <= limit)


@dataclass
class Failure:
    row: int
    reason: str


@dataclass
class RunReport:
    task: str = ""
    provider: str = ""
    model: str = ""
    source: str = ""
    sheet: str | None = None
    output: str = ""
    rows_total: int = 0
    rows_selected: int = 0
    rows_processed: int = 0
    rows_skipped: int = 0
    rows_failed: int = 0
    rows_changed: int = 0
    rows_truncated: int = 0
    rows_cached: int = 0
    rows_isolated: int = 0  # sent alone: their text looks like instructions to a model
    #: Rows not sent because an earlier row had the same input (sheets_ai.dedup): they took its answer.
    rows_deduplicated: int = 0
    rows_remaining: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    #: Every HTTP request the provider sent, retries included (what the server counts).
    server_requests: int = 0
    #: Requests sent again after a failure (429, 5xx, timeout): server_requests - requests for a clean run.
    retries: int = 0
    #: Answers of 429 (rate limited).
    rate_limited: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: Prompt tokens OpenAI served from its prompt cache (usage.prompt_tokens_details.cached_tokens).
    cached_tokens: int = 0
    #: What those cached tokens saved against the full input price (sheets_ai.prompt_cache).
    cached_savings_usd: float = 0.0
    #: Part of completion_tokens: what reasoning models spent thinking (billed as output, never shown).
    reasoning_tokens: int = 0
    #: The reasoning_effort sent to the model (None: none sent).
    reasoning_effort: str | None = None
    cost_usd: float = 0.0
    estimated_cost_usd: float | None = None
    #: Dry runs: the cost if every request used its whole completion cap (the most reasoning could add).
    estimated_max_cost_usd: float | None = None
    #: Dry runs with duplicates: the requests and estimated cost if every duplicate row were sent too.
    requests_without_dedup: int | None = None
    estimated_cost_without_dedup_usd: float | None = None
    #: Dry runs (openai): tokens of the stable system prefix, and the most prompt caching could save.
    system_prompt_tokens: int | None = None
    estimated_cache_savings_usd: float | None = None
    #: Dry runs with --monthly-budget: the month so far (sheets_ai.monthly.MonthlyBudget.status).
    month: dict[str, Any] | None = None
    seconds: float = 0.0
    batches: int = 0
    #: --batch-api (sheets_ai.batch_api): batch jobs submitted in this run, still running, and collected.
    batches_submitted: int = 0
    batches_pending: int = 0
    batches_collected: int = 0
    #: --batch-api: rows sent in this run's batches, and rows waiting in running batches (submitted earlier too).
    rows_submitted: int = 0
    rows_pending: int = 0
    failures: list[Failure] = field(default_factory=list)
    stopped: str | None = None
    dry_run: bool = False
    preview: list[dict[str, Any]] = field(default_factory=list)
    #: Label tasks: the distribution of per-row confidence (sheets_ai.confidence.distribution); None otherwise.
    confidence: dict[str, Any] | None = None
    notices: list[str] = field(default_factory=list)
    #: Several tasks in one pass (sheets_ai.multitask): per task its output column and rows (selected,
    #: written, asked in combined requests, from the cache, failed) and the requests it made alone.
    tasks: list[dict[str, Any]] = field(default_factory=list)
    #: Several tasks in one pass: the requests that asked two or more tasks at once (part of ``requests``).
    requests_combined: int | None = None
    #: Dry runs of several tasks: the requests and estimated cost of one run per task instead of one pass.
    requests_separately: int | None = None
    estimated_cost_separately_usd: float | None = None

    @property
    def exit_code(self) -> int:
        """0 when every selected row is done, 1 when some are not (failed, changed, or a stop)."""
        if self.dry_run:
            return 0
        # Rows waiting in running Batch API jobs are not a failure: the next run of the command collects them.
        if self.rows_failed or self.rows_changed or self.rows_remaining > self.rows_pending or self.stopped:
            return 1
        if self.skipped.get("formula_without_value"):  # rows that could not be done: not a success
            return 1
        return 0

    def redact(self) -> RunReport:
        """Scrub secrets (sheets_ai.redact) from every text field in place; returns the report."""
        redactor = current()  # one snapshot of the secrets for the whole report
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str | list | dict):
                setattr(self, f.name, redactor.scrub_data(value))
        for failure in self.failures:
            failure.reason = redactor.scrub(failure.reason)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-able data, every string scrubbed of secrets (sheets_ai.redact)."""
        data = asdict(self)
        data["cost_usd"] = round(self.cost_usd, 6)
        data["seconds"] = round(self.seconds, 3)
        data["exit_code"] = self.exit_code
        return scrub_data(data)

    def summary_lines(self) -> list[str]:
        """A short human summary, scrubbed of secrets."""
        redactor = current()
        return [redactor.scrub(line) for line in self._summary_lines()]

    def _summary_lines(self) -> list[str]:
        verb = "Would process" if self.dry_run else "Processed"
        count = self.rows_selected if self.dry_run else self.rows_processed
        lines = [
            f"{verb} {count} of {self.rows_total} rows with {self.provider}"
            f"{' (' + self.model + ')' if self.model else ''} in {self.seconds:.1f}s"
            + (f" → {self.output}" if self.output and not self.dry_run else "")
        ]
        details = []
        if self.tasks:
            key, done = ("rows_selected", "to write") if self.dry_run else ("rows_written", "written")
            per = ", ".join(f"{t['output']} {t[key]} {done}" for t in self.tasks)
            shared = (
                f"; {self.requests_combined} requests asked them together" if self.requests_combined else ""
            )
            if self.dry_run and self.estimated_cost_separately_usd is not None:
                shared += (
                    f" (${self.estimated_cost_usd or 0.0:.4f} in {self.requests} requests; one run per task: "
                    f"${self.estimated_cost_separately_usd:.4f} in {self.requests_separately})"
                )
            details.append(f"{len(self.tasks)} tasks in one pass: {per}{shared}")
        if self.rows_skipped:
            why = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in self.skipped.items() if n)
            details.append(f"skipped {self.rows_skipped} ({why})")
        if self.rows_cached:
            details.append(f"{self.rows_cached} from cache")
        if self.rows_deduplicated:
            saving = ""
            if self.dry_run and self.requests_without_dedup is not None:
                cost = self.estimated_cost_without_dedup_usd or 0.0
                saving = f": {_count(self.requests, 'request')} instead of {self.requests_without_dedup}" + (
                    f", ${self.estimated_cost_usd or 0.0:.4f} instead of ${cost:.4f}" if cost else ""
                )
            details.append(f"{self.rows_deduplicated} duplicates asked once{saving}")
        if self.rows_truncated:
            details.append(f"{self.rows_truncated} truncated")
        if self.rows_isolated:
            details.append(f"{self.rows_isolated} sent alone (text reads like instructions to a model)")
        if self.rows_changed:
            details.append(f"{self.rows_changed} changed during the run (rerun to process them)")
        if self.rows_failed:
            details.append(f"{self.rows_failed} failed")
        if self.rows_remaining > self.rows_pending:
            details.append(f"{self.rows_remaining - self.rows_pending} not done (rerun to continue)")
        if self.batches_submitted or self.batches_pending or self.batches_collected:
            waiting = (
                f"{self.batches_pending} running with {self.rows_pending} rows (run the same command again to "
                "collect them, or add --wait)"
                if self.batches_pending
                else "none running"
            )
            details.append(
                f"Batch API: {self.batches_collected} collected, {self.batches_submitted} submitted "
                f"({self.rows_submitted} rows), {waiting}"
            )
        if (self.requests or self.cost_usd) and not self.dry_run:
            reasoning = f" ({self.reasoning_tokens} reasoning)" if self.reasoning_tokens else ""
            if self.cached_tokens:
                reasoning += f" ({self.cached_tokens} cached, saved ${self.cached_savings_usd:.4f})"
            details.append(
                f"{_count(self.requests, 'request')}, {self.prompt_tokens}+{self.completion_tokens} tokens"
                f"{reasoning}, "
                f"${self.cost_usd:.4f}"
            )
        if self.retries or self.rate_limited:
            details.append(
                f"{self.server_requests} HTTP requests ({self.retries} retries, "
                f"{self.rate_limited} answered 429)"
            )
        if self.dry_run:
            details.append(f"{self.batches} batches")
        if self.confidence and self.confidence.get("rows") and not self.dry_run:
            c = self.confidence
            details.append(f"confidence mean {c['mean']:.2f}, {_below(c, 0.8)} rows below 0.8")
            if c.get("rows_review"):
                where = f" (listed in {c['review_file']})" if c.get("review_file") else ""
                details.append(f"{c['rows_review']} rows for review{where}")
        if details:
            lines.append("  " + "; ".join(details))
        if self.month is not None:
            m = self.month

            def usd(amount: float) -> str:  # six decimals below a cent, as sheets_ai.monthly prints them
                return f"${amount:.4f}" if abs(amount) >= 0.01 else f"${amount:.6f}"

            claimed = f", {usd(m['claimed_usd'])} claimed by runs in progress" if m["claimed_usd"] else ""
            verdict = (
                "" if "fits" not in m else "; this run fits" if m["fits"] else "; this run would not start"
            )
            lines.append(
                f"  this month ({m['month']}, UTC): {usd(m['spent_usd'])} spent{claimed}, {usd(m['left_usd'])} "
                f"left of --monthly-budget {usd(m['budget_usd'])} (resets {m['resets']}){verdict}"
            )
        for failure in self.failures[:10]:
            lines.append(f"  row {failure.row}: {failure.reason}")
        if len(self.failures) > 10:
            lines.append(f"  … and {len(self.failures) - 10} more failed rows (see --json)")
        if self.stopped:
            lines.append(f"  stopped: {self.stopped}")
        return lines


def _count(n: int, noun: str) -> str:
    """``1 request``, ``2 requests``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
