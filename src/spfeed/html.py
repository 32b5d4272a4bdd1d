"""HTML helpers shared by extraction and detection: the page's tree (lxml.html), visible text,
attributes, links, ``@attribute`` selectors.

No function here recurses into the tree: a page of 5,000 nested elements is read like any other.
The tree reads as BeautifulSoup's did (spfeed's engine before lxml.html and cssselect): the same
libxml2 parser, multi-valued attributes such as ``class`` with single spaces, and no text from
comments, processing instructions, scripts, styles, templates or ruby annotations.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterator
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit
from weakref import WeakKeyDictionary

from spfeed.normalise import clean_text

if TYPE_CHECKING:
    from lxml.html import HtmlElement

# Elements whose edges separate words even when the markup has no space between them.
BLOCK = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 header "
    "hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)
HIDDEN = frozenset("script style template noscript head title iframe object svg".split())
#: Elements whose text (and their descendants') is not the page's text: script and style code,
#: template content, ruby annotations (BeautifulSoup's "string containers").
_NO_TEXT = frozenset("script style template rt rp".split())
#: Attributes that hold a space-separated list, by element ("*": any), as BeautifulSoup split them.
_LISTS = {"*": frozenset({"class", "accesskey", "dropzone"}), "a": frozenset({"rel", "rev"}),
          "link": frozenset({"rel", "rev"}), "td": frozenset({"headers"}), "th": frozenset({"headers"}),
          "form": frozenset({"accept-charset"}), "object": frozenset({"archive"}), "area": frozenset({"rel"}),
          "icon": frozenset({"sizes"}), "iframe": frozenset({"sandbox"}), "output": frozenset({"for"})}

#: An attribute name as a selector's ``@name`` suffix may give it (HTML's names, without spaces or quotes).
_ATTRIBUTE = re.compile(r"[A-Za-z_:][-A-Za-z0-9_:.]*")
#: schema.org microdata properties that date an entry.
DATE_PROPERTIES = ("datePublished", "startDate", "dateCreated")
#: An ISO 8601 date, maybe with a time: what goes to RawItem.date_value.
ISO_DATE = re.compile(r"\s*\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\s*")


def parse(text: str | bytes) -> HtmlElement:
    """The page's tree, read leniently as HTML (XHTML and XML pages too, quietly): its root element,
    which stands for the document in :func:`select`. *text* is the page's text, or that text in
    UTF-8 (:func:`spfeed.encoding.html_utf8`: a large page is then not copied). Blank text gives an
    empty ``<html>``.

    The text goes to libxml2 as UTF-8 bytes: lxml refuses a str that declares an XML encoding.
    libxml2 gives up at a nesting depth of 2,048 (a fatal error in its log, the rest of the page
    lost); such a page is read again through lxml's event-driven tree builder, which has no limit.
    """
    from lxml import etree

    data = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
    parser = _parser()
    root = None if _blank(data) else etree.fromstring(data, parser)
    if root is not None and any(e.level_name == "FATAL" for e in parser.error_log):
        builder = etree.TreeBuilder(parser=parser)
        root = etree.fromstring(data, _parser(target=builder))
    if root is None:
        root = parser.makeelement("html")
    return root


#: An ASCII character that is not white space (as str.isspace() reads it): the text is not blank.
_NOT_BLANK = re.compile(rb"[^\t\n\x0b\x0c\r\x1c-\x1f \x80-\xff]")


def _blank(data: bytes) -> bool:
    """Whether UTF-8 *data* is only white space (Unicode's, as ``str.strip`` removes it)."""
    return _NOT_BLANK.search(data) is None and not data.decode("utf-8", "replace").strip()


def _parser(**options):
    """libxml2's HTML parser giving lxml.html's elements, chosen in C: lxml.html's own parser picks
    each element's class in Python, a cost on every element a selector returns."""
    import lxml.html
    from lxml import etree

    parser = etree.HTMLParser(encoding="utf-8", huge_tree=True, **options)
    parser.set_element_class_lookup(etree.ElementDefaultClassLookup(element=lxml.html.HtmlElement))
    return parser


def select(el: HtmlElement, css: str) -> list[HtmlElement]:
    """The elements under *el* that *css* matches, in document order (see :mod:`spfeed.css`); *el*
    itself never, unless it is the document's root. Each selector is compiled once per process."""
    from spfeed.css import compile

    return compile(css)(el)


def select_one(el: HtmlElement, css: str) -> HtmlElement | None:
    """The first element :func:`select` gives, or None."""
    from spfeed.css import compile

    return compile(css).first(el)


def has_attr(el: HtmlElement, name: str) -> bool:
    return name in el.attrib


def children(el: HtmlElement) -> list[HtmlElement]:
    """*el*'s child elements, in order."""
    return [c for c in el if isinstance(c.tag, str)]


def descendants(el: HtmlElement, *names: str) -> Iterator[HtmlElement]:
    """The elements under *el* (named *names*, if given), in document order; *el* not among them."""
    from lxml import etree

    return el.iterdescendants(*names) if names else el.iterdescendants(etree.Element)


def text_of(el: HtmlElement | None) -> str | None:
    """The visible text of *el*, with block edges and <br> as spaces, white space collapsed."""
    if el is None:
        return None
    if not len(el):  # no children: its own text, the usual date line or teaser, without the walk
        return clean_text("" if _muted(el) else el.text or "", 100_000)
    return clean_text("".join(_strings(el)), 100_000)


#: Facts about a document (by its root element, weakly), each looked for once: the document read
#: last is checked first, without the dictionary's (Python-level) lookup.
_FACTS: WeakKeyDictionary = WeakKeyDictionary()
_last_facts: tuple[weakref.ref, dict] | None = None


def document_fact(el: HtmlElement, name: str, find: Callable[[HtmlElement], bool]) -> bool:
    """*find(root)* for the document of *el*, computed once per document under *name*."""
    global _last_facts
    root = el.getroottree().getroot()
    if _last_facts is not None and _last_facts[0]() is root:
        facts = _last_facts[1]
    else:
        facts = _FACTS.get(root)
        if facts is None:
            facts = _FACTS[root] = {}
        _last_facts = (weakref.ref(root), facts)
    found = facts.get(name)
    if found is None:
        found = facts[name] = find(root)
    return found


def _muted(el: HtmlElement) -> bool:
    """Whether *el*'s text is not the page's: it is, or is inside, a script, style, template or
    ruby annotation. Only one of them with child elements allows an element inside (in HTML,
    scripts and styles hold text alone): looked for once per document, that saves a walk up the
    tree for every field read."""
    if el.tag in _NO_TEXT:
        return True
    return document_fact(el, "muting", lambda root: any(len(e) for e in root.iter(*_NO_TEXT))) and \
        next(el.iterancestors(*_NO_TEXT), None) is not None


def _strings(el: HtmlElement) -> list[str]:
    """The text pieces of *el* in document order, " " at block edges; an explicit stack, no recursion."""
    parts: list[str] = []
    # Inside a script, style, template or ruby annotation, no text is the page's (block edges still are).
    muted = _muted(el)
    # The stack holds what is left to do, last first: strings to emit (an element's text, the text
    # after it, a block's closing space) and (element, muted) pairs to enter.
    stack: list[object] = []
    _push_contents(stack, el, muted)
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            parts.append(node)
            continue
        child, quiet = node
        if child.tag in HIDDEN:
            continue
        if child.tag in BLOCK:
            parts.append(" ")
            stack.append(" ")
        _push_contents(stack, child, quiet or child.tag in _NO_TEXT)
    return parts


def _push_contents(stack: list[object], el: HtmlElement, muted: bool) -> None:
    """Push *el*'s text and children (each child's tail after it) onto *stack*, last first."""
    for child in reversed(el):
        if child.tail and not muted:
            stack.append(child.tail)
        if isinstance(child.tag, str):  # not a comment or processing instruction
            stack.append((child, muted))
    if el.text and not muted:
        stack.append(el.text)


def resolve(base: str, href: str | None) -> str | None:
    """*href* made absolute against *base*; None for empty, fragment-only and non-web links."""
    if href is None:
        return None
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    origin = _origin(base) if href[0] == "/" and _PLAIN_PATH.fullmatch(href) else None
    if origin:  # the usual "/path/page.htm": what urljoin gives, without its two splits
        return origin + href
    absolute = urljoin(base, href)
    # urljoin gives the scheme first, as urlsplit would read it (any case): no second split needed
    return absolute if absolute.partition(":")[0].lower() in ("http", "https") else None


#: A path from the host's root that urljoin keeps as it is: no second slash at its start (a host),
#: no dot segment, query, fragment or parameters (which it may rewrite), printable ASCII only.
_PLAIN_PATH = re.compile(r"(?!.*(?:/\.|[?#;]))/(?!/)[!-~]*")


@lru_cache(maxsize=64)
def _origin(base: str) -> str | None:
    """``scheme://host`` of an http(s) *base*, as urljoin writes it; None for any other base."""
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


@lru_cache(maxsize=1024)
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


def attribute(el: HtmlElement | None, name: str) -> str | None:
    """*el*'s attribute *name* as one string (a list such as ``class`` with single spaces), None
    when absent or blank."""
    if el is None:
        return None
    value = el.get(name)
    if value is None:
        return None
    if name in _LISTS["*"] or name in _LISTS.get(el.tag, ()):
        value = " ".join(value.split())
    return value.strip() or None


def machine_date(el: HtmlElement | None) -> str | None:
    """The machine-readable date that *el* is or contains: ``<time datetime>``, an element with
    ``itemprop="datePublished"`` (or startDate, dateCreated: its ``content`` or ``datetime``), ``<data value>`` or ``<abbr title>``
    holding an ISO date."""
    if el is None:
        return None
    for candidate in [el, *islice(el.iterdescendants("time", "meta", "data", "abbr"), 50)]:
        names = _DATE_ATTRIBUTES.get(candidate.tag, ())
        itemprop = candidate.get("itemprop")
        if itemprop is not None and not _DATE_PROPERTY_SET.isdisjoint(itemprop.split()):
            names = ("content", "datetime", *names)
        for name in names:
            value = attribute(candidate, name)
            if value and ISO_DATE.fullmatch(value):
                return value
    return None


#: The attribute that holds an element's machine-readable date, by element.
_DATE_ATTRIBUTES = {"time": ("datetime",), "data": ("value",), "abbr": ("title",)}
_DATE_PROPERTY_SET = frozenset(DATE_PROPERTIES)
