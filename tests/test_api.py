"""The notebook API: sheets_ai.enrich over lists and pandas Series."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import sheets_ai
from sheets_ai.errors import UsageError

TEXTS = [
    "I love it, best purchase this year.",
    "Terrible quality, it broke after one day. Very disappointed.",
    "とても使いやすくて満足しています。",
    "最悪です。二度と買いません。",
]


def test_list_in_list_out() -> None:
    result = sheets_ai.enrich(TEXTS, task="sentiment")
    assert isinstance(result, list)
    assert result == ["positive", "negative", "positive", "negative"]


def test_series_keeps_its_index_and_assigns_into_a_dataframe() -> None:
    df = pd.DataFrame({"review": TEXTS}, index=["a", "b", "c", "d"])
    out = sheets_ai.enrich(df["review"], task="sentiment")
    assert isinstance(out, pd.Series)
    assert list(out.index) == ["a", "b", "c", "d"] and out.name == "sentiment"
    df["sentiment"] = sheets_ai.enrich(df["review"], task="sentiment")
    assert df["sentiment"].tolist() == ["positive", "negative", "positive", "negative"]


def test_a_filtered_series_with_a_gappy_index_lines_up() -> None:
    df = pd.DataFrame({"review": TEXTS * 2, "keep": [True, False] * 4}, index=range(100, 108))
    subset = df[df["keep"]]
    df.loc[subset.index, "sentiment"] = sheets_ai.enrich(subset["review"], task="sentiment")
    assert df["sentiment"].iloc[::2].tolist() == ["positive", "positive"] * 2
    assert df["sentiment"].iloc[1::2].isna().all()


def test_missing_values_give_none() -> None:
    values = ["Great!", None, float("nan"), "", "   ", pd.NA, "Awful."]
    result = sheets_ai.enrich(values)
    assert result == ["positive", None, None, None, None, None, "negative"]
    series = sheets_ai.enrich(pd.Series(values, dtype="object"))
    assert series.iloc[1] is None and series.iloc[0] == "positive"


def test_japanese_labels_and_summaries() -> None:
    labels = "ポジティブ,ネガティブ,中立,混在"
    assert sheets_ai.enrich(TEXTS[2:], labels=labels) == ["ポジティブ", "ネガティブ"]
    note = (
        "本日の会議では新製品の発売日を十月に決定した。価格は据え置きとする。"
        "営業部は来週までに販売計画を提出する。次回の会議は金曜日に行う。"
    )
    (summary,) = sheets_ai.enrich([note], task="summarize", max_chars=40)
    assert (summary and len(summary) <= 40 and summary in note.replace("。", "。\n")) or summary[:5] in note


def test_other_values_and_empty_input() -> None:
    assert sheets_ai.enrich([]) == []
    out = sheets_ai.enrich(pd.Series([], dtype="object"))
    assert isinstance(out, pd.Series) and out.empty
    assert sheets_ai.enrich([3.0])[0] in {"positive", "negative", "neutral", "mixed"}


def test_options_are_checked(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="Valid options"):
        sheets_ai.enrich(TEXTS, task="sentiment", colour="red")
    with pytest.raises(sheets_ai.SheetsAIError, match="needs a language model"):
        sheets_ai.enrich(TEXTS, task="classify", labels="a,b", provider="local")


def test_enrich_does_not_touch_files_or_the_input(tmp_path: Path) -> None:
    before = sorted(p.name for p in Path.cwd().iterdir())
    values = list(TEXTS)
    sheets_ai.enrich(values)
    assert values == TEXTS
    assert sorted(p.name for p in Path.cwd().iterdir()) == before


def test_nan_float_input_stays_missing() -> None:
    assert sheets_ai.enrich([math.nan]) == [None]


# -- settings meant for file runs, and arguments of the wrong type -------------------------------------------

EXPECTED = ["positive", "negative", "positive", "negative"]
FILE_RUN_ENV = {
    "SHEETS_AI_LIMIT": "2",
    "SHEETS_AI_ROWS": "3:4",
    "SHEETS_AI_DRY_RUN": "1",
    "SHEETS_AI_OVERWRITE": "1",
    "SHEETS_AI_INPUT": "Review",
    "SHEETS_AI_OUTPUT": "Sentiment",
    "SHEETS_AI_SHEET": "Reviews",
    "SHEETS_AI_HEADER_ROW": "3",
    "SHEETS_AI_STATUS_COLUMN": "Status",
    "SHEETS_AI_LOG_SHEET": "Runs",
    "SHEETS_AI_OUTPUT_FILE": "out.xlsx",
    "SHEETS_AI_SOURCE": "reviews.xlsx",
    "SHEETS_AI_CHECKPOINT_SECONDS": "5",
    "SHEETS_AI_CREDENTIALS": "key.json",
}


def test_file_run_settings_from_the_environment_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    # Set for `sheets-ai run` in a shell, they must not cut or skip rows of a list.
    for name, value in FILE_RUN_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SHEETS_AI_LABELS", "good,bad,neutral,mixed")  # a task option still applies
    assert sheets_ai.enrich(TEXTS) == ["good", "bad", "good", "bad"]
    results, report = sheets_ai.run_texts(TEXTS)
    assert results == ["good", "bad", "good", "bad"] and report.rows_processed == 4
    assert not report.dry_run


def test_file_run_settings_from_sheets_ai_toml_are_ignored() -> None:
    Path("sheets-ai.toml").write_text(  # the tests run in a fresh working directory
        'limit = 1\nrows = "2:3"\ndry_run = true\noverwrite = true\ninput = "Review"\noutput = "S"\n'
        'header_row = 2\nsheet = "Data"\nmax_chars = 40\n',
        encoding="utf-8",
    )
    assert sheets_ai.enrich(TEXTS) == EXPECTED
    note = "The launch moved to October. Prices stay the same. Sales send a plan by Friday. We meet again."
    (summary,) = sheets_ai.enrich([note], task="summarize")
    assert summary is not None and len(summary) <= 40  # max_chars from the file still applies


@pytest.mark.parametrize(
    "options",
    [{"limit": 2}, {"rows": "2:3", "overwrite": True}, {"dry_run": True}, {"input": "Review"}],
    ids=["limit", "rows-overwrite", "dry_run", "input"],
)
def test_file_run_options_as_keywords_are_rejected(options: dict) -> None:
    for call in (sheets_ai.enrich, sheets_ai.run_texts):
        with pytest.raises(UsageError) as info:
            call(TEXTS, **options)
        message = str(info.value)
        assert all(name in message for name in options), message
        assert "list" in message


def test_a_dataframe_names_the_fix() -> None:
    df = pd.DataFrame({"ID": [1, 2], "Review": TEXTS[:2]})
    with pytest.raises(TypeError, match=r"enrich\(\) takes one column: pass df\['Review'\], not the whole"):
        sheets_ai.enrich(df, task="sentiment")
    with pytest.raises(UsageError, match="DataFrame"):  # also a sheets_ai.UsageError
        sheets_ai.enrich(df)
    with pytest.raises(TypeError, match=r"run_texts\(\) takes one column"):
        sheets_ai.run_texts(df)


@pytest.mark.parametrize(
    ("value", "expect"),
    [
        ({"a": "I love it"}, "not a dict"),
        ("I love it", r"\[text\]"),
        (b"I love it", r"\[text\]"),
        (42, "not int"),
        (None, "not None"),
        ({"I love it", "Awful"}, "not a set"),
    ],
    ids=["dict", "str", "bytes", "int", "None", "set"],
)
def test_other_wrong_types_say_what_to_pass(value: object, expect: str) -> None:
    with pytest.raises(TypeError, match=expect) as info:
        sheets_ai.enrich(value)
    assert "a list or a pandas Series" in str(info.value)
    assert isinstance(info.value, sheets_ai.SheetsAIError)


def test_tuples_generators_and_arrays_are_lists_of_texts() -> None:
    import numpy as np

    assert sheets_ai.enrich(tuple(TEXTS)) == EXPECTED
    assert sheets_ai.enrich(t for t in TEXTS) == EXPECTED
    assert sheets_ai.enrich(np.array(TEXTS, dtype=object)) == EXPECTED
