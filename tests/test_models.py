"""Models: per-family parameters, --reasoning-effort, unsupported values, prices and reasoning tokens.

Everything runs through the real openai SDK against the fake server, whose model table is its own (written
from OpenAI's documentation), so a client that sends a model the wrong parameters gets the 400 the real API
would give.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from conftest import invoke, run_cli, run_json

import sheets_ai
from sheets_ai import prompts
from sheets_ai.config import build_config
from sheets_ai.tasks import build_task
from sheets_ai.testing._openai_answers import expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI
from sheets_ai.tokens import count_tokens

FAST = {"SHEETS_AI_RETRY_MAX_SECONDS": "10", "SHEETS_AI_REQUEST_TIMEOUT": "5"}
REVIEW_ARGS = ("--task", "sentiment", "--input", "Review", "--output", "Sentiment", "--provider", "openai")
TEXTS = [
    "Love it, great sound.", "Broken on arrival, terrible.", "The box contained a cable.",
    "Great shoes but the sole cracked.", "Fast delivery, excellent.", "Worst purchase ever.",
]  # fmt: skip
EXPECTED = [expected_answer("sentiment", t) for t in TEXTS]


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(port=0, retry_after=0.05) as server:
        yield server


def env_for(server: FakeOpenAI, **extra: str) -> dict[str, str]:
    return {"OPENAI_API_KEY": "test", "OPENAI_BASE_URL": server.url, **FAST, **extra}


def run_memory(server: FakeOpenAI, texts: list[str], **options: object) -> tuple:
    options = {"cache": False, "retry_max_seconds": 10, "concurrency": 1, **options}
    results, report = sheets_ai.run_texts(
        texts, "sentiment", provider="openai", base_url=server.url, api_key="test", **options
    )
    return report, results


def bodies(server: FakeOpenAI) -> list[dict]:
    return [r["body"] for r in list(server.requests) if "body" in r]


# ---------------------------------------------------------------- the fake answers like the real API
def sdk(server: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(api_key="test", base_url=server.url, max_retries=0, timeout=5)


def create(server: FakeOpenAI, model: str, **params: object) -> openai.types.chat.ChatCompletion:
    task = build_task(build_config({"task": "sentiment"}))
    rows = [("1", "Love it, great."), ("2", "Broken and late.")]
    return sdk(server).chat.completions.create(
        model=model,
        messages=prompts.build_messages(task, rows),  # type: ignore[arg-type]
        response_format=prompts.response_format(task, ["1", "2"]),  # type: ignore[arg-type]
        **params,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("model", "params", "param", "code", "words"),
    [
        ("o3", {"max_tokens": 500}, "max_tokens", "unsupported_parameter", "Use 'max_completion_tokens'"),
        ("gpt-5-mini", {"max_tokens": 500}, "max_tokens", "unsupported_parameter", "max_completion_tokens"),
        ("gpt-5", {"temperature": 0}, "temperature", "unsupported_value", "Only the default (1)"),
        ("o4-mini", {"temperature": 0.2}, "temperature", "unsupported_value", "does not support 0.2"),
        (
            "gpt-5.1",
            {"reasoning_effort": "minimal"},
            "reasoning_effort",
            "unsupported_value",
            "Supported values are: 'none', 'low', 'medium', and 'high'.",
        ),
        (
            "gpt-4.1-mini",
            {"reasoning_effort": "low"},
            "reasoning_effort",
            "unsupported_parameter",
            "reasoning",
        ),
        ("o3", {"reasoning_effort": "none"}, "reasoning_effort", "unsupported_value", "'low', 'medium'"),
    ],
)
def test_fake_rejects_parameters_the_model_family_does_not_take(
    fake: FakeOpenAI, model: str, params: dict, param: str, code: str, words: str
) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        create(fake, model, **params)
    assert err.value.status_code == 400
    assert err.value.param == param and err.value.code == code
    assert words in err.value.message
    assert fake.counts() == {"400": 1}


def test_fake_accepts_what_each_family_takes(fake: FakeOpenAI) -> None:
    create(fake, "gpt-4o-2024-08-06", max_tokens=100, temperature=0)
    create(fake, "gpt-5-nano", max_completion_tokens=2000, reasoning_effort="minimal")
    create(fake, "gpt-5.1-2025-11-13", max_completion_tokens=100, reasoning_effort="none")
    create(fake, "gpt-5.2", max_completion_tokens=5000, reasoning_effort="xhigh")
    create(fake, "o1", max_completion_tokens=5000, reasoning_effort="low")
    assert fake.counts() == {"ok": 5}


def test_fake_serves_pro_models_only_on_the_responses_api(fake: FakeOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        create(fake, "o3-pro")
    assert "only supported in v1/responses" in err.value.message and err.value.param == "model"


def test_fake_spends_reasoning_tokens_within_the_completion_cap() -> None:
    with FakeOpenAI(reasoning_tokens=300) as server:
        done = create(server, "gpt-5-mini", max_completion_tokens=2000, reasoning_effort="low")
        assert done.usage is not None and done.usage.completion_tokens_details is not None
        assert done.usage.completion_tokens_details.reasoning_tokens == 300
        answer = count_tokens('{"a":"1p2n"}')
        assert done.usage.completion_tokens == 300 + answer
        assert done.choices[0].finish_reason == "stop"
        # The cap covers reasoning too: reasoning that uses it all leaves no answer, as on the real API.
        starved = create(server, "gpt-5-mini", max_completion_tokens=200, reasoning_effort="low")
        assert starved.choices[0].finish_reason == "length" and not starved.choices[0].message.content
        assert starved.usage is not None and starved.usage.completion_tokens == 200
        # No reasoning at effort none, and none for non-reasoning models.
        plain = create(server, "gpt-5.1", max_completion_tokens=100, reasoning_effort="none")
        assert plain.usage is not None and plain.usage.completion_tokens == answer
        assert create(server, "gpt-4.1-mini", max_tokens=100).usage.completion_tokens == answer  # type: ignore[union-attr]


def test_fake_server_command_line_takes_reasoning_tokens_and_extra_models() -> None:
    from sheets_ai.testing.openai_server import build_parser

    args = build_parser().parse_args(["--reasoning-tokens", "1500", "--extra-model", "gpt-5.9=o3"])
    assert args.reasoning_tokens == 1500 and args.extra_model == ["gpt-5.9=o3"]


# ---------------------------------------------------------------- the client sends each family what it takes
@pytest.mark.parametrize("model", ["gpt-5.1", "gpt-5.2", "gpt-5.1-2025-11-13", "gpt-5-nano", "o3", "gpt-4o"])
def test_current_models_work_end_to_end_without_a_rejected_request(fake: FakeOpenAI, model: str) -> None:
    report, results = run_memory(fake, TEXTS, model=model)
    assert results == EXPECTED and report.rows_failed == 0
    assert "400" not in fake.counts() and len(fake.requests) == 1
    body = bodies(fake)[0]
    if model.startswith(("gpt-5.1", "gpt-5.2")):  # no reasoning: the cheapest these take
        assert body["reasoning_effort"] == "none"
        assert "max_completion_tokens" in body and "max_tokens" not in body
        # gpt-5.2 takes temperature at effort none, gpt-5.1 at no effort.
        assert body.get("temperature") == (0 if model == "gpt-5.2" else None)


def test_gpt_5_1_from_the_cli_is_priced_and_runs_under_max_cost(fake: FakeOpenAI, work: Path) -> None:
    proc, report = run_json(
        "run", work / "reviews.xlsx", *REVIEW_ARGS, "--model", "gpt-5.1", "--max-cost", "1", env=env_for(fake)
    )
    assert proc.returncode == 0, proc.stderr
    assert report["rows_processed"] == 59 and report["cost_usd"] > 0
    assert all(b["reasoning_effort"] == "none" for b in bodies(fake))


def test_max_cost_no_longer_refuses_gpt_5_1_on_openai(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    # A dry run sends nothing; before, the price check refused the model at once (exit 2).
    result = invoke(
        "run", work / "reviews.xlsx", *REVIEW_ARGS, "--model", "gpt-5.1", "--max-cost", "0.5", "--dry-run"
    )
    assert result.exit_code == 0, result.stderr
    assert "not in the price table" not in result.stderr


def test_responses_only_models_are_refused_before_any_request(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test")  # and OpenAI's own base URL: nothing may be sent there
    result = invoke("run", work / "reviews.xlsx", *REVIEW_ARGS, "--model", "o3-pro")
    assert result.exit_code == 2
    assert "o3-pro" in result.stderr and "Responses API" in result.stderr


# ---------------------------------------------------------------- unknown models: retried once, said once
def test_a_rejected_effort_is_retried_once_with_the_nearest_supported_value_and_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with FakeOpenAI(extra_models={"gpt-5.9": "o3"}, retry_after=0.05) as server:
        with caplog.at_level(logging.INFO, logger="sheets_ai"):
            report, results = run_memory(server, TEXTS, model="gpt-5.9", batch_size=2)
        efforts = [b.get("reasoning_effort") for b in bodies(server)]
        assert server.counts()["400"] == 1
    assert results == EXPECTED and report.rows_failed == 0
    assert efforts == ["none", "low", "low", "low"]  # the rejected one, then the nearest the server takes
    said = "gpt-5.9 does not accept reasoning_effort 'none'; using 'low'"
    assert [n for n in report.notices if said in n] == [n for n in report.notices if "reasoning_effort" in n]
    assert len([n for n in report.notices if said in n]) == 1
    assert sum(said in r.getMessage() for r in caplog.records) == 1


def test_concurrent_requests_adjust_once() -> None:
    with FakeOpenAI(extra_models={"gpt-5.9": "o3"}, latency=0.05) as server:
        report, results = run_memory(server, TEXTS * 4, model="gpt-5.9", batch_size=2, concurrency=4)
    assert results == EXPECTED * 4
    assert len([n for n in report.notices if "reasoning_effort" in n]) == 1
    assert server.counts()["400"] <= 4  # at most the requests already in flight


def test_an_unknown_model_that_rejects_max_tokens_and_temperature_is_adjusted(fake: FakeOpenAI) -> None:
    with FakeOpenAI(extra_models={"gpt-6": "o3"}, retry_after=0.05) as server:
        report, results = run_memory(server, TEXTS, model="gpt-6", batch_size=3)
        sent = bodies(server)
    assert results == EXPECTED
    assert "max_tokens" in sent[0] and "max_completion_tokens" in sent[-1] and "temperature" not in sent[-1]
    assert len(sent) == 2 + 2  # two adjustments, once each; then the two batches
    notes = [n for n in report.notices if "gpt-6 does not accept" in n]
    assert len(notes) == 2 and any("max_completion_tokens" in n for n in notes)


def test_a_forced_effort_the_server_rejects_stops_with_what_it_supports(work: Path) -> None:
    with FakeOpenAI(extra_models={"gpt-5.9": "o3"}) as server:
        proc = run_cli(
            "run", work / "reviews.xlsx", *REVIEW_ARGS, "--model", "gpt-5.9", "--reasoning-effort", "none",
            env=env_for(server),
        )  # fmt: skip
        assert len(server.requests) <= 4  # the first request, and at most the ones already in flight
    assert proc.returncode == 2
    error = proc.stderr.strip().splitlines()[-1]
    assert "--reasoning-effort none" in error and "low, medium or high" in error and "gpt-5.9" in error


# ---------------------------------------------------------------- --reasoning-effort
def test_reasoning_effort_is_sent_as_given(fake: FakeOpenAI, work: Path) -> None:
    proc = run_cli(
        "run", work / "reviews.xlsx", *REVIEW_ARGS, "--model", "gpt-5-mini", "--reasoning-effort", "low",
        env=env_for(fake),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert {b["reasoning_effort"] for b in bodies(fake)} == {"low"}


def test_reasoning_effort_from_the_environment(fake: FakeOpenAI, work: Path) -> None:
    env = env_for(fake, SHEETS_AI_REASONING_EFFORT="medium")
    proc = run_cli("run", work / "reviews.xlsx", *REVIEW_ARGS, "--model", "o4-mini", env=env)
    assert proc.returncode == 0, proc.stderr
    assert {b["reasoning_effort"] for b in bodies(fake)} == {"medium"}


@pytest.mark.parametrize(
    ("model", "effort", "words"),
    [
        ("gpt-5.1", "minimal", "gpt-5.1 takes --reasoning-effort none, low, medium or high"),
        ("o3", "xhigh", "o3 takes --reasoning-effort low, medium or high"),
        ("gpt-4.1-mini", "low", "gpt-4.1-mini is not a reasoning model"),
        ("gpt-5-mini", "turbo", "none, minimal, low, medium, high"),
    ],
)
def test_a_bad_reasoning_effort_is_a_usage_error(
    work: Path, monkeypatch: pytest.MonkeyPatch, model: str, effort: str, words: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens: nothing may be sent
    result = invoke(
        "run", work / "reviews.xlsx", *REVIEW_ARGS, "--model", model, "--reasoning-effort", effort
    )
    assert result.exit_code == 2
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


# ---------------------------------------------------------------- prices
@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key, and a base URL where nothing listens: an estimate must not need either."""
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")


