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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

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
# 16.06.2022 (always day first) / 16/06/2022 or 06/16/2022 (by the date order)
_NUMERIC = re.compile(r"(?<!\d)(\d{1,2})([./])(\d{1,2})\2(\d{4})(?!\d)")
# 2022/06/16 (year, month, day)
_YEAR_FIRST = re.compile(r"(?<!\d)(\d{4})/(\d{1,2})/(\d{1,2})(?!\d)")
#: How slashed dates with the year last are read: day or month first. An impossible reading (a
#: month over 12) falls back to the other, so 11/28/2026 is 28 November under every order.
DATE_ORDERS = ("DMY", "MDY", "YMD")
# at 09:00 / à 9h30 / a las 10.00 / , 14:00 — right after the date
_TIME = re.compile(
    r"^\s*(?:,|at|à|a\s+las|a\s+la|[-–])?\s*(\d{1,2})(?:[:.h](\d{2}))\s*(a\.?m\.?|p\.?m\.?)?(?!\d)", re.IGNORECASE
)
_ZONE = re.compile(r"\(\s*([A-Za-z_]+(?:/[A-Za-z0-9_+\-]+)+|UTC|GMT)\s*\)|\b(UTC|GMT)\b(?:\s*([+-]\d{1,2})(?::?(\d{2}))?)?")


# Not followed by a year (a number that is not a time): "12 March" but not "12 March 2023".
_NO_YEAR = r"(?!\s*,?\s*(?:de\s+|del\s+)?\d+\b(?![:.h]\d))"
# 12 March / 27-28 June / 12 de marzo / 1er mars
_DAY_MONTH = re.compile(
    rf"(?<!\d){_DAY}(?:{_DASH}\d{{1,2}}(?:er)?)?\.?\s+(?:de\s+)?({_WORD})\b\.?{_NO_YEAR}", re.IGNORECASE
)
# March 12 / Mar 12
_MONTH_DAY = re.compile(rf"\b({_WORD})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:{_DASH}\d{{1,2}}\b)?{_NO_YEAR}",
                        re.IGNORECASE)

# Relative dates, matched on text case-folded and without accents ("il y a 3 jours", "hace 2 días").
_ONE = r"an?|one|une?|una?"
_UNITS = {
    "minute": "minutes", "minutes": "minutes", "min": "minutes", "mins": "minutes", "minuto": "minutes",
    "minutos": "minutes",
    "hour": "hours", "hours": "hours", "hr": "hours", "hrs": "hours", "heure": "hours", "heures": "hours",
    "hora": "hours", "horas": "hours",
    "day": "days", "days": "days", "jour": "days", "jours": "days", "dia": "days", "dias": "days",
    "week": "weeks", "weeks": "weeks", "semaine": "weeks", "semaines": "weeks", "semana": "weeks",
    "semanas": "weeks",
}
_UNIT = "|".join(sorted(_UNITS, key=len, reverse=True))
_AGO = re.compile(
    rf"\b(?:(?P<n1>\d{{1,5}}|{_ONE})\s+(?P<u1>{_UNIT})\s+ago"
    rf"|(?:il\s+y\s+a|hace)\s+(?P<n2>\d{{1,5}}|{_ONE})\s+(?P<u2>{_UNIT}))\b"
)
_DAYS_BACK = {"today": 0, "aujourd'hui": 0, "hoy": 0, "yesterday": 1, "hier": 1, "ayer": 1}
_NAMED_DAY = re.compile(r"(?<![\w'])(today|aujourd'hui|hoy|yesterday|hier|ayer)(?![\w'])")
# 2026-11-30 / 2026-11-30T08:00 / 2026-11-30 08:00:00.5+01:00 / 2026-11-30T08:00:00Z
_DATE_VALUE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d{1,9})?)?\s*(?:([Zz])|([+-])(\d{2}):?(\d{2}))?)?"
)


