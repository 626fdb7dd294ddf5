"""Summaries near the limit: asked for ~85% of --max-chars; up to 10% over is cut with "…", more is re-asked."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import column_values, make_xlsx, openai_args, run_json

from sheets_ai.config import RunConfig
from sheets_ai.prompts import system_prompt
from sheets_ai.tasks import build_task
from sheets_ai.testing.openai_server import FakeOpenAI

SUMMARY = build_task(RunConfig(task="summarize", max_chars=100))
# 98 characters up to the end of the second sentence, 108 in all.
TWO_SENTENCES = (
    "The team agreed to move the launch to May. Budget stays at 40k euros and two hires are approved. "
    "Ana owns it."
)


def test_the_model_is_asked_for_85_percent_of_max_chars() -> None:
    assert "at most 85 characters" in system_prompt(SUMMARY)
    assert "at most 170 characters" in system_prompt(build_task(RunConfig(task="summarize", max_chars=200)))


def test_an_answer_within_the_limit_is_kept_as_it_is() -> None:
    assert SUMMARY.validate(" " + "x" * 100 + " ") == ("x" * 100, None)


def test_a_little_over_is_cut_after_the_last_sentence_that_fits() -> None:
    text = TWO_SENTENCES + " Next review in June."  # 129: too long
    value, problem = SUMMARY.validate(text[:108])
    assert problem is None and value is not None
    assert value == TWO_SENTENCES[:96] + " …"
    assert len(value) <= 100


def test_without_a_sentence_end_late_enough_the_cut_is_at_a_word() -> None:
    text = "Agreed: " + " ".join(["launch moved to May, budget kept"] * 4)  # one sentence, 139 chars
    value, problem = SUMMARY.validate(text[:110])
    assert problem is None and value is not None
    assert len(value) <= 100 and value.endswith("…") and not value.endswith(" …")
    kept = value[:-1]
    assert text.startswith(kept) and text[len(kept)] in " ,"  # whole words only
    assert not kept.endswith((",", " "))


def test_japanese_is_cut_at_its_punctuation_or_at_the_limit() -> None:
    task = build_task(RunConfig(task="summarize", max_chars=20))
    value, _ = task.validate("会議で発売を五月に延期した。予算は据え置き。")  # 22 characters
    assert value == "会議で発売を五月に延期した。…"
    value, _ = task.validate("会議で発売を五月に延期し、予算は据え置きと決")  # 22, one clause break
    assert value == "会議で発売を五月に延期し…"
    value, _ = task.validate("あ" * 22)  # no punctuation at all: cut at the limit
    assert value == "あ" * 19 + "…"


def test_more_than_ten_percent_over_is_still_asked_again() -> None:
    value, problem = SUMMARY.validate("word " * 22)  # 109 characters once stripped: within 10%
    assert problem is None and value is not None and len(value) <= 100
    value, problem = SUMMARY.validate("x" * 110)
    assert value == "x" * 99 + "…"
    value, problem = SUMMARY.validate("x" * 111)
    assert value is None and "111 characters, more than the limit of 100" in (problem or "")


def test_extraction_answers_are_never_cut() -> None:
    extract = build_task(RunConfig(task="extract", prompt="Which product?", max_chars=30))
    assert extract.validate("y" * 31)[0] is None


# -- end to end -------------------------------------------------------------------------------------------


def _notes(path: Path, n: int = 16) -> list[str]:
    notes = [
        f"Meeting {i}: the team agreed to ship version {i} of the app in May, with the budget kept at {i}0k "
        "euros. Two hires were approved and Ana owns the launch plan."
        for i in range(n)
    ]
    make_xlsx(path, [["Notes"], *[[t] for t in notes]])
    return notes


@pytest.mark.parametrize(("fault", "cut"), [("long:1.08", False), ("long:1.25", True)])
def test_answers_a_little_longer_than_asked_are_not_re_asked(
    tmp_path: Path, fake_openai: FakeOpenAI, fault: str, cut: bool
) -> None:
    _notes(tmp_path / "notes.xlsx")
    fake_openai.script(*[fault] * 10)  # every answer 8% / 25% longer than the 85 characters asked for
    proc, report = run_json(
        "run", tmp_path / "notes.xlsx", "--task", "summarize", "--input", "Notes", "--output", "Summary",
        "--max-chars", "100", *openai_args(fake_openai),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert report["requests"] == 2 == len(fake_openai.requests)  # 16 rows, 8 per request, no re-asks
    summaries = column_values(tmp_path / "notes.xlsx", "B")
    assert len(summaries) == 16 and all(0 < len(s) <= 100 for s in summaries)
    assert all(s.endswith("…") for s in summaries) is cut
    assert all(len(s) == round(85 * 1.08) for s in summaries) is not cut


def test_answers_far_longer_than_asked_are_re_asked(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    _notes(tmp_path / "notes.xlsx", 8)
    fake_openai.script("long:1.4")  # 119 characters: more than 10% over 100
    proc, _report = run_json(
        "run", tmp_path / "notes.xlsx", "--task", "summarize", "--input", "Notes", "--output", "Summary",
        "--max-chars", "100", *openai_args(fake_openai),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # Every row asked again with the reason (all 8 bad: in two smaller batches, the usual re-ask policy).
    assert [r["items"] for r in fake_openai.requests] == [8, 4, 4]
    assert "more than the limit of 100" in fake_openai.requests[1]["body"]["messages"][1]["content"]
    assert all(0 < len(s) <= 100 for s in column_values(tmp_path / "notes.xlsx", "B"))
