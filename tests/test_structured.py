"""Structured data: JSON-LD and microdata as entries, as a way to find a listing, and as a source
of the fields selectors leave empty."""

import json
import logging

import pytest

from spfeed.config import Selectors
from spfeed.extract import extract, parse
from spfeed.html import select
from spfeed.structured import JSON_LD, Entry, json_ld_entries, microdata_entries

BASE = "https://www.ilo.org/news"


def ld(*blocks) -> str:
    return "".join(f'<script type="application/ld+json">{b if isinstance(b, str) else json.dumps(b)}</script>'
                   for b in blocks)


def entries_of(html: str) -> list[Entry]:
    root = parse(f"<html><head>{html}</head><body></body></html>")
    return json_ld_entries(select(root, JSON_LD), BASE)


ARTICLE = {"@type": "NewsArticle", "headline": "A headline", "url": "/a", "datePublished": "2026-11-30",
           "description": "What it says.", "articleSection": "Feature"}


@pytest.mark.parametrize("data, expected", [
    (ARTICLE, [Entry("https://www.ilo.org/a", "A headline", "2026-11-30", "What it says.", "Feature")]),
    ({"@type": "ItemList", "itemListElement": [
        {"@type": "ListItem", "position": 1, "item": {"@type": "Article", "name": "Named", "url": "https://x.org/b"}},
        {"@type": "ListItem", "position": 2, "url": "/c", "name": "Only a URL"}]},
     [Entry("https://x.org/b", "Named"), Entry("https://www.ilo.org/c", "Only a URL")]),
    ({"@type": "ItemList", "itemListElement": [{"@type": "ListItem", "url": "/d", "item": {"@type": "BlogPosting",
                                                                                        "headline": "Post"}}]},
     [Entry("https://www.ilo.org/d", "Post")]),
    ({"@context": "https://schema.org", "@graph": [{"@type": "WebSite", "name": "Site", "url": "/"},
                                                   {"@type": ["BlogPosting"], "headline": "In a graph", "url": "/e"}]},
     [Entry("https://www.ilo.org/e", "In a graph")]),
    ([{"@type": "Event", "name": "A conference", "url": "/f", "startDate": "2026-12-10T09:00"},
      {"@type": "http://schema.org/Article", "headline": "Typed by URL", "url": "/g", "keywords": "Pensions, Health"}],
     [Entry("https://www.ilo.org/f", "A conference", "2026-12-10T09:00"),
      Entry("https://www.ilo.org/g", "Typed by URL", label="Pensions")]),
    ({"@type": "NewsArticle", "headline": "No link"}, []),  # items are their links
    ({"@type": "NewsArticle", "headline": "Bad link", "url": "javascript:alert(1)"}, []),
    ({"@type": "NewsArticle", "headline": "Not a date", "url": "/h", "datePublished": "last week"},
     [Entry("https://www.ilo.org/h", "Not a date")]),
    ({"@type": "NewsArticle", "headline": ["First", 2], "url": ["/i"], "description": {"@value": "odd"}},
     [Entry("https://www.ilo.org/i", "First")]),
    ({"@type": "Organization", "name": "ILO", "url": "/"}, []),
])
def test_json_ld_entries(data, expected):
    assert entries_of(ld(data)) == expected


def test_the_same_link_twice_is_one_entry_the_first():
    assert entries_of(ld(ARTICLE, {**ARTICLE, "headline": "Later"})) == entries_of(ld(ARTICLE))


@pytest.mark.parametrize("broken", ['{"@type": "NewsArticle", "headline": ', "not json at all", "",
                                    "[" * 100_000 + "]" * 100_000])
def test_malformed_json_ld_is_ignored_quietly(caplog, broken):
    with caplog.at_level(logging.INFO, logger="spfeed.structured"):
        assert entries_of(ld(broken, ARTICLE)) == entries_of(ld(ARTICLE))
    if broken.strip():
        assert [r.levelno for r in caplog.records] == [logging.INFO]


def test_json_ld_nested_as_deep_as_json_allows_is_walked():
    depth = 900  # Python's json reader stops near 1,000 levels (a RecursionError, ignored as malformed)
    text = '{"@type": "WebPage", "hasPart": ' * depth + json.dumps(ARTICLE) + "}" * depth
    assert [e.title for e in entries_of(ld(text))] == ["A headline"]


def test_structured_data_fetches_nothing(site):
    context = site.url("/context.jsonld")
    entries_of(ld({**ARTICLE, "@context": context}))
    assert site.hits("/context.jsonld") == []


