"""Generic detection of a listing, for when no configured selector matches: its result is selectors.

The idea: a listing is a run of sibling blocks of the same shape, each with one short date line
(or a ``<time datetime>``) and a link. Every date line is taken up to the largest ancestor that
holds no other date; those blocks are grouped by shape, and the largest group wins. Within a
block, the title is its heading (or its most wordy link), the summary its longest other text, the
label an element whose class says so. Blocks that are schema.org microdata scopes come first.

Detection then says what it found as CSS selectors (item, and title/link/date/label/summary
relative to the block), chosen by vote over the blocks, so that extraction with them gives the
listing: what `check` shows and `init` writes is exactly what `update` publishes.

Linear in the page's size: one pass in document order computes what each element holds (date
lines, links), bottom-up; nothing walks the tree recursively. Pure: soup in, selectors out.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from spfeed.config import Selectors
from spfeed.dates import parse_date_line
from spfeed.html import ISO_DATE, attribute, resolve, text_of

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag

_SKIP = frozenset(("nav", "header", "footer", "script", "style", "noscript", "form", "template", "select", "button"))
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_DATE_HOLDERS = frozenset(
    ("time", "p", "span", "div", "li", "small", "em", "i", "b", "strong", "dd", "td", "h6", "address"))
_MAX_DATE_LINE = 80  # a date line is short; a paragraph that mentions a date is not one
_MORE = re.compile(  # the whole text of a "read more" link, in English, French or Spanish
    r"\s*(?:(?:(?:read|see|view|learn|find out)\s+)?(?:more|the full story|full story|details?)|en savoir plus"
    r"|lire la suite|(?:lire|voir) plus|plus|leer más|ver más|más|seguir leyendo|[›»→>]+)\s*[›»→>.…]*\s*",
    re.IGNORECASE,
)
_LABEL_CLASS = re.compile(r"label|categor|kicker|eyebrow|tag|type|topic", re.IGNORECASE)
_CREDIT = re.compile(r"^\s*(©|\(c\)|photo:|credit:)", re.IGNORECASE)
_NEXT_TEXT = re.compile(r"^\s*(next|suivant|siguiente|older|more news|›|»|>)\s*[›»>]?\s*$", re.IGNORECASE)
_SAMPLE = 24  # blocks that propose and vote on the field selectors
#: Attributes that make an element a link when scripts follow them (cards without an <a>).
LINK_ATTRIBUTES = ("data-href", "data-url", "data-link")
# Date lines today's date reader may not read but that are dates all the same: numeric dates in
# either order, a day and a month without a year, and relative dates ("2 days ago", "hier", "ayer").
_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,2})[./-](\d{1,2})[./-](\d{4})(?!\d)")
_DAY_MONTH = re.compile(r"(?<![\w])(\d{1,2})(?:er|st|nd|rd|th)?\.?\s+(?:de\s+)?([^\W\d_]{3,})\.?|([^\W\d_]{3,})\.?\s+(\d{1,2})(?!\d)")
_RELATIVE = re.compile(
    r"^\s*(?:yesterday|today|just now|hier|aujourd'hui|ayer|hoy|(?:an?|one|\d+)\s+(?:minute|hour|day|week|month|year)s?\s+ago"
    r"|il\s+y\s+a\s+\d+\s+\w+|hace\s+\d+\s+\w+|last\s+(?:week|month))\s*$",
    re.IGNORECASE,
)
_ROOTS = ("body", "html", "[document]")


class _Index:
    """The page's elements in document order with what each holds, computed in one pass each way."""

    def __init__(self, soup: BeautifulSoup) -> None:
        self.elements: list[Tag] = soup.find_all(True)
        self.at = {id(el): i for i, el in enumerate(self.elements)}
        self.parent = [self.at.get(id(el.parent), -1) for el in self.elements]
        n = len(self.elements)
        # Top-down: an element is skipped inside navigation, scripts, forms and the site's header and
        # footer (a header or footer inside an article or li is the entry's own).
        self.skipped = [False] * n
        in_entry = [False] * n
        for i, el in enumerate(self.elements):
            p = self.parent[i]
            inside = p >= 0 and in_entry[p]
            self.skipped[i] = (p >= 0 and self.skipped[p]) or (
                el.name in _SKIP and not (el.name in ("header", "footer") and inside))
            in_entry[i] = inside or el.name in ("article", "li")
        # Bottom-up: whether an element holds a link, or a possible date line.
        self.links = [is_link(el) for el in self.elements]
        self.holders = [False] * n
        for i in range(n - 1, -1, -1):
            p = self.parent[i]
            if p >= 0:
                self.links[p] = self.links[p] or self.links[i]
                self.holders[p] = self.holders[p] or self.holders[i] or self.elements[i].name in _DATE_HOLDERS

    def has_link(self, el: Tag) -> bool:
        return self.links[self.at[id(el)]]


