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
lines, links), bottom-up; nothing walks the tree recursively. Pure: the page's tree in, selectors out.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from spfeed.config import Selectors
from spfeed.dates import parse_date_line
from spfeed.html import ISO_DATE, attribute, descendants, has_attr, resolve, select, select_one, text_of

if TYPE_CHECKING:
    from lxml.html import HtmlElement

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

    def __init__(self, root: HtmlElement) -> None:
        from lxml import etree

        self.elements: list[HtmlElement] = list(root.iter(etree.Element))
        # lxml's elements hash by identity, and the list keeps each one's proxy alive.
        self.at: dict[HtmlElement, int] = {el: i for i, el in enumerate(self.elements)}
        self.parent = [self.at.get(el.getparent(), -1) for el in self.elements]
        n = len(self.elements)
        # Top-down: an element is skipped inside navigation, scripts, forms and the site's header and
        # footer (a header or footer inside an article or li is the entry's own).
        self.skipped = [False] * n
        in_entry = [False] * n
        for i, el in enumerate(self.elements):
            p = self.parent[i]
            inside = p >= 0 and in_entry[p]
            self.skipped[i] = (p >= 0 and self.skipped[p]) or (
                el.tag in _SKIP and not (el.tag in ("header", "footer") and inside))
            in_entry[i] = inside or el.tag in ("article", "li")
        # Bottom-up: whether an element holds a link, or a possible date line.
        self.links = [is_link(el) for el in self.elements]
        self.holders = [False] * n
        for i in range(n - 1, -1, -1):
            p = self.parent[i]
            if p >= 0:
                self.links[p] = self.links[p] or self.links[i]
                self.holders[p] = self.holders[p] or self.holders[i] or self.elements[i].tag in _DATE_HOLDERS

    def has_link(self, el: HtmlElement) -> bool:
        return self.links[self.at[el]]


def is_link(el: HtmlElement) -> bool:
    """An <a href>, or an element that scripts follow (``data-href`` and the like)."""
    return (el.tag == "a" and has_attr(el, "href")) or any(has_attr(el, a) for a in LINK_ATTRIBUTES)


def link_attribute(el: HtmlElement) -> str | None:
    """The attribute that holds *el*'s link, if it is one."""
    if el.tag == "a" and has_attr(el, "href"):
        return "href"
    return next((a for a in LINK_ATTRIBUTES if has_attr(el, a)), None)


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


def detect(root: HtmlElement, base: str) -> Selectors | None:
    """Selectors that read the page's listing, found by its microdata or by its shape; None when
    the page shows no repeated blocks with a link and a date. *root* (the page's tree) is not changed."""
    index = _Index(root)
    blocks = _microdata_blocks(index) or _shape_blocks(index)
    if not blocks:
        return None
    item = _item_selector(root, index, blocks)
    if item is None:
        return None
    blocks = select(root, item)
    return Selectors(item=item, **_field_selectors(blocks, index, base), next=_next_selector(root, index, base))


# -- the blocks ----------------------------------------------------------------------------------


def _microdata_blocks(index: _Index) -> list[HtmlElement]:
    """The largest group of same-shaped schema.org entry scopes with a link, if there are two."""
    from spfeed.structured import is_entry_scope

    groups: dict[tuple, list[HtmlElement]] = defaultdict(list)
    for i, el in enumerate(index.elements):
        if not index.skipped[i] and has_attr(el, "itemscope") and is_entry_scope(el):
            groups[(_shape(el), attribute(el, "itemtype"))].append(el)
    best = max(groups.values(), key=len, default=[])
    return best if len(best) >= 2 else []


def _is_date_line(index: _Index, i: int) -> bool:
    """A short element whose own text is a date line (and that holds no smaller one), or a <time>
    with a machine-readable date whatever its text ("Yesterday")."""
    el = index.elements[i]
    if el.tag not in _DATE_HOLDERS or index.skipped[i]:
        return False
    if el.tag == "time" and ISO_DATE.fullmatch(attribute(el, "datetime") or ""):
        return True
    if el.tag != "time" and index.holders[i]:
        return False
    text = text_of(el)
    if not text or len(text) > _MAX_DATE_LINE:
        return False
    return looks_like_date(text)


