"""The values of a run that reads or renders a page: the page fetched, the items read from it,
the history's items, and what the views are given. All frozen: stages return new values.

Importable from :mod:`spfeed.model` too (which defines the types every run needs); they live here
so that the cheap path of an unchanged page does not create them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from spfeed.model import FILES, Validators

if TYPE_CHECKING:
    from datetime import datetime

    from spfeed.model import Author


@dataclass(frozen=True)
class FeedMeta:
    """What a view needs to know about one published feed besides its entries."""

    name: str  #: the feed's slug ("" for the single feed of a config without ``feeds:``)
    title: str  #: for a label feed: "<feed title>: <label>"
    description: str
    link: str  #: the page the feed is about (the source page)
    author: Author
    language: str | None = None  #: resolved: the config's, else the first source page's
    label: str | None = None  #: set for a label feed: the label (or kind) it holds
    hubs: tuple[str, ...] = ()  #: WebSub hubs


@dataclass(frozen=True)
class Links:
    """Where one feed's files are published."""

    base: str  #: absolute URL of the feed's folder; ends with "/"
    formats: tuple[str, ...]  #: the formats written for this feed, in FILES order (never "opml")
    labels: tuple[tuple[str, str], ...] = ()  #: a main feed's label feeds: (label, base URL of its folder)
    parent: str | None = None  #: a label feed's main feed: the base URL of its folder

    def url(self, fmt: str) -> str:
        """The absolute URL of this feed's file in format *fmt*."""
        return self.base + FILES[fmt]


@dataclass(frozen=True)
class Listed:
    """One feed as the top-level index page and the OPML file list it."""

    meta: FeedMeta
    links: Links
    labels: tuple[Listed, ...] = ()  #: the feed's label feeds, in slug order


@dataclass(frozen=True)
class Page:
    """One fetched document: the raw bytes and what the transport said about them."""

    url: str  #: the URL asked for
    final_url: str  #: after redirects; what relative links resolve against by default
    body: bytes
    charset: str | None = None  #: from the Content-Type header, if any
    content_type: str | None = None
    validators: Validators = field(default_factory=Validators)


@dataclass(frozen=True, slots=True)
class RawItem:
    """One listing entry as it appears on the page: text with white space collapsed, links absolute."""

    position: int  #: 0-based place on the page
    title: str | None
    link: str | None
    label: str | None = None
    date_text: str | None = None
    summary: str | None = None
    #: a machine-readable date for the item (``<time datetime>``, ``itemprop="datePublished"``,
    #: ``<data value>``, ``<abbr title>``, structured data): when readable, it wins over date_text
    date_value: str | None = None
    #: the fields taken from the page's structured data (JSON-LD, microdata), for `check` to say so
    from_structured: tuple[str, ...] = ()


@dataclass(frozen=True)
class Listing:
    """What extraction made of one page."""

    items: tuple[RawItem, ...]
    base_url: str  #: what links were resolved against
    lang: str | None = None  #: the page's <html lang>
    next_url: str | None = None  #: the pagination's next page, if any
    selector_report: tuple[tuple[str, int], ...] = ()  #: (selector key, matches) for diagnostics
    detected_as: str | None = None  #: set when generic detection found the items: their blocks' shape


@dataclass(frozen=True, slots=True)
class Item:
    """A normalised listing entry: what the feed is made of, before the history adds its times."""

    id: str  #: canonical absolute link; never changes
    link: str
    title: str
    summary: str | None
    label: str | None
    kind: str | None  #: the word(s) before a bar on the date line ("Press release")
    published: datetime | None  #: aware; None when the page gives no readable date
    position: int = 0  #: place in the merged listing of this run (ties sort in page order)
    #: the date was read against the run's moment ("2 days ago", "12 March" without a year): it is
    #: fixed when the item is first stored and never moves on a later run
    approximate: bool = False

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(c for c in (self.label, self.kind) if c)


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An item of the history, with the times spfeed keeps for it."""

    id: str
    link: str
    title: str
    summary: str | None
    label: str | None
    kind: str | None
    published: datetime  #: the page's date, or first_seen when it gave none
    dated: bool  #: whether published came from the page
    updated: datetime  #: max(published, last upstream change), unique across the history
    first_seen: datetime
    last_seen: datetime
    changed_at: datetime | None
    position: int
    source: str
    lang: str | None = None  #: the language of the page it was read from
    feed: str = ""  #: the name of the feed it belongs to


    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(c for c in (self.label, self.kind) if c)


@dataclass(frozen=True)
class Change:
    """An item whose text changed upstream: the new version and the names of the fields that moved."""

    item: Item
    before: StoredItem
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Diff:
    """The page's items sorted against the history."""

    new: tuple[Item, ...] = ()
    updated: tuple[Change, ...] = ()
    unchanged: tuple[Item, ...] = ()
    gone: tuple[StoredItem, ...] = ()
