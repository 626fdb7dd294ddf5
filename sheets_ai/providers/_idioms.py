"""English review idioms VADER reads wrongly, rewritten before scoring.

VADER scores words one by one and flips a word when a negation comes at most three words before it. So
"without any hassle" barely registers, "sounds like" counts "like" as praise, "hasn't shipped" and "too
small" carry no sentiment, "never had anything to complain about" is a complaint (the negation is too far
away), and "don't waste your money" is praise (the negation flips "waste"). Each rule rewrites one kind of
idiom -- built from word classes with optional words, not from single sentences -- into a word whose
polarity VADER knows (the new words are in ``_lexicon.EN_EXTRA``). Rules apply case-insensitively, in this
order; each names the literal strings one of which the lower-cased text must contain, so most rows skip
most regular expressions.
"""

from __future__ import annotations

import re

# A negation before an expected event: "hasn't shipped", "never answered", "no longer works".
_NOT = r"(?:\bnot|\bnever|n't|\bno\s+longer)\s+(?:(?:yet|even|ever|been|once|really)\s+)*"
_NEGATED_EVENT = ("not", "never", "n't", "no longer")
_ADJECTIVES_TOO = (
    "small|big|large|tight|loose|short|long|heavy|thin|thick|loud|bright|dim|hot|cold|hard|soft|expensive|"
    "pricey|slow|sweet|salty|spicy|bitter|narrow|wide|weak|strong|complicated|flimsy|fragile|bulky|stiff"
)

# A negated complaint: a negation, up to four words that only carry it along, then a complaint word.
# "never had anything to complain about", "haven't had a single problem", "zero issues", "no regrets".
_NEGATION = r"(?:\b(?:not|never|no|zero|without|nothing|none)|n't)"
_CARRIERS = (
    r"(?:had|have|has|having|got|gotten|be|been|experienced|encountered|seen|found|run|ran|into|any|anything|"
    r"a|an|one|single|the|slightest|real|much|major|serious|big|further|other|to|about|so|far|yet|ever|even|"
    r"once|really|at|all|with|i|we|can|could|say)"
)
_COMPLAINT = (
    r"(?:complain(?:ts?|ed|ing)?|problems?|issues?|troubles?|hassles?|fuss|regrets?|glitch(?:es)?|hiccups?|"
    r"faults?|defects?|gripes?|qualms?|worries|disappoint(?:ed|s|ing|ment)?|"
    r"(?:bad|negative)(?:\s+things)?(?:\s+to\s+say)?)"
)
_COMPLAINT_WORDS = (
    "complain", "problem", "issue", "trouble", "hassle", "fuss", "regret", "glitch", "hiccup", "fault",
    "defect", "gripe", "qualm", "worries", "disappoint", "bad", "negative",
)  # fmt: skip
_NEGATED_COMPLAINT = rf"{_NEGATION}\s+(?:{_CARRIERS}\s+){{0,4}}{_COMPLAINT}\b"

# Where an imperative starts: the text or a clause, or after "just", "please", "so" ...
_IMPERATIVE = r"(^|[.!?;:,(\n]\s*|\b(?:just|please|so|and|instead|seriously|honestly|trust\s+me)\s+)"
_COULD_NOT = r"(?:\bcouldn't|\bcould\s+not|\bcan't|\bcannot|\bcan\s+not)"
_DO_NOT = r"(?:\bdon't|\bdont|\bdo\s+not|\bnever\s+ever)"
_BUY = r"(?:buy|buying|bought|order|ordering|ordered|purchase|purchasing|purchased|repurchase|get|getting)"
_BUY_OBJECT = (
    r"(?:it|this|these|them|one|another|from|that|the|same|seller|shop|store|brand|company|here|item)"
)
_WORKING = (
    r"(?:working|charging|pairing|functioning|connecting|responding|heating|spinning|cooling|syncing|"
    r"recording|printing|booting|turning\s+on|holding\s+(?:a\s+)?charge)"
)

