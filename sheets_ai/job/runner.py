"""run_job: one Cloud Run task — the one pipeline (:func:`sheets_ai.pipeline.run`) on this task's block."""

from __future__ import annotations

import logging

from ..config import RunConfig
from ..errors import UsageError
from ..pipeline import run
from ..report import RunReport
from ..tables import is_google_sheet, open_table
from .env import COUNT_ENV, TaskEnv
from .pacing import SHEETS_WRITES_PER_MINUTE, WritePacer
from .sharding import Shard, ShardedTable

log = logging.getLogger("sheets_ai")


def run_job(config: RunConfig, task: TaskEnv) -> RunReport:
    """Run ``config`` as task ``task.index`` of ``task.count``: only this task's block of rows, Sheets writes
    paced to ``60 / count`` per minute. An attempt after the first is a resume: rows already filled are
    skipped like in any rerun. Raises :class:`~sheets_ai.errors.SheetsAIError` as :func:`run` does."""
    if not config.source:
        raise UsageError(
            "No spreadsheet given: set SHEETS_AI_SOURCE to a Google Sheets URL or spreadsheet id "
            "(or pass it as the job's argument)."
        )
    if task.count > 1 and not is_google_sheet(config.source):
        raise UsageError(
            f"{COUNT_ENV}={task.count}, but {config.source!r} is a file, which only one task can write: run "
            "the job with one task (--tasks 1), or put the data in a Google Sheet."
        )
    if task.count > 1 and config.batch_api:
        raise UsageError(
            f"{COUNT_ENV}={task.count}, but --batch-api keeps one state per spreadsheet, which one task at a time "
            "may change: run the job with one task (--tasks 1); a Batch API job needs no more."
        )
    if task.attempt:
        log.info("Attempt %d: resuming; rows already filled are skipped.", task.attempt)
    pacer = WritePacer(SHEETS_WRITES_PER_MINUTE / task.count)
    if config.checkpoint_seconds < pacer.interval:
        # A checkpoint waits for its turn in the main loop, where no request is sent meanwhile: checkpoints
        # no more often than the share allows keep the pacer from ever holding up the work.
        log.debug("Checkpoints every %.1f s, this task's share of the Sheets write quota.", pacer.interval)
        config = config.model_copy(update={"checkpoint_seconds": pacer.interval})
    table = open_table(config, for_writing=not config.dry_run, pace=pacer)
    if task.count > 1:
        table = ShardedTable(table, config, Shard(task.index, task.count))
    try:
        return run(config, table=table)
    finally:
        table.close()
