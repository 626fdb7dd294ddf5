"""The fake OpenAI server's /v1/files and /v1/batches, driven by the real openai SDK: the shapes and the
validation a client relies on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from sheets_ai.testing.openai_server import FakeOpenAI

BODY = {
    "model": "gpt-4.1-mini",
    "messages": [{"role": "system", "content": "Answer in json."}, {"role": "user", "content": "1: great"}],
    "response_format": {"type": "json_object"},
}


@pytest.fixture
def client() -> Iterator[tuple[FakeOpenAI, openai.OpenAI]]:
    with FakeOpenAI(port=0) as server:
        sdk = openai.OpenAI(api_key="k", base_url=server.url, max_retries=0)
        yield server, sdk
        sdk.close()


def jsonl(*lines: dict[str, Any]) -> bytes:
    return "".join(json.dumps(x) + "\n" for x in lines).encode()


def line(custom_id: str, **changes: Any) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": BODY, **changes}


def test_a_batch_goes_from_validating_to_completed_with_output_and_error_files(
    client: tuple[FakeOpenAI, openai.OpenAI],
) -> None:
    server, sdk = client
    server.batches.script("ok", "500")
    upload = sdk.files.create(file=("in.jsonl", jsonl(line("a"), line("b"))), purpose="batch")
    assert upload.purpose == "batch" and upload.status == "processed"
    batch = sdk.batches.create(
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert batch.status == "validating"
    done = sdk.batches.retrieve(batch.id)
    assert done.status == "completed" and done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (2, 1, 1)
    assert done.output_file_id and done.error_file_id
    out = json.loads(sdk.files.content(done.output_file_id).text)
    assert out["custom_id"] == "a" and out["error"] is None
    assert out["response"]["status_code"] == 200 and out["response"]["body"]["object"] == "chat.completion"
    err = json.loads(sdk.files.content(done.error_file_id).text)
    assert err["custom_id"] == "b" and err["response"]["status_code"] == 500


def test_invalid_lines_fail_the_batch_with_errors(client: tuple[FakeOpenAI, openai.OpenAI]) -> None:
    _, sdk = client
    data = jsonl(line("a"), line("a"), line("c", method="GET"), line("d", url="/v1/embeddings"))
    upload = sdk.files.create(file=("in.jsonl", data), purpose="batch")
    batch = sdk.batches.create(
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    failed = sdk.batches.retrieve(batch.id)
    assert failed.status == "failed" and failed.errors is not None and failed.errors.data
    assert [(e.line, e.param) for e in failed.errors.data] == [(2, "custom_id"), (3, "method"), (4, "url")]


def test_a_body_the_endpoint_refuses_is_one_failed_line(client: tuple[FakeOpenAI, openai.OpenAI]) -> None:
    _, sdk = client
    bad = line("b", body={**BODY, "temprature": 0})
    upload = sdk.files.create(file=("in.jsonl", jsonl(line("a"), bad)), purpose="batch")
    batch = sdk.batches.create(
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    done = sdk.batches.retrieve(batch.id)
    assert done.status == "completed" and done.error_file_id
    err = json.loads(sdk.files.content(done.error_file_id).text)
    assert err["response"]["status_code"] == 400
    assert "temprature" in err["response"]["body"]["error"]["message"]


def test_upload_and_create_refuse_what_openai_refuses(client: tuple[FakeOpenAI, openai.OpenAI]) -> None:
    _, sdk = client
    with pytest.raises(openai.BadRequestError, match="jsonl"):
        sdk.files.create(file=("in.txt", jsonl(line("a"))), purpose="batch")
    with pytest.raises(openai.BadRequestError, match="not a JSON object"):
        sdk.files.create(file=("in.jsonl", b"{not json\n"), purpose="batch")
    upload = sdk.files.create(file=("in.jsonl", jsonl(line("a"))), purpose="batch")
    with pytest.raises(openai.BadRequestError, match="completion_window"):
        sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="1h")  # type: ignore[arg-type]


def test_expiry_and_cancel_put_unanswered_lines_in_the_error_file(
    client: tuple[FakeOpenAI, openai.OpenAI],
) -> None:
    server, sdk = client
    server.batches.script("ok", "expire")
    upload = sdk.files.create(file=("in.jsonl", jsonl(line("a"), line("b"))), purpose="batch")
    batch = sdk.batches.create(
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    expired = sdk.batches.retrieve(batch.id)
    assert expired.status == "expired" and expired.error_file_id
    err = json.loads(sdk.files.content(expired.error_file_id).text)
    assert err["custom_id"] == "b" and err["response"] is None and err["error"]["code"] == "batch_expired"

    server.batches.completion_delay = 3600
    upload = sdk.files.create(file=("in.jsonl", jsonl(line("a"))), purpose="batch")
    batch = sdk.batches.create(
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert sdk.batches.retrieve(batch.id).status == "in_progress"
    assert sdk.batches.cancel(batch.id).status == "cancelling"
    cancelled = sdk.batches.retrieve(batch.id)
    assert cancelled.status == "cancelled" and cancelled.error_file_id
    assert json.loads(sdk.files.content(cancelled.error_file_id).text)["error"]["code"] == "batch_cancelled"
    assert [b.id for b in sdk.batches.list()][:2] == [batch.id, expired.id]


def test_flex_only_for_models_that_offer_it(client: tuple[FakeOpenAI, openai.OpenAI]) -> None:
    server, sdk = client
    messages = BODY["messages"]
    answer = sdk.chat.completions.create(model="o3", messages=messages, service_tier="flex")  # type: ignore[arg-type]
    assert answer.service_tier == "flex"
    with pytest.raises(openai.BadRequestError, match="Flex processing is not available"):
        sdk.chat.completions.create(model="gpt-4.1-mini", messages=messages, service_tier="flex")  # type: ignore[arg-type]
    server.script("resource_unavailable")
    with pytest.raises(openai.RateLimitError) as caught:
        sdk.chat.completions.create(model="o3", messages=messages, service_tier="flex")  # type: ignore[arg-type]
    assert caught.value.code == "resource_unavailable"
