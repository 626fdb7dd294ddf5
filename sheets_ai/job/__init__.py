"""``sheets-ai job``: the container entrypoint for Cloud Run jobs.

Options come from ``SHEETS_AI_*`` variables (the names ``sheets-ai run`` reads) and arguments; Cloud Run's
``CLOUD_RUN_TASK_INDEX`` / ``_COUNT`` / ``_ATTEMPT`` pick this task's block of rows (:mod:`.sharding`), and
Sheets writes are paced to the task's share of the quota (:mod:`.pacing`). See deploy/README.md.
"""

from __future__ import annotations

from .env import TaskEnv, task_env
from .runner import run_job
from .sharding import Shard, ShardedTable, block_rows, candidate_rows

__all__ = ["Shard", "ShardedTable", "TaskEnv", "block_rows", "candidate_rows", "run_job", "task_env"]