@dataclass(frozen=True)
class DateLine:
    """What a date line says: the day (first day of a range), maybe a time and zone, maybe a kind."""

    day: date | None
    time: time | None = None
    zone: str | None = None  #: an IANA name ("Europe/Zurich") or a fixed offset ("UTC+02:00")
    kind: str | None = None  #: the word(s) before a bar: "Press release | 01 March 2023"
    #: read against the moment the item was seen ("3 days ago", "12 March" without a year)
    approximate: bool = False
    #: an exact moment, for "3 hours ago": seen minus that, in seen's zone (day and time match it)
    at: datetime | None = None


@lru_cache(maxsize=256)  # a page names a few months, on every line
def month_number(word: str) -> int | None:
    """1-12 for an English, French or Spanish month name or abbreviation, else None."""
    folded = unicodedata.normalize("NFKD", word.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c)).rstrip(".")
    return _MONTHS.get(folded)


def parse_date_line(text: str | None, *, seen: datetime | None = None, date_order: str = "DMY") -> DateLine:
    """Read *text* (a date line as shown on the page); parts it cannot read are None.

    *seen* is the aware moment the item was seen, in the source's zone (its date is "today"): with
    it, relative dates and dates without a year are read too (a full date on the line wins).
    *date_order* (one of DATE_ORDERS) says how 03/04/2026 reads.
    """
    if date_order not in DATE_ORDERS:
        raise ValueError(f"unknown date order {date_order!r} (expected one of {', '.join(DATE_ORDERS)})")
    if seen is not None and seen.utcoffset() is None:
        raise ValueError("seen must be an aware datetime")
    if not text:
        return DateLine(day=None)
    text = unicodedata.normalize("NFKC", text)
    segments = [s.strip() for s in text.split("|")]
    readers: list[Callable[[str], tuple[date, str] | DateLine | None]] = [lambda seg: _find_date(seg, date_order)]
    if seen is not None:  # read against seen, only when the line has no full date
        readers += [lambda seg: _find_relative(seg, seen), lambda seg: _find_partial(seg, seen)]
    for n, reader in enumerate(readers):
        for i, segment in enumerate(segments):
            found = reader(segment)
            if found is None:
                continue
            kind = " | ".join(s for s in segments[:i] if s) or None
            if isinstance(found, DateLine):  # relative: its day, or its exact moment
                return DateLine(day=found.day, time=found.time, kind=kind, approximate=True, at=found.at)
            day, rest = found
            clock, zone = _find_time(rest)
            return DateLine(day=day, time=clock, zone=zone, kind=kind, approximate=n > 0)
    kind = segments[0] if len(segments) > 1 and segments[0] else None
    return DateLine(day=None, kind=kind)


