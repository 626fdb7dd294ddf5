"""Language detection for the offline analyzer: English, Japanese or something else, by rules.

No model and no download: the script each letter belongs to decides between Japanese, Latin-script text and
other scripts (Hangul, Cyrillic, Arabic, Thai, Chinese without kana …); Latin-script text is English unless
its function words and letters say French, German, Spanish, Portuguese, Italian, Dutch or another language.
"""

from __future__ import annotations

import re

from sheets_ai.providers._lexicon import word_set

# Hiragana, Katakana (incl. phonetic extensions and the prolonged sound mark), half-width Katakana.
KANA = "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"
# CJK unified ideographs (+ extension A, compatibility ideographs) and the iteration mark 々.
KANJI = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3005"
# ASCII and full-width Latin letters, plus the Latin-1 / Latin Extended-A/B letters (é, ü, ł, ...) and the
# Latin Extended Additional block (Vietnamese ạ, ế, ...).
LATIN = "A-Za-z\uff21-\uff3a\uff41-\uff5a\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
# Hangul syllables: one block is a whole syllable, worth about as much as a kanji.
HANGUL = "\uac00-\ud7a3"

_KANA_RE = re.compile(f"[{KANA}]+")
_KANJI_RE = re.compile(f"[{KANJI}]+")
_LATIN_RE = re.compile(f"[{LATIN}]+")
_HANGUL_RE = re.compile(f"[{HANGUL}]+")
# Any other letter (Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai, jamo …): a word character that is
# not a digit, an underscore, nor one of the scripts above.
_OTHER_LETTERS_RE = re.compile(f"[^\\W\\d_{LATIN}{KANA}{KANJI}{HANGUL}]+")

# How many Latin letters one Japanese character (or Hangul syllable) is worth: Japanese packs about as much
# meaning into one character as English does into a short word, so a few kana/kanji in a long English
# sentence do not flip it.
_JA_WEIGHT = 3

# Kanji-only text is Japanese when it is short (商品最高, 品質良好) and has none of the characters that only
# Chinese writes: simplified forms (这 们 个 说 买 …), traditional forms Japanese replaced (這 們 說 …) and
# Chinese function words (很 吗 呢 吧 也 是). Longer runs without a single kana are Chinese.
_CHINESE_ONLY = frozenset(
    "这们个吗呢吧么没很说还让给对从为时过们买卖东质产货发问题错贵价钱长连块满样点经关开见现实应该"
    "這們嗎說還讓給對從為麼沒買賣錢貨發問錯貴價滿樣點經關開見現實應該"
    "也是她它啊呀哪谁誰"
)
_MAX_KANJI_ONLY_JA = 12

