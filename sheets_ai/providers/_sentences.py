"""Rule-based sentence splitting for English and Japanese (a small scanner, no model)."""

from __future__ import annotations

import re

from sheets_ai.providers._lang import KANA, KANJI
from sheets_ai.providers._lexicon import word_set

# Terminators that end a sentence wherever they appear (Japanese full stops and full-width marks).
_JA_TERMINATORS = frozenset("。｡！？．‼⁇⁈⁉")
# Terminators that end a sentence only when followed by whitespace, the end, or Japanese text.
_EN_TERMINATORS = frozenset(".!?…")
_ALL_TERMINATORS = _JA_TERMINATORS | _EN_TERMINATORS
# Closing quotes/brackets that stay with the sentence they close: 「最高！」 / "Stop." / (really!)
_CLOSERS = frozenset("」』）)]｝}】〕〉》〙〛\"'”’»")
# Japanese brackets: a terminator inside them does not end the outer sentence (彼は「嫌だ。帰る。」と言った。).
_JA_OPEN = "「『（"
_JA_CLOSE = "」』）"
# After a closed quote, these continue the same sentence: 「最高！」と言った / 「最高！」って感じ
_QUOTE_CONTINUATIONS = frozenset("とっ、，")

# "Mr. Smith": never a boundary. Lower-cased, without the final dot.
_TITLES = word_set(
    """
    mr mrs ms mx dr prof sr jr st mt rev gen col capt lt sgt gov sen rep hon fr vs v cf e.g i.e eg ie
    approx no nos fig figs vol pp ch sec est dept univ ave blvd rd ft
    """
)
# "etc." / "Inc." / "a.m.": a boundary only when the next word is capitalised.
_MAYBE_ABBREVIATIONS = word_set(
    """
    etc inc ltd co corp llc plc bros a.m p.m am pm u.s u.k u.s.a e.u jan feb mar apr jun jul aug sep
    sept oct nov dec mon tue tues wed thu thurs fri sat sun min max avg al
    """
)

_BULLET_RE = re.compile(r"^\s*(?:[-*>+]+\s+|[•‣◦●○■□◆◇▪▫★☆※・→]+\s*|\(?\d{1,3}[.)]\s+|\(?[a-zA-Z]\)\s+)")
_SPACE_RE = re.compile(r"\s+")
_WORD_BEFORE_RE = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")
_JA_CHAR_RE = re.compile(f"[{KANA}{KANJI}]")


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences.

    Lines are boundaries, list markers (``-``, ``•``, ``・``, ``1.``) are dropped, whitespace inside a
    sentence is collapsed to single spaces. English ``.``/``!``/``?`` end a sentence when followed by a space
    (not after ``Mr.``, ``e.g.``, initials, nor inside ``3.5``); Japanese ``。！？`` end it anywhere, and
    closing brackets after the terminator stay with it.
    """
    sentences: list[str] = []
    for line in text.splitlines():
        line = _BULLET_RE.sub("", line, count=1)
        if not line.strip():
            continue
        parts = _split_line(line, track_brackets=True)
        if parts is None:  # unbalanced Japanese brackets: split as if they were not there
            parts = _split_line(line, track_brackets=False) or []
        for part in parts:
            cleaned = _SPACE_RE.sub(" ", part).strip()
            if cleaned:
                sentences.append(cleaned)
    return sentences


def _split_line(line: str, *, track_brackets: bool) -> list[str] | None:
    parts: list[str] = []
    start = 0
    depth = 0
    i = 0
    n = len(line)
    while i < n:
        ch = line[i]
        if track_brackets and ch in _JA_OPEN:
            depth += 1
        elif track_brackets and ch in _JA_CLOSE and depth > 0:
            depth -= 1
            if depth == 0 and _ends_quoted_sentence(line, i):
                end = _absorb_closers(line, i + 1)
                if end >= n or line[end] not in _QUOTE_CONTINUATIONS:
                    parts.append(line[start:end])
                    start = i = end
                    continue
        if ch not in _ALL_TERMINATORS or depth > 0:
            i += 1
            continue
        run_end = i + 1
        while run_end < n and line[run_end] in _ALL_TERMINATORS:
            run_end += 1
        end = _absorb_closers(line, run_end)
        if _is_boundary(line, start, i, run_end, end):
            parts.append(line[start:end])
            start = end
        i = end if end > i else i + 1
    if depth > 0:
        return None
    parts.append(line[start:])
    return parts


def _ends_quoted_sentence(line: str, close_index: int) -> bool:
    """True when the bracket at ``close_index`` directly follows a terminator: 「最高！」"""
    return close_index > 0 and line[close_index - 1] in _ALL_TERMINATORS


def _absorb_closers(line: str, index: int) -> int:
    while index < len(line) and line[index] in _CLOSERS:
        index += 1
    return index


def _is_boundary(line: str, start: int, first: int, run_end: int, end: int) -> bool:
    """Decide whether the terminator run ``line[first:run_end]`` (closers up to ``end``) ends a sentence."""
    run = line[first:run_end]
    nxt = line[end] if end < len(line) else ""
    if run == "．" and first > 0 and line[first - 1].isdigit() and nxt.isdigit():
        return False  # full-width decimal "３．５"
    if any(c in _JA_TERMINATORS for c in run) or not nxt:
        return True
    ellipsis = run != "." and set(run) <= {".", "…"}
    if _JA_CHAR_RE.match(nxt):
        return not ellipsis  # "すごい!また買う" splits; "ちょっと…微妙" does not
    if not nxt.isspace():
        return False  # "3.5", "e.g.", "U.S.A", "example.com", "Yahoo!Japan"
    following = line[end:].lstrip()
    if not following:
        return True
    next_upper = following[0].isupper() or not following[0].isalpha()
    if ellipsis:
        return next_upper  # "Well... maybe not" stays together; "It broke... Never again." splits
    if run != ".":
        # "!", "?", "?!" end the sentence, except inside a quote that the sentence goes on after:
        # 'She said "wow!" and left.'
        return not (end > run_end and following[0].islower())
    match = _WORD_BEFORE_RE.search(line[start:run_end])
    if match is None:
        return True
    word = match.group(1).lower()
    if word in _TITLES:
        return False
    if len(word) == 1 and match.group(1).isupper():
        return False  # an initial: "J. Smith"
    if word in _MAYBE_ABBREVIATIONS or "." in word:
        return next_upper
    return True
