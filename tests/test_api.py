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
