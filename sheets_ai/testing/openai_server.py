"""A fake OpenAI server for tests and offline trials: real HTTP on loopback, the chat-completions wire format.

Run it::

    python -m sheets_ai.testing.openai_server --port 8765 --faults 429,500,drop,length
    OPENAI_API_KEY=test OPENAI_BASE_URL=http://127.0.0.1:8765/v1 sheets-ai run reviews.xlsx ...

or from Python::

    with FakeOpenAI(port=0) as server:
        server.script("429", "drop")          # the next two requests fail that way
        ... OPENAI_BASE_URL=server.url ...
        assert len(server.requests) == 3

Answers are deterministic keyword rules (:mod:`sheets_ai.testing._openai_answers`) applied to each row of
a batch request, read with the server's own reading of the protocol (:mod:`._openai_protocol`; the server
imports nothing of the client). Prompt tokens follow OpenAI's counting rule with the server's own o200k
tokenizer, the ``response_format`` schema included (:mod:`._openai_tokens`); ``response_format`` is checked
against OpenAI's strict-schema rules (:mod:`._openai_schema`); an answer longer than ``max_tokens`` /
``max_completion_tokens`` is cut with ``finish_reason: "length"``. ``compat=`` (``--compat``) turns it into
a stand-in for a compatible server that ignores or refuses JSON schemas (:mod:`._openai_standins`). Faults (scripted, or at random with ``chaos``): ``429``,
``408``, ``500``, ``503``, ``slow:SECONDS``, ``timeout``, ``malformed``, ``drop``, ``duplicate``,
``invalid``, ``length``, ``control``, ``refusal``, ``insufficient_quota``, ``project_spend_limit_exceeded``,
``organization_spend_limit_exceeded`` (a hard spend limit set in OpenAI's settings), ``401``, ``404``,
``long:FACTOR`` or ``long:LOW-HIGH@SHARE`` (summaries longer than the request asks for). A row
containing ``REFUSE-ME`` makes every request that holds it a refusal; a row containing ``INVALID-PROMPT``
makes it a 400 ``invalid_prompt``, as OpenAI answers a flagged prompt. ``usage=False`` (``--no-usage``)
leaves ``usage`` out of every answer, as some compatible servers do. Optional ``rpm``/``tpm`` limits
charge tokens as OpenAI does (prompt + ``max_tokens`` at arrival, the unused part given back at the answer)
and answer 429 with "Please try again in …" when exceeded; ``rate_limit_headers`` chooses the headers
(``normal``, ``none`` or Azure's ``-1``), see :mod:`sheets_ai.testing._openai_limits`.

Models (:mod:`sheets_ai.testing._openai_models`): each known model id takes the parameters its family takes
on the real API (else 400 with ``param`` and ``code``); reasoning models spend reasoning tokens
(``reasoning_tokens`` per request, or an amount for the effort), counted in ``completion_tokens`` and against
``max_completion_tokens``. ``extra_models={"gpt-5.9": "o3"}`` serves a new name with a known model's rules.

Confidence: ``logprobs`` shaped as the real API's (:mod:`._openai_logprobs`); for the self-reported variant
of a label request (a digit 0-9 after each code, asked by the answer line and the strict schema's pattern,
the pattern deciding as constrained decoding would) each code is followed by the row's certainty in tenths
(:func:`._openai_answers.confidence_digit`).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import _openai_tokens as tokens
from ._openai_answers import (
    INVALID_MARK,
    REFUSE_MARK,
    certainty,
    confidence_digit,
    expected_answer,
    overlong,
    with_control_chars,
)
from ._openai_batches import BatchDesk
from ._openai_limits import HEADER_MODES, ServerLimits, completion_cap
from ._openai_logprobs import logprobs_field
from ._openai_models import RULES, Rules, check_request, fit_in_cap, reasoning_spend
from ._openai_models import known_models as known_model_ids
from ._openai_protocol import (
    BatchRequest,
    CombinedRequest,
    answers_with_digits,
    read_combined,
    read_request,
    render_combined,
    render_json,
)
from ._openai_schema import response_format_problem
from ._openai_standins import compat_modes, dress, refusal
from ._openai_wire import Reply, error, mask_key

#: Files and Batch API paths (:mod:`._openai_batches`).
BATCH_ROUTES = re.compile(r"/v1/(files|batches)(/|$)")
ITEM_FAULTS = ("drop", "duplicate", "invalid", "length", "malformed")
TRANSIENT_FAULTS = ("429", "500", "503")
CHAOS_FAULTS = TRANSIENT_FAULTS + ITEM_FAULTS


class FakeOpenAI:
    """The fake server. Use as a context manager; ``url`` is the base URL to give the SDK."""

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        latency: float = 0.0,
        rpm: int | None = None,
        tpm: int | None = None,
        burst_seconds: float = 60.0,
        rate_limit_headers: str = "normal",
        api_key: str | None = None,
        models: Iterable[str] | None = None,
        retry_after: float = 0.1,
        chaos: float = 0.0,
        seed: int = 0,
        usage: bool = True,
        reasoning_tokens: int | None = None,
        extra_models: Mapping[str, str] | None = None,
        compat: str | Iterable[str] | None = None,
        batch_delay: float = 0.0,
        flex_unavailable: float = 0.0,
    ) -> None:
        self.host, self.port = host, port
        self.latency, self.retry_after, self.chaos = latency, retry_after, chaos
        self.api_key = api_key
        self.send_usage = usage  # False: answers carry no "usage", like some compatible servers
        self.reasoning_tokens = reasoning_tokens
        self.extra_models = dict(extra_models or {})
        self.models = set(models) if models is not None else set(known_model_ids())
        self.models |= set(self.extra_models)
        self.limits = ServerLimits(rpm, tpm, burst_seconds=burst_seconds, headers=rate_limit_headers)
        # A stand-in for a compatible server: fenced, freetext, no-json-schema (see _openai_standins).
        self.compat = compat_modes(compat)
        self._faults: list[str] = []
        self._seen_prefixes: set[str] = set()
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._request_ids = 0
        self._stop = threading.Event()
        self.requests: list[dict[str, Any]] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        #: /v1/files and /v1/batches (:mod:`._openai_batches`): each line answered by this chat endpoint.
        self.batches = BatchDesk(self._batch_line, completion_delay=batch_delay)
        #: The share of flex requests answered 429 ``resource_unavailable`` (flex's "Resource Unavailable").
        self.flex_unavailable = flex_unavailable

    # ------------------------------------------------------------ control
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def script(self, *faults: str) -> FakeOpenAI:
        """Queue faults: each of the next requests gets the next fault ("ok" for none)."""
        with self._lock:
            self._faults.extend(faults)
        return self

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._faults.clear()

    def counts(self) -> Counter[str]:
        """How many requests ended in each outcome ("ok", "429", "drop", …)."""
        with self._lock:
            return Counter(str(r["outcome"]) for r in self.requests)

    def start(self) -> FakeOpenAI:
        tokens.encoding()  # load the tokenizer now, not inside the first request (it takes a second or two)
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        # A short poll interval: stop() returns within ~50 ms instead of up to 0.5 s (the stdlib default).
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    # ------------------------------------------------------------ one request
    def _next_fault(self) -> str:
        with self._lock:
            if self._faults:
                return self._faults.pop(0)
            if self.chaos and self._rng.random() < self.chaos:
                return self._rng.choice(CHAOS_FAULTS)
        return "ok"

    def handle(self, path: str, headers: dict[str, str], raw: bytes, method: str = "POST") -> Reply:
        record: dict[str, Any] = {"path": path, "method": method, "time": time.time(), "outcome": "ok"}
        arrived = time.monotonic()
        with self._lock:
            self.requests.append(record)
            self._request_ids += 1
            record["request_id"] = f"req_fake{self._request_ids:06d}"
        reply = self._answer(path, headers, raw, record, arrived, method)
        record["status"] = reply.status
        reply.headers["x-request-id"] = record["request_id"]
        return reply

    def _answer(
        self,
        path: str,
        headers: dict[str, str],
        raw: bytes,
        record: dict[str, Any],
        arrived: float,
        method: str,
    ) -> Reply:
        route = path.split("?", 1)[0].rstrip("/")  # a query is not the path
        chat = route.endswith("/chat/completions") and method == "POST"
        if not chat and not BATCH_ROUTES.search(route):
            record["outcome"] = "404"
            return error(404, f"Unknown path {path}", "invalid_request_error", "unknown_url")
        key = headers.get("authorization", "").removeprefix("Bearer ").strip()
        if self.api_key is not None and key != self.api_key:
            record["outcome"] = "401"
            return error(
                401,
                f"Incorrect API key provided: {mask_key(key)}.",
                "invalid_request_error",
                "invalid_api_key",
            )
        if not chat:
            reply = self.batches.handle(method, path, headers, raw)
            record["outcome"] = "ok" if reply.status == 200 else str(reply.status)
            return reply
        try:
            body = json.loads(raw or b"{}")
            if "messages" not in body:
                raise KeyError("messages")
        except (ValueError, KeyError, TypeError):
            record["outcome"] = "400"
            return error(
                400, "We could not parse the JSON body of your request.", "invalid_request_error", None
            )
        return self._complete(body, record, arrived, key=key)

    def _batch_line(self, body: dict[str, Any], fault: str) -> tuple[int, dict[str, Any], str]:
        """One line of a batch, answered as the synchronous endpoint answers it (no rate limits, no delay)."""
        record: dict[str, Any] = {"path": "/v1/batches (line)", "time": time.time(), "outcome": "ok"}
        with self._lock:
            self.requests.append(record)
            self._request_ids += 1
            record["request_id"] = f"req_fake{self._request_ids:06d}"
        record["batch"] = True
        if not isinstance(body.get("messages"), list):
            reply = error(400, "Missing required parameter: 'messages'.", "invalid_request_error",
                          "missing_required_parameter", param="messages")  # fmt: skip
        elif fault in ("400", "500"):
            record["outcome"] = record["status"] = fault
            reply = error(int(fault), "The server had an error while processing your request." if fault == "500"
                          else "Invalid request.", "server_error" if fault == "500" else "invalid_request_error", None)  # fmt: skip
        else:
            reply = self._complete(body, record, time.monotonic(), fault)
        if reply.after is not None:
            reply.after()
        record["status"] = reply.status
        assert isinstance(reply.body, dict)
        return reply.status, reply.body, str(record["request_id"])

    def _complete(
        self,
        body: dict[str, Any],
        record: dict[str, Any],
        arrived: float,
        batch_fault: str | None = None,
        key: str = "",
    ) -> Reply:
        """The chat-completions answer to a parsed request body (a synchronous request or a batch line)."""
        messages = body["messages"] if isinstance(body.get("messages"), list) else []
        model = str(body.get("model", ""))
        record["body"] = body
        rules = self.rules(model)
        rejected = check_request(model, rules, body) if rules is not None else None
        if rejected is not None:
            record["outcome"] = str(rejected.status)
            return rejected
        fault = self._next_fault() if batch_fault is None else batch_fault
        record["outcome"] = fault
        if model not in self.models or fault == "404":
            return error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            )
        if fault == "401":
            return error(
                401,
                f"Incorrect API key provided: {mask_key(key)}.",
                "invalid_request_error",
                "invalid_api_key",
            )
        if fault == "insufficient_quota":
            return error(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                "insufficient_quota",
            )
        if fault in ("project_spend_limit_exceeded", "organization_spend_limit_exceeded"):
            scope = fault.split("_", 1)[0]  # OpenAI documents the code; the message and type here are ours
            return error(429, f"This {scope} has reached its hard spend limit.", "insufficient_quota", fault)
        if fault in ("408", "500", "503"):
            return error(
                int(fault),
                "The server had an error while processing your request.",
                "server_error",
                None,
                self.retry_after if fault != "500" else None,
            )
        if fault == "429":
            return self.limits.scripted_429(model, self.retry_after)
        if fault == "resource_unavailable" or (body.get("service_tier") == "flex" and self._flex_busy()):
            record["outcome"] = "resource_unavailable"
            return error(
                429,
                "Resource Unavailable: flex processing has no capacity for this request right now. Please try "
                "again later, or send it without service_tier 'flex'.",
                "rate_limit_error",
                "resource_unavailable",
                self.retry_after,
            )
        if any(INVALID_MARK in str(m.get("content") or "") for m in messages):
            record["outcome"] = "invalid_prompt"
            return error(
                400,
                "Invalid prompt: your prompt was flagged as potentially violating our usage policy. Please "
                "try again with a different prompt.",
                "invalid_request_error",
                "invalid_prompt",
            )
        refused = refusal(self.compat, body) or response_format_problem(body)
        if refused is not None:
            record["outcome"] = "400"
            return refused
        request, combined = read_request(messages), read_combined(messages)
        record["rows"] = request.items
        if combined is not None:
            record["tasks"] = [part.task for part in combined.parts]
        content, finish, refused_text = self._content(
            request, fault, combined, answers_with_digits(body, request)
        )
        prompt = tokens.prompt_tokens(messages, body.get("response_format"))
        completion = tokens.count(content or refused_text or "")
        reasoning = reasoning_spend(rules, body, self.reasoning_tokens) if rules is not None else 0
        if (
            content is not None
        ):  # reasoning first, then the answer, within the output cap (cut as the API does)
            content, completion, reasoning, cut = fit_in_cap(content, reasoning, body, tokens.count)
            finish = "length" if cut else finish
        charged = prompt + (completion_cap(body) or completion)  # what OpenAI counts on arrival
        limited, outcome = (
            (None, "ok") if batch_fault is not None else self.limits.admit(model, charged, arrived)
        )
        if limited is not None:
            record["outcome"] = outcome
            return limited
        delay = self.latency
        if fault.startswith("slow:"):
            delay += float(fault.split(":", 1)[1])
        elif fault == "timeout":
            delay += 3600.0
        record.update(
            prompt_tokens=prompt,
            completion_tokens=completion,
            reasoning_tokens=reasoning,
            items=len(request.items),
        )
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": self._cached(messages), "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0},
        }
        message: dict[str, Any] = {
            "role": "assistant",
            "content": content,
            "refusal": refused_text,
            "annotations": [],
        }
        completion_body = {
            "id": f"chatcmpl-fake{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None if combined else self._logprobs(body, request, content, refused_text),
                    "finish_reason": finish,
                }
            ],
            "usage": usage,
            "service_tier": "flex" if body.get("service_tier") == "flex" else "default",
            "system_fingerprint": "fp_fake",
        }
        if not self.send_usage:
            del completion_body["usage"]
        if batch_fault is not None:  # a batch line: no rate limits, no waiting
            return Reply(200, completion_body)
        settle = lambda: self.limits.settle(charged, prompt + completion)  # noqa: E731
        return Reply(200, completion_body, self.limits.headers(), delay, after=settle)

    def _flex_busy(self) -> bool:
        with self._lock:
            return bool(self.flex_unavailable) and self._rng.random() < self.flex_unavailable

    def rules(self, model: str) -> Rules | None:
        """The parameter rules ``model`` is served with (None: a name given in ``models`` only, unchecked)."""
        return RULES.get(self.extra_models.get(model, model))

    @staticmethod
    def _logprobs(
        body: Mapping[str, Any], request: BatchRequest, content: str | None, refused: str | None
    ) -> dict[str, Any] | None:
        """``choices[0].logprobs`` (:mod:`._openai_logprobs`): None unless the request asked for them."""
        sure = {
            i: certainty(
                request.task,
                text,
                expected_answer(request.task, text, labels=request.labels),
                labels=request.labels,
            )
            for i, text in request.items
        }
        codes = list(request.codes.values())
        return logprobs_field(body, content, refused, codes=codes, certainty=sure)

    @staticmethod
    def _digits(request: BatchRequest) -> dict[str, int]:
        """id -> the confidence digit the fake "model" reports: its certainty in tenths, rounded down."""
        return {
            i: confidence_digit(
                certainty(request.task, text, expected_answer(request.task, text, labels=request.labels))
            )
            for i, text in request.items
        }

    def _content(
        self,
        request: BatchRequest,
        fault: str,
        combined: CombinedRequest | None = None,
        rated: bool = False,
    ) -> tuple[str | None, str, str | None]:
        if fault == "refusal" or any(REFUSE_MARK in text for _, text in request.items):
            return None, "stop", "I'm sorry, I can't help with that request."
        if combined is not None:  # every task answered; a row-level fault hits the last task only
            last = combined.parts[-1] if combined.parts else None
            answers = {p.task: self._pairs(p, fault if p is last else "ok") for p in combined.parts}
            content = render_combined(combined, answers)
            content = dress(self.compat - {"freetext"}, content, [])
        else:
            pairs = self._pairs(request, fault)
            digits = self._digits(request) if rated else None  # the self-reported confidence variant
            content = dress(self.compat, render_json(request, pairs, digits), pairs)
        if fault == "malformed":
            return content[: max(1, len(content) // 2)] + "<<garbled", "stop", None
        if fault == "length":
            return content[: max(1, len(content) // 2)], "length", None
        return content, "stop", None

    def _pairs(self, request: BatchRequest, fault: str) -> list[tuple[str, str]]:
        """Each row's answer for one task, with a row-level fault (drop, duplicate, invalid, long, control)."""
        pairs = [
            (
                i,
                expected_answer(
                    request.task, text, labels=request.labels, max_chars=request.max_chars or 200
                ),
            )
            for i, text in request.items
        ]
        if fault.startswith("long:") and request.kind == "text":  # summaries longer than asked for
            with self._lock:
                longer = [
                    overlong(t, request.max_chars or 200, fault[5:], self._rng) for _, t in request.items
                ]
            pairs = [(i, v if x is None else x) for (i, v), x in zip(pairs, longer, strict=True)]
        if pairs and fault in ("drop", "duplicate", "invalid"):
            k = len(pairs) // 2
            if fault == "drop":
                del pairs[k]
            elif fault == "duplicate":
                other = next((v for v in request.labels if v != pairs[k][1]), pairs[k][1] + " (again)")
                pairs.insert(k + 1, (pairs[k][0], other))
            else:
                pairs[k] = (
                    pairs[k][0],
                    "x" * (2 * (request.max_chars or 0) + 5) if request.kind == "text" else "x",
                )
        if fault == "control" and request.kind == "text":
            pairs = [(i, with_control_chars(v)) for i, v in pairs]
        return pairs

    def _cached(self, messages: list[dict[str, Any]]) -> int:
        """OpenAI-style prompt caching: a repeated system prefix of 1,024+ tokens is cached in 128-token steps."""
        system = str(messages[0].get("content") or "") if messages else ""
        prefix = tokens.prompt_tokens(messages[:1]) - tokens.REPLY_PRIMING
        with self._lock:
            seen = system in self._seen_prefixes
            self._seen_prefixes.add(system)
        return (prefix // 128) * 128 if seen and prefix >= 1024 else 0


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAI
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus delayed ACKs add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are recorded in ``FakeOpenAI.requests`` instead."""

    def do_GET(self) -> None:
        if BATCH_ROUTES.search(self.path.split("?", 1)[0]):
            headers = {k.lower(): v for k, v in self.headers.items()}
            self._send(self.fake.handle(self.path, headers, b"", method="GET"))
        elif self.path.rstrip("/").endswith("/models"):
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "fake"}
                for m in sorted(self.fake.models)
            ]
            self._send(Reply(200, {"object": "list", "data": data}))
        else:
            self._send(error(404, f"Unknown path {self.path}", "invalid_request_error", "unknown_url"))

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        self._send(self.fake.handle(self.path, headers, raw))

    def _send(self, reply: Reply) -> None:
        if reply.delay:
            self.fake.sleep(reply.delay)
        if reply.after is not None:
            reply.after()
        payload = (
            reply.body if isinstance(reply.body, str) else json.dumps(reply.body, ensure_ascii=False)
        ).encode()
        try:
            self.send_response(reply.status)
            self.send_header("content-type", reply.content_type)
            self.send_header("content-length", str(len(payload)))
            if "x-request-id" not in reply.headers:
                self.send_header("x-request-id", "req_fake_get")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            self.close_connection = True


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sheets_ai.testing.openai_server", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="Seconds before each answer.")
    parser.add_argument("--rpm", type=int, help="Requests per minute before 429.")
    parser.add_argument("--tpm", type=int, help="Tokens per minute before 429.")
    parser.add_argument(
        "--burst-seconds", type=float, default=60.0, help="How many seconds of quota can be used at once."
    )
    parser.add_argument(
        "--rate-limit-headers",
        choices=HEADER_MODES,
        default="normal",
        help="normal: x-ratelimit-* and retry-after like OpenAI; none: only the 'try again in' text of a "
        "429; -1: every x-ratelimit-* header is -1 (Azure).",
    )
    parser.add_argument("--api-key", help="Only accept this key (401 for others).")
    parser.add_argument(
        "--faults", default="", help="Comma-separated faults for the first requests, e.g. 429,500,drop."
    )
    parser.add_argument(
        "--chaos", type=float, default=0.0, help="Probability of a random recoverable fault per request."
    )
    parser.add_argument("--retry-after", type=float, default=1.0, help="Seconds in retry-after on 429/503.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--reasoning-tokens",
        type=int,
        help="Reasoning tokens each request to a reasoning model spends (default: an amount per effort).",
    )
    parser.add_argument(
        "--extra-model",
        action="append",
        default=[],
        metavar="NAME=LIKE",
        help="Serve model NAME with the rules of the known model LIKE, e.g. gpt-5.9=o3 (repeatable).",
    )
    parser.add_argument("--no-usage", action="store_true", help="Leave 'usage' out of every answer.")
    parser.add_argument(
        "--batch-delay", type=float, default=0.0, help="Seconds before a batch (/v1/batches) is completed."
    )
    parser.add_argument(
        "--batch-faults",
        default="",
        help="Comma-separated faults for the first batch lines, e.g. ok,500,expire.",
    )
    parser.add_argument(
        "--flex-unavailable",
        type=float,
        default=0.0,
        help="Share of service_tier flex requests answered 429 resource_unavailable.",
    )
    parser.add_argument(
        "--compat",
        default="",
        help="Stand in for a compatible server: fenced, freetext, no-json-schema (comma-separated).",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    extra = dict(item.split("=", 1) for item in args.extra_model)
    server = FakeOpenAI(
        args.port, host=args.host, latency=args.latency, rpm=args.rpm, tpm=args.tpm, burst_seconds=args.burst_seconds,
        rate_limit_headers=args.rate_limit_headers, api_key=args.api_key, retry_after=args.retry_after, chaos=args.chaos, seed=args.seed,
        reasoning_tokens=args.reasoning_tokens, extra_models=extra, usage=not args.no_usage, compat=args.compat or None,
        batch_delay=args.batch_delay, flex_unavailable=args.flex_unavailable,
    )  # fmt: skip
    server.batches.script(*[f.strip() for f in args.batch_faults.split(",") if f.strip()])
    server.script(*[f.strip() for f in args.faults.split(",") if f.strip()])
    server.start()
    print(f"Fake OpenAI server on {server.url} (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print(f"{len(server.requests)} requests: {dict(server.counts())}", flush=True)


if __name__ == "__main__":
    main()
