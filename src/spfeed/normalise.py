"""Turn raw listing entries into feed items: ids, clean text, dates with their zone. Pure functions."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from spfeed.dates import parse_date_line, parse_date_value
from spfeed.model import Item, RawItem

log = logging.getLogger(__name__)

#: A date without a time is published at noon in the source's zone, so every reader shows its day.
NOON = time(12, 0)

#: Caps on field lengths (characters): a broken page must not produce a feed of megabytes.
MAX_TITLE = 500
MAX_SUMMARY = 4000
MAX_LABEL = 200
MAX_LINK = 2048  #: a longer link (percent-encoded) is never cut: its item is skipped
#: A date further than this after the moment an item is seen is taken for a mistake, not a date.
FUTURE_SLACK = timedelta(days=2)
#: At most this many combining marks stay on one base character ("Zalgo" text keeps 4).
MAX_MARKS = 4

#: Why normalise_or_reason gave no item (Normalised.skipped).
SKIP_NO_TITLE = "no title"
SKIP_NO_LINK = "no web link"
SKIP_LONG_LINK = f"link longer than {MAX_LINK} characters"

# Characters XML 1.0 forbids, and invisible ones that only get in the way of comparing text.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Invisible characters, bidi embeddings, overrides and isolates (which can make a title read
# backwards or hide part of it), and tag characters (invisible text).
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]")
_SPACE = re.compile(r"\s+")
_ASCII = re.compile(r"[\x00-\x7f]+")


def clean_text(text: str | None, limit: int | None = MAX_SUMMARY) -> str | None:
    """Text fit for a feed: forbidden and invisible characters gone, runs of combining marks cut to
    MAX_MARKS, white space collapsed, capped at *limit* characters (None: not capped)."""
    if text is None:
        return None
    if not _clean_ascii(text):
        text = _scrub(text)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or None


def _clean_ascii(text: str) -> bool:
    """Whether *text* is printable ASCII with no space at either end and no two in a row: what
    :func:`_scrub` leaves as it is, found without its patterns (text read from a page is cleaned
    twice, as its element's text and again as an item's field)."""
    return text.isascii() and text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " "


def _scrub(text: str) -> str:
    """*text* with forbidden and invisible characters gone, marks capped and white space collapsed."""
    text = _FORBIDDEN.sub(" ", text)
    if not text.isascii():  # the invisible characters and combining marks are none of them ASCII
        text = _INVISIBLE.sub("", text)
        if any(unicodedata.category(c) in ("Mn", "Me") for c in _ASCII.sub("", text)):
            text = _cap_marks(text)
    return _SPACE.sub(" ", text).strip()  # \s covers no-break and other Unicode spaces


def _cap_marks(text: str) -> str:
    """*text* with at most MAX_MARKS combining marks after each base character."""
    kept: list[str] = []
    run = 0
    for c in text:
        if unicodedata.category(c) in ("Mn", "Me"):
            run += 1
            if run > MAX_MARKS:
                continue
        else:
            run = 0
        kept.append(c)
    return "".join(kept)


#: Characters a URL may carry as they are; anything else (spaces, non-ASCII) is percent-encoded.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~-._"


def web_link(link: str) -> str:
    """*link* as a URL fit for both feeds: spaces and non-ASCII percent-encoded (UTF-8), the rest kept."""
    return quote(link, safe=_URL_SAFE)


def canonical_id(link: str, parts: SplitResult | None = None) -> str:
    """The item's id: its absolute link with scheme and host lower-cased, default port, user-info
    and fragment dropped. *parts*: ``urlsplit(link)``, when the caller has it."""
    parts = parts or urlsplit(link)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    if parts.port and (scheme, parts.port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{parts.port}"
    return urlunsplit((scheme, host, parts.path or "/", parts.query, ""))


def without_userinfo(link: str) -> str:
    """*link* without the user-info before its host ("user:pass@", or "www.ilo.org@" hiding the
    real host): the host a reader goes to stays, the rest is kept as it is."""
    if "@" not in link:  # no user-info without one: most links
        return link
    parts = urlsplit(link)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return link
    if "." in userinfo.partition(":")[0]:
        log.info("link %s shows %s but goes to %s: published without the part before the @",
                 link, userinfo.partition(":")[0], parts.hostname)
    else:
        log.debug("link %s carries user-info: published without it", link)
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


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


@dataclass(frozen=True)
class Dated:
    """The moment an item's date names, its kind, and how it was read."""

    published: datetime | None
    kind: str | None = None
    approximate: bool = False  #: read against the moment seen ("3 days ago", "12 March")
    future: datetime | None = None  #: a date over FUTURE_SLACK after seen, set aside (published is None)


