"""An in-memory table for the Python API: a list of texts in, a list of results out."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .base import InputCell, Table, TableData, WriteOutcome, display_text

HEADER_ROW = 1


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if type(value).__name__ in {"NaTType", "NAType"}:
        return None
    return display_text(value)


class MemoryTable(Table):
    """Row ``i`` of the input is sheet row ``i + 2`` (row 1 is an imaginary header)."""

    location = "<memory>"

    def __init__(self, values: Sequence[Any]) -> None:
        self.values = list(values)
        self.results: list[str | None] = [None] * len(self.values)
        self.confidences: list[str | None] = [None] * len(self.values)

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
        cells = [InputCell(row=i + HEADER_ROW + 1, text=_text(v)) for i, v in enumerate(self.values)]
        return TableData(headers=["input", "output"], input_col=1, output_col=2, cells=cells)

    def write(
        self,
        results: Mapping[int, str],
        expected_inputs: Mapping[int, str],
        statuses: Mapping[int, str] | None = None,
        *,
        confidences: Mapping[int, str] | None = None,
    ) -> WriteOutcome:
        for row, value in results.items():
            self.results[row - HEADER_ROW - 1] = value
        for row, value in (confidences or {}).items():
            self.confidences[row - HEADER_ROW - 1] = value
        return WriteOutcome(written=list(results))


class MemoryColumns(MemoryTable):
    """One list of texts and one result list per output column: several tasks in one pass
    (``enrich(texts, task="sentiment,summarize")``). Each run reads its column, then writes into it."""

    def __init__(self, values: Sequence[Any], outputs: Sequence[str]) -> None:
        super().__init__(values)
        self.columns: dict[str, list[str | None]] = {o: [None] * len(self.values) for o in outputs}
        self._order = list(outputs)

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
        data = super().read(input_column, output_column)
        self.results = self.columns[output_column]  # where this run's results go
        for cell, value in zip(data.cells, self.results, strict=True):
            cell.output = value
        data.headers = ["input", *self._order]
        data.output_col = 2 + self._order.index(output_column)
        return data
