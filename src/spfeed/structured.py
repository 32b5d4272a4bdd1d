"""The listing's items as the page's structured data describes them: JSON-LD and schema.org microdata.

Read from the page alone: nothing here fetches anything (an ``@context`` URL is never dereferenced).
Malformed JSON-LD is skipped with a log line at INFO; a page's data is never trusted beyond strings.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spfeed.html import ISO_DATE, attribute, children, has_attr, resolve, select, text_of
from spfeed.normalise import clean_text

if TYPE_CHECKING:
    from lxml.html import HtmlElement

log = logging.getLogger(__name__)

#: schema.org types that are one entry of a listing.
ENTRY_TYPES = frozenset({"NewsArticle", "Article", "BlogPosting", "Event", "Report", "ScholarlyArticle",
                         "AnalysisNewsArticle", "ReportageNewsArticle", "PressRelease", "CreativeWork"})
#: A CSS selector for the ``<script>`` elements that carry JSON-LD.
JSON_LD = 'script[type="application/ld+json"]'
_MAX_NODES = 10_000  # a bound on the JSON values walked per page


@dataclass(frozen=True)
class Entry:
    """One entry as structured data gives it; fields the data lacks are None."""

    link: str | None
    title: str | None = None
    date: str | None = None  #: ISO 8601 as given (datePublished, else startDate)
    summary: str | None = None
    label: str | None = None  #: articleSection, else the first keyword

    def fields(self) -> dict[str, str | None]:
        """The RawItem fields this entry can fill, by RawItem's names."""
        return {"title": self.title, "date_value": self.date, "summary": self.summary, "label": self.label}


def json_ld_entries(scripts: list[HtmlElement], base: str) -> list[Entry]:
    """The entries in the JSON-LD of *scripts*, in document order: ItemList elements (their item or
    url), and NewsArticle/Article/BlogPosting/Event objects, also inside ``@graph`` and arrays."""
    entries: list[Entry] = []
    for script in scripts:
        try:
            data = json.loads(script.text or "")
        except (ValueError, RecursionError) as e:
            log.info("ignored malformed JSON-LD: %s", str(e).splitlines()[0] if str(e) else type(e).__name__)
            continue
        entries.extend(_entries(data, base))
    return _unique(entries)


def _types(node: dict) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.rsplit("/", 1)[-1] for k in kinds if isinstance(k, str)}


def _entries(data: Any, base: str) -> list[Entry]:
    """Walk *data* iteratively (JSON can nest deeply) and collect its entries in order."""
    found: list[Entry] = []
    stack: list[Any] = [data]
    walked = 0
    while stack and walked < _MAX_NODES:
        node = stack.pop()
        walked += 1
        if isinstance(node, list):
            stack.extend(reversed(node))
            continue
        if not isinstance(node, dict):
            continue
        types = _types(node)
        if "ItemList" in types:
            elements = node.get("itemListElement")
            elements = elements if isinstance(elements, list) else [elements]
            for element in reversed(elements):
                if isinstance(element, dict) and "ListItem" in _types(element):
                    item = element.get("item")
                    if isinstance(item, dict):
                        stack.append(item if item.get("url") or item.get("@id") else {**item, "url": element.get("url")})
                    elif isinstance(element.get("url") or item, str):
                        stack.append({"@type": "Thing", "url": element.get("url") or item,
                                      "name": element.get("name")})
                elif isinstance(element, (dict, str)):
                    stack.append(element if isinstance(element, dict) else {"@type": "Thing", "url": element})
            continue
        if types & ENTRY_TYPES or ("Thing" in types and node.get("url")):
            found.append(_entry(node, base))
            continue
        for key in ("@graph", "mainEntity", "hasPart"):
            if isinstance(node.get(key), (list, dict)):
                stack.append(node[key])
    return found


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), None)
    return clean_text(value, 4000) if isinstance(value, str) else None


