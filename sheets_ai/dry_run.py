"""Dry runs (``sheets-ai estimate``): what the planned requests would cost, and a preview of the first rows.

Nothing is sent to a paid provider; the offline analyzer (free) answers the preview rows.
"""

from __future__ import annotations

from typing import Any

from .planning import PlannedRow
from .prompt_cache import foresee
from .providers.base import Provider, Usage
from .reask import items_for
from .report import RunReport
from .tasks import Task

PREVIEW_ROWS = 5


def dry_run(
    report: RunReport,
    task: Task,
    provider: Provider,
    batches: list[list[PlannedRow]],
    planned: list[PlannedRow],
    *,
    without_dedup: list[list[PlannedRow]] | None = None,
) -> None:
    """Fill ``report`` with the estimate for ``batches`` and a preview of ``planned``.

    ``without_dedup``: the batches if every duplicate row were sent too (sheets_ai.dedup), so the saving shows.
    """
    estimate, worst = Usage(), Usage()
    for batch in batches:
        estimate.add(provider.estimate(task, items_for(batch)))
        worst.add(provider.worst_case(task, items_for(batch)))
    report.estimated_cost_usd = round(estimate.cost_usd, 6)
    report.estimated_max_cost_usd = round(worst.cost_usd, 6)
    report.requests = estimate.requests
    report.prompt_tokens = estimate.prompt_tokens
    report.completion_tokens = estimate.completion_tokens
    if without_dedup is not None:
        alone = Usage()
        for batch in without_dedup:
            alone.add(provider.estimate(task, items_for(batch)))
        report.requests_without_dedup = alone.requests
        report.estimated_cost_without_dedup_usd = round(alone.cost_usd, 6)
    if provider.name == "openai":
        foresight = foresee(task, provider.model, estimate.requests)
        report.system_prompt_tokens = foresight.prefix_tokens
        report.estimated_cache_savings_usd = foresight.savings_usd
    preview_rows = planned[:PREVIEW_ROWS]
    answers: dict[int, str] = {}
    if preview_rows and not provider.cacheable:  # free and offline: show what rows would become
        answer = provider.run(task, items_for(preview_rows))
        for item, p in zip(items_for(preview_rows), preview_rows, strict=True):
            value, _ = task.validate(answer.answers.get(item.id))
            if value is not None:
                answers[p.row] = value
    for p in preview_rows:
        entry: dict[str, Any] = {"row": p.row, "input": p.original[:200]}
        if p.row in answers:
            entry["result"] = answers[p.row]
        report.preview.append(entry)
