"""Typed values passed between the pipeline's stages. All frozen: stages return new values.

The types every run needs are defined here; those of a run that reads or renders a page (pages,
items, what the views are given) are in :mod:`spfeed.items` and importable from here all the same:
creating a frozen dataclass costs about a millisecond, which the cheap path of an unchanged page
does not pay for types it never uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spfeed.items import Change, Diff, FeedMeta, Item, Links, Listed, Listing, Page, RawItem, StoredItem


#: The files spfeed can publish for a feed, by format name (``output.formats``), in this order.
FILES: dict[str, str] = {
    "rss": "rss.xml",
    "atom": "atom.xml",
    "json": "feed.json",
    "html": "index.html",
    "opml": "feeds.opml",  #: at the top of output.dir only, listing every feed
}

#: Each format's media type, as a web server should send it (and as autodiscovery links say).
MEDIA_TYPES: dict[str, str] = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
    "html": "text/html",
    "opml": "text/x-opml",
}


@dataclass(frozen=True)
class Author:
    name: str
    email: str | None = None
    uri: str | None = None


@dataclass(frozen=True)
class Validators:
    """HTTP cache validators kept between runs for conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class SourceState:
    """What the history remembers of one source of one feed between runs."""

    validators: Validators = Validators()
    body_hash: str | None = None
    fingerprint: str | None = None
    final_url: str | None = None
    lang: str | None = None


@dataclass(frozen=True)
class RunReport:
    """What one `update` (or `regenerate`) did, for the CLI to print."""

    new: tuple[StoredItem, ...] = ()
    updated: tuple[tuple[StoredItem, tuple[str, ...]], ...] = ()
    gone: tuple[StoredItem, ...] = ()
    unchanged: int = 0
    written: tuple[str, ...] = ()
    not_modified: bool = False
    warnings: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()  #: one line per source that failed (the run exits non-zero)
    exit_code: int = 0
    #: new, updated and gone items left out of the lists above: a long backfill lists only the
    #: first ones, so that its memory stays bounded however long the archive
    left_out: tuple[int, int, int] = (0, 0, 0)

    def counts(self) -> tuple[int, int, int]:
        """How many items were new, updated and gone, listed or not."""
        return (len(self.new) + self.left_out[0], len(self.updated) + self.left_out[1],
                len(self.gone) + self.left_out[2])


#: The types defined in :mod:`spfeed.items`, which ``from spfeed.model import …`` still gives.
_ITEM_TYPES = frozenset({"FeedMeta", "Links", "Listed", "Page", "RawItem", "Listing", "Item", "StoredItem", "Change",
                         "Diff"})


def __getattr__(name: str):
    """The types of :mod:`spfeed.items`, imported on first use (PEP 562)."""
    if name in _ITEM_TYPES:
        from spfeed import items

        value = globals()[name] = getattr(items, name)
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
