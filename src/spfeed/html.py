"""HTML helpers shared by extraction and detection: visible text, links, ``@attribute`` selectors.

No function here recurses into the tree: a page of 5,000 nested elements is read like any other.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from spfeed.normalise import clean_text

if TYPE_CHECKING:
    from bs4 import Tag

# Elements whose edges separate words even when the markup has no space between them.
BLOCK = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 header "
    "hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)
HIDDEN = frozenset("script style template noscript head title iframe object svg".split())

#: An attribute name as a selector's ``@name`` suffix may give it (HTML's names, without spaces or quotes).
_ATTRIBUTE = re.compile(r"[A-Za-z_:][-A-Za-z0-9_:.]*")
#: schema.org microdata properties that date an entry.
DATE_PROPERTIES = ("datePublished", "startDate", "dateCreated")
#: An ISO 8601 date, maybe with a time: what goes to RawItem.date_value.
ISO_DATE = re.compile(r"\s*\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\s*")


def text_of(el: Tag | None) -> str | None:
    """The visible text of *el*, with block edges and <br> as spaces, white space collapsed."""
    if el is None:
        return None
    return clean_text("".join(_strings(el)), 100_000)


def _strings(el: Tag) -> list[str]:
    """The text pieces of *el* in document order, " " at block edges; an explicit stack, no recursion."""
    from bs4 import NavigableString, Tag

    parts: list[str] = []
    # The stack holds what is left to do, last first: elements to enter and " " to emit on leaving a block.
    stack: list[object] = list(reversed(el.contents))
    while stack:
        node = stack.pop()
        if isinstance(node, str) and not isinstance(node, NavigableString):
            parts.append(node)  # a block's closing space
        elif isinstance(node, Tag):
            if node.name in HIDDEN:
                continue
            if node.name in BLOCK:
                parts.append(" ")
                stack.append(" ")
            stack.extend(reversed(node.contents))
        elif type(node) is NavigableString:  # not comments, CDATA, doctypes or processing instructions
            parts.append(str(node))
    return parts


def resolve(base: str, href: str | None) -> str | None:
    """*href* made absolute against *base*; None for empty, fragment-only and non-web links."""
    if href is None:
        return None
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    absolute = urljoin(base, href)
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


def split_attribute(selector: str) -> tuple[str, str | None]:
    """(CSS part, attribute name) of a selector that may end in ``@name``: ``"time@datetime"`` ->
    ``("time", "datetime")``; ``"@data-href"`` -> ``("", "data-href")`` (the block itself).

    An ``@`` inside brackets or quotes (``a[href*="@"]``) is CSS. The name is returned as written;
    :func:`bad_attribute` says whether it is one.
    """
    depth, quote, at = 0, "", -1
    for i, c in enumerate(selector):
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c in "[(":
            depth += 1
        elif c in "])":
            depth -= 1
        elif c == "@" and depth == 0:
            at = i
    if at < 0:
        return selector.strip(), None
    return selector[:at].strip(), selector[at + 1:].strip()


def bad_attribute(name: str) -> bool:
    """Whether *name* (from :func:`split_attribute`) is not a usable attribute name."""
    return not _ATTRIBUTE.fullmatch(name)


def attribute(el: Tag | None, name: str) -> str | None:
    """*el*'s attribute *name* as one string (class lists joined), None when absent or blank."""
    if el is None:
        return None
    value = el.get(name)
    if isinstance(value, list):
        value = " ".join(value)
    return value.strip() if isinstance(value, str) and value.strip() else None


def machine_date(el: Tag | None) -> str | None:
    """The machine-readable date that *el* is or contains: ``<time datetime>``, an element with
    ``itemprop="datePublished"`` (or startDate, dateCreated: its ``content`` or ``datetime``), ``<data value>`` or ``<abbr title>``
    holding an ISO date."""
    if el is None:
        return None
    for candidate in [el, *el.find_all(("time", "meta", "data", "abbr"), limit=50)]:
        names = {"time": ("datetime",), "data": ("value",), "abbr": ("title",)}.get(candidate.name, ())
        if set(DATE_PROPERTIES) & set((attribute(candidate, "itemprop") or "").split()):
            names = ("content", "datetime", *names)
        for name in names:
            value = attribute(candidate, name)
            if value and ISO_DATE.fullmatch(value):
                return value
    return None
