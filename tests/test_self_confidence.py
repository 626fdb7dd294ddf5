"""The self-reported confidence of models without log-probabilities (gpt-5, o-series), end to end through the
real SDK and the fake server: asked for only when a confidence is wanted, one digit per row after its code,
flagged for review, cached apart from plain answers; the logprob protocol stays byte for byte as it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest
from conftest import column_values, make_xlsx, openai_args, run_json

from sheets_ai import prompts
from sheets_ai.config import build_config
from sheets_ai.tasks import build_task
from sheets_ai.testing._openai_answers import certainty, expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI

TEXTS = [
    "Love it, great and fast.",
    "Broken and late.",
    "It is blue.",
    "Great sound but broken after a week.",
    "Nice and friendly staff, good coffee, excellent cake.",
    "Terrible.",
]
PLAIN_LINE = 'Answer JSON: each id then its code, in input order, every id once, e.g. {"a":"1p2n3u"}'
DIGIT_LINE = "then its code, then one digit 0-9"


def _reported(text: str) -> float:
    """The confidence a row gets from the fake model's digit: its certainty in tenths, read as the middle of
    that tenth ((d + 0.5) / 10)."""
    sure = certainty("sentiment", text, expected_answer("sentiment", text))
    return (int(sure * 10 + 1e-9) + 0.5) / 10


def _bodies(server: FakeOpenAI) -> list[dict[str, Any]]:
    return [r["body"] for r in server.requests if "body" in r]


def _pattern(body: dict[str, Any]) -> str:
    return str(body["response_format"]["json_schema"]["schema"]["properties"]["a"]["pattern"])


def test_a_reasoning_model_reports_its_confidence_and_low_rows_go_to_review(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    book = make_xlsx(tmp_path / "r.xlsx", [["Review"], *[[t] for t in TEXTS]])
    proc, report = run_json(
        "run", book, "--input", "Review", "--output", "Sentiment", "--status-column", "Status",
        "--confidence-column", "Confidence", "--review-below", "0.8", *openai_args(fake_openai),
        "--model", "gpt-5-mini", "--no-cache",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    bodies = _bodies(fake_openai)
    assert bodies and all("logprobs" not in b for b in bodies)
    assert all(DIGIT_LINE in b["messages"][0]["content"] for b in bodies)
    assert all(_pattern(b) == "^([0-9]+[mnpu][0-9])+$" for b in bodies)

    wanted = [_reported(t) for t in TEXTS]
    assert column_values(book, "B") == [expected_answer("sentiment", t) for t in TEXTS]
    assert column_values(book, "D") == [f"{w:.2f}" for w in wanted]
    low = [i for i, w in enumerate(wanted) if w < 0.8]
    assert 0 < len(low) < len(TEXTS)
    assert column_values(book, "C") == ["review" if i in low else "ok" for i in range(len(TEXTS))]
    conf = report["confidence"]
    assert conf["source"] == "self-reported" and conf["rows"] == len(TEXTS) and conf["rows_without"] == 0
    assert conf["rows_review"] == len(low)
    listed = (tmp_path / "r.review.csv").read_text(encoding="utf-8-sig").splitlines()[1:]
    assert [line.split(",")[0] for line in listed] == [str(i + 2) for i in low]


def test_without_a_confidence_wanted_a_reasoning_model_gets_the_plain_protocol(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    book = make_xlsx(tmp_path / "r.xlsx", [["Review"], *[[t] for t in TEXTS]])
    proc, report = run_json(
        "run", book, "--input", "Review", "--output", "Sentiment", *openai_args(fake_openai),
        "--model", "o4-mini", "--no-cache",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (body,) = _bodies(fake_openai)
    assert body["messages"][0]["content"].endswith(PLAIN_LINE)
    assert _pattern(body) == "^([0-9]+[mnpu])+$"
    assert report["confidence"]["rows"] == 0 and report["confidence"]["source"] is None


def test_the_cache_keeps_answers_with_and_without_confidences_apart(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    book = make_xlsx(tmp_path / "r.xlsx", [["Review"], *[[t] for t in TEXTS]])
    model = ("--model", "gpt-5-mini", "--cache-dir", tmp_path)
    common = ("--input", "Review", *openai_args(fake_openai), *model)
    proc, rated = run_json("run", book, *common, "--output", "First", "--confidence-column", "FirstConf")
    assert proc.returncode == 0 and rated["rows_cached"] == 0, proc.stderr

    # No confidence wanted: the plain protocol, asked for again (a rated answer is not a plain one).
    fake_openai.reset()
    proc, plain = run_json("run", book, *common, "--output", "Plain")
    assert proc.returncode == 0 and plain["rows_cached"] == 0 and plain["requests"] == 1, proc.stderr
    assert DIGIT_LINE not in _bodies(fake_openai)[0]["messages"][0]["content"]

    # Wanted again: every row from the cache, with the confidences it was answered with.
    fake_openai.reset()
    proc, again = run_json("run", book, *common, "--output", "Again", "--confidence-column", "AgainConf")
    assert proc.returncode == 0 and again["rows_cached"] == len(TEXTS) and not fake_openai.requests
    assert column_values(book, "F") == column_values(book, "C")  # AgainConf == FirstConf
    assert column_values(book, "F") == [f"{_reported(t):.2f}" for t in TEXTS]
    assert again["confidence"]["source"] == "self-reported"


def test_a_logprob_model_sends_the_same_request_with_or_without_a_confidence(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    book = make_xlsx(tmp_path / "r.xlsx", [["Review"], *[[t] for t in TEXTS]])
    run = ("--input", "Review", *openai_args(fake_openai), "--no-cache")
    proc, report = run_json("run", book, *run, "--output", "First", "--review-below", "0.8")
    assert proc.returncode == 0, proc.stderr
    proc, _ = run_json("run", book, *run, "--output", "Second")
    assert proc.returncode == 0, proc.stderr
    with_conf, without = _bodies(fake_openai)
    assert with_conf["messages"] == without["messages"]
    assert with_conf["response_format"] == without["response_format"]
    assert with_conf["messages"][0]["content"].endswith(PLAIN_LINE)
    assert _pattern(with_conf) == "^([0-9]+[mnpu])+$"
    assert report["confidence"]["source"] == "logprobs"
    assert fake_openai.requests[0]["completion_tokens"] == fake_openai.requests[1]["completion_tokens"]


# ------------------------------------------------------------------ the fake server's side
RATED = build_task(build_config({"task": "classify", "labels": ["billing", "shipping", "other"]}))
ROWS = [("1", "A billing question."), ("2", "Where is my shipping?"), ("3", "Hello.")]


def _create(server: FakeOpenAI, messages: Any, response_format: Any) -> str:
    client = openai.OpenAI(api_key="test", base_url=server.url, max_retries=0, timeout=5)
    reply = client.chat.completions.create(
        model="gpt-5-mini", messages=messages, response_format=response_format, max_completion_tokens=4000
    )
    return reply.choices[0].message.content or ""


def test_the_fake_model_follows_the_schema_pattern_over_the_prompt(fake_openai: FakeOpenAI) -> None:
    from dataclasses import replace

    rated = replace(RATED, rates_confidence=True)
    ids = [i for i, _ in ROWS]
    messages = prompts.build_messages(rated, ROWS)
    # Prompt and pattern agree: a digit after each code (0.95 named in the text -> 9; the fallback 0.5 -> 5).
    answer = _create(fake_openai, messages, prompts.response_format(rated, ids))
    assert json.loads(answer) == {"a": "1b92s93o5"}
    parsed = prompts.parse_answer(rated, answer, ids)
    assert parsed.answers == {"1": "billing", "2": "shipping", "3": "other"}
    assert parsed.digits == {"1": 9, "2": 9, "3": 5}
    # The prompt asks for digits but the strict pattern forbids them: constrained decoding writes none,
    # and the client still reads the answers (without confidences).
    answer = _create(fake_openai, messages, prompts.response_format(RATED, ids))
    assert json.loads(answer) == {"a": "1b2s3o"}
    parsed = prompts.parse_answer(rated, answer, ids)
    assert parsed.answers == {"1": "billing", "2": "shipping", "3": "other"} and parsed.digits == {}
    # JSON mode (no schema): the prompt's answer line decides.
    answer = _create(fake_openai, messages, {"type": "json_object"})
    assert json.loads(answer) == {"a": "1b92s93o5"}


def test_the_fake_server_refuses_a_malformed_answer_pattern(fake_openai: FakeOpenAI) -> None:
    from dataclasses import replace

    rated = replace(RATED, rates_confidence=True)
    fmt = prompts.response_format(rated, ["1", "2", "3"])
    fmt["json_schema"]["schema"]["properties"]["a"]["pattern"] = "^([0-9]+[bso][0-9]+$"  # unbalanced
    with pytest.raises(openai.BadRequestError) as refused:
        _create(fake_openai, prompts.build_messages(rated, ROWS), fmt)
    assert refused.value.code == "invalid_json_schema" and refused.value.param == "response_format"


def test_rated_answers_are_read_with_their_digits_and_garbled_ones_fail_alone() -> None:
    from dataclasses import replace

    rated = replace(RATED, rates_confidence=True)
    ids = ["1", "2", "3", "10"]
    parsed = prompts.parse_answer(rated, '{"a":"1b92s03x710o4"}', ids)
    assert parsed.answers == {"1": "billing", "2": "shipping", "10": "other"}
    assert parsed.digits == {"1": 9, "2": 0, "10": 4}
    assert "not one of the codes" in parsed.problems["3"]
    # Separators a JSON-mode model may add are read too.
    spaced = prompts.parse_answer(rated, '{"a":"1b9 2s0 3o7"}', ids[:3])
    assert spaced.digits == {"1": 9, "2": 0, "3": 7}


def test_the_estimate_counts_the_self_reported_variant(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    book = make_xlsx(tmp_path / "r.xlsx", [["Review"], *[[t] for t in TEXTS]])
    run = ("run", book, "--input", "Review", "--output", "Sentiment", "--dry-run", "--model", "gpt-5-mini")
    proc, plain = run_json(*run, *openai_args(fake_openai))
    assert proc.returncode == 0, proc.stderr
    proc, rated = run_json(*run, *openai_args(fake_openai), "--review-below", "0.8")
    assert proc.returncode == 0, proc.stderr
    assert not fake_openai.requests
    assert rated["estimated_cost_usd"] > plain["estimated_cost_usd"] > 0
