"""Render a cell value the way Excel displays it, for the common number formats.

Inputs are sent as the text a person sees: ``0.5`` formatted ``0%`` is ``50%``, ``1234.5`` formatted
``#,##0.00`` is ``1,234.50``, a date formatted ``d/m/yyyy`` is ``5/3/2024``. Formats we do not understand
fall back to the plain value.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .base import display_text

_QUOTED = re.compile(r'"([^"]*)"')
_BRACKET = re.compile(r"\[[^\]]*\]")
_CURRENCY = re.compile(r"\[\$([^\]-]*)(?:-[0-9A-Fa-f]+)?\]")
_DATE_TOKENS = re.compile(r"yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|AM/PM|am/pm|A/P|.", re.S)


def format_value(value: Any, number_format: str | None) -> str | None:
    if value is None or isinstance(value, bool | str) or not number_format or number_format == "General":
        return display_text(value)
    try:
        if isinstance(value, dt.datetime | dt.date | dt.time):
            return _format_date(value, number_format) or display_text(value)
        if isinstance(value, int | float):
            return _format_number(float(value), number_format) or display_text(value)
    except (ValueError, OverflowError, InvalidOperation):
        pass
    return display_text(value)


def _section(fmt: str, value: float) -> str:
    parts = fmt.split(";")
    if value < 0 and len(parts) > 1:
        return parts[1]
    if value == 0 and len(parts) > 2:
        return parts[2]
    return parts[0]


def _format_number(value: float, fmt: str) -> str | None:
    section = _section(fmt, value)
    negative_section = value < 0 and section is not fmt.split(";")[0]
    section = _CURRENCY.sub(lambda m: m.group(1), section)
    section = _BRACKET.sub("", section)
    literals: list[str] = []

    def stash(m: re.Match[str]) -> str:
        literals.append(m.group(1))
        return f"\x00{len(literals) - 1}\x00"

    section = _QUOTED.sub(stash, section)
    section = section.replace("\\", "").replace("_)", "").replace("_(", "").replace("*", "")
    if "E+" in section.upper() or "/" in section or "@" in section:
        return None
    match = re.search(r"[0#?][0#?,]*(?:\.[0#?]*)?", section)
    if not match:
        return None
    pattern = match.group(0)
    scaled = value * (100 ** section.count("%"))
    decimals = len(pattern.split(".", 1)[1]) if "." in pattern else 0
    number = Decimal(repr(abs(scaled) if negative_section else scaled))
    number = number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)  # Excel rounds half up
    body = f"{number:,.{decimals}f}" if "," in pattern.split(".")[0] else f"{number:.{decimals}f}"
    if body.startswith("-") and re.fullmatch(r"-0(\.0*)?", body):
        body = body[1:]
    out = section[: match.start()] + body + section[match.end() :]
    return re.sub(r"\x00(\d+)\x00", lambda m: literals[int(m.group(1))], out).strip()


def _format_date(value: dt.date | dt.time, fmt: str) -> str | None:
    section = _BRACKET.sub("", fmt.split(";")[0])
    section = _QUOTED.sub(lambda m: m.group(1), section).replace("\\", "")
    if not re.search(r"[ymdhs]", section, re.I):
        return None
    tokens = _DATE_TOKENS.findall(section.replace("Y", "y").replace("D", "d"))
    twelve = any(t.upper() in ("AM/PM", "A/P") for t in tokens)
    date = value if isinstance(value, dt.date) else None
    time = value.time() if isinstance(value, dt.datetime) else value if isinstance(value, dt.time) else None
    out: list[str] = []
    for i, tok in enumerate(tokens):
        low = tok.lower()
        prev = next((t.lower() for t in reversed(tokens[:i]) if t.strip() and t.isalpha()), "")
        nxt = next((t.lower() for t in tokens[i + 1 :] if t.strip() and t.isalpha()), "")
        is_minute = low in ("m", "mm") and (prev.startswith("h") or nxt.startswith("s"))
        if date is not None and low in ("yyyy", "yy"):
            out.append(f"{date.year:04d}" if low == "yyyy" else f"{date.year % 100:02d}")
        elif date is not None and low in ("mmmm", "mmm"):
            out.append(date.strftime("%B" if low == "mmmm" else "%b"))
        elif low in ("mm", "m") and not is_minute and date is not None:
            out.append(f"{date.month:02d}" if low == "mm" else str(date.month))
        elif date is not None and low in ("dddd", "ddd"):
            out.append(date.strftime("%A" if low == "dddd" else "%a"))
        elif date is not None and low in ("dd", "d"):
            out.append(f"{date.day:02d}" if low == "dd" else str(date.day))
        elif time is not None and low in ("hh", "h"):
            hour = time.hour % 12 or 12 if twelve else time.hour
            out.append(f"{hour:02d}" if low == "hh" else str(hour))
        elif time is not None and is_minute:
            out.append(f"{time.minute:02d}" if low == "mm" else str(time.minute))
        elif time is not None and low in ("ss", "s"):
            out.append(f"{time.second:02d}" if low == "ss" else str(time.second))
        elif time is not None and tok.upper() in ("AM/PM", "A/P"):
            out.append(("AM" if time.hour < 12 else "PM")[: 1 if tok.upper() == "A/P" else 2])
        elif low in ("yyyy", "yy", "mmmm", "mmm", "dddd", "ddd", "dd", "d", "hh", "h", "ss", "s", "mm", "m"):
            return None  # a date part without a date (or time part without a time)
        else:
            out.append(tok)
    return "".join(out).strip()