_EN_RULES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("free",), r"\b(?:hassle|trouble|problem|worry)[\s-]free\b", "hassle-free"),
    # "it let me down" is a disappointment; "never let me down" is then a negated one.
    (("down",), r"\blet(?:s|ting)?\s+(?:me|us|you|him|her|them)\s+down\b", "disappointed"),
    (
        _COMPLAINT_WORDS,
        _NEGATED_COMPLAINT,
        " hassle-free",  # leading space: "can't complain" -> "ca hassle-free"
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
    # A device that quit ("stopped charging", "the battery gave out"); "hasn't stopped working" is then a
    # negated failure, which VADER flips.
    (("stop", "quit", "cease"), rf"\b(?:stop(?:ped|s)?|quits?|ceased?|ceases)\s+{_WORKING}\b", "nonworking"),
    (
        ("gave", "give", "packed", "conked", "crapped", "dust", "arrival", "doa"),
        r"\b(?:gave|gives|giving)\s+(?:out|up)\b|\b(?:packed|conked|crapped)\s+(?:up|out|in)\b|"
        r"\bbit\s+the\s+dust\b|\bdead\s+on\s+arrival\b|\bdoa\b",
        "nonworking",
    ),
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
    # Recommending: "can't recommend it enough" is praise; any other negated "recommend" advises against.
    (
        ("recommend",),
        r"(?:\bcan't|\bcannot|\bcan\s+not|\bcouldn't|\bcould\s+not)\s+recommend\s+"
        r"(?:(?:it|this|them|these|(?:this|the|these)\s+\w+)\s+)?(?:(?:highly|strongly|more\s+highly)\s+)?"
        r"(?:enough|more)\b",
        "highly recommended",
    ),
    (
        ("recommend",),
        r"(?:\b(?:not|never|cannot)|n't)\s+(?:(?:really|honestly|personally|possibly|ever|be|been|"
        r"in\s+good\s+conscience)\s+)*recommend(?:ed|ing|s)?\b",
        " unrecommended",
    ),
    # Buying again is praise ("would buy again"), negated a warning ("will never order from them again");
    # never buying anything else is loyalty.
    (("again",), rf"\b{_BUY}\s+(?:{_BUY_OBJECT}\s+){{0,3}}again\b", "rebuy"),
    (
        ("another", "other", "else", "different"),
        rf"(?:\bnever|n't|\bnot)\s+(?:(?:be|ever|again)\s+)?(?:{_BUY}|use|using|go\s+back\s+to)\s+"
        r"(?:another|any\s+other|anything\s+else|a\s+different|other)\b",
        " rebuy",
    ),
    # Warnings to other buyers.
    (("waste",), rf"{_DO_NOT}\s+waste\b", "unrecommended"),
    (
        ("save", "keep"),
        _IMPERATIVE
        + r"(?:save|keep)\s+(?:your|ur)\s+(?:hard[\s-]earned\s+)?(?:money|cash|dollars|pennies|time)\b",
        r"\1unrecommended",
    ),
    (
        ("save yourself",),
        r"\bsave\s+yourself\s+(?:the\s+|a\s+lot\s+of\s+|some\s+)?"
        r"(?:trouble|hassle|headache|money|time|grief|frustration|aggravation)\b",
        "unrecommended",
    ),
    (("away", "clear"), r"\b(?:stay|steer|run)\s+(?:well\s+|far\s+)?(?:away|clear)\b", "unrecommended"),
    (
        ("elsewhere", "somewhere else"),
        r"\b(?:look|shop|go|buy|order|try)\s+(?:somewhere\s+else|elsewhere)\b",
        "unrecommended",
    ),
    (
        ("avoid",),
        r"\bavoid\s+(?:(?:it|this|them|these|this\s+\w+)\s+)?(?:at\s+all\s+costs|like\s+the\s+plague)",
        "unrecommended",
    ),
    (
        ("don't", "dont", "do not", "never ever"),
        rf"{_DO_NOT}\s+(?:ever\s+)?(?:buy|order|purchase)\b"
        r"(?=\s*(?:[.!,;:]|$)|\s+(?:this|it|these|them|from|one|here|the)\b)",
        "unrecommended",
    ),
    (
        ("bother",),
        r"(?:\bdon't|\bdont|\bdo\s+not|\bwouldn't|\bwould\s+not)\s+bother\b(?!\s+(?:me|us|him|her|them|my|at\s+all))",
        "unrecommended",
    ),
    (("never again",), r"\bnever\s+again\b", "unrecommended"),
    (("pay for",), r"\b(?:you\s+)?get\s+what\s+you\s+pa(?:y|id)\s+for\b", "mediocre"),
    # Negated comparisons: "couldn't be happier", "couldn't ask for more" are praise, "couldn't be worse"
    # a complaint, "couldn't be more useless" means "extremely useless".
    (("could", "can"), rf"{_COULD_NOT}\s+(?:have\s+)?be(?:en)?\s+(?:any\s+)?more\s+(?=[a-z])", " extremely "),
    (
        ("could", "can"),
        rf"{_COULD_NOT}\s+(?:have\s+)?(?:be(?:en)?|ask(?:ed)?\s+for|wish(?:ed)?\s+for|hope(?:d)?\s+for|get|find)\s+"
        r"(?:a\s+|an\s+|anything\s+|any\s+)?(?:happier|better|more\b(?=\s*(?:[.!,;:)]|$|than\b)))",
        " perfect",
    ),
    (("worse",), rf"{_COULD_NOT}\s+(?:have\s+)?(?:be(?:en)?|get)\s+(?:any\s+)?worse\b", " terrible"),
    (
        ("change",),
        r"(?:\bwouldn't|\bwould\s+not|\bwon't|\bwill\s+not)\s+change\s+(?:a|one|any)\s+(?:single\s+)?thing\b",
        "perfect",
    ),
    # Sending it back is a complaint: "returned it", "had to send them back", "ended up returning it".
    (
        ("back",),
        r"\b(?:return(?:ed|ing|s)?|sen[dt](?:ing|s)?|ship(?:ped|ping)?|mail(?:ed|ing)?|t[ao]ok|taking|take|"
        r"br(?:ing|ought))\s+(?:it|them|this|these|both|mine|(?:the|my)\s+\w+)\s+back\b",
        "sent-back",
    ),
    (
        ("return",),
        r"\breturn(?:ed|ing)?\s+(?:it|them|this|these|both|mine|(?:the|my)\s+(?!favou?r\b|call\b)\w+)\b",
        "sent-back",
    ),
)
EN_REWRITES: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = tuple(
    (keywords, re.compile(pattern, re.IGNORECASE), replacement)
    for keywords, pattern, replacement in _EN_RULES
)
# Each keyword and the rules that need it, so one pass over the keywords picks the rules a text needs.
_KEYWORDS: tuple[str, ...] = tuple(sorted({k for keywords, _, _ in EN_REWRITES for k in keywords}))
_RULES_FOR: dict[str, tuple[int, ...]] = {
    k: tuple(i for i, (keywords, _, _) in enumerate(EN_REWRITES) if k in keywords) for k in _KEYWORDS
}


def rewrite_idioms(text: str) -> str:
    """Apply, in order, the rules of :data:`EN_REWRITES` whose keywords occur in ``text``.

    Typographic apostrophes become plain ones first, so "don’t" (as phones type it) is a negation too.
    """
    text = text.replace("\u2019", "'")
    lowered = text.lower()
    rules = sorted({i for k in _KEYWORDS if k in lowered for i in _RULES_FOR[k]})
    for i in rules:
        _, pattern, replacement = EN_REWRITES[i]
        text = pattern.sub(replacement, text)
    return text
