"""Deterministic "model" answers for the fake OpenAI server: simple keyword rules per task.

They are not meant to be good analysis, only predictable: a test can compute :func:`expected_answer` for
every row and check that each row got its own answer, whatever batching, faults and re-asks happened.
"""

from __future__ import annotations

import random
import re

POSITIVE = (
    "love", "great", "excellent", "best", "comfortable", "fast", "useful", "perfect", "happy", "good",
    "amazing", "wonderful", "recommend", "nice", "friendly", "solid", "light", "quick", "easy", "clear",
    "親切", "最高", "便利", "好評", "満足", "丁寧", "かわいい", "早", "良",
)  # fmt: skip
NEGATIVE = (
    "worst", "broken", "died", "late", "disappoint", "terrible", "bad", "crack", "snapped", "flimsy",
    "loud", "drip", "wet", "refund", "never", "nobody", "slow", "awful", "wrong", "problem", "poor", "meh",
    "残念", "潰れ", "遅", "悪", "ひび", "ありません", "鈍", "物足りない",
)  # fmt: skip
REFUSE_MARK = "REFUSE-ME"
INVALID_MARK = "INVALID-PROMPT"  # the server answers 400 invalid_prompt for any request holding it
CONTROL_CHARS = "\x00\x07"  # NUL and BEL: JSON carries them, a spreadsheet cell cannot hold them


def _hits(text: str, words: tuple[str, ...]) -> int:
    low = text.casefold()
    return sum(
        1 for w in words if re.search(r"(?<![a-z])" + re.escape(w) if w.isascii() else re.escape(w), low)
    )


def sentiment(text: str) -> str:
    pos, neg = _hits(text, POSITIVE), _hits(text, NEGATIVE)
    if pos and neg:
        return "mixed"
    if pos:
        return "positive"
    if neg:
        return "negative"
    return "neutral"


def classify(text: str, labels: list[str]) -> str:
    low = text.casefold()
    for label in labels:
        if label.casefold() in low:
            return label
    return labels[-1]


def summarize(text: str, max_chars: int) -> str:
    """The first sentence, cut at a word boundary to fit ``max_chars``."""
    flat = " ".join(text.split())
    match = re.match(r"(.+?[.!?。！？])(\s|$)", flat)
    first = match.group(1) if match else flat
    if len(first) <= max_chars:
        return first
    cut = first[: max_chars - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def overlong(text: str, limit: int, spec: str, rng: random.Random) -> str | None:
    """One summary under the ``long:SPEC`` fault: a model that writes more than the limit it was asked for.

    ``long:1.08`` makes every answer exactly 8% longer than the ``at most N characters`` of the request
    (round(N × 1.08) characters, the row's own words repeated); ``long:1.0-1.4@0.3`` makes each answer, with
    probability 0.3, a factor drawn uniformly from 1.0–1.4 longer (``rng`` is the server's seeded one). None:
    this row keeps its normal answer.
    """
    factors, _, share = spec.partition("@")
    if share and rng.random() >= float(share):
        return None
    low, _, high = factors.partition("-")
    factor = rng.uniform(float(low), float(high)) if high else float(low)
    length = max(1, round(limit * factor))
    words = text.split()
    sep = " " if len(words) > 1 else ""
    body = sep.join(words)
    while len(body) < length:
        body += sep + sep.join(words)
    body = body[:length]
    return body if not body[-1].isspace() else body[:-1] + "."


def extract(text: str, max_chars: int) -> str:
    """The first capitalised word after the first one, or 'none'."""
    words = re.findall(r"[A-Z][\w-]+", text)
    return words[1][:max_chars] if len(words) > 1 else "none"


def expected_answer(task: str, text: str, *, labels: list[str] | None = None, max_chars: int = 200) -> str:
    """The canonical answer the fake server gives for one row (labels as the task's canonical names)."""
    if task == "sentiment":
        return sentiment(text)
    if task == "classify":
        return classify(text, list(labels or ["other"]))
    if task == "summarize":
        return summarize(text, max_chars)
    return extract(text, max_chars)


def with_control_chars(answer: str) -> str:
    """The ``control`` fault: NUL and BEL after the answer's first word; removing them gives ``answer`` back."""
    head, space, tail = answer.partition(" ")
    return head + CONTROL_CHARS + space + tail


def certainty(task: str, text: str, answer: str, *, labels: list[str] | None = None) -> float:
    """How sure the fake "model" is of ``answer`` for ``text``: the probability its log-probabilities give
    the answer's code (label tasks) — deterministic, and higher the more evidence the keyword rules found.

    Sentiment: positive or negative with n keyword hits 1 - 0.25/n (0.75, 0.875, 0.917 …); mixed 0.6;
    neutral (no keyword at all) 0.55. Classify: a label named in the text 0.95; the fallback label 0.5.
    Anything else (an answer the rules would not give): 0.5.
    """
    if task == "sentiment":
        pos, neg = _hits(text, POSITIVE), _hits(text, NEGATIVE)
        if answer == "positive" and pos and not neg:
            return 1 - 0.25 / pos
        if answer == "negative" and neg and not pos:
            return 1 - 0.25 / neg
        if answer == "mixed" and pos and neg:
            return 0.6
        if answer == "neutral" and not pos and not neg:
            return 0.55
        return 0.5
    if task == "classify":
        low = text.casefold()
        if answer.casefold() in low:
            return 0.95
        return 0.5
    return 0.5


def confidence_digit(sure: float) -> int:
    """The digit 0-9 the fake "model" reports for a row when asked for its confidence in tenths (the
    self-reported variant): its :func:`certainty` rounded down to a tenth (0.875 -> 8, 0.6 -> 6)."""
    return max(0, min(9, int(sure * 10 + 1e-9)))