def is_link(el: Tag) -> bool:
    """An <a href>, or an element that scripts follow (``data-href`` and the like)."""
    return (el.name == "a" and el.has_attr("href")) or any(el.has_attr(a) for a in LINK_ATTRIBUTES)


def link_attribute(el: Tag) -> str | None:
    """The attribute that holds *el*'s link, if it is one."""
    if el.name == "a" and el.has_attr("href"):
        return "href"
    return next((a for a in LINK_ATTRIBUTES if el.has_attr(a)), None)


def looks_like_date(text: str) -> bool:
    """Whether a short line reads as a date, or as one the date reader may not read (see above)."""
    from spfeed.dates import month_number

    if parse_date_line(text).day is not None or _RELATIVE.match(text):
        return True
    m = _NUMERIC_DATE.search(text)
    if m and (int(m.group(1)) <= 12 or int(m.group(2)) <= 12) and max(int(m.group(1)), int(m.group(2))) <= 31:
        return True
    for m in _DAY_MONTH.finditer(text):
        day, month = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        if month_number(month) and 1 <= int(day) <= 31:
            return True
    return False


def detect(soup: BeautifulSoup, base: str) -> Selectors | None:
    """Selectors that read the page's listing, found by its microdata or by its shape; None when
    the page shows no repeated blocks with a link and a date. *soup* is not changed."""
    index = _Index(soup)
    blocks = _microdata_blocks(index) or _shape_blocks(index)
    if not blocks:
        return None
    item = _item_selector(soup, index, blocks)
    if item is None:
        return None
    blocks = soup.select(item)
    return Selectors(item=item, **_field_selectors(blocks, index, base), next=_next_selector(soup, index, base))


# -- the blocks ----------------------------------------------------------------------------------


def _microdata_blocks(index: _Index) -> list[Tag]:
    """The largest group of same-shaped schema.org entry scopes with a link, if there are two."""
    from spfeed.structured import is_entry_scope

    groups: dict[tuple, list[Tag]] = defaultdict(list)
    for i, el in enumerate(index.elements):
        if not index.skipped[i] and el.has_attr("itemscope") and is_entry_scope(el):
            groups[(_shape(el), attribute(el, "itemtype"))].append(el)
    best = max(groups.values(), key=len, default=[])
    return best if len(best) >= 2 else []


def _is_date_line(index: _Index, i: int) -> bool:
    """A short element whose own text is a date line (and that holds no smaller one), or a <time>
    with a machine-readable date whatever its text ("Yesterday")."""
    el = index.elements[i]
    if el.name not in _DATE_HOLDERS or index.skipped[i]:
        return False
    if el.name == "time" and ISO_DATE.fullmatch(attribute(el, "datetime") or ""):
        return True
    if el.name != "time" and index.holders[i]:
        return False
    text = text_of(el)
    if not text or len(text) > _MAX_DATE_LINE:
        return False
    return looks_like_date(text)


def _shape_blocks(index: _Index) -> list[Tag]:
    """The entry blocks found by shape, in document order (see the module docstring)."""
    elements, parent = index.elements, index.parent
    dates = [i for i in range(len(elements)) if _is_date_line(index, i)]
    inside = [0] * len(elements)  # how many date lines each element contains
    for i in dates:
        inside[i] = 1
    for i in range(len(elements) - 1, -1, -1):
        if parent[i] >= 0:
            inside[parent[i]] += inside[i]
    # For each date line, the chain of elements from it up to the widest one holding no other date:
    # any of them may be the entry's block. The shape found in most chains (with a link inside)
    # is the listing's; among equals, the outermost. Chains share no element: linear in all.
    chains = []
    for i in dates:
        chain = [i]
        while (parent[chain[-1]] >= 0 and elements[parent[chain[-1]]].name not in _ROOTS
               and inside[parent[chain[-1]]] == 1):
            chain.append(parent[chain[-1]])
        chains.append(chain)
    shapes: dict[int, tuple] = {}
    votes: dict[tuple, list[int]] = defaultdict(list)
    for chain in chains:
        seen = set()
        for height, i in enumerate(chain):
            shape = shapes.setdefault(i, _shape(elements[i]))
            if shape not in seen and index.links[i]:
                seen.add(shape)
                votes[shape].append(height)
    if not votes:
        return []
    shape = max(votes, key=lambda s: (len(votes[s]), sum(votes[s]) / len(votes[s])))
    if len(votes[shape]) < 2:
        return []
    found: set[int] = set()
    for chain in chains:
        block = next((i for i in reversed(chain) if shapes[i] == shape), None)
        if block is not None and index.links[block]:
            found.add(block)
    # Entries without a date line: siblings of the same shape, with a link, in the same lists.
    for p in {parent[i] for i in found}:
        for child in elements[p].find_all(shape[0], recursive=False):
            c = index.at[id(child)]
            if not index.skipped[c] and index.links[c] and _shape(child) == shape:
                found.add(c)
    return [elements[i] for i in sorted(found)]