def estimate_json(work: Path, model: str, *extra: str) -> dict:
    result = invoke("estimate", work / "reviews.xlsx", *REVIEW_ARGS, "--model", model, *extra, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def priced(report: dict, inp: float, out: float) -> float:
    return round((report["prompt_tokens"] * inp + report["completion_tokens"] * out) / 1e6, 6)


@pytest.mark.parametrize(
    ("model", "inp", "out"),
    [
        ("gpt-4o-2024-05-13", 5.00, 15.00),  # its own price, not gpt-4o's
        ("gpt-4o-2024-08-06", 2.50, 10.00),  # a dated snapshot of gpt-4o
        ("o3-pro", 20.00, 80.00),  # not o3's
        ("o3-pro-2025-06-10", 20.00, 80.00),
        ("gpt-5.1", 1.25, 10.00),
        ("gpt-5.2", 1.75, 14.00),
        ("gpt-4.1-mini-2025-04-14", 0.40, 1.60),
        ("o3-mini", 1.10, 4.40),
    ],
)
def test_estimate_prices_each_model_by_its_own_entry(
    work: Path, offline: None, model: str, inp: float, out: float
) -> None:
    report = estimate_json(work, model)
    assert report["cost_by_model"][model] == pytest.approx(priced(report, inp, out), abs=2e-6)


@pytest.mark.parametrize(
    "model", ["gpt-4o-audio-preview", "gpt-4.1-mini-turbo", "ft:gpt-4o-mini-2024-07-18:acme::x1"]
)
def test_a_name_that_only_starts_like_a_known_model_has_no_price(
    work: Path, offline: None, model: str
) -> None:
    report = estimate_json(work, model)
    assert report["cost_by_model"][model] is None


def test_estimate_prints_the_table_date_and_the_reasoning_caveat(work: Path, offline: None) -> None:
    from sheets_ai.pricing import price_table

    plain = invoke("estimate", work / "reviews.xlsx", *REVIEW_ARGS)
    reasoning = invoke("estimate", work / "reviews.xlsx", *REVIEW_ARGS, "--model", "gpt-5-mini")
    assert plain.exit_code == reasoning.exit_code == 0, reasoning.stderr
    date = price_table()["as_of"]
    assert f"prices as of {date}" in plain.stdout and f"prices as of {date}" in reasoning.stdout
    assert "cannot include" not in plain.stdout
    caveat = [line for line in reasoning.stdout.splitlines() if "cannot include" in line]
    assert caveat and "reasoning tokens" in caveat[0] and "minimal" in caveat[0]
    assert "at most $" in reasoning.stdout  # what the cost would be if every request used its whole cap


def test_estimate_json_has_the_worst_case_for_reasoning_models(work: Path, offline: None) -> None:
    report = estimate_json(work, "o4-mini")
    assert report["reasoning_effort"] == "low"
    assert report["estimated_max_cost_usd"] > report["estimated_cost_usd"] > 0


# ---------------------------------------------------------------- reasoning tokens in the report
def test_reasoning_tokens_are_reported_and_billed(work: Path) -> None:
    with FakeOpenAI(reasoning_tokens=120) as server:
        proc, report = run_json(
            "run", work / "reviews.xlsx", *REVIEW_ARGS, "--model", "gpt-5-mini", "--batch-size", "20",
            env=env_for(server),
        )  # fmt: skip
        billed = sum(r["completion_tokens"] for r in server.requests)
    assert proc.returncode == 0, proc.stderr
    assert report["requests"] == 3 and report["reasoning_tokens"] == 3 * 120
    assert report["completion_tokens"] == billed  # reasoning included, as OpenAI bills it
    with FakeOpenAI(reasoning_tokens=120) as server:
        text = run_cli(
            "run", work / "reviews.xlsx", *REVIEW_ARGS, "--model", "gpt-5-mini", "--batch-size", "20",
            "--overwrite", "--no-cache", env=env_for(server),
        )  # fmt: skip
    assert "3 requests" in text.stdout and "tokens (360 reasoning)" in text.stdout, text.stdout


def test_no_reasoning_tokens_no_mention(fake: FakeOpenAI, work: Path) -> None:
    _, report = run_json("run", work / "reviews.xlsx", *REVIEW_ARGS, env=env_for(fake))
    assert report["reasoning_tokens"] == 0
    text = run_cli("run", work / "reviews.xlsx", *REVIEW_ARGS, "--overwrite", "--no-cache", env=env_for(fake))
    summary = text.stdout.splitlines()[1]
    assert " request" in summary and "reasoning" not in summary
