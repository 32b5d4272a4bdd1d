"""Generic detection of a listing's entries, for when the configured selectors find nothing.

The idea: a listing is a run of sibling blocks of the same shape, each with one short date line
and a link. Every short element whose text reads as a date is taken up to the largest ancestor
that holds no other date; those blocks are grouped by parent and shape, and the largest group
wins. Within a block, the title is its heading (or its most wordy link), the summary its longest
other text, the label an element whose class says so. Pure: soup in, raw items out.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING

from spfeed.dates import parse_date_line
from spfeed.extract import resolve, text_of
from spfeed.model import RawItem

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag

_SKIP = ("nav", "header", "footer", "script", "style", "noscript", "form", "template", "select", "button")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_DATE_HOLDERS = ("time", "p", "span", "div", "li", "small", "em", "i", "b", "strong", "dd", "td", "h6", "address")
_MAX_DATE_LINE = 80  # a date line is short; a paragraph that mentions a date is not one
_MORE = re.compile(  # the whole text of a "read more" link, in English, French or Spanish
    r"\s*(?:(?:(?:read|see|view|learn|find out)\s+)?(?:more|the full story|full story|details?)|en savoir plus"
    r"|lire la suite|(?:lire|voir) plus|plus|leer más|ver más|más|seguir leyendo|[›»→>]+)\s*[›»→>.…]*\s*",
    re.IGNORECASE,
)
_LABEL_CLASS = re.compile(r"label|categor|kicker|eyebrow|tag|type|topic", re.IGNORECASE)
_CREDIT = re.compile(r"^\s*(©|\(c\)|photo:|credit:)", re.IGNORECASE)
_NEXT_TEXT = re.compile(r"^\s*(next|suivant|siguiente|older|more news|›|»|>)\s*[›»>]?\s*$", re.IGNORECASE)


def detect(soup: BeautifulSoup, base: str) -> tuple[list[RawItem], str | None, str | None]:
    """(items, a CSS selector describing their blocks, the next page's URL) found by shape alone.

    Removes the page's navigation, scripts and site header/footer from *soup* as it goes.
    """
    for tag in soup.find_all(_SKIP):
        if tag.name not in ("header", "footer") or tag.find_parent(("article", "li")) is None:
            tag.decompose()
    order = {id(el): i for i, el in enumerate(soup.find_all(True))}
    next_url = _next_link(soup, base)
    dates = [el for el in soup.find_all(_DATE_HOLDERS) if _is_date_line(el)]
    inside: dict[int, int] = defaultdict(int)  # element -> how many date lines it contains
    for el in dates:
        for ancestor in el.parents:
            inside[id(ancestor)] += 1
    # For each date line, the chain of elements from it up to the widest one holding no other date:
    # any of them may be the entry's block. The shape found in most chains (with a link inside)
    # is the listing's; among equals, the outermost.
    chains = [(el, _chain(el, inside)) for el in dates]
    votes: dict[tuple, list[int]] = defaultdict(list)
    for _, chain in chains:
        seen = set()
        for height, el in enumerate(chain):
            shape = _shape(el)
            if shape not in seen and _has_link(el):
                seen.add(shape)
                votes[shape].append(height)
    if not votes:
        return [], None, next_url
    shape = max(votes, key=lambda s: (len(votes[s]), sum(votes[s]) / len(votes[s])))
    if len(votes[shape]) < 2:
        return [], None, next_url
    blocks: dict[int, tuple[Tag, Tag | None]] = {}
    for el, chain in chains:
        block = next((b for b in reversed(chain) if _shape(b) == shape), None)
        if block is not None and _has_link(block):
            blocks.setdefault(id(block), (block, el))
    # Entries without a date line: siblings of the same shape, with a link, in the same lists.
    for block, _ in list(blocks.values()):
        for sibling in block.parent.find_all(block.name, recursive=False):
            if _shape(sibling) == shape and _has_link(sibling):
                blocks.setdefault(id(sibling), (sibling, None))
    members = sorted(blocks.values(), key=lambda m: order[id(m[0])])
    items = [_item(position, block, date_el, base) for position, (block, date_el) in enumerate(members)]
    return items, _selector(shape), next_url


def _chain(el: Tag, inside: dict[int, int]) -> list[Tag]:
    """*el* and its ancestors up to the widest one that contains no other date line."""
    chain = [el]
    while (chain[-1].parent is not None and chain[-1].parent.name not in ("body", "html", "[document]")
           and inside[id(chain[-1].parent)] == 1):
        chain.append(chain[-1].parent)
    return chain


def _has_link(el: Tag) -> bool:
    return (el.name == "a" and el.has_attr("href")) or el.find("a", href=True) is not None


def _is_date_line(el: Tag) -> bool:
    """A short element whose own text is a date line (and that holds no smaller one)."""
    if el.name != "time" and el.find(_DATE_HOLDERS) is not None:
        return False
    text = text_of(el)
    if not text or len(text) > _MAX_DATE_LINE:
        return False
    return parse_date_line(text).day is not None


def _shape(block: Tag) -> tuple:
    classes = tuple(sorted(c for c in block.get("class", []) if not re.search(r"\d", c)))
    return (block.name, classes)


def _selector(shape: tuple) -> str:
    name, classes = shape
    return name + "".join(f".{c}" for c in classes)


def _title_link(block: Tag) -> tuple[Tag | None, Tag | None]:
    """(title element, link element): the heading and its link, else the link with the most words."""
    for heading in block.find_all(_HEADINGS):
        link = heading.find("a", href=True) or heading.find_parent("a", href=True)
        if text_of(heading):
            return heading, link or _best_link(block)
    link = _best_link(block)
    return link, link


def _best_link(block: Tag) -> Tag | None:
    candidates = []
    links = [block] if block.name == "a" and block.has_attr("href") else []
    for a in links + block.find_all("a", href=True):
        text = text_of(a) or ""
        if not text or _MORE.fullmatch(text) or _CREDIT.search(text):
            continue
        candidates.append((len(text.split()), a))
    if candidates:
        return max(candidates, key=lambda c: c[0])[1]
    return block.find("a", href=True)


def _item(position: int, block: Tag, date_el: Tag | None, base: str) -> RawItem:
    title_el, link_el = _title_link(block)
    title = text_of(title_el)
    date_text = text_of(date_el)
    label = None
    for el in block.find_all(class_=_LABEL_CLASS):
        text = text_of(el)
        if text and text != title and text != date_text and len(text) <= 80 and not _CREDIT.search(text):
            label = text
            break
    summary = None
    for el in block.find_all(("p", "div")):
        if el.find(("p", "div")) is not None or el.find_parent(("a",) + _HEADINGS) is not None:
            continue
        text = text_of(el)
        if (text and len(text) >= 20 and not _CREDIT.search(text) and not _MORE.fullmatch(text)
                and text not in (title, label) and len(text.replace(date_text or "\0", "")) >= 20
                and (summary is None or len(text) > len(summary))):
            summary = text
    return RawItem(
        position=position,
        title=title,
        link=resolve(base, link_el.get("href")) if link_el is not None else None,
        label=label,
        date_text=date_text,
        summary=summary,
    )


def _next_link(soup: BeautifulSoup, base: str) -> str | None:
    link = soup.find(["a", "link"], rel="next", href=True)
    if link is None:
        link = next((a for a in soup.find_all("a", href=True) if _NEXT_TEXT.match(text_of(a) or "")), None)
    return resolve(base, link.get("href")) if link is not None else None
