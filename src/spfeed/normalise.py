"""Turn raw listing entries into feed items: ids, clean text, dates with their zone. Pure functions."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from spfeed.dates import parse_date_line
from spfeed.model import Item, RawItem

#: A date without a time is published at noon in the source's zone, so every reader shows its day.
NOON = time(12, 0)

#: Caps on field lengths (characters): a broken page must not produce a feed of megabytes.
MAX_TITLE = 500
MAX_SUMMARY = 4000
MAX_LABEL = 200
MAX_LINK = 2048

# Characters XML 1.0 forbids, and invisible ones that only get in the way of comparing text.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]")
_SPACE = re.compile(r"\s+")


def clean_text(text: str | None, limit: int = MAX_SUMMARY) -> str | None:
    """Text fit for a feed: forbidden and invisible characters gone, white space collapsed, capped."""
    if text is None:
        return None
    text = _FORBIDDEN.sub(" ", text)
    text = _INVISIBLE.sub("", text)
    text = _SPACE.sub(" ", text).strip()  # \s covers no-break and other Unicode spaces
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or None


#: Characters a URL may carry as they are; anything else (spaces, non-ASCII) is percent-encoded.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~-._"


def web_link(link: str) -> str:
    """*link* as a URL fit for both feeds: spaces and non-ASCII percent-encoded (UTF-8), the rest kept."""
    return quote(link, safe=_URL_SAFE)


def canonical_id(link: str) -> str:
    """The item's id: its absolute link with scheme and host lower-cased, default port and fragment dropped."""
    parts = urlsplit(link)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if parts.port and (scheme, parts.port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{parts.port}"
    if parts.username or parts.password:
        host = f"{parts.username or ''}{':' + parts.password if parts.password else ''}@{host}"
    return urlunsplit((scheme, host, parts.path or "/", parts.query, ""))


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """A tzinfo for an IANA name or a fixed "UTC+02:00" offset; ValueError when unknown."""
    m = re.fullmatch(r"UTC(?:([+-])(\d{2}):(\d{2}))?", name)
    if m:
        if not m.group(1):
            return timezone.utc
        offset = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        return timezone(-offset if m.group(1) == "-" else offset)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {name!r}") from e


def published_at(date_text: str | None, source_zone: str) -> tuple[datetime | None, str | None]:
    """The moment a date line names (noon in the source's zone when it gives no time) and its kind."""
    line = parse_date_line(date_text)
    if line.day is None:
        return None, line.kind
    tz = zone(source_zone)
    if line.zone:
        try:
            tz = zone(line.zone)
        except ValueError:
            pass
    return datetime.combine(line.day, line.time or NOON, tzinfo=tz), line.kind


def normalise(raw: RawItem, source_zone: str) -> Item | None:
    """The feed item for *raw*, or None when it has no usable title or http(s) link."""
    title = clean_text(raw.title, MAX_TITLE)
    link = clean_text(raw.link, MAX_LINK)
    link = web_link(link) if link else None
    if not title or not link or urlsplit(link).scheme not in ("http", "https") or not urlsplit(link).hostname:
        return None
    published, kind = published_at(clean_text(raw.date_text, MAX_LABEL), source_zone)
    return Item(
        id=canonical_id(link),
        link=link,
        title=title,
        summary=clean_text(raw.summary, MAX_SUMMARY),
        label=clean_text(raw.label, MAX_LABEL),
        kind=clean_text(kind, MAX_LABEL),
        published=published,
        position=raw.position,
    )

