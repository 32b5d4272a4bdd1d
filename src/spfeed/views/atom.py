"""Atom 1.0 (``atom.xml``) with feedgen. Pure: the same entries give the same bytes.

Text is plain (``type="text"``). The feed's id is its own URL; an entry's id is its item's id.
"""

from __future__ import annotations

from collections.abc import Sequence

from feedgen.entry import FeedEntry

from spfeed.model import FeedMeta, Links, StoredItem
from spfeed.views._feedgen import categories, generator


def render(meta: FeedMeta, entries: Sequence[StoredItem], links: Links) -> bytes:
    """The Atom document of *entries*, in the order given (newest first)."""
    fg = generator(meta, entries)
    fg.id(links.url("atom"))
    fg.link(href=links.url("atom"), rel="self", type="application/atom+xml")
    fg.link(href=meta.link, rel="alternate", type="text/html")
    for hub in meta.hubs:  # WebSub: where readers subscribe for pushed updates
        fg.link(href=hub, rel="hub")
    for entry in entries:
        # An entry read from a page in another language than the feed's says so (RSS cannot).
        lang = entry.lang if entry.lang and entry.lang != meta.language else None
        fe = fg.add_entry(_Entry(lang), order="append")
        fe.id(entry.id)
        fe.title(entry.title)
        fe.link(href=entry.link, rel="alternate", type="text/html")
        fe.published(entry.published)
        fe.updated(entry.updated)
        fe.summary(entry.summary or entry.title, type="text")
        categories(fe, entry)
    return fg.atom_str(pretty=True)


class _Entry(FeedEntry):
    """A feedgen entry that can carry its own ``xml:lang``."""

    def __init__(self, lang: str | None = None) -> None:
        super().__init__()
        self._lang = lang

    def atom_entry(self, extensions: bool = True):
        entry = super().atom_entry(extensions)
        if self._lang:
            entry.set("{http://www.w3.org/XML/1998/namespace}lang", self._lang)
        return entry
