"""Which text encoding a CSV file is in, and whether a text fits in it.

A file is decoded only with an encoding its bytes survive: decoding and encoding again must give the same
bytes, so writing the file back changes nothing but the cells sheets-ai fills.
"""

from __future__ import annotations

import codecs
import re
import sys
from dataclasses import dataclass, field

from ..errors import SourceError

#: BOMs recognised without --encoding (UTF-8, UTF-16), and the encoding that follows them.
AUTO_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
BOM_FOR = {
    "utf-8": codecs.BOM_UTF8,
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
    "utf-32-le": codecs.BOM_UTF32_LE,
    "utf-32-be": codecs.BOM_UTF32_BE,
}
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Hiragana, katakana, CJK punctuation (、。「」) and full-width forms (！？（）０-９Ａ-ｚ). Not kanji: Latin-1
# accented letters read as cp932 become kanji (û + t -> 皦), almost never kana or Japanese punctuation.
_JAPANESE_SIGNS = re.compile(r"[\u3000-\u30ff\uff01-\uff5e]")
EXAMPLES = "e.g. utf-8, cp1252, cp932 or latin-1"


@dataclass
class Decoded:
    text: str
    encoding: str  # the name to encode with when writing back (without the BOM)
    bom: bool = False
    notices: list[str] = field(default_factory=list)


def looks_japanese(text: str) -> bool:
    """True when at least a fifth of the non-ASCII characters are kana, Japanese punctuation or full-width
    forms. Real Japanese text is mostly kana; European text misread as cp932 has kanji and half-width katakana
    (from single bytes such as Ä, É), but almost never these."""
    signs = len(text) - len(_JAPANESE_SIGNS.sub("", text))  # counted without a list per character
    return signs > 0 and signs * 5 >= len(text) - len(_NON_ASCII.sub("", text))


def _round_trip(raw: bytes, encoding: str) -> tuple[str, bool] | None:
    """(text, whether encoding it again gives ``raw``), or None when ``raw`` is not valid ``encoding``."""
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        return None
    return text, text.encode(encoding) == raw


def detect(raw: bytes, name: str) -> Decoded:
    """Decode a CSV file's bytes, choosing the encoding.

    A BOM decides (UTF-8, UTF-16). Otherwise UTF-8 when the bytes are valid UTF-8. Otherwise the legacy
    encodings whose decoding round-trips to the same bytes, in this order: cp932 when the cp932 reading looks
    Japanese (see :func:`looks_japanese`), then cp1252 (Windows Western), then cp932, then latin-1. cp1252
    comes before cp932 because Latin-1 text such as "Mauvais goût" is often valid cp932 too, as nonsense.
    """
    for bom, encoding in AUTO_BOMS:
        if raw.startswith(bom):
            return _strict(raw, encoding, name, bom=True, hint=False)
    if b"\x00" in raw[:4096]:
        raise SourceError(f"{name} looks like a binary file, not CSV text. Check you chose the right file.")
    try:
        return Decoded(raw.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    japanese = _round_trip(raw, "cp932")
    if japanese is not None and looks_japanese(japanese[0]):
        if japanese[1]:
            return Decoded(japanese[0], "cp932")
        raise SourceError(
            f"{name} looks like Japanese text in Shift-JIS (cp932), but some of its characters have two codes in "
            "cp932 and would be written back with the other one (the same character, different bytes). Run with "
            "--encoding cp932 to accept that, or save the file as UTF-8."
        )
    for encoding in ("cp1252", "cp932", "latin-1"):
        found = japanese if encoding == "cp932" else _round_trip(raw, encoding)
        if found is not None and found[1]:
            return Decoded(found[0], encoding)
    raise SourceError(  # pragma: no cover - latin-1 reads any bytes
        f"{name}: cannot tell its text encoding. Give it with --encoding NAME ({EXAMPLES}), or save it as UTF-8."
    )


def decode_as(raw: bytes, encoding: str, name: str) -> Decoded:
    """Decode with the encoding the user named (--encoding), strictly; a BOM of that family is kept."""
    canonical = codecs.lookup(encoding).name
    if canonical in ("utf-8", "utf-8-sig"):
        if raw.startswith(codecs.BOM_UTF8):
            return _strict(raw, "utf-8", name, bom=True)
        return _strict(raw, "utf-8", name)
    if canonical in ("utf-16", "utf-32"):
        for variant in ("le", "be"):
            if raw.startswith(BOM_FOR[f"{canonical}-{variant}"]):
                return _strict(raw, f"{canonical}-{variant}", name, bom=True)
        # No BOM: the byte order Python's "utf-16"/"utf-32" assume, written back without a BOM.
        return _strict(raw, f"{canonical}-{'le' if sys.byteorder == 'little' else 'be'}", name)
    decoded = _strict(raw, encoding, name)
    if decoded.text.encode(encoding) != raw:
        decoded.notices.append(
            f"{name}: some of its characters have two codes in {encoding} and the file uses the other one; "
            "they are written back with the standard code (the same characters, different bytes)."
        )
    return decoded


def _strict(raw: bytes, encoding: str, name: str, *, bom: bool = False, hint: bool = True) -> Decoded:
    skip = len(BOM_FOR[encoding]) if bom else 0
    try:
        return Decoded(raw[skip:].decode(encoding), encoding, bom)
    except UnicodeDecodeError as exc:
        offset = skip + exc.start
        line = raw[:offset].count(b"\n") + 1
        others = ", ".join(e for e in ("utf-8", "cp1252", "cp932", "latin-1") if e != encoding)
        advice = (
            f"Try another --encoding (e.g. {others}), or leave --encoding out to detect it."
            if hint
            else "Save it again as UTF-8, or give its encoding with --encoding NAME."
        )
        raise SourceError(
            f"{name} is not valid {encoding}: byte 0x{raw[offset]:02x} at byte {offset} (line {line}) cannot be "
            f"decoded. {advice}"
        ) from None


def unencodable(text: str, encoding: str) -> list[str]:
    """The distinct characters of ``text`` that ``encoding`` cannot hold (empty when it all fits)."""
    try:
        text.encode(encoding)
        return []
    except UnicodeEncodeError:
        pass
    missing: list[str] = []
    for ch in dict.fromkeys(text):
        try:
            ch.encode(encoding)
        except UnicodeEncodeError:
            missing.append(ch)
    return missing


def describe(chars: list[str], limit: int = 3) -> str:
    """``'…' (U+2026), 'ポ' (U+30DD)`` for an error message."""
    shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in chars[:limit])
    return shown + (f" and {len(chars) - limit} more" if len(chars) > limit else "")


def fit_for_status(text: str, encoding: str) -> str:
    """A status text (``error: …``) the encoding can hold: characters it cannot are written as ``\\uXXXX``.

    Only for statuses, which are diagnostics (the full reason is in the report); results are never altered.
    """
    if not unencodable(text, encoding):
        return text
    return text.encode(encoding, errors="backslashreplace").decode(encoding)
