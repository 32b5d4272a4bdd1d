"""Read the date lines of listing pages: pure functions, no I/O.

Handles what ILO listings have used: "16 June 2022", "8 November 2021", "Press release | 01 March 2023"
(a kind before a bar), "27-28 June 2023" (the first day), "24 March 2023 at 09:00 (Europe/Zurich)",
a place before or after ("New York, 21 September 2016", "19 July 2022, Bangkok, Thailand"), a
trailing comma, French and Spanish dates ("1er mars 2023", "5 de mayo de 2022"), US order
("June 16, 2022") and ISO dates.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, time

_MONTHS: dict[str, int] = {}


def _months(month: int, *names: str) -> None:
    for name in names:
        _MONTHS[name] = month


# English, French and Spanish names and the usual abbreviations, written without accents.
_months(1, "january", "jan", "janvier", "janv", "enero", "ene")
_months(2, "february", "feb", "fevrier", "fevr", "fev", "febrero")
_months(3, "march", "mar", "mars", "marzo")
_months(4, "april", "apr", "avril", "avr", "abril", "abr")
_months(5, "may", "mai", "mayo")
_months(6, "june", "jun", "juin", "junio")
_months(7, "july", "jul", "juillet", "juil", "julio")
_months(8, "august", "aug", "aout", "agosto", "ago")
_months(9, "september", "sep", "sept", "septembre", "septiembre", "setiembre", "set")
_months(10, "october", "oct", "octobre", "octubre")
_months(11, "november", "nov", "novembre", "noviembre")
_months(12, "december", "dec", "decembre", "diciembre", "dic")

_WORD = r"[^\W\d_]{3,}"
_DAY = r"(\d{1,2})(?:er|º|°|o)?"
_DASH = r"\s*[-‐‑‒–—]\s*"
# 27 June 2023 / 27-28 June 2023 / 5 de mayo de 2022 / 1er mars 2023 / 30 June - 2 July 2023
_DAY_MONTH_YEAR = re.compile(
    rf"(?<!\d){_DAY}(?:{_DASH}\d{{1,2}}(?:er)?)?\.?\s+(?:de\s+)?({_WORD})\.?"
    rf"(?:{_DASH}\d{{1,2}}\s+(?:de\s+)?({_WORD})\.?)?,?\s+(?:de\s+|del\s+)?(\d{{4}})(?!\d)",
    re.IGNORECASE,
)
# June 16, 2022 / June 16-17, 2022
_MONTH_DAY_YEAR = re.compile(
    rf"\b({_WORD})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:{_DASH}\d{{1,2}})?,?\s+(\d{{4}})(?!\d)", re.IGNORECASE
)
# 2022-06-16
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
# 16.06.2022 / 16/06/2022 (day first, as on ILO pages)
_NUMERIC = re.compile(r"(?<!\d)(\d{1,2})[./](\d{1,2})[./](\d{4})(?!\d)")
# at 09:00 / à 9h30 / a las 10.00 / , 14:00 — right after the date
_TIME = re.compile(
    r"^\s*(?:,|at|à|a\s+las|a\s+la|[-–])?\s*(\d{1,2})(?:[:.h](\d{2}))\s*(a\.?m\.?|p\.?m\.?)?(?!\d)", re.IGNORECASE
)
_ZONE = re.compile(r"\(\s*([A-Za-z_]+(?:/[A-Za-z0-9_+\-]+)+|UTC|GMT)\s*\)|\b(UTC|GMT)\b(?:\s*([+-]\d{1,2})(?::?(\d{2}))?)?")


@dataclass(frozen=True)
class DateLine:
    """What a date line says: the day (first day of a range), maybe a time and zone, maybe a kind."""

    day: date | None
    time: time | None = None
    zone: str | None = None  #: an IANA name ("Europe/Zurich") or a fixed offset ("UTC+02:00")
    kind: str | None = None  #: the word(s) before a bar: "Press release | 01 March 2023"


def month_number(word: str) -> int | None:
    """1-12 for an English, French or Spanish month name or abbreviation, else None."""
    folded = unicodedata.normalize("NFKD", word.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c)).rstrip(".")
    return _MONTHS.get(folded)


def parse_date_line(text: str | None) -> DateLine:
    """Read *text* (a date line as shown on the page); parts it cannot read are None."""
    if not text:
        return DateLine(day=None)
    text = unicodedata.normalize("NFKC", text)
    segments = [s.strip() for s in text.split("|")]
    for i, segment in enumerate(segments):
        found = _find_date(segment)
        if found is not None:
            day, rest = found
            kind = " | ".join(s for s in segments[:i] if s) or None
            clock, zone = _find_time(rest)
            return DateLine(day=day, time=clock, zone=zone, kind=kind)
    kind = segments[0] if len(segments) > 1 and segments[0] else None
    return DateLine(day=None, kind=kind)


def _find_date(text: str) -> tuple[date, str] | None:
    """The first readable date in *text* and the text after it."""
    candidates: list[tuple[int, date, int]] = []
    for m in _DAY_MONTH_YEAR.finditer(text):
        month = month_number(m.group(2))
        year = int(m.group(4))
        if month is None:
            continue
        if m.group(3) is not None:  # a range across months: "30 December - 2 January 2024"
            end_month = month_number(m.group(3))
            if end_month is None:
                continue
            if end_month < month:
                year -= 1
        day = _make(year, month, int(m.group(1)))
        if day:
            candidates.append((m.start(), day, m.end()))
            break
    for m in _MONTH_DAY_YEAR.finditer(text):
        month = month_number(m.group(1))
        day = _make(int(m.group(3)), month, int(m.group(2))) if month else None
        if day:
            candidates.append((m.start(), day, m.end()))
            break
    for m in _ISO.finditer(text):
        day = _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if day:
            candidates.append((m.start(), day, m.end()))
            break
    for m in _NUMERIC.finditer(text):
        day = _make(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if day:
            candidates.append((m.start(), day, m.end()))
            break
    if not candidates:
        return None
    start, day, end = min(candidates, key=lambda c: c[0])
    return day, text[end:]


def _make(year: int, month: int | None, day: int) -> date | None:
    if month is None or not 1900 <= year <= 2200:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _find_time(rest: str) -> tuple[time | None, str | None]:
    m = _TIME.match(rest)
    if not m:
        return None, None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    meridiem = (m.group(3) or "").lower().replace(".", "")
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None, None
    return time(hour, minute), _find_zone(rest[m.end():])


def _find_zone(rest: str) -> str | None:
    m = _ZONE.search(rest)
    if not m:
        return None
    if m.group(1):
        name = m.group(1)
        return "UTC" if name in ("UTC", "GMT") else name
    if m.group(3):
        sign = m.group(3)[0]
        return f"UTC{sign}{int(m.group(3)[1:]):02d}:{m.group(4) or '00'}"
    return "UTC"
