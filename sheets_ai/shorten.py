"""Summaries near the limit: cut an answer that is a little too long at a boundary, marked with "…".

A model asked for "at most N characters" cannot count characters; it lands near N, sometimes over. The
summarize task asks for about 85% of ``--max-chars`` (:data:`TARGET_PERCENT`) and accepts an answer up to 10%
over ``--max-chars`` (:data:`SLACK_PERCENT`) by shortening it here instead of paying for a re-ask. The cut:

1. after the last sentence end (``.`` ``!`` ``?`` followed by a space, or ``。`` ``！`` ``？``) that fits with the
   mark, if it keeps at least 60% of the limit (:data:`KEEP`): ``"Budget approved. Launch in May. …"``;
2. else at the last word boundary (a space, or ``、`` ``，`` in Japanese), trailing punctuation dropped, if
   that keeps 60%: ``"The team agreed to move the launch…"``;
3. else at the limit itself (Japanese without punctuation, one long word).

The result, "…" included, is never longer than the limit.
"""

from __future__ import annotations

import re

ELLIPSIS = "…"
#: Share of --max-chars a summary is asked for.
TARGET_PERCENT = 85
#: An answer at most this much over --max-chars is shortened; a longer one is asked again.
SLACK_PERCENT = 10
#: A boundary is used only if the text kept before it fills at least this share of the limit.
KEEP = 0.6

_SENTENCE_END = re.compile(r"[.!?](?=\s)|[。！？]")
_WORD_BREAK = re.compile(r"\s|(?<=[、，])")
_TRAILING = " \t,;:-–—、，(（「『\"'"


def target_chars(max_chars: int) -> int:
    """How many characters to ask a model for, so that a small overshoot still fits in ``max_chars``."""
    return max(1, max_chars * TARGET_PERCENT // 100)


def within_slack(length: int, max_chars: int) -> bool:
    """Whether an answer of ``length`` characters is close enough to ``max_chars`` to be shortened."""
    return length * 100 <= max_chars * (100 + SLACK_PERCENT)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a sentence or word boundary, ending in "…"."""
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    if room <= 0:
        return ELLIPSIS[:limit]
    least = KEEP * limit
    for match in reversed(list(_SENTENCE_END.finditer(text, 0, room + 1))):
        end = match.end()
        spaced = end < len(text) and text[end].isspace()
        mark = " " + ELLIPSIS if spaced else ELLIPSIS
        if end + len(mark) <= limit:
            if end >= least:
                return text[:end] + mark
            break
    for match in reversed(list(_WORD_BREAK.finditer(text, 0, room + 1))):
        kept = text[: match.start() if match.group() else match.end()].rstrip(_TRAILING)
        if len(kept) >= least:
            return kept + ELLIPSIS
        break
    return text[:room].rstrip() + ELLIPSIS