def _shape_blocks(index: _Index) -> list[HtmlElement]:
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
        while (parent[chain[-1]] >= 0 and elements[parent[chain[-1]]].tag not in _ROOTS
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
        for child in elements[p].iterchildren(shape[0]):
            c = index.at[child]
            if not index.skipped[c] and index.links[c] and _shape(child) == shape:
                found.add(c)
    return [elements[i] for i in sorted(found)]


def _shape(block: HtmlElement) -> tuple:
    classes = tuple(sorted(c for c in (block.get("class") or "").split() if not re.search(r"\d", c)))
    return (block.tag, classes)


def _simple(el: HtmlElement) -> str:
    """A CSS selector for *el*'s shape: its name and classes (those without digits)."""
    name, classes = _shape(el)
    return name + "".join(f".{_css_ident(c)}" for c in classes)


def _css_ident(name: str) -> str:
    return re.sub(r"([^A-Za-z0-9_-])", r"\\\1", name)


def _item_selector(root: HtmlElement, index: _Index, blocks: list[HtmlElement]) -> str | None:
    """The simplest selector that matches exactly *blocks* on the page, trying the blocks' shape,
    then with their parent's shape, an ancestor's id, and requiring a link."""
    from spfeed.structured import is_entry_scope

    first = blocks[0]
    own = _simple(first)
    if is_entry_scope(first):
        own = f'{own}[itemtype="{attribute(first, "itemtype")}"]'
    context = []
    parents = {_simple(b.getparent()) for b in blocks if b.getparent() is not None}
    if len(parents) == 1 and first.getparent() is not None and first.getparent().tag not in _ROOTS:
        context.append(f"{parents.pop()} > ")
    ancestor = next((a for a in first.iterancestors() if a.get("id") and a.tag not in _ROOTS), None)
    if ancestor is not None and all(any(a is ancestor for a in b.iterancestors()) for b in blocks):
        context.append(f"#{_css_ident(ancestor.get('id'))} ")
    context.append(" ".join(_simple(a) for a in reversed(list(first.iterancestors())[:3]) if a.tag not in _ROOTS)
                   + " ")
    candidates = [own] + [c + own for c in context]
    candidates += [c + ":has(a[href])" for c in candidates]
    for candidate in candidates:
        found = select(root, candidate)
        if len(found) == len(blocks) and all(a is b for a, b in zip(found, blocks)):
            return candidate
    return None


# -- the fields ----------------------------------------------------------------------------------


def _title_link(block: HtmlElement) -> tuple[HtmlElement | None, HtmlElement | None]:
    """(title element, link element): the heading and its link, else the link with the most words."""
    for heading in descendants(block, *_HEADINGS):
        link = next((a for a in descendants(heading) if is_link(a)), None)
        if link is None:
            link = next((a for a in heading.iterancestors() if is_link(a)), None)
        if text_of(heading):
            return heading, link if link is not None else _best_link(block)
    link = _best_link(block)
    return link, link


def _best_link(block: HtmlElement) -> HtmlElement | None:
    candidates = []
    links = [block] if is_link(block) else []
    for a in links + [el for el in descendants(block) if is_link(el)]:
        text = text_of(a) or ""
        if a is not block and (not text or _MORE.fullmatch(text) or _CREDIT.search(text)):
            continue
        candidates.append((len(text.split()) if a is not block else 0, a))
    if candidates:
        return max(candidates, key=lambda c: c[0])[1]
    return links[0] if links else next((el for el in descendants(block) if is_link(el)), None)


def _date_element(block: HtmlElement, index: _Index) -> HtmlElement | None:
    for el in [block, *descendants(block, *_DATE_HOLDERS)]:
        if _is_date_line(index, index.at[el]):
            return el
    return None


def _label(block: HtmlElement, title: str | None, date_text: str | None) -> HtmlElement | None:
    for el in (el for el in descendants(block) if _LABEL_CLASS.search(attribute(el, "class") or "")):
        text = text_of(el)
        if text and text != title and text != date_text and len(text) <= 80 and not _CREDIT.search(text):
            return el
    return None


def _summary(block: HtmlElement, title: str | None, label: str | None,
             date_text: str | None) -> HtmlElement | None:
    best, best_text = None, None
    for el in descendants(block, "p", "div"):
        if (next(descendants(el, "p", "div"), None) is not None
                or next(el.iterancestors("a", *_HEADINGS), None) is not None):
            continue
        text = text_of(el)
        if (text and len(text) >= 20 and not _CREDIT.search(text) and not _MORE.fullmatch(text)
                and text not in (title, label) and len(text.replace(date_text or "\0", "")) >= 20
                and (best_text is None or len(text) > len(best_text))):
            best, best_text = el, text
    return best


def _candidates(el: HtmlElement, block: HtmlElement) -> list[str]:
    """Selectors that may find *el* inside *block*, simplest first: its shape, one of its classes,
    its name, then each of those under the shape of one of its ancestors within the block."""
    if el is block:
        return [""]
    name, classes = _shape(el)
    own = [_simple(el)] + [f"{name}.{_css_ident(c)}" for c in classes] + [f".{_css_ident(c)}" for c in classes]
    own.append(name)
    parent = el.getparent()
    if parent is not None:  # its place among its siblings of the same name, from either end
        same = list(parent.iterchildren(name))
        if len(same) > 1:
            place = next(k for k, s in enumerate(same) if s is el)
            own += [f"{name}:nth-of-type({place + 1})", f"{name}:nth-last-of-type({len(same) - place})"]
    found = list(dict.fromkeys(own))
    ancestor = parent
    for _ in range(3):
        if ancestor is None or ancestor is block:
            break
        found += [f"{_simple(ancestor)} {o}" for o in own] + [f"{_simple(ancestor)} > {o}" for o in own]
        ancestor = ancestor.getparent()
    return list(dict.fromkeys(found))


def _pick(block: HtmlElement, css: str) -> HtmlElement | None:
    return block if css == "" else select_one(block, css)


def _vote(blocks: list[HtmlElement], wanted: list[HtmlElement | None],
          value: Callable[[HtmlElement | None], object],
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


def _sample(blocks: list[HtmlElement]) -> list[HtmlElement]:
    """At most _SAMPLE blocks spread over the listing: they choose the field selectors, so that
    choosing costs the same for 20 blocks and for 2,000."""
    if len(blocks) <= _SAMPLE:
        return blocks
    step = len(blocks) / _SAMPLE
    return [blocks[int(k * step)] for k in range(_SAMPLE)]


def _field_selectors(blocks: list[HtmlElement], index: _Index, base: str) -> dict[str, str | None]:
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

    def default_href(el: HtmlElement | None) -> str | None:  # extraction's link without a link selector
        if el is not None and not (el.tag == "a" and has_attr(el, "href")):
            el = next((a for a in descendants(el, "a") if has_attr(a, "href")), None)
        return resolve(base, el.get("href")) if el is not None else None

    def own_href(el: HtmlElement | None) -> str | None:  # the link an element is, else the first inside it
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
        if sample is not None and sample.tag == "time" and ISO_DATE.fullmatch(attribute(sample, "datetime") or ""):
            date += "@datetime"
    return {"title": title, "link": link, "date": date, "label": _vote(blocks, labels, text_of),
            "summary": _vote(blocks, summaries, text_of)}


def _microdata_selectors(blocks: list[HtmlElement], base: str) -> dict[str, str | None]:
    """Selectors for the itemprops of microdata blocks (headline or name, url, datePublished...):
    each a list of the property names any block has, the entry's own properties only."""
    from spfeed.structured import scope_properties

    props = [scope_properties(b) for b in _sample(blocks)]
    # the properties of scopes nested in the entry (its author's name) are not the entry's
    own = ":not(:scope [itemscope] *)" if any(
        next((el for el in descendants(b) if has_attr(el, "itemscope")), None) is not None for b in blocks) else ""

    def prop(*names: str, suffix: str = "") -> str | None:
        present = [n for n in names if any(n in p for p in props)]
        if not present:
            return None
        elements = [p[n] for p in props for n in present if n in p]
        if suffix == "link":  # an <a href> is read as a link; <link href> and <meta content> by attribute
            suffix = "" if all(e.tag == "a" for e in elements) else (
                "@content" if all(has_attr(e, "content") for e in elements) else "@href")
        elif suffix == "none":
            suffix = ""
        elif all(has_attr(e, "content") for e in elements):
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


def _next_selector(root: HtmlElement, index: _Index, base: str) -> str | None:
    """A selector for the link to the next page: ``rel=next``, else a link whose whole text says
    "next" (outside the site's header and footer)."""
    for name in ("a", "link"):
        el = next((el for el in root.iter(name) if has_attr(el, "href") and "next" in (el.get("rel") or "").split()),
                  None)
        if el is not None and resolve(base, el.get("href")):
            return f'{name}[rel~="next"][href]'
    for a in root.iter("a"):
        if not has_attr(a, "href"):
            continue
        text = text_of(a) or ""
        if not _NEXT_TEXT.match(text) or not resolve(base, a.get("href")):
            continue
        if next(a.iterancestors("header", "footer"), None) is not None:
            continue
        css = f'a[href]:-soup-contains-own("{text}")'
        parent = a.getparent()
        if parent is not None and parent.tag not in _ROOTS:
            css = f"{_simple(parent)} > {css}"
        if select_one(root, css) is a:
            return css
    return None
