"""Find the listing's entries in a page: HTML text + selectors -> raw items. Pure; no network.

Imports BeautifulSoup (and with it the CSS engine) on first use, which the cheap path of an
unchanged page never reaches.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from spfeed.config import Config, Selectors, Source
from spfeed.encoding import decode_html  # noqa: F401 - where the pipeline and older callers find it
from spfeed.errors import ConfigError
from spfeed.model import Listing, RawItem
from spfeed.normalise import clean_text

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag

# Elements whose edges separate words even when the markup has no space between them.
_BLOCK = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 header "
    "hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)
_HIDDEN = frozenset("script style template noscript head title iframe object svg".split())


# -- text ----------------------------------------------------------------------------------------


def text_of(el: Tag | None) -> str | None:
    """The visible text of *el*, with block edges and <br> as spaces, white space collapsed."""
    if el is None:
        return None
    parts: list[str] = []
    _walk(el, parts)
    return clean_text("".join(parts), 100_000)


def _walk(el: Tag, parts: list[str]) -> None:
    from bs4 import Comment, NavigableString, Tag

    for child in el.children:
        if isinstance(child, Tag):
            if child.name in _HIDDEN:
                continue
            block = child.name in _BLOCK
            if block:
                parts.append(" ")
            _walk(child, parts)
            if block:
                parts.append(" ")
        elif isinstance(child, NavigableString) and not isinstance(child, Comment) and type(child) is NavigableString:
            parts.append(str(child))


# -- extraction ----------------------------------------------------------------------------------


def parse(text: str) -> BeautifulSoup:
    from bs4 import BeautifulSoup

    return BeautifulSoup(text, "lxml")


def page_base(soup: BeautifulSoup, url: str, configured: str | None) -> str:
    """What relative links resolve against: the configured base_url, else <base href>, else (for a
    saved page) the canonical link, else the URL the page was read from."""
    if configured:
        return configured
    base = soup.find("base", href=True)
    if base is not None and base["href"].strip():
        return urljoin(url, base["href"].strip())
    if urlsplit(url).scheme == "file":
        canonical = soup.find("link", rel="canonical", href=True)
        if canonical is not None and urlsplit(canonical["href"].strip()).scheme in ("http", "https"):
            return canonical["href"].strip()
    return url


def resolve(base: str, href: str | None) -> str | None:
    """*href* made absolute against *base*; None for empty, fragment-only and non-web links."""
    if href is None:
        return None
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    absolute = urljoin(base, href)
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


def _select_one(block: Tag, selector: str | None) -> Tag | None:
    return block.select_one(selector) if selector else None


def _link_element(block: Tag, selectors: Selectors, title_el: Tag | None) -> Tag | None:
    """The <a href> of the item: the link selector's element (or the first link inside it); by
    default the title's link, else the block's first link."""
    if selectors.link:
        el = block.select_one(selectors.link)
    else:
        el = title_el if title_el is not None else block
    if el is None:
        return None
    if el.name == "a" and el.has_attr("href"):
        return el
    return el.find("a", href=True)


def extract(text: str, url: str, selectors: Selectors, base_url: str | None = None, detect: bool = False) -> Listing:
    """Every block matching ``selectors.item`` in the page *text* read from *url*, in page order.

    When the item selector matches nothing and *detect* is set, generic detection (see
    :mod:`spfeed.detect`) looks for the listing by its shape instead; ``Listing.detected_as`` says so.
    """
    soup = parse(text)
    base = page_base(soup, url, base_url)
    html = soup.find("html")
    lang = html.get("lang") if html is not None else None
    lang = lang.strip() if isinstance(lang, str) and lang.strip() else None
    blocks = soup.select(selectors.item)
    if not blocks and detect:
        from spfeed.detect import detect as by_shape

        found, shape, next_url = by_shape(soup, base)
        return Listing(items=tuple(found), base_url=base, lang=lang, next_url=next_url,
                       selector_report=(("item", 0),), detected_as=shape if found else None)
    counts = dict.fromkeys(("title", "link", "label", "date", "summary"), 0)
    items = []
    for position, block in enumerate(blocks):
        title_el = _select_one(block, selectors.title)
        link_el = _link_element(block, selectors, title_el)
        if selectors.title is None:
            title_el = link_el
        item = RawItem(
            position=position,
            title=text_of(title_el),
            link=resolve(base, link_el.get("href") if link_el is not None else None),
            label=text_of(_select_one(block, selectors.label)),
            date_text=text_of(_select_one(block, selectors.date)),
            summary=text_of(_select_one(block, selectors.summary)),
        )
        found = {"title": item.title, "link": link_el, "label": item.label, "date": item.date_text,
                 "summary": item.summary}
        for key in counts:
            counts[key] += found[key] is not None
        items.append(item)
    next_el = soup.select_one(selectors.next) if selectors.next else None
    report = (("item", len(blocks)),) + tuple(
        (key, counts[key]) for key in counts if getattr(selectors, key) is not None or key in ("title", "link")
    )
    return Listing(
        items=tuple(items),
        base_url=base,
        lang=lang,
        next_url=resolve(base, next_el.get("href")) if next_el is not None else None,
        selector_report=report,
    )


def check_selectors(config: Config) -> None:
    """Compile every configured selector once; a bad one is a ConfigError naming its key."""
    for source in config.sources:
        check_source_selectors(source, str(config.path))


def check_source_selectors(source: Source, where: str) -> None:
    """Compile *source*'s selectors; a bad one is a ConfigError naming *where* and its key."""
    import soupsieve

    for key, selector in vars(source.selectors).items():
        if selector is None:
            continue
        try:
            soupsieve.compile(selector)
        except Exception as e:  # soupsieve raises SelectorSyntaxError, and others for odd input
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ConfigError(f"{where}: {source.key}.selectors.{key}: invalid CSS selector {selector!r}: {first}") from None
