"""The Provider interface: turn one batch of rows into raw answers.

Providers do not validate or retry rows; the pipeline judges each answer with the task and re-asks only
the rows that need it. Transport retries (rate limits, server errors) live inside the provider, in one layer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..tasks import Task


@dataclass(frozen=True)
class BatchItem:
    """One row in a request: a short id, the sheet row and the (possibly truncated) text."""

    id: str
    row: int
    text: str


@dataclass
class Usage:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    #: Part of ``completion_tokens`` (``completion_tokens_details.reasoning_tokens``): billed, never shown.
    reasoning_tokens: int = 0
    #: False when the server's answer carried no usage (the figures are then our own estimate).
    reported: bool = True

    def add(self, other: Usage) -> None:
        self.requests += other.requests
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cached_tokens += other.cached_tokens
        self.cost_usd += other.cost_usd
        self.reasoning_tokens += other.reasoning_tokens


@dataclass(frozen=True)
class Traffic:
    """What a provider sent over the network during a run (the report's view of the transport)."""

    #: HTTP requests sent, retries included.
    server_requests: int = 0
    #: Requests sent again after a failure.
    retries: int = 0
    #: Answers of 429.
    rate_limited: int = 0


@dataclass
class BatchAnswer:
    """Raw answers for a batch, keyed by item id. Missing ids are simply absent."""

    answers: dict[str, Any] = field(default_factory=dict)
    #: Problems found while decoding, per id (e.g. "answered twice").
    problems: dict[str, str] = field(default_factory=dict)
    #: The model declined; the reason applies to every row of the batch.
    refusal: str | None = None
    #: The answer was cut off by the output token limit (finish_reason == "length").
    truncated: bool = False
    usage: Usage = field(default_factory=Usage)
    #: id -> confidence in its answer, 0-1 (sheets_ai.confidence); absent where the provider gives none.
    confidences: dict[str, float] = field(default_factory=dict)


class Provider(ABC):
    """Turns a batch of rows into answers for a task."""

    name: str = "provider"
    model: str = ""
    #: Whether results are worth caching (a paid, slow model) — the local analyzer is not.
    cacheable: bool = False
    #: Upper bound on useful parallel requests.
    max_concurrency: int = 1
    #: Whether rows are measured in tokens (packing, truncation); a local analyzer has no token budget.
    counts_tokens: bool = True
    #: Whether rows that look like instructions (sheets_ai.injection) are sent alone: true for a language
    #: model, which might obey a row's text and change its batch-mates' answers; false for the local analyzer.
    isolates_instructions: bool = False

    @property
    def cache_namespace(self) -> str:
        """Which service answered: part of every cache key, so answers never cross servers."""
        return self.name

    def check(self, task: Task) -> None:  # noqa: B027 - optional hook
        """Raise a SheetsAIError now if this provider cannot run the task (missing key, unsupported task)."""

    def confidence_plan(self, task: Task, wanted: bool) -> tuple[Task, str | None]:
        """The task to send when a confidence per row is (or is not) ``wanted``, and where the confidences
        come from (None: the provider gives none). See :mod:`sheets_ai.confidence`."""
        return task, None

    @abstractmethod
    def run(
        self, task: Task, items: Sequence[BatchItem], feedback: Mapping[str, str] | None = None
    ) -> BatchAnswer:
        """Answer every item. ``feedback`` maps ids to why their previous answer was rejected."""

    def default_batch_size(self, task: Task) -> int:
        return 20

    def default_max_batch_tokens(self, task: Task) -> int:
        return 8000

    def default_max_row_tokens(self, task: Task) -> int:
        return 2000

    def estimate(self, task: Task, items: Sequence[BatchItem]) -> Usage:
        """Predicted usage of one request for these items (no network). Zero for free providers."""
        return Usage(requests=1)

    def worst_case(self, task: Task, items: Sequence[BatchItem]) -> Usage:
        """The most one request for these items can cost: its prompt plus its whole completion cap."""
        return self.estimate(task, items)

    def traffic(self) -> Traffic:
        """HTTP requests, retries and 429s so far (none for a provider without a network)."""
        return Traffic()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
