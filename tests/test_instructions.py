"""--instructions / --instructions-file: in the system prompt, in the cache key, counted by estimate."""

from __future__ import annotations

from pathlib import Path

from conftest import make_xlsx, openai_args, run_json

from sheets_ai.testing.openai_server import FakeOpenAI

RULES = "You analyse hotel reviews.\nNoise complaints are negative."
TEXTS = ["Quiet room, lovely staff.", "The street noise kept us awake.", "Breakfast was included."]


def _book(tmp_path: Path) -> Path:
    return make_xlsx(tmp_path / "hotel.xlsx", [["Review"], *[[t] for t in TEXTS]])


def _systems(server: FakeOpenAI) -> list[str]:
    return [r["body"]["messages"][0]["content"] for r in server.requests if "body" in r]


def test_instructions_go_into_the_system_prompt_and_the_cache_key(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    book = _book(tmp_path)
    cache = ("--cache-dir", tmp_path / "cache", "--batch-size", "2")
    proc, plain = run_json(
        "run", book, "--input", "Review", "--output", "Plain", *openai_args(fake_openai), *cache
    )
    assert proc.returncode == 0 and plain["requests"] == 2
    assert all("hotel" not in s for s in _systems(fake_openai))

    fake_openai.reset()
    args = (
        "run",
        book,
        "--input",
        "Review",
        "--output",
        "Ruled",
        "--instructions",
        RULES,
        *openai_args(fake_openai),
    )
    proc, ruled = run_json(*args, *cache)
    # Not answered from the cache of the run without instructions: they can change every answer.
    assert proc.returncode == 0 and ruled["requests"] == 2 and ruled["rows_cached"] == 0
    systems = _systems(fake_openai)
    assert len(set(systems)) == 1  # one stable prefix for every request
    assert "You analyse hotel reviews.\\nNoise complaints are negative." in systems[0]
    assert systems[0].index("hotel") < systems[0].index("Label codes:")

    fake_openai.reset()
    proc, again = run_json(*args[:5], "Again", *args[6:], *cache)
    assert proc.returncode == 0 and again["requests"] == 0 and again["rows_cached"] == len(TEXTS)


def test_instructions_file_is_read_and_estimate_counts_it(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    book = _book(tmp_path)
    rules = tmp_path / "rules.txt"
    rules.write_text(RULES, encoding="utf-8")
    base = ("--input", "Review", "--output", "Sentiment", *openai_args(fake_openai), "--no-cache")
    _, without = run_json("estimate", book, *base)
    _, estimate = run_json("estimate", book, *base, "--instructions-file", rules)
    assert estimate["prompt_tokens"] > without["prompt_tokens"]
    proc, ran = run_json("run", book, *base, "--instructions-file", rules)
    assert proc.returncode == 0
    assert ran["prompt_tokens"] == estimate["prompt_tokens"]  # the estimate is what the server counted
    assert "hotel reviews" in _systems(fake_openai)[0]


def test_instructions_usage_errors(tmp_path: Path) -> None:
    book = _book(tmp_path)
    base = ("run", book, "--input", "Review", "--output", "S", "--provider", "local")
    proc, report = run_json(*base, "--instructions", "x", "--instructions-file", tmp_path / "r.txt")
    assert proc.returncode == 2 and "Cannot use --instructions with --instructions-file" in report["error"]
    proc, report = run_json(*base, "--instructions-file", tmp_path / "missing.txt")
    assert proc.returncode == 2 and "not found" in report["error"]
    proc, report = run_json(*base, "--instructions", RULES)
    assert proc.returncode == 0
    assert any("offline analyzer does not read them" in n for n in report["notices"])