def read_date(date_text: str | None, source_zone: str, *, date_value: str | None = None,
              seen: datetime | None = None, date_order: str = "DMY") -> Dated:
    """Read an item's date: *date_value* (machine-readable) when readable, else *date_text*; the
    kind always comes from *date_text*. Dates without a time are noon in the source's zone.

    With *seen* (the aware moment the item is first seen) relative and year-less dates are read
    too, and a date more than FUTURE_SLACK after it (by day for a date without a time) is set aside.
    """
    if seen is not None and seen.utcoffset() is None:
        raise ValueError("seen must be an aware datetime")
    tz = zone(source_zone)
    local_seen = _local(seen, tz) if seen is not None else None
    line = parse_date_line(date_text, seen=local_seen, date_order=date_order)
    kind = line.kind
    value = parse_date_value(date_value)
    if value is not None:
        line = value
    if line.day is None:
        return Dated(None, kind)
    if line.at is not None:
        published = line.at
    else:
        line_tz = tz
        if line.zone:
            try:
                line_tz = zone(line.zone)
            except ValueError:
                pass
        published = datetime.combine(line.day, line.time or NOON, tzinfo=line_tz)
    if local_seen is not None:
        ahead = (line.day - local_seen.date()) if line.time is None else (published - local_seen)
        if ahead > FUTURE_SLACK:
            return Dated(None, kind, future=published)
    return Dated(published, kind, approximate=line.approximate)


@lru_cache(maxsize=16)  # a run reads all its items against one moment
def _local(moment: datetime, tz: tzinfo) -> datetime:
    return moment.astimezone(tz)


def published_at(date_text: str | None, source_zone: str, *, date_value: str | None = None,
                 seen: datetime | None = None, date_order: str = "DMY") -> tuple[datetime | None, str | None]:
    """The moment a date line names (noon in the source's zone when it gives no time) and its kind."""
    dated = read_date(date_text, source_zone, date_value=date_value, seen=seen, date_order=date_order)
    return dated.published, dated.kind


@dataclass(frozen=True)
class Normalised:
    """What normalise made of one raw entry: the item, or why there is none; and a date set aside."""

    item: Item | None
    skipped: str | None = None  #: when item is None: SKIP_NO_TITLE, SKIP_NO_LINK or SKIP_LONG_LINK
    future: datetime | None = None  #: the item's date, over FUTURE_SLACK after seen: read as no date


def normalise_or_reason(raw: RawItem, source_zone: str, *, seen: datetime | None = None,
                        date_order: str = "DMY") -> Normalised:
    """The feed item for *raw*, or why it has none (no title, no http(s) link, a link over MAX_LINK
    characters: never cut, which would break it and merge items that share a prefix)."""
    title = clean_text(raw.title, MAX_TITLE)
    if not title:
        return Normalised(None, SKIP_NO_TITLE)
    link = clean_text(raw.link, None)
    link = web_link(link) if link else None
    parts = urlsplit(link) if link else None
    if not link or parts.scheme not in ("http", "https") or not parts.hostname:
        return Normalised(None, SKIP_NO_LINK)
    shown = without_userinfo(link)
    if len(shown) > MAX_LINK:
        return Normalised(None, SKIP_LONG_LINK)
    dated = read_date(clean_text(raw.date_text, MAX_LABEL), source_zone, date_value=raw.date_value, seen=seen,
                      date_order=date_order)
    item = Item(
        id=canonical_id(shown, parts if shown is link else None),
        link=shown,
        title=title,
        summary=clean_text(raw.summary, MAX_SUMMARY),
        label=clean_text(raw.label, MAX_LABEL),
        kind=clean_text(dated.kind, MAX_LABEL),
        published=dated.published,
        position=raw.position,
        approximate=dated.approximate,
    )
    return Normalised(item, future=dated.future)


def normalise(raw: RawItem, source_zone: str, *, seen: datetime | None = None,
              date_order: str = "DMY") -> Item | None:
    """The feed item for *raw*, or None when it has no usable title or http(s) link (see
    normalise_or_reason for why)."""
    return normalise_or_reason(raw, source_zone, seen=seen, date_order=date_order).item


def warnings_for(results: Iterable[Normalised], where: str) -> list[str]:
    """Warnings for what normalise set aside on one page (*where*: its URL): items skipped for
    their long links, dates too far ahead. Items without a title or link are the health check's."""
    results = list(results)
    found = []
    long_links = sum(1 for r in results if r.skipped == SKIP_LONG_LINK)
    if long_links:
        what = "item whose link is" if long_links == 1 else "items whose links are"
        found.append(f"{where}: skipped {long_links} {what} longer than {MAX_LINK} characters")
    future = sorted(r.future for r in results if r.future is not None and r.item is not None)
    if future:
        what = "item is" if len(future) == 1 else "items are"
        found.append(f"{where}: {len(future)} {what} dated more than {FUTURE_SLACK.days} days ahead "
                     f"({future[0].date().isoformat()}{' …' if len(future) > 1 else ''}): published when first seen")
    return found
