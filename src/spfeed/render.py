"""Items -> RSS 2.0 and Atom 1.0 bytes, with feedgen. Pure: the same items give the same bytes.

feedgen's traps, all avoided here: it stamps the current time into ``lastBuildDate``/``updated``
and every entry's ``updated`` unless told otherwise; ``add_entry`` prepends by default; the RSS
channel ``<link>`` is the *last* ``link()`` given; Atom needs an author; a datetime without a
time zone raises. Text is plain: Atom says ``type="text"``; RSS descriptions are HTML by
convention, so the text is HTML-escaped before it is written and no markup from the page is live.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator

from spfeed import __version__
from spfeed.config import FeedSettings
from spfeed.model import StoredItem


def render(settings: FeedSettings, items: Sequence[StoredItem], language: str | None = None) -> tuple[bytes, bytes]:
    """(RSS, Atom) documents of *items*, in the order given (newest first). *items* must not be empty."""
    if not items:
        raise ValueError("a feed needs at least one item")
    return _rss(settings, items, language), _atom(settings, items, language)


def _generator(settings: FeedSettings, items: Sequence[StoredItem], language: str | None) -> FeedGenerator:
    fg = FeedGenerator()
    fg.title(settings.title)
    fg.description(settings.description)  # also the Atom <subtitle>
    fg.author({k: v for k, v in vars(settings.author).items() if v})
    fg.generator("spfeed", version=__version__)
    if language:
        fg.language(language)
    # Not the clock: the newest change of an item. An unchanged history gives identical bytes.
    fg.updated(max(item.updated for item in items))
    return fg


def _rss(settings: FeedSettings, items: Sequence[StoredItem], language: str | None) -> bytes:
    fg = _generator(settings, items, language)
    fg.link(href=settings.rss_url, rel="self", type="application/rss+xml")
    fg.link(href=settings.link, rel="alternate")  # last, so it becomes the channel's <link>
    if settings.author.email:
        fg.managingEditor(f"{settings.author.email} ({settings.author.name})")
    for item in items:
        fe = fg.add_entry(order="append")
        fe.title(item.title)
        fe.link(href=item.link)
        fe.guid(item.id, permalink=True)
        fe.pubDate(item.published)
        fe.description(html.escape(item.summary or item.title, quote=False))
        _categories(fe, item)
    return fg.rss_str(pretty=True)


def _atom(settings: FeedSettings, items: Sequence[StoredItem], language: str | None) -> bytes:
    fg = _generator(settings, items, language)
    fg.id(settings.atom_url)
    fg.link(href=settings.atom_url, rel="self", type="application/atom+xml")
    fg.link(href=settings.link, rel="alternate", type="text/html")
    for item in items:
        # An entry read from a page in another language than the feed's says so (RSS cannot).
        fe = fg.add_entry(_Entry(item.lang if item.lang and item.lang != language else None), order="append")
        fe.id(item.id)
        fe.title(item.title)
        fe.link(href=item.link, rel="alternate", type="text/html")
        fe.published(item.published)
        fe.updated(item.updated)
        fe.summary(item.summary or item.title, type="text")
        _categories(fe, item)
    return fg.atom_str(pretty=True)


def _categories(fe, item: StoredItem) -> None:
    terms = list(dict.fromkeys(item.categories))  # label and kind, once each
    if terms:
        fe.category([{"term": term} for term in terms])


class _Entry(FeedEntry):
    """A feedgen entry that can carry its own ``xml:lang`` in Atom."""

    def __init__(self, lang: str | None = None) -> None:
        super().__init__()
        self._lang = lang

    def atom_entry(self, extensions: bool = True):
        entry = super().atom_entry(extensions)
        if self._lang:
            entry.set("{http://www.w3.org/XML/1998/namespace}lang", self._lang)
        return entry
