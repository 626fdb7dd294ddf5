"""Confidence per row: token log-probabilities from the fake server through the real SDK, the offline
analyzer's scores, the cache, the report's distribution and --confidence-column."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from conftest import column_values, make_xlsx, openai_args, run_json

from sheets_ai import prompts
from sheets_ai.config import build_config
from sheets_ai.tasks import build_task
from sheets_ai.testing._openai_answers import certainty, expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI

TASK = build_task(build_config({"task": "sentiment"}))
ROWS = [
    ("1", "Love it, great and fast."),
    ("2", "Broken and late."),
    ("3", "It is blue."),
    ("4", "Great sound but broken after a week."),
]
TEXTS = [
    "Love it, great and fast.",
    "Broken and late.",
    "It is blue.",
    "Great sound but broken after a week.",
    "Nice and friendly staff, good coffee, excellent cake.",
    "Terrible.",
]


@pytest.fixture
def fake(fake_openai: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """The fake server, with OPENAI_API_KEY set for the runs."""
    yield fake_openai


def _create(
    server: FakeOpenAI, model: str = "gpt-4.1-mini", **extra: object
) -> openai.types.chat.ChatCompletion:
    c = openai.OpenAI(api_key="test", base_url=server.url, max_retries=0, timeout=5)
    return c.chat.completions.create(
        model=model,
        messages=prompts.build_messages(TASK, ROWS),  # type: ignore[arg-type]
        response_format=prompts.response_format(TASK, [i for i, _ in ROWS]),  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


# ------------------------------------------------------------------ the fake server's logprobs
def test_logprobs_are_shaped_like_the_real_api(fake: FakeOpenAI) -> None:
    reply = _create(fake, logprobs=True, top_logprobs=3)
    choice = reply.choices[0]
    content = choice.message.content or ""
    assert content == '{"a":"1p2n3u4m"}'
    assert choice.logprobs is not None and choice.logprobs.refusal is None
    entries = choice.logprobs.content or []
    # One entry per output token; the tokens' bytes spell the answer, as many as usage counts.
    assert b"".join(bytes(e.bytes or []) for e in entries) == content.encode()
    assert reply.usage is not None and len(entries) == reply.usage.completion_tokens
    for entry in entries:
        assert entry.logprob <= 0
        assert len(entry.top_logprobs) == 3
        assert entry.top_logprobs[0].token == entry.token  # the chosen token is the likeliest here
        assert [t.logprob for t in entry.top_logprobs] == sorted(
            (t.logprob for t in entry.top_logprobs), reverse=True
        )
    # Each code token carries the certainty of that row's answer; the alternatives are the other codes.
    codes = {e.token: e for e in entries if e.token in ("p", "n", "u", "m")}
    for _, text in ROWS:
        label = expected_answer("sentiment", text)
        code = prompts.SENTIMENT_CODES[label]
        assert math.exp(codes[code].logprob) == pytest.approx(certainty("sentiment", text, label))
        assert {t.token for t in codes[code].top_logprobs} <= {"p", "n", "u", "m"}


def test_logprobs_are_deterministic_and_absent_unless_asked(fake: FakeOpenAI) -> None:
    first = _create(fake, logprobs=True).choices[0].logprobs
    second = _create(fake, logprobs=True).choices[0].logprobs
    assert first is not None and second is not None
    assert first.model_dump() == second.model_dump()
    assert all(e.top_logprobs == [] for e in first.content or [])
    assert _create(fake).choices[0].logprobs is None


def test_models_that_reject_logprobs_keep_rejecting_them(fake: FakeOpenAI) -> None:
    for model in ("o4-mini", "gpt-5-mini", "gpt-5-chat-latest"):
        with pytest.raises(openai.BadRequestError) as refused:
            _create(fake, model=model, logprobs=True, max_completion_tokens=4000)
        assert refused.value.code == "unsupported_parameter" and refused.value.param == "logprobs"
    with pytest.raises(openai.BadRequestError) as alone:
        _create(fake, top_logprobs=2)
    assert alone.value.param == "top_logprobs"
    with pytest.raises(openai.BadRequestError) as too_many:
        _create(fake, logprobs=True, top_logprobs=21)
    assert too_many.value.param == "top_logprobs"


# ------------------------------------------------------------------ confidence in a run
def _workbook(path: Path) -> Path:
    return make_xlsx(path, [["Review"], *[[t] for t in TEXTS]])


def test_confidence_column_holds_the_probability_of_each_rows_code(fake: FakeOpenAI, tmp_path: Path) -> None:
    book = _workbook(tmp_path / "r.xlsx")
    proc, report = run_json(
        "run", book, "--input", "Review", "--output", "Sentiment", "--confidence-column", "Confidence",
        *openai_args(fake), "--cache-dir", tmp_path / "cache",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert all(r["body"].get("logprobs") is True for r in fake.requests)
    wanted = [certainty("sentiment", t, expected_answer("sentiment", t)) for t in TEXTS]
    assert column_values(book, "C") == [f"{w:.2f}" for w in wanted]
    assert column_values(book, "C", first=1)[0] == "Confidence"
    conf = report["confidence"]
    assert conf["rows"] == len(TEXTS) and conf["rows_without"] == 0
    assert conf["mean"] == pytest.approx(sum(wanted) / len(wanted), abs=1e-3)
    assert sum(conf["buckets"].values()) == len(TEXTS)
    assert report["completion_tokens"] == fake.requests[0]["completion_tokens"]  # nothing extra asked for

    # Cached with the answer: a second run into another column costs nothing and writes the same values.
    fake.reset()
    proc, again = run_json(
        "run", book, "--input", "Review", "--output", "Again", "--confidence-column", "Conf2",
        *openai_args(fake), "--cache-dir", tmp_path / "cache",
    )  # fmt: skip
    assert proc.returncode == 0 and again["requests"] == 0 and again["rows_cached"] == len(TEXTS)
    assert len(fake.requests) == 0
    assert column_values(book, "E") == [f"{w:.2f}" for w in wanted]
    assert again["confidence"]["mean"] == conf["mean"]


def test_a_model_without_logprobs_reports_its_own_confidence(fake: FakeOpenAI, tmp_path: Path) -> None:
    book = _workbook(tmp_path / "r.xlsx")
    proc, report = run_json(
        "run", book, "--input", "Review", "--output", "Sentiment", "--confidence-column", "Confidence",
        *openai_args(fake), "--model", "o4-mini", "--no-cache",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert all("logprobs" not in r["body"] for r in fake.requests)
    assert report["confidence"]["source"] == "self-reported"
    assert report["confidence"]["rows"] == len(TEXTS) and report["confidence"]["rows_without"] == 0
    sure = [certainty("sentiment", t, expected_answer("sentiment", t)) for t in TEXTS]
    assert column_values(book, "C") == [f"{(int(s * 10 + 1e-9) + 0.5) / 10:.2f}" for s in sure]
    assert column_values(book, "B") == [expected_answer("sentiment", t) for t in TEXTS]


def test_offline_analyzer_gives_a_confidence_from_its_scores(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("review\n" + "\n".join(f'"{t}"' for t in TEXTS) + "\n", encoding="utf-8")
    proc, report = run_json(
        "run", path, "--input", "review", "--output", "sentiment", "--confidence-column", "confidence",
        "--provider", "local",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    values = [float(r["confidence"]) for r in rows]
    assert all(0.5 <= v <= 1 for v in values)
    assert report["confidence"]["rows"] == len(TEXTS)
    assert report["confidence"]["source"] == "offline analyzer"
    strong = values[TEXTS.index("Nice and friendly staff, good coffee, excellent cake.")]
    assert strong > values[TEXTS.index("It is blue.")] or rows[2]["sentiment"] == "neutral"


def test_confidence_column_is_refused_for_text_tasks(tmp_path: Path) -> None:
    book = _workbook(tmp_path / "r.xlsx")
    proc, report = run_json(
        "run", book, "--task", "summarize", "--input", "Review", "--output", "S",
        "--confidence-column", "C", "--provider", "local",
    )  # fmt: skip
    assert proc.returncode == 2 and "label tasks" in report["error"]


def test_confidence_column_in_google_sheets(fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    from sheets_ai import run
    from sheets_ai.tables._google import ENDPOINT_ENV
    from sheets_ai.testing.sheets_server import SheetsEmulator

    with SheetsEmulator(port=0) as emu:
        monkeypatch.setenv(ENDPOINT_ENV, emu.url)
        sid = emu.add_spreadsheet("Reviews", {"Sheet1": [["Review", "Notes"], *[[t, "keep"] for t in TEXTS]]})
        report = run(
            build_config(
                {
                    "source": sid,
                    "input": "Review",
                    "output": "Sentiment",
                    "status_column": "Status",
                    "confidence_column": "Confidence",
                    "provider": "openai",
                    "base_url": fake_openai.url,
                    "cache": False,
                }
            )
        )
        assert report.exit_code == 0
        values = emu.values(sid, "Sheet1")
    assert values[0] == ["Review", "Notes", "Sentiment", "Status", "Confidence"]
    wanted = [certainty("sentiment", t, expected_answer("sentiment", t)) for t in TEXTS]
    assert [row[4] for row in values[1:]] == [f"{w:.2f}" for w in wanted]
    assert [row[1] for row in values[1:]] == ["keep"] * len(TEXTS)


def test_rows_below_review_threshold_are_marked_and_listed(fake: FakeOpenAI, tmp_path: Path) -> None:
    from sheets_ai.review import read_review

    book = _workbook(tmp_path / "r.xlsx")
    proc, report = run_json(
        "run", book, "--input", "Review", "--output", "Sentiment", "--status-column", "Status",
        "--review-below", "0.8", *openai_args(fake), "--no-cache",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    sure = [certainty("sentiment", t, expected_answer("sentiment", t)) for t in TEXTS]
    low = [i for i, c in enumerate(sure) if c < 0.8]
    assert low and len(low) < len(TEXTS)
    assert column_values(book, "C") == ["review" if i in low else "ok" for i in range(len(TEXTS))]
    assert report["confidence"]["rows_review"] == len(low)
    listed = read_review(tmp_path / "r.review.csv")
    assert [r[0] for r in listed] == [str(i + 2) for i in low]
    assert [r[1:4] for r in listed] == [
        [TEXTS[i], expected_answer("sentiment", TEXTS[i]), f"{sure[i]:.2f}"] for i in low
    ]
    assert all(r[4:] == ["", ""] for r in listed)
    assert (tmp_path / "r.review.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 that Excel reads
