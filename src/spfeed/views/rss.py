"""RSS 2.0 (``rss.xml``) with feedgen. Pure: the same entries give the same bytes.

RSS descriptions are HTML by convention, so the plain text is HTML-escaped before it is written
and no markup from the page is live.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from spfeed.model import FeedMeta, Links, StoredItem
from spfeed.views._feedgen import categories, generator


def render(meta: FeedMeta, entries: Sequence[StoredItem], links: Links) -> bytes:
    """The RSS document of *entries*, in the order given (newest first)."""
    fg = generator(meta, entries)
    fg.link(href=links.url("rss"), rel="self", type="application/rss+xml")
    fg.link(href=meta.link, rel="alternate")  # last, so it becomes the channel's <link>
    if meta.author.email:
        fg.managingEditor(f"{meta.author.email} ({meta.author.name})")
    for entry in entries:
        fe = fg.add_entry(order="append")
        fe.title(entry.title)
        fe.link(href=entry.link)
        fe.guid(entry.id, permalink=True)
        fe.pubDate(entry.published)
        fe.description(html.escape(entry.summary or entry.title, quote=False))
        categories(fe, entry)
    data = fg.rss_str(pretty=True)
    return _with_hubs(data, meta.hubs) if meta.hubs else data


def _with_hubs(data: bytes, hubs: Sequence[str]) -> bytes:
    """*data* with an ``<atom:link rel="hub">`` per WebSub hub after the self link (feedgen writes
    only the self link in RSS)."""
    from lxml import etree

    atom = "http://www.w3.org/2005/Atom"
    root = etree.fromstring(data)
    channel = root.find("channel")
    self_link = channel.find(f"{{{atom}}}link")
    at = list(channel).index(self_link) + 1
    for i, hub in enumerate(hubs):
        channel.insert(at + i, etree.Element(f"{{{atom}}}link", href=hub, rel="hub"))
    return etree.tostring(root, pretty_print=True, encoding="UTF-8", xml_declaration=True)