# Words that mark English, and words that mark another Latin-script language. A word that is common in
# both (de "in", es "no", fr "on", it "per", de "die") is in neither list.
_ENGLISH_WORDS = word_set(
    """
    the and is are was were been being it's its this that these those with for of to at by from my your our
    their his her he she they we you us them not very but or have has had does did don't doesn't didn't
    can't won't isn't wasn't aren't weren't i'm i've i'd i'll you're they're we're that's there's what's
    would could should just really after before because about what which who when where there here than
    then too only even get got buy bought works work worked working great good nice love loved like
    bad poor quality price item arrived received shipping delivery recommend easy well will
    """
)
_FOREIGN_WORDS = (
    # French
    word_set(
        """
        le la les de des du une et est sont pas je il elle nous vous ils elles très mais avec pour dans sur
        qui que ce cette ces c'est j'ai n'est qu'il mon ma mes ta tes sa ses notre votre vos leur leurs au
        aux ne ni bien trop tout tous toute toutes été être avoir fait peu aussi encore déjà produit qualité
        prix livraison reçu recommande parfait bon bonne mauvais mauvaise nul nulle cher chère déçu déçue
        merci commande colis rien jamais toujours donc ça
        """
    )
    # German
    | word_set(
        """
        der das und ist nicht ich sie wir ihr ein eine einen einem einer dem des mit für auf sehr aber auch
        noch nur schon zum zur von bei nach wie leider kein keine keinen habe haben hatte wurde werden wird
        ganz schnell produkt qualität preis lieferung empfehlen empfehlenswert kaputt schlecht danke
        bestellt bestellung geliefert funktioniert nichts immer wieder jetzt dass weil oder gekauft
        """
    )
    # Spanish
    | word_set(
        """
        el los las que es muy pero para por una está esta este esto también todo calidad precio producto
        llegó llego envío recomiendo excelente bueno buena buen malo mala funciona roto gracias pedido nunca
        siempre mucho más porque se lo su sus como hay fue
        """
    )
    # Portuguese
    | word_set(
        """
        uma não muito mas é da dos das produto qualidade preço chegou recomendo ótimo ótima otimo péssimo
        péssima bom boa ruim obrigado obrigada entrega isso esse essa está foi seu sua ser tem ao pelo pela
        vai
        """
    )
    # Italian
    | word_set(
        """
        il gli della delle dello degli che è di molto prodotto qualità prezzo arrivato arrivata consiglio
        ottimo ottima pessimo pessima buono buona perfetto perfetta funziona rotto grazie sono questo questa
        anche ancora niente sempre mai tutto più
        """
    )
    # Dutch
    | word_set(
        """
        het een en niet ik zeer maar voor dit zijn goed goede slecht aanrader kwaliteit prijs levering kapot
        bestelling geleverd werkt wel geen ook erg helaas snel
        """
    )
    # Swedish, Danish/Norwegian, Polish, Turkish, Indonesian/Malay (diacritics mark Czech, Vietnamese …)
    | word_set(
        """
        och är det inte mycket jag som ikke meget nie się bardzo jak polecam dobry że też bir ve çok için bu
        ama değil ürün güzel yang tidak ini itu sangat dengan untuk saya barang bagus sudah
        """
    )
)
# Elisions that only French and Italian write: l'appareil, d'une, qu'il, dell'acqua.
_ELISION_RE = re.compile(r"^(?:l|d|j|c|n|s|m|t|qu|dell|nell|all|dall|sull|un)'\w")
_WORD_RE = re.compile(f"[{LATIN}]+(?:'[{LATIN}]+)?")
# Letters English words never have (ñ ß ł ř ş ő å ø œ ã …), and ones English borrows (café, naïve, über).
_FOREIGN_LETTERS = frozenset("ñßãõąęłśżźćńřčšžěůőűşğıøåæœðþăđơư") | frozenset(
    chr(c) for c in range(0x1EA0, 0x1EFA)
)
_BORROWED_LETTERS = frozenset("éèêëàâäçîïôöùûüÿáíóúìò")


def _count(pattern: re.Pattern[str], text: str) -> int:
    return sum(len(m) for m in pattern.findall(text))


def detect_language(text: str) -> str:
    """Return ``"ja"`` when ``text`` is mainly Japanese, ``"other"`` when it is mainly in a language other
    than English and Japanese, else ``"en"``.

    Kana is the strong signal for Japanese (Chinese has none); kanji count too. Text without letters at all
    (numbers, punctuation, emoji, empty) is ``"en"``, and so is Latin-script text with nothing that marks
    another language ("Great!", "ok", "5 stars").
    """
    if text.isascii():
        return _latin_language(text)
    kana = _count(_KANA_RE, text)
    kanji = _count(_KANJI_RE, text)
    latin = _count(_LATIN_RE, text)
    other = _count(_HANGUL_RE, text) * _JA_WEIGHT + _count(_OTHER_LETTERS_RE, text)
    if kana:
        japanese = (kana + kanji) * _JA_WEIGHT
        if japanese >= latin and japanese >= other:
            return "ja"
    elif kanji:
        if _is_chinese(text, kanji):
            other += kanji * _JA_WEIGHT
        elif kanji * _JA_WEIGHT >= 2 * latin and kanji * _JA_WEIGHT >= other:
            return "ja"  # a terse kanji-only row: 商品最高
    if other > latin:
        return "other"
    return _latin_language(text)


def _is_chinese(text: str, kanji: int) -> bool:
    """Kanji without kana: Chinese when long or when it has a character only Chinese writes."""
    return kanji > _MAX_KANJI_ONLY_JA or any(c in _CHINESE_ONLY for c in text)


def _latin_language(text: str) -> str:
    """``"other"`` when the words of Latin-script ``text`` mark another language more than English."""
    english = foreign = 0.0
    for word in _WORD_RE.findall(text.lower().replace("’", "'")):
        if word in _ENGLISH_WORDS:
            english += 1
        elif word in _FOREIGN_WORDS or _ELISION_RE.match(word):
            foreign += 1
        elif not word.isascii():
            if any(c in _FOREIGN_LETTERS for c in word):
                foreign += 1
            elif any(c in _BORROWED_LETTERS for c in word):
                foreign += 0.5
    return "other" if foreign >= 1 and foreign > english else "en"
