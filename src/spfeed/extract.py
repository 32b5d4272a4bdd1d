"""Find the listing's entries in a page: HTML text + selectors -> raw items. Pure; no network.

Reads the page with lxml.html and its selectors with cssselect (see :mod:`spfeed.css`), both
imported on first use, which the cheap path of an unchanged page never reaches.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from spfeed.config import Config, Selectors, Source
from spfeed.encoding import decode_html  # noqa: F401 - where the pipeline and older callers find it
from spfeed.errors import ConfigError, printable
from spfeed.html import (ISO_DATE, attribute, bad_attribute, descendants, has_attr, machine_date, parse, resolve,
                         select, select_one, split_attribute, text_of)
from spfeed.model import Listing, RawItem

if TYPE_CHECKING:
    from lxml.html import HtmlElement
    from collections.abc import Callable

    #: What finds a field's element in a block: ``(block, selector) -> (element, attribute name)``.
    Picker = Callable[[HtmlElement, str | None], tuple[HtmlElement | None, str | None]]


# -- extraction ----------------------------------------------------------------------------------

#: The keys whose selector may end in ``@name`` to read an attribute ("item" may not: it finds blocks).
ATTRIBUTE_KEYS = ("title", "link", "label", "date", "summary", "next")


def page_base(root: HtmlElement, url: str, configured: str | None) -> str:
    """What relative links resolve against: the configured base_url, else <base href>, else (for a
    saved page) the canonical link, else the URL the page was read from."""
    if configured:
        return configured
    base = next((el for el in root.iter("base") if has_attr(el, "href")), None)
    if base is not None and base.get("href").strip():
        return urljoin(url, base.get("href").strip())
    if urlsplit(url).scheme == "file":
        canonical = next((el for el in root.iter("link") if has_attr(el, "href")
                          and "canonical" in (el.get("rel") or "").split()), None)
        if canonical is not None and urlsplit(canonical.get("href").strip()).scheme in ("http", "https"):
            return canonical.get("href").strip()
    return url


def _pick(block: HtmlElement, selector: str | None,
          first: Callable[[HtmlElement, str], HtmlElement | None] = select_one) -> tuple[HtmlElement | None, str | None]:
    """(element, attribute name) a field's selector points at in *block*; ``"@name"`` is the block
    itself. *first* finds the CSS part's first element in the block."""
    if not selector:
        return None, None
    css, name = split_attribute(selector)
    return (first(block, css) if css else block), name


class _Fields:
    """What each field's selector points at in each of a page's blocks, found for all the blocks at
    once (:func:`spfeed.css.first_in_each`): one query per selector instead of one per block. The
    blocks are read in order, each forgotten once read (:meth:`done`), so that a long page's
    elements are let go as its items are made."""

    def __init__(self, blocks: list[HtmlElement]) -> None:
        self._blocks = blocks
        self._found: dict[str, list[HtmlElement | None]] = {}
        self._at = 0  #: the block being read

    def pick(self, block: HtmlElement, selector: str | None) -> tuple[HtmlElement | None, str | None]:
        """As :func:`_pick`, for the block being read (*block*)."""
        return _pick(block, selector, self._first)

    def _first(self, block: HtmlElement, css: str) -> HtmlElement | None:
        from spfeed.css import first_in_each

        found = self._found.get(css)
        if found is None:
            found = self._found[css] = first_in_each(css, self._blocks)
        return found[self._at]

    def done(self) -> None:
        """The block being read is read: on to the next."""
        for found in self._found.values():
            found[self._at] = None
        self._at += 1


def _read(el: HtmlElement | None, name: str | None) -> str | None:
    return attribute(el, name) if name else text_of(el)


def _link(block: HtmlElement, selectors: Selectors, title_el: HtmlElement | None,
          pick: Picker = _pick) -> tuple[HtmlElement | None, str | None]:
    """(link element, its raw href): the link selector's element (or the first link inside it, or
    its ``@attribute``); by default the title's link, else the block's first link."""
    if selectors.link:
        el, name = pick(block, selectors.link)
        if name:
            return el, attribute(el, name)
    else:
        el = title_el if title_el is not None else block
    if el is not None and not (el.tag == "a" and has_attr(el, "href")):
        el = next((a for a in descendants(el, "a") if has_attr(a, "href")), None)
    return el, (el.get("href") if el is not None else None)


