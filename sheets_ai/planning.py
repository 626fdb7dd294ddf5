"""Planning: which rows to process, and how to pack them into batches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .config import RunConfig, parse_row_range
from .tables.base import InputCell

if TYPE_CHECKING:
    from .providers.base import Provider
    from .tasks import Task


@dataclass
class Selection:
    cells: list[InputCell] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def select_rows(cells: Sequence[InputCell], config: RunConfig) -> Selection:
    """Pick the rows to process: in --rows, input present and not an error, output empty (or --overwrite)."""
    start, end = parse_row_range(config.rows) if config.rows else (None, None)
    sel = Selection()
    for cell in cells:
        if (start is not None and cell.row < start) or (end is not None and cell.row > end):
            sel.skip("outside_rows")
        elif cell.skip_reason is not None:
            sel.skip(cell.skip_reason)
        elif cell.error is not None:
            sel.skip("error_values")
        elif cell.text is None:
            sel.skip("empty_input")
        elif cell.output is not None and not config.overwrite:
            sel.skip("already_done")
        elif config.limit is not None and len(sel.cells) >= config.limit:
            sel.skip("over_limit")
        else:
            sel.cells.append(cell)
    return sel


@dataclass(frozen=True)
class PlannedRow:
    row: int
    text: str  # what is sent (maybe truncated)
    original: str  # what was read, for change checks
    tokens: int = 0
    truncated: bool = False
    #: The text looks like instructions to a model (sheets_ai.injection): it is sent in a request of its own.
    isolated: bool = False


def pack_batches(
    rows: Sequence[PlannedRow], *, batch_size: int, max_batch_tokens: int
) -> list[list[PlannedRow]]:
    """Greedy packing in sheet order: a batch closes at ``batch_size`` rows or ``max_batch_tokens`` tokens.

    An isolated row gets a batch of its own, so whatever its text makes a model do touches only its answer;
    the rows around it keep filling the current batch.
    """
    batches: list[list[PlannedRow]] = []
    current: list[PlannedRow] = []
    alone: list[list[PlannedRow]] = []  # isolated rows met while ``current`` is open follow it
    tokens = 0
    for row in rows:
        if row.isolated:
            alone.append([row])
            continue
        if current and (len(current) >= batch_size or tokens + row.tokens > max_batch_tokens):
            batches.append(current)
            current, tokens = [], 0
        if not current:
            batches.extend(alone)
            alone = []
        current.append(row)
        tokens += row.tokens
    if current:
        batches.append(current)
    batches.extend(alone)
    return batches


def plan_rows(
    cells: Sequence[InputCell],
    *,
    max_row_tokens: int,
    count: Callable[[str], int] | None,
    truncate: Callable[[str, int], tuple[str, bool]] | None,
    isolate: Callable[[str], bool] | None = None,
) -> list[PlannedRow]:
    """Count tokens (when a counter is given) and cut overlong rows to ``max_row_tokens``.

    ``isolate`` (e.g. :func:`sheets_ai.injection.looks_like_instructions`) marks rows, by the text that is
    sent, that :func:`pack_batches` must put in a request of their own.
    """
    planned: list[PlannedRow] = []
    for cell in cells:
        text = cell.text or ""
        sent, n, cut = text, 0, False
        if count is not None and truncate is not None:
            n = count(text)
            if n > max_row_tokens:
                sent, cut = truncate(text, max_row_tokens)
                n = count(sent)
        alone = isolate is not None and isolate(sent)
        planned.append(PlannedRow(cell.row, sent, text, n, cut, alone))
    return planned


def plan_for(
    cells: Sequence[InputCell], config: RunConfig, provider: Provider, task: Task
) -> list[PlannedRow]:
    """:func:`plan_rows` as a run of ``task`` with ``provider`` plans: tokens counted where the provider counts
    them (or ``--max-row-tokens`` is set), rows that read like instructions isolated for a language model."""
    from .injection import looks_like_instructions
    from .tokens import count_tokens, truncate_to_tokens

    token_limited = provider.counts_tokens or config.max_row_tokens is not None
    return plan_rows(
        cells,
        max_row_tokens=config.max_row_tokens or provider.default_max_row_tokens(task),
        count=count_tokens if token_limited else None,
        truncate=truncate_to_tokens if token_limited else None,
        isolate=looks_like_instructions if provider.isolates_instructions else None,
    )