def parse_date_value(value: str | None) -> DateLine | None:
    """Read a machine-readable ISO 8601 / RFC 3339 value ("2026-11-30T08:00:00Z"), else None.

    A value with an offset names an exact moment (its zone is that offset, "UTC+01:00"); without
    one it is local to the source ("2026-11-30T08:00"); a bare date has no time. Fractions of a
    second are dropped.
    """
    m = _DATE_VALUE.fullmatch(value.strip()) if value else None
    if not m:
        return None
    day = _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if day is None:
        return None
    if m.group(4) is None:
        return DateLine(day=day)
    hour, minute, second = int(m.group(4)), int(m.group(5)), int(m.group(6) or 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    zone = None
    if m.group(7):
        zone = "UTC"
    elif m.group(8):
        if int(m.group(9)) > 23 or int(m.group(10)) > 59:
            return None
        zone = f"UTC{m.group(8)}{m.group(9)}:{m.group(10)}"
    return DateLine(day=day, time=time(hour, minute, second), zone=zone)


def _find_relative(text: str, seen: datetime) -> DateLine | None:
    """ "today", "3 days ago", "il y a 2 heures", "hace una semana" against *seen*: days give that
    day (no time), minutes and hours the exact moment."""
    folded = _fold(text).replace("\u2019", "'")
    named = _NAMED_DAY.search(folded)
    ago = _AGO.search(folded)
    if named and (not ago or named.start() < ago.start()):
        return _days_before(seen, _DAYS_BACK[named.group(1)])
    if not ago:
        return None
    count, unit = ago.group("n1") or ago.group("n2"), _UNITS[ago.group("u1") or ago.group("u2")]
    n = int(count) if count.isdigit() else 1
    if unit in ("days", "weeks"):
        return _days_before(seen, n * (7 if unit == "weeks" else 1))
    moment = (seen.astimezone(timezone.utc) - timedelta(**{unit: n})).astimezone(seen.tzinfo)
    return DateLine(day=moment.date(), time=moment.time(), at=moment)


def _days_before(seen: datetime, days: int) -> DateLine | None:
    try:
        day = seen.date() - timedelta(days=days)
    except OverflowError:
        return None
    return DateLine(day=day) if _make(day.year, day.month, day.day) else None


def _find_partial(text: str, seen: datetime) -> tuple[date, str] | None:
    """The first date without a year in *text* ("12 March", "Mar 12"): the latest such day not
    after *seen*'s day, and the text after it."""
    candidates: list[tuple[int, int, int, int]] = []  # (start, month, day, end)
    for m in _DAY_MONTH.finditer(text):
        month = month_number(m.group(2))
        if month:
            candidates.append((m.start(), month, int(m.group(1)), m.end()))
            break
    for m in _MONTH_DAY.finditer(text):
        month = month_number(m.group(1))
        if month:
            candidates.append((m.start(), month, int(m.group(2)), m.end()))
            break
    for start, month, day_number, end in sorted(candidates):
        today = seen.date()
        for year in range(today.year, today.year - 9, -1):  # 29 February: back to a leap year
            day = _make(year, month, day_number)
            if day is not None and day <= today:
                return day, text[end:]
            if day is None and (month, day_number) != (2, 29):
                break
    return None


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in folded if not unicodedata.combining(c))


def _find_date(text: str, date_order: str = "DMY") -> tuple[date, str] | None:
    """The first readable date in *text* and the text after it: the one that starts first, the
    earlier reader of :data:`_READERS` on a tie."""
    best: tuple[int, date, int] | None = None
    for pattern, read in _READERS:
        for m in pattern.finditer(text):
            day = read(m, date_order)
            if day:
                if best is None or m.start() < best[0]:
                    best = (m.start(), day, m.end())
                break
        if best is not None and best[0] == 0:
            break  # no date starts earlier, and a tie goes to the reader before
    if best is None:
        return None
    return best[1], text[best[2]:]


def _day_month_year(m: re.Match, date_order: str) -> date | None:
    month = month_number(m.group(2))
    if month is None:
        return None
    year = int(m.group(4))
    if m.group(3) is not None:  # a range across months: "30 December - 2 January 2024"
        end_month = month_number(m.group(3))
        if end_month is None:
            return None
        if end_month < month:
            year -= 1
    return _make(year, month, int(m.group(1)))


def _month_day_year(m: re.Match, date_order: str) -> date | None:
    month = month_number(m.group(1))
    return _make(int(m.group(3)), month, int(m.group(2))) if month else None


def _numeric(m: re.Match, date_order: str) -> date | None:
    first, second, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
    if m.group(2) == ".":  # dots are always day first
        return _make(year, second, first)
    if date_order == "MDY":
        return _make(year, first, second) or _make(year, second, first)
    return _make(year, second, first) or _make(year, first, second)


def _year_month_day(m: re.Match, date_order: str) -> date | None:
    return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))


#: The date patterns and what reads a match (None: not a date), in the order that wins a tie.
_READERS: tuple[tuple[re.Pattern, Callable[[re.Match, str], date | None]], ...] = (
    (_DAY_MONTH_YEAR, _day_month_year),
    (_MONTH_DAY_YEAR, _month_day_year),
    (_ISO, _year_month_day),
    (_NUMERIC, _numeric),
    (_YEAR_FIRST, _year_month_day),
)


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
