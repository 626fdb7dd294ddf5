"""The fake OpenAI server speaks the chat-completions wire format to the real SDK."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import openai
import pytest

from sheets_ai import prompts
from sheets_ai.config import build_config
from sheets_ai.tasks import build_task
from sheets_ai.testing.openai_server import FakeOpenAI
from sheets_ai.tokens import count_tokens

TASK = build_task(build_config({"task": "sentiment"}))
ROWS = [("1", "Love it, great."), ("2", "Broken and late."), ("3", "It is blue.")]


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(port=0, retry_after=0.05) as server:
        yield server


def client(server: FakeOpenAI, key: str = "test") -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=server.url, max_retries=0, timeout=5)


def create(c: openai.OpenAI, model: str = "gpt-4.1-mini") -> openai.types.chat.ChatCompletion:
    return c.chat.completions.create(
        model=model,
        messages=prompts.build_messages(TASK, ROWS),  # type: ignore[arg-type]
        response_format=prompts.response_format(TASK, ["1", "2", "3"]),  # type: ignore[arg-type]
    )


def test_answers_in_our_protocol_with_usage(fake: FakeOpenAI) -> None:
    reply = create(client(fake))
    assert reply.choices[0].finish_reason == "stop"
    assert reply.choices[0].message.content == '{"a":"1p2n3u"}'
    assert (
        reply.usage is not None
        and reply.usage.prompt_tokens > 50
        and reply.usage.completion_tokens == count_tokens('{"a":"1p2n3u"}')
    )
    assert fake.requests[0]["items"] == 3


def test_scripted_faults_use_the_real_error_shapes(fake: FakeOpenAI) -> None:
    fake.script("429", "insufficient_quota", "503", "404", "refusal", "length")
    c = client(fake)
    with pytest.raises(openai.RateLimitError) as limited:
        create(c)
    assert limited.value.response.headers["retry-after-ms"] == "50"
    with pytest.raises(openai.RateLimitError) as quota:
        create(c)
    assert quota.value.code == "insufficient_quota"
    with pytest.raises(openai.InternalServerError):
        create(c)
    with pytest.raises(openai.NotFoundError):
        create(c)
    assert create(c).choices[0].message.refusal
    assert create(c).choices[0].finish_reason == "length"


def test_wrong_key_gets_401_with_the_key_masked() -> None:
    with FakeOpenAI(api_key="right-key") as server, pytest.raises(openai.AuthenticationError) as err:
        create(client(server, key="sk-wrong-0123456789"))
    assert "sk-wrong-0123456789" not in str(err.value)


def test_rate_limits_answer_with_headers_and_retry_after() -> None:
    with FakeOpenAI(rpm=60, burst_seconds=2) as server:
        c = client(server)
        raw = c.chat.completions.with_raw_response.create(
            model="gpt-4.1-mini",
            messages=prompts.build_messages(TASK, ROWS),  # type: ignore[arg-type]
        )
        assert raw.headers["x-ratelimit-limit-requests"] == "60"
        assert raw.headers["x-ratelimit-remaining-requests"] == "1"
        create(c)
        with pytest.raises(openai.RateLimitError) as err:
            create(c)
        assert 0 < float(err.value.response.headers["retry-after-ms"]) <= 1000
        assert server.counts()["rate_limited"] == 1


def test_runs_as_a_module_on_a_port() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sheets_ai.testing.openai_server", "--port", str(port)],
        stdout=subprocess.PIPE, text=True, env={**os.environ},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert f"127.0.0.1:{port}/v1" in proc.stdout.readline()
        deadline = time.monotonic() + 10
        while True:
            try:
                c = openai.OpenAI(api_key="x", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
                assert "gpt-4.1-mini" in [m.id for m in c.models.list()]
                break
            except openai.APIConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_control_fault_puts_nul_and_bel_into_text_answers(fake: FakeOpenAI) -> None:
    summarize = build_task(build_config({"task": "summarize", "max_chars": 100}))
    rows = [("1", "Shipped on time. Nothing else."), ("2", "Fine")]
    fake.script("control")
    reply = client(fake).chat.completions.create(
        model="gpt-4.1-mini",
        messages=prompts.build_messages(summarize, rows),  # type: ignore[arg-type]
        response_format=prompts.response_format(summarize, ["1", "2"]),  # type: ignore[arg-type]
    )
    parsed = prompts.parse_answer(summarize, reply.choices[0].message.content or "", ["1", "2"])
    assert parsed.answers == {"1": "Shipped\x00\x07 on time.", "2": "Fine\x00\x07"}
    assert fake.counts()["control"] == 1
