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
``invalid``, ``length``, ``control``, ``refusal``, ``insufficient_quota``, ``401``, ``404``. A row
containing ``REFUSE-ME`` makes every request that holds it a refusal; a row containing ``INVALID-PROMPT``
makes it a 400 ``invalid_prompt``, as OpenAI answers a flagged prompt. ``usage=False`` (``--no-usage``)
leaves ``usage`` out of every answer, as some compatible servers do. Optional ``rpm``/``tpm`` limits
answer with the real ``x-ratelimit-*`` headers and 429 + ``retry-after`` when exceeded.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import _openai_tokens as tokens
from ._openai_answers import INVALID_MARK, REFUSE_MARK, expected_answer, with_control_chars
from ._openai_catalog import KNOWN_MODELS
from ._openai_protocol import BatchRequest, read_request, render_json
from ._openai_schema import response_format_problem
from ._openai_standins import compat_modes, dress, refusal
from ._openai_wire import Bucket, Reply, duration, error, mask_key

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
        api_key: str | None = None,
        models: Iterable[str] | None = None,
        retry_after: float = 0.1,
        chaos: float = 0.0,
        seed: int = 0,
        usage: bool = True,
        compat: str | Iterable[str] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.latency, self.retry_after, self.chaos = latency, retry_after, chaos
        self.api_key = api_key
        self.send_usage = usage  # False: answers carry no "usage", like some compatible servers
        self.models = set(models) if models is not None else set(KNOWN_MODELS)
        self.compat = compat_modes(
            compat
        )  # stand-in for a compatible server: fenced, freetext, no-json-schema
        self._requests_bucket = Bucket(rpm, burst_seconds) if rpm else None
        self._tokens_bucket = Bucket(tpm, burst_seconds) if tpm else None
        self._faults: list[str] = []
        self._seen_prefixes: set[str] = set()
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self.requests: list[dict[str, Any]] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

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

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        record: dict[str, Any] = {"path": path, "time": time.time(), "outcome": "ok"}
        with self._lock:
            self.requests.append(record)
        reply = self._answer(path, headers, raw, record)
        record["status"] = reply.status
        return reply

    def _answer(self, path: str, headers: dict[str, str], raw: bytes, record: dict[str, Any]) -> Reply:
        if not path.rstrip("/").endswith("/chat/completions"):
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
        try:
            body = json.loads(raw or b"{}")
            messages = body["messages"]
        except (ValueError, KeyError, TypeError):
            record["outcome"] = "400"
            return error(
                400, "We could not parse the JSON body of your request.", "invalid_request_error", None
            )
        model = str(body.get("model", ""))
        record["body"] = body
        fault = self._next_fault()
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
        if fault in ("408", "500", "503"):
            return error(
                int(fault),
                "The server had an error while processing your request.",
                "server_error",
                None,
                self.retry_after if fault != "500" else None,
            )
        if fault == "429":
            return error(
                429,
                "Rate limit reached for requests. Please try again shortly.",
                "requests",
                "rate_limit_exceeded",
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
        request = read_request(messages)
        record["rows"] = request.items
        content, finish, refused_text = self._content(request, fault)
        prompt = tokens.prompt_tokens(messages, body.get("response_format"))
        completion = tokens.count(content or refused_text or "")
        cap = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(cap, int) and content is not None and completion > cap:  # cut, as the API does
            content, completion, finish = tokens.cut(content, cap), cap, "length"
        limited = self._charge(prompt + completion, record)
        if limited is not None:
            return limited
        delay = self.latency
        if fault.startswith("slow:"):
            delay += float(fault.split(":", 1)[1])
        elif fault == "timeout":
            delay += 3600.0
        record.update(prompt_tokens=prompt, completion_tokens=completion, items=len(request.items))
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": self._cached(messages), "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
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
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": usage,
            "system_fingerprint": "fp_fake",
        }
        if not self.send_usage:
            del completion_body["usage"]
        return Reply(200, completion_body, self._limit_headers(), delay)

    def _content(self, request: BatchRequest, fault: str) -> tuple[str | None, str, str | None]:
        if fault == "refusal" or any(REFUSE_MARK in text for _, text in request.items):
            return None, "stop", "I'm sorry, I can't help with that request."
        pairs = [
            (
                i,
                expected_answer(
                    request.task, text, labels=request.labels, max_chars=request.max_chars or 200
                ),
            )
            for i, text in request.items
        ]
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
                    "x" * ((request.max_chars or 0) + 5) if request.kind == "text" else "x",
                )
        if fault == "control" and request.kind == "text":
            pairs = [(i, with_control_chars(v)) for i, v in pairs]
        content = dress(self.compat, render_json(request, pairs), pairs)
        if fault == "malformed":
            return content[: max(1, len(content) // 2)] + "<<garbled", "stop", None
        if fault == "length":
            return content[: max(1, len(content) // 2)], "length", None
        return content, "stop", None

    def _cached(self, messages: list[dict[str, Any]]) -> int:
        """OpenAI-style prompt caching: a repeated system prefix of 1,024+ tokens is cached in 128-token steps."""
        system = str(messages[0].get("content") or "") if messages else ""
        prefix = tokens.prompt_tokens(messages[:1]) - tokens.REPLY_PRIMING
        with self._lock:
            seen = system in self._seen_prefixes
            self._seen_prefixes.add(system)
        return (prefix // 128) * 128 if seen and prefix >= 1024 else 0

    def _charge(self, tokens: int, record: dict[str, Any]) -> Reply | None:
        with self._lock:
            now = time.monotonic()
            waits = []
            for bucket, amount in ((self._requests_bucket, 1), (self._tokens_bucket, tokens)):
                if bucket is not None:
                    bucket.refill(now)
                    waits.append(bucket.seconds_until(amount))
            wait = max(waits, default=0.0)
            if wait > 0:
                record["outcome"] = "rate_limited"
                kind = (
                    "tokens"
                    if self._tokens_bucket and self._tokens_bucket.seconds_until(tokens) > 0
                    else "requests"
                )
                reply = error(
                    429,
                    f"Rate limit reached for {kind}. Please try again in {duration(wait)}.",
                    kind,
                    "rate_limit_exceeded",
                    wait,
                )
                reply.headers.update(self._limit_headers_locked())
                return reply
            if self._requests_bucket is not None:
                self._requests_bucket.level -= 1
            if self._tokens_bucket is not None:
                self._tokens_bucket.level -= tokens
        return None

    def _limit_headers(self) -> dict[str, str]:
        with self._lock:
            return self._limit_headers_locked()

    def _limit_headers_locked(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for kind, bucket in (("requests", self._requests_bucket), ("tokens", self._tokens_bucket)):
            if bucket is None:
                continue
            headers[f"x-ratelimit-limit-{kind}"] = str(int(bucket.per_minute))
            headers[f"x-ratelimit-remaining-{kind}"] = str(max(0, int(bucket.level)))
            headers[f"x-ratelimit-reset-{kind}"] = duration(bucket.seconds_until(bucket.capacity))
        return headers


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
        if self.path.rstrip("/").endswith("/models"):
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
        payload = (
            reply.body if isinstance(reply.body, str) else json.dumps(reply.body, ensure_ascii=False)
        ).encode()
        try:
            self.send_response(reply.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.send_header("x-request-id", f"req_fake{id(reply)}")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            self.close_connection = True


def main(argv: list[str] | None = None) -> None:
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
    parser.add_argument("--api-key", help="Only accept this key (401 for others).")
    parser.add_argument(
        "--faults", default="", help="Comma-separated faults for the first requests, e.g. 429,500,drop."
    )
    parser.add_argument(
        "--chaos", type=float, default=0.0, help="Probability of a random recoverable fault per request."
    )
    parser.add_argument("--retry-after", type=float, default=1.0, help="Seconds in retry-after on 429/503.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-usage", action="store_true", help="Leave 'usage' out of every answer.")
    parser.add_argument(
        "--compat",
        default="",
        help="Stand in for a compatible server: fenced, freetext, no-json-schema (comma-separated).",
    )
    args = parser.parse_args(argv)
    server = FakeOpenAI(
        args.port, host=args.host, latency=args.latency, rpm=args.rpm, tpm=args.tpm, burst_seconds=args.burst_seconds,
        api_key=args.api_key, retry_after=args.retry_after, chaos=args.chaos, seed=args.seed,
        usage=not args.no_usage, compat=args.compat or None,
    )  # fmt: skip
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
