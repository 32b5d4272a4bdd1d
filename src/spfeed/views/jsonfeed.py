"""JSON Feed 1.1 (``feed.json``): the same items, ids, dates and text as the Atom view, as plain text.

Pure and byte-stable: keys in a fixed order, no clock. ``<``, ``>`` and ``&`` are written as
``\\u003c``-style escapes, so no text is ever markup if the file is pasted into HTML.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from spfeed.model import FeedMeta, Links, StoredItem

VERSION = "https://jsonfeed.org/version/1.1"


def render(meta: FeedMeta, entries: Sequence[StoredItem], links: Links) -> bytes:
    """The JSON Feed document of *entries*, in the order given (newest first)."""
    if not entries:
        raise ValueError("a feed needs at least one item")
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": meta.title,
        "home_page_url": meta.link,
        "feed_url": links.url("json"),
        "description": meta.description,
    }
    if meta.language:
        feed["language"] = meta.language
    feed["authors"] = [_author(meta)]
    if meta.hubs:
        feed["hubs"] = [{"type": "WebSub", "url": hub} for hub in meta.hubs]
    feed["items"] = [_item(entry, meta.language) for entry in entries]
    text = json.dumps(feed, ensure_ascii=False, indent=2)
    # Only string values can hold these characters: the keys and the syntax never do.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (text + "\n").encode("utf-8")


def _author(meta: FeedMeta) -> dict[str, str]:
    """JSON Feed authors have a name and a url; an email address becomes a mailto: url."""
    author = {"name": meta.author.name}
    url = meta.author.uri or (f"mailto:{meta.author.email}" if meta.author.email else None)
    if url:
        author["url"] = url
    return author


def _item(entry: StoredItem, feed_language: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": entry.id,
        "url": entry.link,
        "title": entry.title,
        "content_text": entry.summary or entry.title,  # every entry carries text, as in Atom
    }
    if entry.summary:
        item["summary"] = entry.summary
    item["date_published"] = entry.published.isoformat()  # the same instants as Atom's
    item["date_modified"] = entry.updated.isoformat()
    tags = list(dict.fromkeys(entry.categories))  # label and kind, once each
    if tags:
        item["tags"] = tags
    if entry.lang and entry.lang != feed_language:  # as Atom's xml:lang on the entry
        item["language"] = entry.lang
    return item
