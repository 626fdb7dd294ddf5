"""The fake OpenAI server's Files and Batch API: ``/v1/files`` and ``/v1/batches``, as OpenAI documents them.

Shapes from OpenAI's API reference as generated into openai-python 3.x (``types/batch.py``,
``types/file_object.py``, ``types/batch_error.py``) and the ``BatchRequestOutput`` schema of openai-openapi:

* ``POST /v1/files`` (multipart: ``file``, ``purpose``): a ``file`` object (``id`` ``file-…``, ``bytes``,
  ``created_at``, ``filename``, ``purpose``, ``status: processed``). A ``batch`` file must be ``.jsonl`` with
  one JSON object per line (else 400).
* ``POST /v1/batches`` (``input_file_id``, ``endpoint``, ``completion_window`` — only ``24h`` —,
  ``metadata``): a ``batch`` object, status ``validating``. Validation happens as on the real service: a line
  that is not a JSON object, a missing or repeated ``custom_id``, a ``method`` other than ``POST``, a ``url``
  other than the batch's endpoint, lines naming different models, or no ``body`` make the whole batch
  ``failed`` with ``errors.data`` (``code``, ``line``, ``message``, ``param``). A body the synchronous endpoint
  would refuse (an unknown parameter, a bad schema …) is one failed line, answered as that endpoint answers.
* Then ``in_progress``; after ``completion_delay`` seconds (or :meth:`BatchDesk.finish`) every line is
  answered by the chat-completions endpoint itself and the batch is ``completed``, with ``output_file_id``
  (lines answered 200) and ``error_file_id`` (the others), each line
  ``{"id": "batch_req_…", "custom_id", "response": {"status_code", "request_id", "body"}, "error": null}``.
* Line faults (:meth:`BatchDesk.script`, one per line in order): ``ok``, ``500`` / ``400`` (the line's
  response has that status, in the error file), ``invalid`` / ``drop`` / ``malformed`` (the chat endpoint's
  item faults: 200 with a bad answer), ``expire`` (the batch ends ``expired``; that line and every line after
  it in the error file with ``error: {"code": "batch_expired", …}`` and ``response: null``).
* ``POST /v1/batches/{id}/cancel``: ``cancelling``, then ``cancelled``; lines not yet answered go to the error
  file with ``batch_cancelled``. ``GET /v1/batches`` lists newest first (``limit``, ``after``).
* ``GET /v1/files/{id}`` and ``GET /v1/files/{id}/content`` (the raw JSONL).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._openai_wire import Reply, error

CHAT_URL = "/v1/chat/completions"
TERMINAL = ("completed", "expired", "cancelled", "failed")
#: Answer one line: (body, fault) -> (status, response body, request id).
Answerer = Callable[[dict[str, Any], str], tuple[int, dict[str, Any], str]]


@dataclass
class _File:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "expires_at": None,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


@dataclass
class _Batch:
    id: str
    input_file_id: str
    endpoint: str
    metadata: dict[str, str] | None
    created: float
    lines: list[dict[str, Any]] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    status: str = "validating"
    errors: list[dict[str, Any]] | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    counts: dict[str, int] = field(default_factory=lambda: {"total": 0, "completed": 0, "failed": 0})
    stamps: dict[str, int] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": None if self.errors is None else {"object": "list", "data": self.errors},
            "input_file_id": self.input_file_id,
            "completion_window": "24h",
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": int(self.created),
            "expires_at": int(self.created) + 86_400,
            "request_counts": dict(self.counts),
            "metadata": self.metadata,
        }
        for name in (
            "in_progress",
            "finalizing",
            "completed",
            "failed",
            "expired",
            "cancelling",
            "cancelled",
        ):
            data[f"{name}_at"] = self.stamps.get(name)
        return data


class BatchDesk:
    """Files and batches of one fake server. ``answer`` runs one line through the chat-completions endpoint."""

    def __init__(self, answer: Answerer, completion_delay: float = 0.0) -> None:
        self.answer = answer
        self.completion_delay = completion_delay
        self.files: dict[str, _File] = {}
        self.batches: dict[str, _Batch] = {}
        self._faults: list[str] = []
        self._lock = threading.RLock()
        self._ids = 0
        #: Tests: while set and not yet released, ``POST /v1/batches`` waits (up to 60 s) before creating the
        #: batch — time to kill a client between its upload and its batch.
        self.create_gate: threading.Event | None = None

    # ------------------------------------------------------------ control (tests)
    def script(self, *faults: str) -> None:
        """Faults for the next batch lines, in order (``ok``, ``500``, ``400``, ``invalid``, ``expire`` …)."""
        with self._lock:
            self._faults.extend(faults)

    def finish(self, batch_id: str | None = None) -> None:
        """Finish a batch (every batch still running when None) now, whatever ``completion_delay`` says."""
        with self._lock:
            for batch in self.batches.values():
                if batch_id in (None, batch.id) and batch.status not in TERMINAL:
                    self._run(batch)

    def cancel(self, batch_id: str) -> None:
        """Cancel as a user in OpenAI's dashboard would."""
        with self._lock:
            self._cancel(self.batches[batch_id])

    def _next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids:06d}fake"

    # ------------------------------------------------------------ HTTP
    def handle(self, method: str, path: str, headers: Mapping[str, str], raw: bytes) -> Reply:
        parts = urlsplit(path)
        route = parts.path.rstrip("/").removeprefix("/v1")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if method == "POST" and route == "/batches" and self.create_gate is not None:
            self.create_gate.wait(60)
        with self._lock:
            if method == "POST" and route == "/files":
                return self._upload(headers, raw)
            if method == "GET" and (m := re.fullmatch(r"/files/([^/]+)(/content)?", route)):
                found = self.files.get(m.group(1))
                if found is None:
                    return error(
                        404, f"No such File object: {m.group(1)}", "invalid_request_error", None, param="id"
                    )
                return (
                    Reply(200, found.data.decode(), content_type="application/octet-stream")
                    if m.group(2)
                    else Reply(200, found.describe())
                )
            if method == "POST" and route == "/batches":
                return self._create(raw)
            if method == "GET" and route == "/batches":
                return self._list(query)
            if m := re.fullmatch(r"/batches/([^/]+)(/cancel)?", route):
                batch = self.batches.get(m.group(1))
                if batch is None:
                    return error(
                        404, f"No batch found with id '{m.group(1)}'.", "invalid_request_error", None
                    )
                if m.group(2) and method == "POST":
                    if batch.status in TERMINAL:
                        return error(
                            409,
                            f"Cannot cancel a batch with status '{batch.status}'.",
                            "invalid_request_error",
                            None,
                        )
                    self._cancel(batch)
                    return Reply(200, batch.describe())
                if not m.group(2) and method == "GET":
                    self._advance(batch)
                    return Reply(200, batch.describe())
        return error(404, f"Invalid URL ({method} {parts.path})", "invalid_request_error", None)

    def _upload(self, headers: Mapping[str, str], raw: bytes) -> Reply:
        kind = headers.get("content-type", "")
        if not kind.startswith("multipart/form-data"):
            return error(
                400,
                "Expected a multipart/form-data body with 'file' and 'purpose'.",
                "invalid_request_error",
                None,
            )
        message = BytesParser().parsebytes(f"Content-Type: {kind}\r\n\r\n".encode() + raw)
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in message.get_payload() if message.is_multipart() else []:
            if isinstance(part, str):
                continue
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            fields[str(name)] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
        if "file" not in fields:
            return error(
                400,
                "Missing required parameter: 'file'.",
                "invalid_request_error",
                "missing_required_parameter",
                param="file",
            )
        purpose = fields.get("purpose", (None, b""))[1].decode()
        if purpose not in ("assistants", "batch", "fine-tune", "vision", "user_data", "evals"):
            return error(
                400,
                f"Invalid value for 'purpose': {purpose!r}.",
                "invalid_request_error",
                "invalid_value",
                param="purpose",
            )
        filename, data = fields["file"]
        filename = filename or "upload"
        if purpose == "batch":
            if not filename.endswith(".jsonl"):
                return error(
                    400, "Invalid file format for Batch API. Must be .jsonl", "invalid_request_error", None
                )
            for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
                try:
                    if not isinstance(json.loads(line), dict):
                        raise ValueError
                except ValueError:
                    return error(
                        400,
                        f"Invalid file format for Batch API. Line {number} is not a JSON object.",
                        "invalid_request_error",
                        None,
                    )
        upload = _File(self._next_id("file-"), filename, purpose, data, int(time.time()))
        self.files[upload.id] = upload
        return Reply(200, upload.describe())

    def _create(self, raw: bytes) -> Reply:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return error(
                400, "We could not parse the JSON body of your request.", "invalid_request_error", None
            )
        for name in body:
            if name not in (
                "input_file_id",
                "endpoint",
                "completion_window",
                "metadata",
                "output_expires_after",
            ):
                return error(
                    400, f"Unrecognized request argument supplied: {name}", "invalid_request_error", None
                )
        if body.get("completion_window") != "24h":
            return error(
                400,
                "Invalid value for 'completion_window': only '24h' is supported.",
                "invalid_request_error",
                "invalid_value",
                param="completion_window",
            )
        if body.get("endpoint") != CHAT_URL:  # the only endpoint this fake serves
            return error(
                400,
                f"Invalid value for 'endpoint': {body.get('endpoint')!r}.",
                "invalid_request_error",
                "invalid_value",
                param="endpoint",
            )
        source = self.files.get(str(body.get("input_file_id")))
        if source is None or source.purpose != "batch":
            return error(
                400,
                f"Invalid 'input_file_id': {body.get('input_file_id')!r}. The file must exist and "
                "have purpose 'batch'.",
                "invalid_request_error",
                "invalid_value",
                param="input_file_id",
            )
        metadata = body.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict)
            or len(metadata) > 16
            or any(len(str(k)) > 64 or not isinstance(v, str) or len(v) > 512 for k, v in metadata.items())
        ):
            return error(
                400,
                "Invalid 'metadata': at most 16 string pairs, keys up to 64 and values up to 512 characters.",
                "invalid_request_error",
                "invalid_value",
                param="metadata",
            )
        batch = _Batch(self._next_id("batch_"), source.id, CHAT_URL, metadata, time.time())
        self.batches[batch.id] = batch
        reply = Reply(200, batch.describe())
        self._validate(batch, source)
        return reply

    def _validate(self, batch: _Batch, source: _File) -> None:
        problems: list[dict[str, Any]] = []
        seen: set[str] = set()
        models: set[str] = set()
        lines: list[dict[str, Any]] = []
        for number, text in enumerate(source.data.decode("utf-8", "replace").splitlines(), start=1):
            line = json.loads(text)  # checked at upload

            def bad(message: str, param: str, code: str = "invalid_request", n: int = number) -> None:
                problems.append({"code": code, "line": n, "message": message, "param": param})

            custom_id = line.get("custom_id")
            if not isinstance(custom_id, str) or not custom_id:
                bad("Missing or empty 'custom_id'.", "custom_id")
            elif custom_id in seen:
                bad(
                    f"The custom_id '{custom_id}' is used more than once; each line needs its own.",
                    "custom_id",
                    "duplicate_custom_id",
                )
            seen.add(str(custom_id))
            if line.get("method") != "POST":
                bad("Invalid 'method': only POST is supported.", "method")
            if line.get("url") != batch.endpoint:
                bad(
                    f"The url '{line.get('url')}' does not match the batch endpoint '{batch.endpoint}'.",
                    "url",
                    "mismatched_endpoint",
                )
            if not isinstance(line.get("body"), dict):
                bad("Missing 'body': an object with the request's parameters.", "body")
            else:
                models.add(str(line["body"].get("model")))
            lines.append(line)
        if len(models) > 1:
            problems.append(
                {
                    "code": "mismatched_model",
                    "line": None,
                    "param": "body.model",
                    "message": "Every request in a batch must use the same model.",
                }
            )
        if not lines:
            problems.append(
                {"code": "empty_file", "line": None, "param": None, "message": "The file has no lines."}
            )
        if problems:
            batch.status, batch.errors = "failed", problems
            batch.stamps["failed"] = int(time.time())
            return
        batch.lines = lines
        batch.counts["total"] = len(lines)
        batch.faults = [self._faults.pop(0) if self._faults else "ok" for _ in lines]

    def _advance(self, batch: _Batch) -> None:
        if batch.status == "validating":
            batch.status = "in_progress"
            batch.stamps["in_progress"] = int(time.time())
        if batch.status == "in_progress" and time.time() - batch.created >= self.completion_delay:
            self._run(batch)
        if batch.status == "cancelling":
            batch.status = "cancelled"
            batch.stamps["cancelled"] = int(time.time())

    def _run(self, batch: _Batch) -> None:
        """Answer every line (up to an ``expire`` fault) and write the output and error files."""
        outputs: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        expired = False
        for line, fault in zip(batch.lines, batch.faults, strict=True):
            expired = expired or fault == "expire"
            if expired:
                errors.append(
                    self._line(
                        line,
                        None,
                        {
                            "code": "batch_expired",
                            "message": "This request could "
                            "not be executed before the completion window expired.",
                        },
                    )
                )
                continue
            status, body, request_id = self.answer(line["body"], fault if fault != "ok" else "ok")
            target = outputs if status == 200 else errors
            target.append(self._line(line, {"status_code": status, "request_id": request_id, "body": body}))
        self._close(batch, outputs, errors, "expired" if expired else "completed")

    def _cancel(self, batch: _Batch) -> None:
        batch.stamps["cancelling"] = int(time.time())
        errors = [
            self._line(
                line,
                None,
                {
                    "code": "batch_cancelled",
                    "message": "This request was not executed because the batch was cancelled.",
                },
            )
            for line in batch.lines
        ]
        self._close(batch, [], errors, "cancelling")

    def _line(
        self, line: Mapping[str, Any], response: dict[str, Any] | None, problem: dict[str, str] | None = None
    ) -> dict[str, Any]:
        return {
            "id": self._next_id("batch_req_"),
            "custom_id": line.get("custom_id"),
            "response": response,
            "error": problem,
        }

    def _close(
        self, batch: _Batch, outputs: list[dict[str, Any]], errors: list[dict[str, Any]], status: str
    ) -> None:
        now = int(time.time())
        for kind, lines in (("output", outputs), ("error", errors)):
            if lines:
                data = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode()
                made = _File(self._next_id("file-"), f"{batch.id}_{kind}.jsonl", "batch_output", data, now)
                self.files[made.id] = made
                setattr(batch, f"{kind}_file_id", made.id)
        batch.counts.update(completed=len(outputs), failed=len(errors))
        batch.status = status
        batch.stamps.setdefault("finalizing", now)
        batch.stamps[status] = now

    def _list(self, query: Mapping[str, str]) -> Reply:
        ordered = sorted(self.batches.values(), key=lambda b: (b.created, b.id), reverse=True)
        after = query.get("after")
        if after:
            ids = [b.id for b in ordered]
            ordered = ordered[ids.index(after) + 1 :] if after in ids else []
        limit = max(1, min(100, int(query.get("limit") or 20)))
        page = ordered[:limit]
        for batch in page:
            self._advance(batch)
        data = [b.describe() for b in page]
        return Reply(
            200,
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": len(ordered) > limit,
            },
        )
