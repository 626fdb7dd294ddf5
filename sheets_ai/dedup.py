"""Duplicates sent once: rows whose input is the same text are asked about once per run.

Survey sheets repeat themselves ("Good", "N/A", "同上"). :func:`group_duplicates` keeps the first row of each
distinct input (the *leader*, which is sent) and lists the other rows with that input (its *copies*), which
receive the leader's answer, confidence and status — or its failure, with the same reason.

Inputs are compared after whitespace normalization (:func:`normalize`: strip, collapse runs of whitespace);
case is kept ("good" and "Good" are asked separately: a model may answer them differently, and a cached
answer must match the text that was sent). The comparison uses the text that is sent (after truncation), so
two long rows cut to the same text share one answer, as they would share one cache entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .planning import PlannedRow


def normalize(text: str) -> str:
    """The text two rows must share to count as duplicates: stripped, whitespace runs made one space."""
    return " ".join(text.split())


@dataclass
class Groups:
    """The rows to send, and for each sent row the other rows that take its answer."""

    leaders: list[PlannedRow] = field(default_factory=list)
    copies: dict[int, list[int]] = field(default_factory=dict)

    @property
    def deduplicated(self) -> int:
        """Rows not sent because an earlier row has the same input."""
        return sum(len(rows) for rows in self.copies.values())


def group_duplicates(rows: Sequence[PlannedRow]) -> Groups:
    """Keep the first row of each distinct (normalized) input, in sheet order; the rest become its copies."""
    groups = Groups()
    first: dict[str, int] = {}
    for p in rows:
        key = normalize(p.text)
        leader = first.get(key)
        if leader is None:
            first[key] = p.row
            groups.leaders.append(p)
        else:
            groups.copies.setdefault(leader, []).append(p.row)
    return groups
