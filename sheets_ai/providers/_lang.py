"""Language detection for the offline analyzer: Japanese vs English, by script counts."""

from __future__ import annotations

import re

# Hiragana, Katakana (incl. phonetic extensions and the prolonged sound mark), half-width Katakana.
KANA = "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"
# CJK unified ideographs (+ extension A, compatibility ideographs) and the iteration mark 々.
KANJI = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3005"
# ASCII and full-width Latin letters, plus the Latin-1 / Latin Extended-A letters (é, ü, ...).
LATIN = "A-Za-z\uff21-\uff3a\uff41-\uff5a\u00c0-\u00ff\u0100-\u017f"

_KANA_RE = re.compile(f"[{KANA}]+")
_KANJI_RE = re.compile(f"[{KANJI}]+")
_LATIN_RE = re.compile(f"[{LATIN}]+")

# How many Latin letters one Japanese character is worth: Japanese packs about as much meaning into one
# character as English does into a short word, so a few kana/kanji in a long English sentence do not flip it.
_JA_WEIGHT = 3


def _count(pattern: re.Pattern[str], text: str) -> int:
    return sum(len(m) for m in pattern.findall(text))


def detect_language(text: str) -> str:
    """Return ``"ja"`` when ``text`` is mainly Japanese, else ``"en"``.

    Kana is the strong signal (Chinese has none); kanji count too. Text without letters at all (numbers,
    punctuation, empty) is ``"en"``.
    """
    kana = _count(_KANA_RE, text)
    kanji = _count(_KANJI_RE, text)
    if kana == 0 and kanji == 0:
        return "en"
    latin = _count(_LATIN_RE, text)
    if kana > 0:
        return "ja" if (kana + kanji) * _JA_WEIGHT >= latin else "en"
    # Kanji without any kana: only when ideographs clearly dominate (e.g. a terse "商品最高" row).
    return "ja" if kanji * _JA_WEIGHT >= 2 * latin else "en"