def _shape(block: Tag) -> tuple:
    classes = tuple(sorted(c for c in block.get("class", []) if not re.search(r"\d", c)))
    return (block.name, classes)


def _simple(el: Tag) -> str:
    """A CSS selector for *el*'s shape: its name and classes (those without digits)."""
    name, classes = _shape(el)
    return name + "".join(f".{_css_ident(c)}" for c in classes)


def _css_ident(name: str) -> str:
    return re.sub(r"([^A-Za-z0-9_-])", r"\\\1", name)


def _item_selector(soup: BeautifulSoup, index: _Index, blocks: list[Tag]) -> str | None:
    """The simplest selector that matches exactly *blocks* on the page, trying the blocks' shape,
    then with their parent's shape, an ancestor's id, and requiring a link."""
    from spfeed.structured import is_entry_scope

    wanted = [id(b) for b in blocks]
    first = blocks[0]
    own = _simple(first)
    if is_entry_scope(first):
        own = f'{own}[itemtype="{attribute(first, "itemtype")}"]'
    context = []
    parents = {_simple(b.parent) for b in blocks if b.parent is not None}
    if len(parents) == 1 and first.parent is not None and first.parent.name not in _ROOTS:
        context.append(f"{parents.pop()} > ")
    ancestor = next((a for a in first.parents if a.get("id") and a.name not in _ROOTS), None)
    if ancestor is not None and all(ancestor in b.parents for b in blocks):
        context.append(f"#{_css_ident(ancestor['id'])} ")
    context.append(" ".join(_simple(a) for a in reversed(list(first.parents)[:3]) if a.name not in _ROOTS) + " ")
    candidates = [own] + [c + own for c in context]
    candidates += [c + ":has(a[href])" for c in candidates]
    for candidate in candidates:
        if [id(el) for el in soup.select(candidate)] == wanted:
            return candidate
    return None


# -- the fields ----------------------------------------------------------------------------------


def _title_link(block: Tag) -> tuple[Tag | None, Tag | None]:
    """(title element, link element): the heading and its link, else the link with the most words."""
    for heading in block.find_all(_HEADINGS):
        link = heading.find(is_link) or heading.find_parent(is_link)
        if text_of(heading):
            return heading, link or _best_link(block)
    link = _best_link(block)
    return link, link


def _best_link(block: Tag) -> Tag | None:
    candidates = []
    links = [block] if is_link(block) else []
    for a in links + block.find_all(is_link):
        text = text_of(a) or ""
        if a is not block and (not text or _MORE.fullmatch(text) or _CREDIT.search(text)):
            continue
        candidates.append((len(text.split()) if a is not block else 0, a))
    if candidates:
        return max(candidates, key=lambda c: c[0])[1]
    return links[0] if links else block.find(is_link)


def _date_element(block: Tag, index: _Index) -> Tag | None:
    for el in [block, *block.find_all(_DATE_HOLDERS)]:
        if _is_date_line(index, index.at[id(el)]):
            return el
    return None


def _label(block: Tag, title: str | None, date_text: str | None) -> Tag | None:
    for el in block.find_all(class_=_LABEL_CLASS):
        text = text_of(el)
        if text and text != title and text != date_text and len(text) <= 80 and not _CREDIT.search(text):
            return el
    return None


