"""Read a source's listing: its pages from the first on, following the next link, each page's
items extracted and normalised, the first page checked against the health rules. Imported when a
page has changed (an unchanged one is never read) and by `check`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from spfeed.config import Config, Source
from spfeed.errors import FetchError, HealthError, Interrupted, printable
from spfeed.fetch import fetch, host_of, may_follow, reachable_hosts
from spfeed.model import SourceState

if TYPE_CHECKING:
    from spfeed.items import Item, Listing, Page, RawItem
    from spfeed.pipeline import Progress


@dataclass
class Reading:
    """A source whose page changed and was read this run."""

    source: Source
    items: list[Item]  #: every item read, pages in order
    listed: set[str]  #: the ids that count as "on the page" (what `update` watches)
    state: SourceState
    warnings: list[str] = field(default_factory=list)
    partial: bool = False  #: a later page could not be read: what was listed before stays listed


@dataclass(frozen=True)
class Checked:
    """What `check` found on one page: the listing, each block's item (None when unusable), problems."""

    source: Source
    page: Page
    listing: Listing
    items: tuple[tuple[RawItem, Item | None], ...]
    problems: tuple[str, ...]


def read_pages(config: Config, source: Source, first: Page, state: SourceState, stop: threading.Event | None,
               max_pages: int, listed_pages: int, progress: Progress | None = None,
               seen: datetime | None = None) -> Reading:
    """The items of *source*'s listing from its *first* page on, following the next link up to
    *max_pages*; items of the first *listed_pages* pages count as listed. *seen* is the run's
    moment, what relative dates ("2 days ago") are read against. (`update` reads a few pages at
    once; `backfill` records its walk page by page with :class:`Walk`.)"""
    from spfeed.diff import placed

    walk = Walk(config, source, first, stop, max_pages, seen)
    items: list[Item] = []
    listed: set[str] = set()
    warnings: list[str] = []
    for page in walk:
        warnings.extend(page.warnings)
        start = len(items)  # (not in the generator: extend appends as it goes)
        items.extend(placed(item, start + i) for i, item in enumerate(page.items))
        if page.number <= listed_pages:
            listed.update(item.id for item in page.items)
        if progress is not None:
            progress(source, page.number, len(items))
    warnings.extend(walk.notes)
    return Reading(source, items, listed, replace(state, lang=walk.lang), warnings, partial=walk.partial)


@dataclass(frozen=True)
class PageRead:
    """One page of a listing, read: its usable items (positions on the page) and what to warn about."""

    number: int  #: 1 for the first page
    items: tuple[Item, ...]
    warnings: tuple[str, ...]