def _date(block: HtmlElement, selector: str | None, pick: Picker = _pick) -> tuple[str | None, str | None]:
    """(date_text, date_value) of a block: the visible text, and the machine-readable date the
    element is or holds. ``@name`` reads an attribute: an ISO date goes to date_value (the visible
    text stays date_text), anything else to date_text; without the attribute, the visible text."""
    el, name = pick(block, selector)
    if el is None:
        return None, None
    if name:
        value = attribute(el, name)
        if value is None:
            return text_of(el), None  # "time@datetime" on an element without one: its visible text
        if ISO_DATE.fullmatch(value):
            return text_of(el), value.strip()
        return value, None
    return text_of(el), machine_date(el)


def _item(position: int, block: HtmlElement, selectors: Selectors, base: str,
          pick: Picker = _pick) -> tuple[RawItem, dict[str, bool]]:
    """One block's raw item, and which fields its selectors found an element for."""
    title_el, title_attr = pick(block, selectors.title)
    link_el, href = _link(block, selectors, title_el, pick)
    title = _read(title_el, title_attr) if selectors.title else text_of(link_el)
    date_text, date_value = _date(block, selectors.date, pick)
    item = RawItem(
        position=position,
        title=title,
        link=resolve(base, href),
        label=_read(*pick(block, selectors.label)),
        date_text=date_text,
        summary=_read(*pick(block, selectors.summary)),
        date_value=date_value,
    )
    found = {"title": item.title is not None, "link": link_el is not None, "label": item.label is not None,
             "date": date_text is not None or date_value is not None, "summary": item.summary is not None}
    return item, found


def _enrich(items: list[RawItem], entries: dict) -> list[RawItem]:
    """*items* with the fields their selectors left empty filled from the page's structured data,
    matched by link; RawItem.from_structured names what was filled."""
    if not entries:
        return items
    enriched = []
    for item in items:
        entry = entries.get(item.link) if item.link else None
        if entry is None:
            enriched.append(item)
            continue
        filled = {name: value for name, value in entry.fields().items() if value and getattr(item, name) is None}
        enriched.append(replace(item, **filled, from_structured=tuple(filled)) if filled else item)
    return enriched


def _json_ld_items(blocks: list[HtmlElement], base: str) -> list[RawItem]:
    """The items a listing of JSON-LD ``<script>`` blocks describes."""
    from spfeed.structured import json_ld_entries

    return [RawItem(position=i, title=e.title, link=e.link, label=e.label, summary=e.summary, date_value=e.date,
                    from_structured=tuple(name for name, value in e.fields().items() if value))
            for i, e in enumerate(json_ld_entries(blocks, base))]


def find_selectors(root: HtmlElement, base: str) -> Selectors | None:
    """Selectors that read the page's listing when none are known: by its microdata or its shape
    (see :mod:`spfeed.detect`), else its JSON-LD (when the page shows no listing in its markup)."""
    from spfeed.detect import detect
    from spfeed.structured import JSON_LD, json_ld_entries

    found = detect(root, base)
    if found is None and any(e.title for e in json_ld_entries(select(root, JSON_LD), base)):
        found = Selectors(item=JSON_LD)
    return found