def _summary(block: Tag, title: str | None, label: str | None, date_text: str | None) -> Tag | None:
    best, best_text = None, None
    for el in block.find_all(("p", "div")):
        if el.find(("p", "div")) is not None or el.find_parent(("a",) + _HEADINGS) is not None:
            continue
        text = text_of(el)
        if (text and len(text) >= 20 and not _CREDIT.search(text) and not _MORE.fullmatch(text)
                and text not in (title, label) and len(text.replace(date_text or "\0", "")) >= 20
                and (best_text is None or len(text) > len(best_text))):
            best, best_text = el, text
    return best


def _candidates(el: Tag, block: Tag) -> list[str]:
    """Selectors that may find *el* inside *block*, simplest first: its shape, one of its classes,
    its name, then each of those under the shape of one of its ancestors within the block."""
    if el is block:
        return [""]
    name, classes = _shape(el)
    own = [_simple(el)] + [f"{name}.{_css_ident(c)}" for c in classes] + [f".{_css_ident(c)}" for c in classes]
    own.append(name)
    if el.parent is not None:  # its place among its siblings of the same name, from either end
        same = el.parent.find_all(name, recursive=False)
        if len(same) > 1:
            place = next(k for k, s in enumerate(same) if s is el)
            own += [f"{name}:nth-of-type({place + 1})", f"{name}:nth-last-of-type({len(same) - place})"]
    found = list(dict.fromkeys(own))
    ancestor = el.parent
    for _ in range(3):
        if ancestor is None or ancestor is block:
            break
        found += [f"{_simple(ancestor)} {o}" for o in own] + [f"{_simple(ancestor)} > {o}" for o in own]
        ancestor = ancestor.parent
    return list(dict.fromkeys(found))


def _pick(block: Tag, css: str) -> Tag | None:
    return block if css == "" else block.select_one(css)


def _vote(blocks: list[Tag], wanted: list[Tag | None], value: Callable[[Tag | None], object],
          cover: bool = False) -> str | None:
    """The candidate selector that gives the value detection wants in the most of *blocks* (the
    simplest among equals); None when no candidate gives it in any block. With *cover*, blocks
    where detection found nothing do not count, and among equals the one that finds most wins
    (dates detection could not read are still the entry's date line)."""
    goal = [value(el) for el in wanted]
    if all(g is None for g in goal):
        return None
    proposals: list[str] = []
    for block, el in zip(blocks, wanted):
        if el is not None:
            proposals += _candidates(el, block)
    best, best_score = None, (0, 0)
    for css in dict.fromkeys(proposals):
        got = [value(_pick(block, css)) for block in blocks]
        agree = sum(1 for g, want in zip(got, goal) if g == want and (want is not None or not cover))
        score = (agree, sum(1 for g in got if g is not None) if cover else 0)
        if score > best_score:
            best, best_score = css, score
    return best


def _sample(blocks: list[Tag]) -> list[Tag]:
    """At most _SAMPLE blocks spread over the listing: they choose the field selectors, so that
    choosing costs the same for 20 blocks and for 2,000."""
    if len(blocks) <= _SAMPLE:
        return blocks
    step = len(blocks) / _SAMPLE
    return [blocks[int(k * step)] for k in range(_SAMPLE)]


def _field_selectors(blocks: list[Tag], index: _Index, base: str) -> dict[str, str | None]:
    """title, link, date, label and summary selectors, relative to the block, that give what the
    heuristics of this module find in most blocks."""
    from spfeed.structured import is_entry_scope

    if is_entry_scope(blocks[0]):
        return _microdata_selectors(blocks, base)
    blocks = _sample(blocks)
    pairs = [_title_link(b) for b in blocks]
    titles = [t for t, _ in pairs]
    links = [link for _, link in pairs]
    dates = [_date_element(b, index) for b in blocks]
    texts = [text_of(t) for t in titles]
    date_texts = [text_of(d) for d in dates]
    labels = [_label(b, t, d) for b, t, d in zip(blocks, texts, date_texts)]
    label_texts = [text_of(el) for el in labels]
    summaries = [_summary(b, t, lab, d) for b, t, lab, d in zip(blocks, texts, label_texts, date_texts)]

    def default_href(el: Tag | None) -> str | None:  # extraction's link without a link selector
        if el is not None and not (el.name == "a" and el.has_attr("href")):
            el = el.find("a", href=True)
        return resolve(base, el.get("href")) if el is not None else None

    def own_href(el: Tag | None) -> str | None:  # the link an element is, else the first inside it
        name = link_attribute(el) if el is not None else None
        return resolve(base, el.get(name)) if name else default_href(el)

    title = _vote(blocks, titles, text_of)
    link = None
    if [default_href(_pick(b, title) if title else None) or default_href(b) for b in blocks] != [
            own_href(el) for el in links]:
        link = _vote(blocks, links, own_href)
        sample = next((_pick(b, link) for b in blocks if link is not None and _pick(b, link) is not None), None)
        name = link_attribute(sample) if sample is not None else None
        if link is not None and (link == "" or (name and name != "href")):
            link += f"@{name or 'href'}"
    if title is not None and link is not None and all(_pick(b, title) is _pick(b, link.split("@")[0])
                                                      for b in blocks):
        title = None  # the link's text is the title, as without a title selector
    date = _vote(blocks, dates, text_of, cover=True)
    if date is not None:
        sample = next((_pick(b, date) for b in blocks if _pick(b, date) is not None), None)
        if sample is not None and sample.name == "time" and ISO_DATE.fullmatch(attribute(sample, "datetime") or ""):
            date += "@datetime"
    return {"title": title, "link": link, "date": date, "label": _vote(blocks, labels, text_of),
            "summary": _vote(blocks, summaries, text_of)}


