"""What happens when a run is stopped or unlucky: nothing paid for is thrown away, nothing crosses servers.

Through the real openai SDK against the fake OpenAI server over loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import sheets_ai
from sheets_ai.config import build_config
from sheets_ai.errors import QuotaExhaustedError
from sheets_ai.tables.memory import MemoryTable
from sheets_ai.testing._openai_answers import expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI

TEXTS = [
    f"Review {i}: " + ("great sound, love it" if i % 3 else "broken on arrival, terrible") for i in range(40)
]


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(port=0, retry_after=0.05) as server:
        yield server


def config(server: FakeOpenAI, tmp_path: Path, **extra: object) -> sheets_ai.RunConfig:
    options: dict[str, object] = {
        "source": "<memory>",
        "input": "input",
        "output": "output",
        "task": "sentiment",
        "provider": "openai",
        "api_key": "sk-test-secret",
        "base_url": server.url,
        "cache_dir": str(tmp_path / "cache"),
        "retry_max_seconds": 10,
        "request_timeout": 5,
        "overwrite": True,
    }
    options.update(extra)
    return build_config(options)


def test_a_stopping_error_keeps_the_answers_already_in_flight(fake: FakeOpenAI, tmp_path: Path) -> None:
    # Four requests go out together; the fourth says the account has no quota. The three answered batches
    # were paid for: they must be written, counted and cached, not dropped.
    fake.latency = 0.3
    fake.script("ok", "ok", "ok", "insufficient_quota")
    table = MemoryTable(TEXTS)
    cfg = config(fake, tmp_path, batch_size=10, concurrency=4)
    with pytest.raises(QuotaExhaustedError) as err:
        sheets_ai.run(cfg, table=table)
    report = err.value.report  # type: ignore[attr-defined]
    done = [i for i, value in enumerate(table.results) if value is not None]
    assert len(done) == 30
    assert all(table.results[i] == expected_answer("sentiment", TEXTS[i]) for i in done)
    assert report.rows_processed == 30 and report.requests == 3 and report.cost_usd > 0
    # The rerun pays only for the 10 rows that were never answered.
    fake.reset()
    rerun = sheets_ai.run(cfg, table=MemoryTable(TEXTS))
    assert rerun.rows_cached == 30 and rerun.requests == 1


def test_a_row_unlucky_twice_is_asked_once_more_on_its_own(fake: FakeOpenAI, tmp_path: Path) -> None:
    # The middle row is dropped from its batch, then its single-row request comes back garbled; one more
    # single-row request gets it. Only after two bad single answers is a row reported failed.
    fake.script("drop", "malformed")
    table = MemoryTable(TEXTS[:5])
    report = sheets_ai.run(config(fake, tmp_path, batch_size=5, cache=False), table=table)
    assert report.rows_failed == 0
    assert table.results == [expected_answer("sentiment", t) for t in TEXTS[:5]]
    assert report.requests == 3


def test_answers_from_one_server_are_not_reused_for_another(fake: FakeOpenAI, tmp_path: Path) -> None:
    with FakeOpenAI(port=0, retry_after=0.05) as other:
        first = sheets_ai.run(config(fake, tmp_path), table=MemoryTable(TEXTS[:6]))
        assert first.rows_cached == 0 and first.requests == 1
        same = sheets_ai.run(config(fake, tmp_path), table=MemoryTable(TEXTS[:6]))
        assert same.rows_cached == 6 and same.requests == 0
        elsewhere = sheets_ai.run(config(other, tmp_path), table=MemoryTable(TEXTS[:6]))
        assert elsewhere.rows_cached == 0 and elsewhere.requests == 1


def test_the_budget_message_counts_what_was_spent_in_flight(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.latency = 0.2
    table = MemoryTable(TEXTS)
    # Room for about two of the four 10-row requests.
    probe = sheets_ai.run(config(fake, tmp_path, batch_size=10, cache=False), table=MemoryTable(TEXTS[:10]))
    report = sheets_ai.run(
        config(fake, tmp_path, batch_size=10, cache=False, concurrency=2, max_cost=probe.cost_usd * 2.5),
        table=table,
    )
    assert report.stopped is not None and report.stopped.startswith("budget")
    assert f"spent ${report.cost_usd:.4f}" in report.stopped
    assert report.cost_usd <= probe.cost_usd * 2.5
    assert report.exit_code == 1
