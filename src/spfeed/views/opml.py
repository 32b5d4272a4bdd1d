"""OPML 2.0 (``feeds.opml`` at the top of output.dir): every feed, to subscribe to all at once.

A feed with label feeds becomes a folder (``<outline text="feed title">``) holding the feed's own
outline first and then its label feeds'; a feed without label feeds is a plain top-level outline.
Readers that import folders as tags or categories (newsboat, most others) get every feed.
Pure and byte-stable: no dateCreated, no clock.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from spfeed.model import Listed

#: Characters XML 1.0 cannot carry at all; removed rather than let a title break the file.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def render(title: str, feeds: Sequence[Listed]) -> bytes:
    """The OPML document listing *feeds* and their label feeds, in the order given."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _clean(title)
    body = ET.SubElement(root, "body")
    for listed in feeds:
        if listed.labels:
            folder = ET.SubElement(body, "outline", text=_clean(listed.meta.title))
            folder.append(_outline(listed))
            folder.extend(_outline(sub) for sub in listed.labels)
        else:
            body.append(_outline(listed))
    ET.indent(root, space="  ")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")


def _outline(listed: Listed) -> ET.Element:
    """One feed's subscription: its Atom (else RSS, else JSON Feed) and its page (else the source's)."""
    meta, links = listed.meta, listed.links
    fmt = next((f for f in ("atom", "rss", "json") if f in links.formats), "atom")
    attrs = {
        "type": "rss",  # what OPML calls any subscription, Atom included
        "text": _clean(meta.title),
        "title": _clean(meta.title),
        "xmlUrl": links.url(fmt),
        "htmlUrl": links.url("html") if "html" in links.formats else meta.link,
    }
    if meta.language:
        attrs["language"] = meta.language
    return ET.Element("outline", attrs)


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)