def read_listing(text: str | bytes, url: str, selectors: Selectors, base_url: str | None = None,
                 detect: bool = False) -> tuple[Listing, Selectors]:
    """The listing of the page *text* read from *url*, and the selectors that read it. *text* may
    be the text in UTF-8 (see :func:`spfeed.html.parse`).

    Every block matching ``selectors.item``, in page order. When it matches nothing (or is empty)
    and *detect* is set, :func:`find_selectors` finds the listing; with an empty item selector, the
    other given selectors replace the detected ones. ``Listing.detected_as`` then names the blocks.
    Fields the selectors leave empty are filled from the page's structured data, by link.
    """
    from spfeed.structured import page_entries

    root = parse(text)
    base = page_base(root, url, base_url)
    html = next(root.iter("html"), None)
    lang = html.get("lang") if html is not None else None
    lang = lang.strip() if isinstance(lang, str) and lang.strip() else None
    blocks = select(root, selectors.item) if selectors.item else []
    used, detected_as = selectors, None
    if not blocks and (detect or not selectors.item):
        found = find_selectors(root, base)
        if found is not None:
            if not selectors.item:
                given = {k: v for k, v in vars(selectors).items() if v is not None and k != "item"}
                found = replace(found, **given)
            used, detected_as = found, found.item
            blocks = select(root, found.item)
    counts = dict.fromkeys(("title", "link", "label", "date", "summary"), 0)
    if blocks and all(b.tag == "script" and (b.get("type") or "").strip() == "application/ld+json" for b in blocks):
        items = _json_ld_items(blocks, base)
        for item in items:
            for key, value in (("title", item.title), ("link", item.link), ("label", item.label),
                               ("date", item.date_value), ("summary", item.summary)):
                counts[key] += value is not None
    else:
        items = []
        fields = _Fields(blocks)
        for position, block in enumerate(blocks):
            item, found_fields = _item(position, block, used, base, fields.pick)
            fields.done()
            for key in counts:
                counts[key] += found_fields[key]
            items.append(item)
        items = _enrich(items, page_entries(root, base))
    next_el, next_attr = _pick(root, used.next) if used.next else (None, None)
    if next_attr:
        next_url = resolve(base, attribute(next_el, next_attr))
    else:
        next_url = resolve(base, next_el.get("href")) if next_el is not None else None
    report = (("item", len(blocks)),) + tuple(
        (key, counts[key]) for key in counts if getattr(used, key) is not None or key in ("title", "link")
    )
    if detected_as and selectors.item and blocks:
        report = (("item", 0),) + report[1:]  # the configured selector found nothing
    listing = Listing(items=tuple(items), base_url=base, lang=lang, next_url=next_url,
                      selector_report=report, detected_as=printable(detected_as, 120) if detected_as and items else None)
    return listing, used


def extract(text: str | bytes, url: str, selectors: Selectors, base_url: str | None = None, detect: bool = False) -> Listing:
    """Every block matching ``selectors.item`` in the page *text* read from *url*, in page order.

    When the item selector matches nothing and *detect* is set, generic detection (see
    :mod:`spfeed.detect`) looks for the listing by its shape instead; ``Listing.detected_as`` says so.
    """
    return read_listing(text, url, selectors, base_url, detect)[0]


def check_selectors(config: Config) -> None:
    """Compile every configured selector once; a bad one is a ConfigError naming its key."""
    for source in config.sources:
        check_source_selectors(source, str(config.path))


def check_source_selectors(source: Source, where: str) -> None:
    """Compile *source*'s selectors; a bad one is a ConfigError naming *where* and its key.

    A selector other than ``item`` may end in ``@name`` to read that attribute (``time@datetime``,
    ``a@data-href``; ``@data-href`` alone is the block's own); the name must be an attribute name.
    An empty item selector means "none given" (`check` and `init` on a new page).
    """
    from spfeed.css import compile, message

    for key, selector in vars(source.selectors).items():
        if selector is None or (key == "item" and selector == ""):
            continue
        css, name = split_attribute(selector)
        if name is not None:
            if key not in ATTRIBUTE_KEYS:
                raise ConfigError(f"{where}: {source.key}.selectors.{key}: {selector!r}: the {key} selector finds "
                                  "elements and cannot read an attribute (@name is for the other keys)")
            if bad_attribute(name):
                raise ConfigError(f"{where}: {source.key}.selectors.{key}: {selector!r}: {name!r} after @ is not "
                                  "an attribute name (expected e.g. time@datetime or a@data-href)")
            if not css and key == "next":
                raise ConfigError(f"{where}: {source.key}.selectors.next: {selector!r}: expected CSS before @{name}")
            if not css:
                continue
        try:
            compile(css)
        except Exception as e:  # cssselect's SelectorError (ExpressionError: unsupported), and others for odd input
            raise ConfigError(
                f"{where}: {source.key}.selectors.{key}: invalid CSS selector {selector!r}: {message(e)}") from None
