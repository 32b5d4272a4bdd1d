"""Atom 1.0 (``atom.xml``). Pure: the same entries give the same bytes.

Text is plain (``type="text"``). The feed's id is its own URL; an entry's id is its item's id.
"""

from __future__ import annotations

from collections.abc import Sequence

from spfeed import __version__
from spfeed.model import FeedMeta, Links, StoredItem
from spfeed.views._xml import element, etree, newest, serialise, terms

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def render(meta: FeedMeta, entries: Sequence[StoredItem], links: Links) -> bytes:
    """The Atom document of *entries*, in the order given (newest first)."""
    updated = newest(entries)
    # The namespace as a plain attribute and unqualified children: the same bytes as before.
    root = etree.Element("feed", xmlns="http://www.w3.org/2005/Atom")
    if meta.language:
        root.set(XML_LANG, meta.language)
    element(root, "id", links.url("atom"))
    element(root, "title", meta.title)
    element(root, "updated", updated.isoformat())
    author = element(root, "author")
    element(author, "name", meta.author.name)
    if meta.author.email:
        element(author, "email", meta.author.email)
    if meta.author.uri:
        element(author, "uri", meta.author.uri)
    element(root, "link", href=links.url("atom"), rel="self", type="application/atom+xml")
    element(root, "link", href=meta.link, rel="alternate", type="text/html")
    for hub in meta.hubs:  # WebSub: where readers subscribe for pushed updates
        element(root, "link", href=hub, rel="hub")
    element(root, "generator", "spfeed", version=__version__)
    element(root, "subtitle", meta.description)
    for entry in entries:
        node = element(root, "entry")
        # An entry read from a page in another language than the feed's says so (RSS cannot).
        if entry.lang and entry.lang != meta.language:
            node.set(XML_LANG, entry.lang)
        element(node, "id", entry.id)
        element(node, "title", entry.title)
        element(node, "updated", entry.updated.isoformat())
        element(node, "link", href=entry.link)  # alternate, the default
        element(node, "summary", entry.summary or entry.title, type="text")
        for term in terms(entry):
            element(node, "category", term=term)
        element(node, "published", entry.published.isoformat())
    return serialise(root)
