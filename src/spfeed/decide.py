"""Decide what a run does to one feed's history: pure, no SQLite, HTTP or files.

Given the items read this run, their stored versions and the ``updated`` times the feed already
uses, :func:`decide` returns a :class:`Plan` with every time decided: when a new item is
published, what its Atom ``<updated>`` is, and how a change moves it. The store only saves it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from spfeed.diff import diff
from spfeed.model import Change, Item, SourceState, StoredItem
from spfeed.normalise import zone

#: Where an item was read: (source URL, the source's time zone, the page's language tag).
Origin = tuple[str, str, "str | None"]


@dataclass(frozen=True)
class Plan:
    """One feed's run, decided: what the store saves and what the summary says."""

    feed: str
    new: tuple[StoredItem, ...] = ()  #: in page order
    updated: tuple[tuple[StoredItem, tuple[str, ...]], ...] = ()  #: the new version and the fields that changed
    gone: tuple[StoredItem, ...] = ()  #: listed last time, listed nowhere now (they stay in the history)
    seen: tuple[tuple[str, int, str], ...] = ()  #: (id, position, source URL) of every item read
    presence: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  #: per source read: the ids it lists
    sources: Mapping[str, SourceState] = field(default_factory=dict)  #: per source read: what to remember
    labels: Mapping[str, str] = field(default_factory=dict)  #: labels seen for the first time -> their slug


def decide(feed: str, items: Sequence[Item], known: Mapping[str, StoredItem], gone: Sequence[StoredItem],
           origin: Mapping[str, Origin], taken: Iterable[int], slugs: Mapping[str, str], now: datetime,
           presence: Mapping[str, tuple[str, ...]] | None = None,
           sources: Mapping[str, SourceState] | None = None) -> Plan:
    """The plan for *items* (merged, de-duplicated, in page order) against *known* (their stored
    versions, where any). *taken* are the ``updated`` times (Unix seconds) the feed's history
    uses now, *slugs* the label slugs it has; *presence* and *sources* are passed through."""
    result = diff(items, known, gone)
    times = _Times(taken)
    # Bottom of the page first, so that when two items share a time the one above is later.
    stored_new = [_first(item, origin[item.id], times, now, feed) for item in sorted(result.new, key=lambda i: -i.position)]
    stored_new.sort(key=lambda s: s.position)
    stored_updated = [(_changed(change, origin[change.item.id], times, now, feed), change.fields)
                      for change in result.updated]
    categories = (c for s in [*stored_new, *(u for u, _ in stored_updated)] for c in s.categories)
    return Plan(feed=feed, new=tuple(stored_new), updated=tuple(stored_updated), gone=tuple(result.gone),
                seen=tuple((i.id, i.position, origin[i.id][0]) for i in items), presence=dict(presence or {}),
                sources=dict(sources or {}), labels=new_slugs(slugs, categories))


def _first(item: Item, origin: Origin, times: _Times, now: datetime, feed: str) -> StoredItem:
    """A new item: published at its date, or when first seen; ``updated`` is that time, made unique."""
    url, zone_name, lang = origin
    tz = zone(zone_name)
    published = item.published or now.astimezone(tz)
    return StoredItem(
        id=item.id, link=item.link, title=item.title, summary=item.summary, label=item.label, kind=item.kind,
        published=published, dated=item.published is not None, updated=times.claim(published.astimezone(tz)),
        first_seen=now, last_seen=now, changed_at=None, position=item.position, source=url, lang=lang, feed=feed,
    )


def _changed(change: Change, origin: Origin, times: _Times, now: datetime, feed: str) -> StoredItem:
    """The new version of an item whose text changed upstream. Its ``updated`` is the later of its
    date and now, and never earlier than a time it already published (a clock that went back)."""
    item, before = change.item, change.before
    url, zone_name, lang = origin
    tz = zone(zone_name)
    fresh_date = item.published is not None and not item.approximate
    published = item.published if fresh_date and item.published is not None else before.published
    moment = max(published, now)
    if moment <= before.updated:
        moment = before.updated + timedelta(seconds=1)
    updated = times.claim(moment.astimezone(tz), release=int(before.updated.timestamp()))
    return StoredItem(
        id=item.id, link=item.link, title=item.title, summary=item.summary, label=item.label, kind=item.kind,
        published=published, dated=fresh_date or before.dated, updated=updated, first_seen=before.first_seen,
        last_seen=now, changed_at=now, position=item.position, source=url, lang=lang, feed=feed,
    )


class _Times:
    """The ``updated`` times in use, in memory: claiming one moves a tied time on by whole seconds
    (feed readers and validators expect every entry's ``updated`` to differ). Two memos keep this
    linear without changing a single time: a cursor per start time (many items on one date), and
    the last run of taken seconds walked over, with the seconds freed since (items changed in every
    run, each pushed just past its old time, which the items after it still hold)."""

    def __init__(self, taken: Iterable[int]) -> None:
        self.used: Counter[int] = Counter(taken)
        self.cursor: dict[int, int] = {}
        self.walked: tuple[int, int] = (0, 0)  #: every second in [start, end) was taken at the last walk
        self.freed: list[int] = []  #: seconds given back since then
        self.steps = 0  #: seconds looked at, for the tests that count them

    def claim(self, moment: datetime, release: int | None = None) -> datetime:
        if release is not None and self.used[release] > 0:
            self.used[release] -= 1  # the item's own old time is free for it
            if not self.used[release]:
                self.freed.append(release)
        start = int(moment.timestamp())
        ts = first = max(start, self.cursor.get(start, start))
        low, high = self.walked
        while self.used[ts] > 0:
            self.steps += 1
            if low <= ts < high and not any(ts <= r < high for r in self.freed):
                ts = high  # still all taken: skip the run
                low = high
                continue
            ts += 1
        if ts > first:
            self.walked, self.freed = (first, ts + 1), []
        self.used[ts] += 1
        self.cursor[start] = ts
        return datetime.fromtimestamp(ts, moment.tzinfo)


# -- label slugs ---------------------------------------------------------------------------------

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(label: str) -> str:
    """A label as lower-case ASCII for a folder name: accents transliterated ("Publicación" ->
    "publicacion"), everything else a dash."""
    folded = unicodedata.normalize("NFKD", label.casefold())
    ascii_text = "".join(c for c in folded if not unicodedata.combining(c)).encode("ascii", "ignore").decode()
    return _NOT_SLUG.sub("-", ascii_text).strip("-")[:60].strip("-") or "label"


def new_slugs(existing: Mapping[str, str], labels: Iterable[str]) -> dict[str, str]:
    """Slugs for the *labels* not in *existing* (label -> slug), distinct from every slug in use:
    a slug, once published, never changes; two labels that would collide get "-2", "-3"..."""
    used = set(existing.values())
    fresh: dict[str, str] = {}
    for label in labels:
        if label in existing or label in fresh:
            continue
        base = slugify(label)
        slug, n = base, 1
        while slug in used:
            n += 1
            slug = f"{base}-{n}"
        used.add(slug)
        fresh[label] = slug
    return fresh
