"""Sharding: the tasks of one execution split the selected rows into contiguous blocks, one each.

The blocks are cut from the rows the selection picks *before* filled rows are skipped (``--rows``, an input,
no error value), so a block does not move when rows get filled: a retried task (attempt 1, 2 …) and a rerun
of the whole execution find the same block and skip what is done. Task ``i`` of ``n`` takes the candidates
``[i*N//n, (i+1)*N//n)``: every row belongs to exactly one block, and block sizes differ by at most one.

:class:`ShardedTable` applies the split to any table: rows of other blocks are skipped as ``other_task``
(they show in the report's ``skipped``), and a write outside the block is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import RunConfig
from ..errors import SheetsAIError
from ..planning import select_rows
from ..tables.base import InputCell, Table, TableData, WriteOutcome

log = logging.getLogger("sheets_ai")
OTHER_TASK = "other_task"


@dataclass(frozen=True)
class Shard:
    index: int
    count: int


def candidate_rows(cells: Sequence[InputCell], config: RunConfig) -> list[int]:
    """The rows the selection picks before filled rows are skipped (and before ``--limit``)."""
    everything = config.model_copy(update={"overwrite": True, "limit": None})
    return [cell.row for cell in select_rows(cells, everything).cells]


def block_rows(candidates: Sequence[int], shard: Shard) -> list[int]:
    """The rows of ``shard``'s block, in order (empty when there are fewer rows than tasks)."""
    n = len(candidates)
    return list(candidates[shard.index * n // shard.count : (shard.index + 1) * n // shard.count])


class OutsideBlockError(SheetsAIError):
    """A write for a row of another task's block (a bug: the pipeline only writes rows it selected)."""

    exit_code = 1


class ShardedTable(Table):
    """``inner`` restricted to one shard's block; everything else is passed through."""

    def __init__(self, inner: Table, config: RunConfig, shard: Shard) -> None:
        self.inner, self.config, self.shard = inner, config, shard
        self.block: frozenset[int] = frozenset()

    @property
    def location(self) -> str:
        return self.inner.location

    @location.setter
    def location(self, value: str) -> None:
        self.inner.location = value

    def __getattr__(self, name: str) -> Any:  # sheet_title, notices, append_log … of the inner table
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def read(
        self,
        input_column: str,
        output_column: str,
        *,
        header_row: int = 1,
        status_column: str | None = None,
        new_header: str | None = None,
        confidence_column: str | None = None,
    ) -> TableData:
        extra = {"confidence_column": confidence_column} if confidence_column is not None else {}
        data = self.inner.read(
            input_column,
            output_column,
            header_row=header_row,
            status_column=status_column,
            new_header=new_header,
            **extra,
        )
        candidates = candidate_rows(data.cells, self.config)
        rows = block_rows(candidates, self.shard)
        self.block = frozenset(rows)
        set_of_candidates = set(candidates)
        for cell in data.cells:
            if cell.row not in self.block and cell.skip_reason is None and cell.row in set_of_candidates:
                cell.skip_reason = OTHER_TASK
        where = f"rows {rows[0]}-{rows[-1]} ({len(rows)} rows)" if rows else "no rows (fewer rows than tasks)"
        log.info("Task %d of %d: %s", self.shard.index + 1, self.shard.count, where)
        return data

    def write(
        self,
        results: Mapping[int, str],
        expected_inputs: Mapping[int, str],
        statuses: Mapping[int, str] | None = None,
        *,
        confidences: Mapping[int, str] | None = None,
    ) -> WriteOutcome:
        outside = sorted((set(results) | set(statuses or {}) | set(confidences or {})) - self.block)
        if outside:
            raise OutsideBlockError(
                f"Refusing to write rows {outside[:5]} outside this task's block; this is a bug, please report it."
            )
        if confidences is not None:
            return self.inner.write(results, expected_inputs, statuses, confidences=confidences)
        return self.inner.write(results, expected_inputs, statuses)

    def unstorable(self, texts: Sequence[str]) -> str | None:
        return self.inner.unstorable(texts)

    def flush(self) -> None:
        self.inner.flush()

    def close(self) -> None:
        self.inner.close()
