"""Extractive summaries: the most central sentences that fit, in their original order.

English and Japanese have their own word rules; other languages are summarized by the same centrality over
language-independent terms (word prefixes, or character bigrams for scripts written without spaces), so
any text with sentence punctuation gets its most central sentences.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict

from sheets_ai.providers._lang import HANGUL, KANA, KANJI, detect_language
from sheets_ai.providers._lexicon import word_set
from sheets_ai.providers._sentences import split_sentences

ELLIPSIS = "…"
# Only this many leading sentences compete (keeps 50,000-character inputs well under a second).
MAX_SENTENCES = 400
# Mild preference for early sentences: the first gets up to +POSITION_WEIGHT over the last.
POSITION_WEIGHT = 0.1
# Whole sentences that fit beat a cut-off best sentence unless their scores sum to less than this share of it.
PREFER_WHOLE = 0.75
# A sentence this similar (Jaccard over terms) to one already chosen adds nothing.
REDUNDANT = 0.7

_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CONTENT_CHAR_RE = re.compile(f"[{KANJI}A-Za-z0-9\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u30a0-\u30ff]")
# Other languages: words of any script; runs of Han, kana, Hangul or Thai (no spaces between words) apart.
_UNSPACED = f"{KANA}{KANJI}{HANGUL}\u0e00-\u0e7f"
_UNSPACED_RE = re.compile(f"[{_UNSPACED}]+")
_OTHER_WORD_RE = re.compile(f"[^\\W\\d_{_UNSPACED}]+")
# ...where a word's first letters stand for it (a crude stemmer for any language: "rénovation"/"rénover",
# "ремонта"/"ремонт"), and shorter words are mostly function words (le, der, и, в).
_PREFIX = 5
_MIN_WORD = 4
# Sentence ends that Chinese and Japanese write (sentences joined without a space).
_FULL_WIDTH_ENDS = frozenset("。！？．」』）")
_JA_TEXT_RE = re.compile(f"[{KANA}{KANJI}A-Za-z0-9\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+")
_STOPWORDS = word_set(
    """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further get got
    had has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over own
    really same she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was we were what when where which while who whom why
    will with would you your yours yourself yourselves i'm it's don't didn't doesn't isn't wasn't i've
    i'd one
    """
)


def summarize(text: str, max_chars: int) -> str:
    """Return the most central sentences of ``text`` that fit in ``max_chars``, in their original order.

    English sentences are joined with a space, Japanese ones with nothing. When not even one sentence fits,
    the best one is cut (at a word boundary in English) and ends with "…". The result never exceeds
    ``max_chars`` and is deterministic.
    """
    if max_chars <= 0:
        return ""
    language = detect_language(text)
    sentences = split_sentences(text)[:MAX_SENTENCES]
    if not sentences:
        return ""
    unspaced = language == "ja" or (
        language == "other" and sum(s[-1] in _FULL_WIDTH_ENDS for s in sentences) * 2 > len(sentences)
    )  # Chinese
    joiner = "" if unspaced else " "
    everything = joiner.join(sentences)
    if len(everything) <= max_chars:
        return everything

    terms = [_terms(s, language) for s in sentences]
    scores = _centrality(terms)
    order = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))

    chosen: list[int] = []
    used = 0
    for i in order:
        extra = len(sentences[i]) + (len(joiner) if chosen else 0)
        if used + extra > max_chars:
            continue
        if any(_jaccard(terms[i], terms[j]) >= REDUNDANT for j in chosen):
            continue
        chosen.append(i)
        used += extra

    best = order[0]
    # Nothing fits, or the best sentence does not and what fits is clearly weaker: cut the best one instead.
    if not chosen or (best not in chosen and sum(scores[i] for i in chosen) < PREFER_WHOLE * scores[best]):
        return _truncate(sentences[best], max_chars, language)
    return joiner.join(sentences[i] for i in sorted(chosen))


def _terms(sentence: str, language: str) -> set[str]:
    """Words (minus stop words) for English; character bigrams with a kanji/katakana/Latin char for Japanese;
    word prefixes and character bigrams (see :data:`_UNSPACED`) for other languages."""
    if language == "other":
        lowered = sentence.lower()
        words = {w[:_PREFIX] for w in _OTHER_WORD_RE.findall(lowered) if len(w) >= _MIN_WORD}
        for chunk in _UNSPACED_RE.findall(lowered):
            words.update(chunk[k : k + 2] for k in range(len(chunk) - 1))
        return words
    if language == "ja":
        grams: set[str] = set()
        for chunk in _JA_TEXT_RE.findall(sentence.lower()):
            for k in range(len(chunk) - 1):
                gram = chunk[k : k + 2]
                if _CONTENT_CHAR_RE.search(gram):
                    grams.add(gram)
        return grams
    return {_stem(w) for w in _WORD_RE.findall(sentence.lower()) if w not in _STOPWORDS}


def _stem(word: str) -> str:
    """A deliberately crude stemmer: enough that "battery"/"batteries" and "charge"/"charging" meet."""
    for suffix, replacement in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: len(word) - len(suffix)] + replacement
    return word


def _centrality(terms: list[set[str]]) -> list[float]:
    """Word-overlap centrality of each sentence, scaled to 0..1, plus a mild position prior.

    A sentence's score is its summed overlap with every other sentence, each sentence weighted by
    1 / (1 + log(1 + its length)) as TextRank does -- so long sentences are not favoured just for being long
    and one-word sentences cannot win on a single shared term. The overlap is computed against the summed
    weights of all sentences minus its own, which keeps it linear in the number of terms.
    """
    n = len(terms)
    weights = [1.0 / (1.0 + math.log1p(len(t))) for t in terms]
    totals: defaultdict[str, float] = defaultdict(float)
    for t, w in zip(terms, weights, strict=True):
        for term in t:
            totals[term] += w
    raw = [w * sum(totals[term] - w for term in t) for t, w in zip(terms, weights, strict=True)]
    top = max(raw)
    scale = 1.0 / top if top > 0 else 0.0
    return [r * scale + (POSITION_WEIGHT * (1.0 - i / (n - 1)) if n > 1 else 0.0) for i, r in enumerate(raw)]


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _truncate(sentence: str, max_chars: int, language: str) -> str:
    """Cut ``sentence`` to at most ``max_chars`` including the trailing "…"."""
    if len(sentence) <= max_chars:
        return sentence
    room = max_chars - len(ELLIPSIS)
    if room <= 0:
        return ELLIPSIS[:max_chars]
    cut = sentence[:room]
    if language != "ja" and not sentence[room].isspace():
        space = cut.rfind(" ")
        if space > 0:
            cut = cut[:space]
    return cut.rstrip(" ,;:-–—、，") + ELLIPSIS
