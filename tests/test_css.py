"""Selectors on lxml: what they mean (soupsieve's meaning, which configs were written for), and
that each is compiled once per process, only by the commands that read a page."""

from __future__ import annotations

import pytest

from conftest import write_config
from pages import entry, listing
from spfeed.cli import main
from spfeed.config import Selectors, Source
from spfeed.css import compile
from spfeed.errors import ConfigError
from spfeed.extract import check_source_selectors, extract
from spfeed.html import parse, select, select_one, split_attribute, text_of
from spfeed.profiles import ILO
from spfeed.structured import JSON_LD

PAGE = """<html lang="en"><body><div id="main" class="wrap"><ul class="news">
<li class="item" itemscope itemtype="https://schema.org/NewsArticle"><h3 class="t"><a href="/a" itemprop="url">A</a></h3>
 <span itemprop="name">Alpha</span>
 <div itemprop="author" itemscope itemtype="https://schema.org/Person"><span itemprop="name">Bob</span></div>
 <p>one</p><p>two</p><p>three</p></li>
<li class="item  extra"><h3 class="t"><a href="/b">B</a></h3><p>four</p></li>
</ul><nav><a href="?p=2" rel="NEXT">Next</a> <a href="?p=0">Previous <i>page</i></a></nav>
<script type="Application/LD+JSON">{}</script><template><li class="item">Template</li></template></div></body></html>"""


def texts(found) -> list[str | None]:
    return [text_of(el) if el.tag != "script" else "<script>" for el in found]


@pytest.mark.parametrize("context, css, expected", [
    # from the document: every match in document order, the root too; never a template's content
    (None, "li.item", ["A Alpha Bob one two three", "B four"]),
    (None, "html", ["A Alpha Bob one two three B four Next Previous page"]),
    (None, ":scope > body", ["A Alpha Bob one two three B four Next Previous page"]),
    (None, 'script[type="application/ld+json"]', ["<script>"]),  # HTML's type is case-insensitive
    (None, 'a[rel~="next"][href]', ["Next"]),  # and so is rel
    (None, 'a[href]:-soup-contains-own("Next")', ["Next"]),
    (None, 'nav > a:-soup-contains-own("page")', []),  # "page" is the <i>'s text, not the link's own
    (None, 'a:-soup-contains("page")', ["Previous page"]),
    (None, 'a:contains("page")', ["Previous page"]),
    (None, "ul > li:has(a[href])", ["A Alpha Bob one two three", "B four"]),
    # from a block: its descendants only, but matched in the whole page
    ("li", "li", []),  # the block itself is never a match
    ("li", "div.wrap li.item h3", ["A"]),  # the ancestors may be above the block, the block itself
    ("li", "li.item > h3 a", ["A"]),
    ("li", ":scope > h3", ["A"]),
    ("li", ":scope > span", ["Alpha"]),
    ("li", '[itemprop~="name"]', ["Alpha", "Bob"]),
    ("li", '[itemprop~="name"]:not(:scope [itemscope] *)', ["Alpha"]),  # not the author's name
    ("li", "p:nth-of-type(2)", ["two"]),
    ("li", "p:nth-last-of-type(1)", ["three"]),
    ("li", "p + p", ["two", "three"]),
    ("li", "span ~ p", ["one", "two", "three"]),
    ("li", "h3, p", ["A", "one", "two", "three"]),  # a group, in document order
])
def test_selectors_mean_what_they_meant(context, css, expected):
    root = parse(PAGE)
    el = root if context is None else select_one(root, context)
    assert texts(select(el, css)) == expected
    assert select_one(el, css) is (select(el, css) or [None])[0]


@pytest.mark.parametrize("css, message", [
    ("p[class=", "invalid CSS selector 'p[class=': Expected string or ident, got the end at position 8"),
    ("li..x", "invalid CSS selector 'li..x': Expected ident, got '.' at position 3"),
    ("a:nosuchpseudo", "The pseudo-class :nosuchpseudo is unknown"),
    ("a::text", "Pseudo-elements are not supported"),
    ('a:-soup-contains-own("x", "y")', "Expected an argument, got ',' at position 24"),
])
def test_a_selector_cssselect_refuses_is_a_config_error(css, message):
    source = Source(key="sources[0]", url="https://www.ilo.org/", selectors=Selectors(item="li", title=css))
    with pytest.raises(ConfigError) as caught:
        check_source_selectors(source, "config.yaml")
    assert str(caught.value).startswith("config.yaml: sources[0].selectors.title: ") and message in str(caught.value)


# -- compiled once, only where a page is read ------------------------------------------------------


def ilo_selectors() -> set[str]:
    """The CSS that reading an ILO page compiles: the profile's selectors, and the JSON-LD scripts'."""
    return {split_attribute(css)[0] for css in ILO.values()} | {JSON_LD}


def test_each_selector_is_compiled_once_however_many_items_a_page_has():
    page = listing([entry(n) for n in range(5)], next_href="?page=2").decode()
    compile.cache_clear()
    assert len(extract(page, "https://www.ilo.org/", Selectors(**ILO)).items) == 5
    assert compile.cache_info().misses == len(ilo_selectors())
    big = listing([entry(n) for n in range(300)], next_href="?page=2").decode()
    assert len(extract(big, "https://www.ilo.org/", Selectors(**ILO)).items) == 300
    assert compile.cache_info().misses == len(ilo_selectors())  # 300 items, 5 fields each: no compile more
    # and one query per field for the whole page, not one per item: lookups do not grow with the items
    assert compile.cache_info().hits <= 2 * len(ilo_selectors())


NESTED = """<html><body><div id="list">
<div class="card"><h3><a href="/1">One</a></h3><p class="d">1 May 2024</p>
  <div class="card"><h3><a href="/1.1">Inner</a></h3></div></div>
<div class="card"><p class="d">2 May 2024</p><span><a href="/2">Two</a></span></div>
<div class="card"></div>
""" + "".join(f'<div class="card"><h3 class="card"><a href="/{n}">T{n}</a></h3></div>' for n in range(3, 12)) + """
<section><div class="card"><p class="d">x</p></div></section>
</div></body></html>"""


@pytest.mark.parametrize("css", ["a", "h3 a", "#list h3 > a", ".card", "div.card h3", "p.d", "h3 + p", "h3 ~ p",
                                 "div:not(.card) a", "*", "section p", ":scope > h3", "body a"])
def test_one_query_for_every_block_finds_what_a_query_per_block_finds(css):
    """first_in_each gives each block its first match, as select_one on the block does: nested
    blocks included (an inner block's match is the outer's too), never the block itself."""
    from spfeed.css import first_in_each
    from spfeed.html import parse, select, select_one

    root = parse(NESTED)
    blocks = select(root, "div.card")
    assert len(blocks) >= 8  # enough for the one-query path
    assert first_in_each(css, blocks) == [select_one(block, css) for block in blocks]


def test_update_compiles_its_selectors_once_and_regenerate_none(tmp_path, site, capsys):
    config = write_config(tmp_path, site.page("/p", listing([entry(n) for n in range(3)])))
    compile.cache_clear()
    assert main(["--config", str(config), "update"]) == 0
    assert compile.cache_info().misses == len(ilo_selectors())  # checked, then used: compiled once
    compile.cache_clear()
    assert main(["--config", str(config), "regenerate"]) == 0
    assert compile.cache_info().misses == 0 and compile.cache_info().hits == 0
    capsys.readouterr()
