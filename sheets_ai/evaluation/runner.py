"""``evaluate()``: run configurations over labelled rows through the one pipeline and score them.

The labelled rows are read once from the source (read-only: its input column and its gold column, through
the same table readers as a run). Each configuration (a model × a batch size) then runs over an in-memory
copy of those rows with :func:`sheets_ai.pipeline.run` — the same planning, batching, validation, re-asks,
cache and budget as ``sheets-ai run`` — so the source is never written and a configuration already run is
answered from the cache (the eval's own cache, one per batch size, under the cache folder's ``eval/``:
rows answered in batches of 100 must not stand in for rows asked one by one). A dry run of the same configuration (no requests) gives the cost per 1,000 rows
when answers came from the cache.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..cache import default_cache_dir
from ..config import RunConfig, build_config
from ..errors import UsageError
from ..pipeline import run
from ..tables import open_table
from ..tables.memory import MemoryTable
from ..tasks import build_task
from .metrics import Scored, canonical_labels, exact_match_metrics, label_metrics

#: RunConfig fields an evaluation sets itself for each configuration (a user cannot set them).
OWN_FIELDS = frozenset({"source", "input", "output", "confidence_column", "dry_run", "model", "batch_size"})
Progress = Callable[[str, int, int], None]


@dataclass
class Labelled:
    row: int
    text: str
    gold: str


@dataclass
class Evaluation:
    """What ``evaluate`` found: the rows used and one entry per configuration (``to_dict`` for JSON)."""

    task: str
    source: str
    rows_labelled: int
    rows_used: int
    skipped: dict[str, int]
    configurations: list[dict[str, Any]] = field(default_factory=list)
    charts: dict[str, Any] = field(default_factory=dict)
    sample: int | None = None
    seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "source": self.source,
            "rows_labelled": self.rows_labelled,
            "rows_used": self.rows_used,
            "skipped": self.skipped,
            "sample": self.sample,
            "seed": self.seed,
            "configurations": self.configurations,
            "charts": self.charts,
        }


def read_labelled(base: RunConfig, gold: str) -> tuple[list[Labelled], dict[str, int]]:
    """The rows with an input and a gold answer, read without writing; skipped rows counted by reason."""
    assert base.input
    table = open_table(base.model_copy(update={"output": gold}), for_writing=False)
    try:
        data = table.read(base.input, gold, header_row=base.header_row)
    finally:
        table.close()
    if data.output_header_created:
        raise UsageError(
            f"--gold {gold!r}: no such column. Headers: {', '.join(h for h in data.headers if h)}"
        )
    rows, skipped = [], {"no_input": 0, "no_gold": 0}
    for cell in data.cells:
        if cell.text is None:
            skipped["no_input"] += 1
        elif cell.output is None:
            skipped["no_gold"] += 1
        else:
            rows.append(Labelled(cell.row, cell.text, cell.output))
    return rows, skipped


def configurations(
    models: Sequence[str | None], batch_sizes: Sequence[int | None], examples: str | None = None
) -> list[dict[str, Any]]:
    """Every model x batch size; with worked examples (``examples``, a path), each once without and once with
    them, so the report shows what they change."""
    plain = [{"model": m, "batch_size": b} for m in models for b in batch_sizes]
    if not examples or examples.strip().casefold() == "none":
        return plain
    return [{**s, "examples": e} for s in plain for e in ("none", examples)]


def run_configuration(
    base: RunConfig,
    rows: Sequence[Labelled],
    setting: Mapping[str, Any],
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run one configuration over ``rows`` (in memory) and score it against their gold answers."""
    task = build_task(base)
    explicit = {
        **base.model_dump(exclude={"api_key"}),
        "api_key": base.api_key,
        "source": "<eval>",
        "input": "input",
        "output": "output",
        "model": setting.get("model") or base.model,
        "batch_size": setting.get("batch_size") or base.batch_size,
        "confidence_column": "confidence" if task.is_label_task else None,
        "examples": setting.get("examples", base.examples) or "none",
    }
    if (
        base.cache
    ):  # one cache per batch size: answers made in batches of 100 must not stand in for 1-row ones
        folder = base.cache_dir or default_cache_dir()
        explicit["cache_dir"] = folder / "eval" / f"batch-{explicit['batch_size'] or 'default'}"
    texts = [r.text for r in rows]
    estimate = run(build_config({**explicit, "dry_run": True, "cache": False}), table=MemoryTable(texts))
    table = MemoryTable(texts)
    label = str(setting.get("name") or "")
    shown_model = explicit["model"] or base.provider
    live = f"{shown_model} · batch {explicit['batch_size'] or 'default'}"

    def tick(done: int, total: int) -> None:
        if progress is not None:
            progress(label or live, done, total)

    report = run(build_config(explicit), table=table, progress=tick)
    if not label:
        shown = report.model if report.provider == "openai" else report.provider
        label = f"{shown} · batch {explicit['batch_size']}" if explicit["batch_size"] else shown
        if "examples" in setting:
            label += " · examples" if setting["examples"] != "none" else " · no examples"
    if task.is_label_task:
        spelled = canonical_labels(task.labels, task.display)
        scored = [
            Scored(
                gold=spelled.get(r.gold.strip().casefold(), r.gold.strip()),
                predicted=spelled.get(pred.casefold(), pred) if pred is not None else None,
                confidence=float(conf) if conf is not None else None,
            )
            for r, pred, conf in zip(rows, table.results, table.confidences, strict=True)
        ]
        metrics = label_metrics(scored, task.labels)
    else:
        scored = [Scored(r.gold, pred) for r, pred in zip(rows, table.results, strict=True)]
        metrics = exact_match_metrics(scored)
    n = len(rows)
    paid_all = report.rows_cached == 0
    cost = report.cost_usd if paid_all else (estimate.estimated_cost_usd or 0.0)
    requests = report.requests if paid_all else estimate.requests
    return {
        "name": label,
        "provider": report.provider,
        "model": report.model,
        "batch_size": explicit["batch_size"],
        "examples": None if explicit["examples"] == "none" else explicit["examples"],
        "rows": n,
        "rows_per_request": round(n / requests, 2) if requests else None,
        "requests": report.requests,
        "prompt_tokens": report.prompt_tokens,
        "completion_tokens": report.completion_tokens,
        "cost_usd": round(report.cost_usd, 6),
        "rows_cached": report.rows_cached,
        "cost_per_1000_rows": round(cost / n * 1000, 4) if n else 0.0,
        "cost_source": "measured" if paid_all else "estimated (answers came from the cache)",
        "confidence": report.confidence,
        "metrics": metrics,
        "predictions": [
            {"row": r.row, "gold": r.gold, "predicted": pred, "confidence": conf}
            for r, pred, conf in zip(rows, table.results, table.confidences, strict=True)
        ],
    }


def pick(rows: list[Labelled], sample: int | None, seed: int) -> list[Labelled]:
    if sample is None or sample >= len(rows):
        return rows
    chosen = sorted(random.Random(seed).sample(range(len(rows)), sample))
    return [rows[i] for i in chosen]