MICRODATA = """
<div itemscope itemtype="https://schema.org/NewsArticle">
  <h2 itemprop="headline">Microdata title</h2>
  <meta itemprop="datePublished" content="2026-11-27">
  <div itemprop="author" itemscope itemtype="https://schema.org/Person"><span itemprop="name">Not the title</span>
    <a itemprop="url" href="/people/x">Not the link</a></div>
  <p itemprop="description">The summary.</p>
  <a itemprop="url" href="/m1">Read</a>
  <span itemprop="keywords">Pensions</span>
</div>
<article itemscope itemtype="http://schema.org/Event">
  <span itemprop="name">An event</span><link itemprop="url" href="https://www.ilo.org/m2">
  <time itemprop="startDate" datetime="2026-12-01T09:00">Tomorrow</time>
</article>
<div itemscope itemtype="https://schema.org/Person"><span itemprop="name">A person</span><a itemprop="url" href="/p"></a></div>
"""


def test_microdata_entries_take_their_own_properties_only():
    assert microdata_entries(parse(f"<html><body>{MICRODATA}</body></html>"), BASE) == [
        Entry("https://www.ilo.org/m1", "Microdata title", "2026-11-27", "The summary.", "Pensions"),
        Entry("https://www.ilo.org/m2", "An event", "2026-12-01T09:00"),
    ]


PAGE = """<html><head>{ld}</head><body><ul>
  <li class="n"><a href="/a">Visible title A</a></li>
  <li class="n"><a href="/b">Visible title B</a> <span class="s">Its own summary</span></li>
  <li class="n"><a href="/z">Not in the data</a></li>
</ul></body></html>"""


def test_structured_data_fills_what_the_selectors_leave_empty_matched_by_link():
    data = {"@type": "ItemList", "itemListElement": [
        {"@type": "ListItem", "item": {"@type": "NewsArticle", "url": "/b", "headline": "Data title B",
                                       "description": "Data summary B", "datePublished": "2026-11-02"}},
        {"@type": "ListItem", "item": {"@type": "NewsArticle", "url": "https://www.ilo.org/a", "headline": "Data title A",
                                       "articleSection": "Feature"}}]}
    listing = extract(PAGE.format(ld=ld(data)), BASE, Selectors(item="li.n", summary=".s", label=".l", date=".d"))
    a, b, z = listing.items
    assert (a.title, a.label, a.summary, a.date_value, a.from_structured) == (
        "Visible title A", "Feature", None, None, ("label",))
    assert (b.title, b.summary, b.date_value, b.from_structured) == (
        "Visible title B", "Its own summary", "2026-11-02", ("date_value",))
    assert z.from_structured == () and z.label is None


def test_a_page_with_only_json_ld_is_read_from_it():
    data = {"@type": "ItemList", "itemListElement": [
        {"@type": "ListItem", "item": {"@type": "NewsArticle", "url": f"/n{i}", "headline": f"News {i}",
                                       "datePublished": f"2026-11-0{i}"}} for i in (1, 2)]}
    page = f"<html><head>{ld(data)}</head><body><div id='app'></div></body></html>"
    listing = extract(page, BASE, Selectors(item="li.nothing"), detect=True)
    assert listing.detected_as == JSON_LD
    assert [(r.title, r.link, r.date_value, r.from_structured) for r in listing.items] == [
        (f"News {i}", f"https://www.ilo.org/n{i}", f"2026-11-0{i}", ("title", "date_value")) for i in (1, 2)]


def test_a_visible_listing_wins_over_json_ld_and_takes_its_fields():
    data = [{"@type": "NewsArticle", "url": "/a", "headline": "A", "description": "From the data"},
            {"@type": "NewsArticle", "url": "/other", "headline": "Not on the page"}]
    page = f"""<html><head>{ld(data)}</head><body><ul>
        <li class="n"><a href="/a">Visible A</a> <span>1 June 2022</span></li>
        <li class="n"><a href="/b">Visible B</a> <span>2 June 2022</span></li></ul></body></html>"""
    listing = extract(page, BASE, Selectors(item="li.nothing"), detect=True)
    assert listing.detected_as == "li.n"
    assert [(r.title, r.summary) for r in listing.items] == [("Visible A", "From the data"), ("Visible B", None)]


def test_microdata_blocks_are_found_as_a_listing():
    page = f"<html><body><div class='list'>{MICRODATA}</div></body></html>".replace(
        'itemtype="http://schema.org/Event"', 'itemtype="https://schema.org/NewsArticle"').replace("<article", "<div")
    page = page.replace("</article>", "</div>")
    listing = extract(page, BASE, Selectors(item="li.nothing"), detect=True)
    assert [(r.title, r.link, r.date_value) for r in listing.items] == [
        ("Microdata title", "https://www.ilo.org/m1", "2026-11-27"),
        ("An event", "https://www.ilo.org/m2", "2026-12-01T09:00"),
    ]
