"""--batch-api: the rows go through OpenAI's Batch API at half price, and the same command collects them later.

One pass of ``sheets-ai run --batch-api`` (the pipeline calls :func:`process` instead of its synchronous loop):

1. **Collect.** Every batch this command submitted earlier (the state file) is looked at. A finished one's
   output and error files are read; each answer is judged exactly as a synchronous answer (the task's
   validation, :func:`sheets_ai.reask.judge`) and written. A row whose input changed since it was submitted is
   not written (it is submitted again). Rows with a bad answer are re-asked with normal requests, as in a
   synchronous run; rows of failed lines, or of an expired, cancelled or failed batch, fall back to normal
   requests. A batch still running keeps its rows "pending": they are not sent again.
2. **Submit.** Rows still missing that no batch covers are packed exactly as a synchronous run packs them;
   each request becomes one JSONL line (``custom_id`` names the rows, ``body`` holds the same parameters a
   synchronous request sends), uploaded (``purpose: batch``) and submitted (``completion_window: 24h``).
3. ``--wait``: poll with backoff until no batch of this command is running, collecting as they finish.

The state — ``NAME.sheets-ai-batches.json`` beside a file source (written atomically), or the hidden worksheet
``sheets-ai batches`` of a Google Sheet (:mod:`sheets_ai.tables._gsheets_state`) — lists each submission:
its file id, its batch id, and for every ``custom_id`` the rows and a hash of each row's text. The file id is
saved *before* the batch is created: a run killed between the two finds the batch again by its
``input_file_id`` (``GET /v1/batches``) or creates it then, so a crash never submits rows twice.
A batch leaves the state only after its rows were written and the table saved.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

import openai
from openai.types.chat import ChatCompletion
from tenacity import Retrying

from . import pricing
from .errors import ProviderError, UsageError
from .planning import PlannedRow
from .providers.base import BatchAnswer, Provider, Usage
from .reask import Job, items_for, judge
from .redact import safe_url
from .tables import is_google_sheet
from .tables.base import Table

if TYPE_CHECKING:
    from .pipeline import _Run
    from .providers.openai import OpenAIProvider

log = logging.getLogger("sheets_ai")

STATE_SUFFIX = ".sheets-ai-batches.json"
#: Google Sheets: the hidden worksheet that holds the state.
STATE_WORKSHEET = "sheets-ai batches"
ENDPOINT: Literal["/v1/chat/completions"] = "/v1/chat/completions"
#: OpenAI's limits per batch input file: 50,000 requests, 200 MB (a margin kept below the size limit).
MAX_LINES, MAX_BYTES = 50_000, 190_000_000
RUNNING = ("validating", "in_progress", "finalizing", "cancelling")
#: --wait: the first pause between polls, the growth of each next one, and the longest pause.
POLL_FIRST, POLL_FACTOR, POLL_MAX = 2.0, 1.5, 300.0
T = TypeVar("T")


class FileState:
    """The state text in ``NAME.sheets-ai-batches.json`` beside a file source, replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = repr(str(path))

    def read(self) -> str | None:
        return self.path.read_text(encoding="utf-8") if self.path.exists() else None

    def write(self, text: str) -> None:
        if not text:
            self.path.unlink(missing_ok=True)
            return
        fd, tmp = tempfile.mkstemp(prefix=self.path.name, suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class StateStore(Protocol):
    @property
    def where(self) -> str: ...

    def read(self) -> str | None: ...

    def write(self, text: str) -> None: ...


def state_store(source: str, table: Table) -> StateStore:
    """Where this source keeps its batch state: beside the file, or a hidden worksheet of the Google Sheet."""
    if not source:
        raise UsageError(
            "--batch-api needs a file or Google Sheet source: it keeps the batches' state with it."
        )
    if is_google_sheet(source):
        from .tables._gsheets_state import SheetState

        return SheetState(table, STATE_WORKSHEET)
    path = Path(source)
    return FileState(path.with_name(path.name + STATE_SUFFIX))


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class Submission:
    """One uploaded file and its batch: what this command asked, row by row."""

    command: str
    file_id: str
    batch_id: str | None
    #: custom_id -> [[row, hash of the text sent], ...] in the request's order (its items' ids 1, 2, 3 …).
    requests: dict[str, list[list[Any]]]
    submitted_at: float = field(default_factory=time.time)

    def rows(self) -> Iterator[tuple[int, str]]:
        for pairs in self.requests.values():
            for row, digest in pairs:
                yield int(row), str(digest)


class BatchState:
    """Every submission of every command on this source, saved whole after each change."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.submissions: list[Submission] = []
        text = store.read()
        if text:
            try:
                data = json.loads(text)
                self.submissions = [Submission(**entry) for entry in data["submissions"]]
            except (ValueError, KeyError, TypeError) as exc:
                raise UsageError(
                    f"The batch state in {store.where} is not readable ({type(exc).__name__}). Restore it, or "
                    "delete it to forget the submitted batches (their rows are then submitted again)."
                ) from None

    def save(self) -> None:
        data = {"version": 1, "submissions": [vars(s) for s in self.submissions]}
        self.store.write(
            json.dumps(data, ensure_ascii=False, separators=(",", ":")) if self.submissions else ""
        )


def command_key(run: _Run, provider: Provider) -> str:
    """What makes two runs "the same command": task, model, output column and sheet (not the rows)."""
    config = run.config
    parts = [run.task.fingerprint(), provider.model, str(config.output), str(config.sheet), str(config.input)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def process(run: _Run, table: Table, provider: Provider, batches: Sequence[list[PlannedRow]]) -> None:
    """The --batch-api pass (in place of the pipeline's synchronous loop)."""
    from .providers.openai import OpenAIProvider

    assert isinstance(
        provider, OpenAIProvider
    )  # get_provider refuses --batch-api without OpenAI, before the table
    if run.config.service_tier == "flex":
        raise UsageError(
            "--batch-api and --service-tier flex are two ways to the same half price; choose one (flex answers "
            "now, slower; the Batch API within 24 h, on any model)."
        )
    BatchPass(run, table, provider).go([p for batch in batches for p in batch])


class BatchPass:
    def __init__(self, run: _Run, table: Table, provider: OpenAIProvider) -> None:
        self.run, self.table, self.provider = run, table, provider
        self.state = BatchState(state_store(run.config.source, table))
        self.key = command_key(run, provider)
        self.price = provider.price.discounted(pricing.BATCH_DISCOUNT) if provider.price else None
        self.client = provider.client()
        self.handled: set[int] = set()  # rows collected or sent to normal requests in this run

    # ------------------------------------------------------------ the pass
    def go(self, rows: list[PlannedRow]) -> None:
        todo = {p.row: p for p in rows}
        report = self.run.report
        pause = POLL_FIRST
        submitted = False
        while True:
            pending = self._collect(todo)
            if not submitted:
                self._submit([p for p in rows if p.row not in self.handled and p.row not in pending])
                submitted = True
            waiting = self._mine()  # finished batches have left the state
            report.batches_pending = len(waiting)
            sent = {r for s in waiting for r, _ in s.rows()} & (set(todo) - self.handled)
            report.rows_pending = sum(
                1 + len(self.run.copies.get(r, ())) for r in sent
            )  # duplicates wait too
            if not (self.run.config.wait and report.batches_pending):
                return
            log.info("Waiting %.0fs for %d batches (Ctrl-C is safe: run the same command later).", pause,
                     report.batches_pending)  # fmt: skip
            time.sleep(pause)
            pause = min(POLL_MAX, pause * POLL_FACTOR)

    def _mine(self) -> list[Submission]:
        return [s for s in self.state.submissions if s.command == self.key]

    # ------------------------------------------------------------ collect
    def _collect(self, todo: dict[int, PlannedRow]) -> set[int]:
        """Write what finished batches answered; return the rows still waiting in running batches."""
        pending: set[int] = set()
        fallback: list[Job] = []
        finished: list[Submission] = []
        for sub in self._mine():
            batch = self._batch_of(sub)
            if batch.status in RUNNING:
                pending |= {r for r, digest in sub.rows() if r in todo and text_hash(todo[r].text) == digest}
                continue
            fallback += self._answers(sub, batch, todo)
            finished.append(sub)
        if not finished:
            return pending
        if fallback:
            self.run._process(self.table, self.provider, fallback)
        self.run._save(self.table)  # written and durable before the batches leave the state file
        self.state.submissions = [s for s in self.state.submissions if s not in finished]
        self.state.save()
        self.run.report.batches_collected += len(finished)
        return pending

    def _batch_of(self, sub: Submission) -> Any:
        if sub.batch_id is None:  # a run stopped between upload and create: find the batch, or create it now
            found = self._call(lambda: self._find(sub))
            sub.batch_id = found if found is not None else self._create(sub.file_id).id
            self.state.save()
        batch_id = sub.batch_id
        return self._call(lambda: self.client.batches.retrieve(batch_id))

    def _find(self, sub: Submission) -> str | None:
        """The batch made from this submission's file, looking back no further than an hour before the upload."""
        for batch in self.client.batches.list(limit=100):  # newest first, page after page
            if batch.input_file_id == sub.file_id:
                return batch.id
            if batch.created_at < sub.submitted_at - 3600:
                return None
        return None

    def _answers(self, sub: Submission, batch: Any, todo: dict[int, PlannedRow]) -> list[Job]:
        """Judge and record a finished batch's answers; return the jobs to ask with normal requests."""
        lines = {**self._lines(batch.error_file_id), **self._lines(batch.output_file_id)}
        follow: list[Job] = []
        lost = 0
        for custom_id, pairs in sub.requests.items():
            rows = [todo.get(int(r)) for r, _ in pairs]
            current = [
                (str(i), p)
                for i, (p, (_, digest)) in enumerate(zip(rows, pairs, strict=True), start=1)
                if p is not None and text_hash(p.text) == digest and p.row not in self.handled
            ]
            if not current:
                continue
            self.handled |= {p.row for _, p in current}
            job = Job(rows=[p for _, p in current])
            completion = _completion(lines.get(custom_id))
            if completion is None:
                lost += len(current)
                follow.append(job)  # a failed line, or an expired, cancelled or failed batch: normal requests
                continue
            items = items_for(rows_sent(rows))
            answer = self._renumbered(self.provider.read_completion(self.run.task, items, completion)[0],
                                      [i for i, _ in current])  # fmt: skip
            answer.usage = self._priced(answer.usage)
            worst = self.provider.worst_case(self.run.task, items)  # charged when a line carries no usage
            worst.cost_usd *= pricing.BATCH_DISCOUNT
            answer.usage = self.run.budget.settle(worst, answer.usage, prepaid=True)  # ledger: at submission
            self.run.usage.add(answer.usage)
            follow += self.run._record(judge(self.run.task, job, answer))
        if lost:
            status = batch.status
            errors = getattr(getattr(batch, "errors", None), "data", None) or []
            why = f": {errors[0].message}" if errors and errors[0].message else ""
            self.run.report.notices.append(
                f"Batch {sub.batch_id} ended {status}{why}; {lost} of its rows had no answer and were asked again "
                "with normal requests (standard price)."
            )
        return follow

    def _lines(self, file_id: str | None) -> dict[str, dict[str, Any]]:
        if not file_id:
            return {}
        text = self._call(lambda: self.client.files.content(file_id).text)
        found: dict[str, dict[str, Any]] = {}
        for raw in text.splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue  # an unreadable line: its rows count as unanswered and are asked again
            if isinstance(line, dict):
                found[str(line.get("custom_id"))] = line
        return found

    @staticmethod
    def _renumbered(answer: BatchAnswer, ids: list[str]) -> BatchAnswer:
        """The answers of the rows still wanted, numbered 1, 2, 3 … as their job's items are."""
        new = {old: str(n) for n, old in enumerate(ids, start=1)}
        return BatchAnswer(
            answers={new[k]: v for k, v in answer.answers.items() if k in new},
            problems={new[k]: v for k, v in answer.problems.items() if k in new},
            refusal=answer.refusal,
            truncated=answer.truncated,
            usage=answer.usage,
            confidences={new[k]: v for k, v in answer.confidences.items() if k in new},
        )

    def _priced(self, usage: Usage) -> Usage:
        cost = (
            self.price.cost(usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens)
            if self.price
            else 0.0
        )
        usage.cost_usd = cost
        return usage

    # ------------------------------------------------------------ submit
    def _submit(self, rows: list[PlannedRow]) -> None:
        report = self.run.report
        if not rows:
            return
        requests: list[tuple[str, list[PlannedRow], dict[str, Any]]] = []
        for n, packed in enumerate(self.run._pack(rows), start=1):
            items = items_for(packed)
            worst = self.provider.worst_case(self.run.task, items)
            worst.cost_usd *= pricing.BATCH_DISCOUNT
            if not self.run.budget.reserve(worst):  # the rest stays unsent: --max-cost holds at batch prices
                left = sum(len(p) for p in self.run._pack(rows)[n - 1 :])
                report.stopped = self.run.budget.stop_message(left)
                break
            params = self.provider.formatted_request(self.run.task, items, None)[0]
            requests.append((f"{n}:r{packed[0].row}-r{packed[-1].row}", packed, params))
        for chunk in _chunks(requests):
            self._upload_and_create(chunk)
            report.batches_submitted += 1
        report.rows_submitted = sum(len(p) for _, p, _ in requests)

    def _upload_and_create(self, chunk: list[tuple[str, list[PlannedRow], dict[str, Any]]]) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        unique = f"{stamp}-{chunk[0][0].split(':', 1)[1]}"
        body = "".join(_line(custom_id, params) for custom_id, _, params in chunk).encode("utf-8")
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(self.run.config.source).stem)[:40]
        name = f"sheets-ai-{stem}-{unique}.jsonl"
        upload = self._call(lambda: self.client.files.create(file=(name, body), purpose="batch"))
        sub = Submission(
            command=self.key,
            file_id=upload.id,
            batch_id=None,
            requests={cid: [[p.row, text_hash(p.text)] for p in packed] for cid, packed, _ in chunk},
        )
        self.state.submissions.append(sub)
        self.state.save()  # the file id first: a crash before the batch exists cannot submit these rows twice
        sub.batch_id = self._create(upload.id).id
        self.state.save()
        log.info("Submitted batch %s: %d requests, %d rows.", sub.batch_id, len(chunk), len(list(sub.rows())))

    def _create(self, file_id: str) -> Any:
        meta = {"sheets_ai_command": self.key, "source": self.run.config.source[-500:]}
        return self._call(
            lambda: self.client.batches.create(
                input_file_id=file_id, endpoint=ENDPOINT, completion_window="24h", metadata=meta
            )
        )

    # ------------------------------------------------------------ transport
    def _call(self, fn: Callable[[], T]) -> T:
        """One Files/Batches call with the provider's retry rule (429, 5xx, timeouts); errors translated."""
        policy = self.provider.retry_policy()
        retrying = Retrying(**policy.tenacity_kwargs())
        try:
            for attempt in retrying:
                with attempt:
                    return fn()
        except openai.NotFoundError:
            raise ProviderError(
                f"A file or batch listed in {self.state.store.where} does not exist at "
                f"{safe_url(self.provider.base_url)} (404): was it made with another API key, project or server? "
                "Use the key that submitted it, or delete that file to submit the rows again."
            ) from None
        except openai.APIError as exc:
            raise self.provider.translate_error(exc, retrying.statistics.get("attempt_number", 1)) from None
        raise ProviderError("The Batch API request was not attempted.")  # pragma: no cover


def _completion(line: dict[str, Any] | None) -> ChatCompletion | None:
    """The chat completion of an output line that succeeded, else None (failed, missing or unreadable)."""
    response = (line or {}).get("response") or {}
    if response.get("status_code") != 200:
        return None
    try:
        return ChatCompletion.model_validate(response.get("body"))
    except ValueError:  # pydantic's ValidationError is a ValueError
        return None


def rows_sent(rows: Sequence[PlannedRow | None]) -> list[PlannedRow]:
    """Stand-ins for every row of a request as sent (rows no longer wanted keep their place and id)."""
    return [p if p is not None else PlannedRow(row=-i, text="", original="") for i, p in enumerate(rows, 1)]


def _line(custom_id: str, params: dict[str, Any]) -> str:
    request = {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": params}
    return json.dumps(request, ensure_ascii=False, separators=(",", ":")) + "\n"


def _chunks(
    requests: list[tuple[str, list[PlannedRow], dict[str, Any]]],
) -> Iterator[list[tuple[str, list[PlannedRow], dict[str, Any]]]]:
    """Requests split into files within OpenAI's limits per batch."""
    chunk: list[tuple[str, list[PlannedRow], dict[str, Any]]] = []
    size = 0
    for request in requests:
        length = len(_line(request[0], request[2]).encode("utf-8"))
        if chunk and (len(chunk) >= MAX_LINES or size + length > MAX_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(request)
        size += length
    if chunk:
        yield chunk