def _entry(node: dict, base: str) -> Entry:
    url = node.get("url") or node.get("@id")
    if isinstance(url, list):
        url = next((u for u in url if isinstance(u, str)), None)
    keywords = node.get("keywords")
    if isinstance(keywords, str):
        keywords = [k for k in keywords.split(",") if k.strip()]
    date = _text(node.get("datePublished")) or _text(node.get("startDate"))
    return Entry(
        link=resolve(base, url) if isinstance(url, str) else None,
        title=_text(node.get("headline")) or _text(node.get("name")),
        date=date if date and ISO_DATE.fullmatch(date) else None,
        summary=_text(node.get("description")),
        label=_text(node.get("articleSection")) or (_text(keywords) if isinstance(keywords, list) else None),
    )


def _unique(entries: list[Entry]) -> list[Entry]:
    """The first entry of each link; entries without a link are dropped (items are their links)."""
    seen: set[str] = set()
    kept = []
    for entry in entries:
        if entry.link and entry.link not in seen:
            seen.add(entry.link)
            kept.append(entry)
    return kept


# -- microdata -----------------------------------------------------------------------------------


def is_entry_scope(el: HtmlElement) -> bool:
    """Whether *el* is an ``itemscope`` whose ``itemtype`` is a schema.org entry type."""
    if not has_attr(el, "itemscope"):
        return False
    kinds = (attribute(el, "itemtype") or "").split()
    return any("schema.org/" in k and k.rstrip("/").rsplit("/", 1)[-1] in ENTRY_TYPES for k in kinds)


def microdata_entries(root: HtmlElement, base: str) -> list[Entry]:
    """The entries of the page's microdata: every schema.org entry ``itemscope``, in document order."""
    return _unique([microdata_entry(scope, base) for scope in root.iter()
                    if isinstance(scope.tag, str) and has_attr(scope, "itemscope") and is_entry_scope(scope)])


def property_value(el: HtmlElement, base: str) -> str | None:
    """A microdata property's value by the element's kind (microdata's rules): ``content``, then
    ``href``/``src`` for links, ``datetime`` for time, ``value`` for data, else the text."""
    if has_attr(el, "content"):
        return attribute(el, "content")
    if el.tag in ("a", "link", "area"):
        return resolve(base, attribute(el, "href"))
    if el.tag in ("img", "audio", "video", "source", "iframe", "embed"):
        return resolve(base, attribute(el, "src"))
    if el.tag == "time" and has_attr(el, "datetime"):
        return attribute(el, "datetime")
    if el.tag in ("data", "meter") and has_attr(el, "value"):
        return attribute(el, "value")
    return text_of(el)


def scope_properties(scope: HtmlElement) -> dict[str, HtmlElement]:
    """*scope*'s own properties (not those of scopes nested in it): name -> its first element."""
    props: dict[str, HtmlElement] = {}
    stack = list(reversed(children(scope)))
    while stack:
        el = stack.pop()
        for name in (attribute(el, "itemprop") or "").split():
            props.setdefault(name, el)
        if not has_attr(el, "itemscope"):
            stack.extend(reversed(children(el)))
    return props


def microdata_entry(scope: HtmlElement, base: str) -> Entry:
    props = scope_properties(scope)

    def value(*names: str) -> str | None:
        for name in names:
            if name in props:
                found = property_value(props[name], base)
                if found:
                    return found
        return None

    date = value("datePublished", "startDate", "dateCreated")
    link = value("url", "mainEntityOfPage")
    return Entry(
        link=resolve(base, link) if link else None,
        title=clean_text(value("headline", "name"), 500),
        date=date if date and ISO_DATE.fullmatch(date) else None,
        summary=clean_text(value("description"), 4000),
        label=clean_text(value("articleSection", "keywords"), 200),
    )


def page_entries(root: HtmlElement, base: str) -> dict[str, Entry]:
    """Every entry the page's JSON-LD and microdata describe, by link (JSON-LD first)."""
    entries: dict[str, Entry] = {}
    for entry in json_ld_entries(select(root, JSON_LD), base) + microdata_entries(root, base):
        assert entry.link is not None
        entries.setdefault(entry.link, entry)
    return entries