def _microdata_selectors(blocks: list[Tag], base: str) -> dict[str, str | None]:
    """Selectors for the itemprops of microdata blocks (headline or name, url, datePublished...):
    each a list of the property names any block has, the entry's own properties only."""
    from spfeed.structured import scope_properties

    props = [scope_properties(b) for b in _sample(blocks)]
    # the properties of scopes nested in the entry (its author's name) are not the entry's
    own = ":not(:scope [itemscope] *)" if any(b.find(attrs={"itemscope": True}) for b in blocks) else ""

    def prop(*names: str, suffix: str = "") -> str | None:
        present = [n for n in names if any(n in p for p in props)]
        if not present:
            return None
        elements = [p[n] for p in props for n in present if n in p]
        if suffix == "link":  # an <a href> is read as a link; <link href> and <meta content> by attribute
            suffix = "" if all(e.name == "a" for e in elements) else (
                "@content" if all(e.has_attr("content") for e in elements) else "@href")
        elif suffix == "none":
            suffix = ""
        elif all(e.has_attr("content") for e in elements):
            suffix = "@content"
        return ", ".join(f'[itemprop~="{n}"]{own}' for n in present) + suffix

    return {"title": prop("headline", "name"), "link": prop("url", suffix="link"),
            # no @: a date property's content or datetime is read as the machine-readable date
            "date": prop("datePublished", "startDate", "dateCreated", suffix="none"),
            "label": prop("articleSection", "keywords"), "summary": prop("description")}


# -- date order --------------------------------------------------------------------------------


_SLASHED = re.compile(r"(?<!\d)(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})(?!\d)")


def date_order(date_lines: Iterable[str | None]) -> str | None:
    """The order of the numeric dates in *date_lines* when they show it: "YMD" for 2026/11/28,
    "MDY" when a second number is over 12 (11/28/2026), "DMY" when a first one is; else None."""
    orders = set()
    for line in date_lines:
        for m in _SLASHED.finditer(line or ""):
            a, b, c = (int(g) for g in m.groups())
            if len(m.group(1)) == 4:
                orders.add("YMD")
            elif len(m.group(3)) == 4 and b > 12 >= a:
                orders.add("MDY")
            elif len(m.group(3)) == 4 and a > 12 >= b:
                orders.add("DMY")
    return orders.pop() if len(orders) == 1 else None


# -- pagination ----------------------------------------------------------------------------------


def _next_selector(soup: BeautifulSoup, index: _Index, base: str) -> str | None:
    """A selector for the link to the next page: ``rel=next``, else a link whose whole text says
    "next" (outside the site's header and footer)."""
    for name in ("a", "link"):
        el = soup.find(name, rel="next", href=True)
        if el is not None and resolve(base, el.get("href")):
            return f'{name}[rel~="next"][href]'
    for a in soup.find_all("a", href=True):
        text = text_of(a) or ""
        if not _NEXT_TEXT.match(text) or not resolve(base, a.get("href")):
            continue
        if any(p.name in ("header", "footer") for p in a.parents):
            continue
        css = f'a[href]:-soup-contains-own("{text}")'
        if a.parent is not None and a.parent.name not in _ROOTS:
            css = f"{_simple(a.parent)} > {css}"
        if soup.select_one(css) is a:
            return css
    return None
