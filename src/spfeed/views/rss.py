"""RSS 2.0 (``rss.xml``). Pure: the same entries give the same bytes.

RSS descriptions are HTML by convention, so the plain text is HTML-escaped before it is written
and no markup from the page is live.
"""

from __future__ import annotations

from collections.abc import Sequence

from spfeed.model import FeedMeta, Links, StoredItem
from spfeed.views._xml import element, etree, newest, rfc822, serialise, terms

ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"  # declared, as feedgen did, though unused


def render(meta: FeedMeta, entries: Sequence[StoredItem], links: Links) -> bytes:
    """The RSS document of *entries*, in the order given (newest first)."""
    updated = newest(entries)
    root = etree.Element("rss", version="2.0", nsmap={"atom": ATOM, "content": CONTENT})
    channel = element(root, "channel")
    element(channel, "title", meta.title)
    element(channel, "link", meta.link)
    element(channel, "description", meta.description)
    element(channel, f"{{{ATOM}}}link", href=links.url("rss"), rel="self", type="application/rss+xml")
    for hub in meta.hubs:  # WebSub: where readers subscribe for pushed updates
        element(channel, f"{{{ATOM}}}link", href=hub, rel="hub")
    element(channel, "docs", "http://www.rssboard.org/rss-specification")
    element(channel, "generator", "spfeed")
    if meta.language:
        element(channel, "language", meta.language)
    element(channel, "lastBuildDate", rfc822(updated))
    if meta.author.email:
        element(channel, "managingEditor", f"{meta.author.email} ({meta.author.name})")
    for entry in entries:
        item = element(channel, "item")
        element(item, "title", entry.title)
        element(item, "link", entry.link)
        element(item, "description", _escaped(entry.summary or entry.title))
        element(item, "guid", entry.id, isPermaLink="true")
        for term in terms(entry):
            element(item, "category", term)
        element(item, "pubDate", rfc822(entry.published))
    return serialise(root)


def _escaped(text: str) -> str:
    """*text* as HTML that shows it (``html.escape`` without quotes, which imports the module's
    table of every entity: a cost on every run that renders)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