class Walk:
    """One source's listing from its *first* page on, one page at a time (iterate it), following
    the next link up to *max_pages*. Holds no page once it is yielded, so a long walk reads in
    bounded memory. It stops, with a note, at a page without items, a next page already read or
    on another host, and a page that repeats the one before; a later page that cannot be fetched
    ends it with ``partial`` set. The first page must pass the health rules (HealthError)."""

    def __init__(self, config: Config, source: Source, first: Page, stop: threading.Event | None,
                 max_pages: int, seen: datetime | None) -> None:
        self.config, self.source, self.first, self.stop = config, source, first, stop
        self.max_pages, self.seen = max_pages, seen
        self.lang: str | None = None  #: the first page's <html lang>
        self.partial = False  #: a later page could not be fetched
        self.notes: list[str] = []  #: why the walk ended early, when it did
        self.pages = 0  #: pages read so far

    def __iter__(self) -> Iterator[PageRead]:
        from spfeed.encoding import html_utf8
        from spfeed.extract import check_source_selectors, extract
        from spfeed.health import problems

        config, source, first = self.config, self.source, self.first
        check_source_selectors(source, str(config.path))
        visited = {first.url, first.final_url}
        previous: frozenset[str] = frozenset()
        page = first
        for number in range(1, self.max_pages + 1):
            text = html_utf8(page.body, page.charset)  # the body itself, when it is UTF-8
            listing = extract(text, page.final_url, source.selectors, source.base_url, detect=source.detect)
            del text
            valid, notes, skipped = _normalised(listing, source, page.final_url, self.seen)
            if number == 1:
                self.lang = listing.lang
                trouble = problems(source, listing, valid)
                if trouble:
                    raise HealthError(f"{source.url}: the page does not look like the listing: {'; '.join(trouble)}")
                if listing.detected_as:
                    notes.append(
                        f"{source.url}: {source.key}.selectors.item {source.selectors.item!r} matched nothing; "
                        f"published {len(valid)} items found by generic detection (blocks like "
                        f"{listing.detected_as!r}): check the page and set {source.key}.selectors"
                    )
            elif not valid:
                self.notes.extend(notes)
                self.notes.append(f"{page.final_url}: page {number} of the listing has no items; stopped there")
                return
            ids = frozenset(item.id for item in valid)
            if number > 1 and ids == previous:
                self.notes.append(f"{printable(page.final_url)}: page {number} of the listing repeats the items of "
                                  f"page {number - 1}; stopped there")
                return
            if skipped:
                notes.append(f"{page.final_url}: skipped {skipped} of {len(listing.items)} items without a title or "
                             "web link")
            previous = ids
            self.pages = number
            yield PageRead(number, tuple(valid), tuple(notes))
            next_url = listing.next_url
            del listing, valid
            if number == self.max_pages or not next_url:
                return
            if next_url in visited:
                self.notes.append(f"{printable(page.final_url)}: next page {printable(next_url)} was read "
                                  "before (the listing loops); stopped there")
                return
            reachable = reachable_hosts(source.url, first.final_url, source.base_url, source.allow_hosts)
            if not may_follow(next_url, reachable):
                self.notes.append(
                    f"{printable(page.final_url)}: next page {printable(next_url)} is on another host "
                    f"({printable(host_of(next_url) or urlsplit(next_url).scheme)}); stopped there; "
                    f"add it to {source.key}.allow_hosts to follow it"
                )
                return
            _pause(source.page_delay, self.stop)
            try:
                next_page = fetch(next_url, config.http, None, self.stop, origin=source.url, hosts=reachable)
            except FetchError as e:
                self.notes.append(f"{e}; kept the {number} page(s) read")
                self.partial = True
                return
            if next_page is None:
                return
            visited.update((next_page.url, next_page.final_url))
            page = next_page


def _normalised(listing: Listing, source: Source, where: str,
                seen: datetime | None) -> tuple[list[Item], list[str], int]:
    """The usable items of one page, warnings for what was set aside or could not be dated, and
    how many blocks lacked a title or a web link."""
    from spfeed.normalise import SKIP_NO_LINK, SKIP_NO_TITLE, normalise_or_reason, warnings_for

    results = [normalise_or_reason(raw, source.timezone, seen=seen, date_order=source.date_order)
               for raw in listing.items]
    valid = [r.item for r in results if r.item is not None]
    notes = warnings_for(results, where)
    undated = sum(1 for item in valid if item.published is None)
    if 0 < undated < len(valid):
        selector = (f"{source.key}.selectors.date {source.selectors.date!r}" if source.selectors.date and
                    not listing.detected_as else "generic detection's date")
        notes.append(f"{where}: {undated} of {len(valid)} items have no readable date ({selector}): "
                     "published when first seen")
    return valid, notes, sum(1 for r in results if r.skipped in (SKIP_NO_TITLE, SKIP_NO_LINK))


def _pause(seconds: float, stop: threading.Event | None) -> None:
    """Wait between two pages of one listing; a stop request ends the wait (and the run)."""
    if stop is None:
        time.sleep(seconds)
    elif stop.wait(seconds):
        raise Interrupted("stopped between two pages; nothing was published")
