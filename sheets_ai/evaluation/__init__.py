"""``sheets-ai eval`` and ``sheets_ai.evaluate``: measure a task's quality and cost on labelled rows.

See docs/quality.md. :func:`evaluate` returns an :class:`Evaluation` (``to_dict()`` is ``report.json``);
with ``out`` it also writes ``report.md``, ``report.json`` and the PNG charts there.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import build_config
from ..errors import UsageError
from .runner import OWN_FIELDS, Evaluation, Progress, configurations, pick, read_labelled, run_configuration

__all__ = ["Evaluation", "evaluate"]


def evaluate(
    source: str | Path,
    *,
    input: str,
    gold: str,
    task: str = "sentiment",
    models: Sequence[str] | None = None,
    batch_sizes: Sequence[int] | None = None,
    sample: int | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    progress: Progress | None = None,
    config_path: str | Path | None = None,
    **options: Any,
) -> Evaluation:
    """Run each configuration (every model × every batch size) over the labelled rows and score it.

    ``gold`` is the column holding the expected answers (matched case-insensitively, also through
    ``labels`` renames); rows without an input or a gold answer are skipped and counted. ``sample`` takes a
    seeded random sample of the labelled rows. ``options`` are RunConfig fields (``provider``, ``base_url``,
    ``labels``, ``prompt``, ``cache_dir``, ``max_cost`` …) with the usual precedence over ``SHEETS_AI_*``
    and sheets-ai.toml. With ``examples`` (a CSV of worked examples) every configuration runs once without
    and once with them. Nothing is written to ``source``.
    """
    misplaced = sorted(k for k in options if k in OWN_FIELDS)
    if misplaced:
        raise UsageError(
            f"evaluate() sets {', '.join(misplaced)} itself; use models=[…] and batch_sizes=[…] instead."
        )
    if sample is not None and sample < 1:
        raise UsageError("--sample must be at least 1.")
    base = build_config(
        {**options, "source": str(source), "input": input, "output": gold, "task": task},
        config_path=config_path,
        ignore=OWN_FIELDS | {"output_file", "status_column", "log_sheet", "rows", "limit", "overwrite"},
    )
    rows, skipped = read_labelled(base, gold)
    if not rows:
        raise UsageError(
            f"No labelled rows: no row has both an input ({input!r}) and a gold answer ({gold!r})."
        )
    used = pick(rows, sample, seed)
    result = Evaluation(
        task=task,
        source=str(source),
        rows_labelled=len(rows),
        rows_used=len(used),
        skipped=skipped,
        sample=sample,
        seed=seed if sample is not None else None,
    )
    chosen_models: list[str | None] = list(models) if models else [None]
    chosen_sizes: list[int | None] = list(batch_sizes) if batch_sizes else [None]
    settings = configurations(chosen_models, chosen_sizes, base.examples)
    for setting in settings:
        result.configurations.append(run_configuration(base, used, setting, progress))
    if out is not None:
        from .report import write_report

        write_report(result, Path(out))
    return result
