"""Extraction: every fixture page against its expected.json, then the small rules one by one."""

import json
from datetime import time

import pytest

from conftest import FIXTURES
from spfeed.config import Selectors
from spfeed.extract import decode_html, extract, page_base, parse, resolve, text_of
from spfeed.normalise import normalise
from spfeed.profiles import ILO

ILO_SELECTORS = Selectors(**ILO)
NOTHING = Selectors(item=".matches-nothing")
#: Every fixture page: the department's real texts (ilo/) and the variants written for these tests.
PAGES = sorted(f"{p.parent.name}/{p.name.removesuffix('.expected.json')}" for p in FIXTURES.glob("*/*.expected.json"))


def read_fixture(name: str, selectors: Selectors = ILO_SELECTORS):
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text(encoding="utf-8"))
    text, _ = decode_html((FIXTURES / f"{name}.html").read_bytes())
    return expected, extract(text, expected["source_url"], selectors, detect=True)


def as_expected(listing) -> list[dict]:
    """The listing's items in the expected.json form."""
    items = [normalise(raw, "Europe/Zurich") for raw in listing.items]
    return [
        {
            "link_path": item.link.removeprefix("https://www.ilo.org").removeprefix("http://www.ilo.org"),
            "title": item.title,
            "label": item.label,
            "kind": item.kind,
            "date": item.published.date().isoformat() if item.published else None,
            "time": item.published.time().strftime("%H:%M") if item.published and item.published.time() != time(12) else None,
            "summary": item.summary,
        }
        for item in items
    ]


@pytest.mark.parametrize("name", PAGES)
def test_fixture_pages_give_their_expected_items(name):
    expected, listing = read_fixture(name)
    assert as_expected(listing) == expected["items"]
    assert listing.lang == expected["lang"]
    # the ilo profile reads every page of the old template; the rebuilt site's needs detection
    assert (listing.detected_as is not None) == name.endswith("generic")


@pytest.mark.parametrize("name", PAGES)
def test_generic_detection_alone_finds_the_same_items(name):
    """With selectors that match nothing, every page still gives exactly its expected items."""
    expected, listing = read_fixture(name, NOTHING)
    assert listing.detected_as is not None
    assert as_expected(listing) == expected["items"]


@pytest.mark.parametrize("name", [p for p in PAGES if p.startswith("ilo/")])
def test_links_are_absolute_against_the_page_url(name):
    expected, listing = read_fixture(name)
    origin = expected["source_url"].split("/")[0] + "//www.ilo.org"
    assert [raw.link for raw in listing.items] == [origin + i["link_path"] for i in expected["items"]]


def test_the_archive_names_its_next_page():
    _, first = read_fixture("ilo/secsoc-news-page1")
    _, last = read_fixture("ilo/secsoc-news-page2")
    assert first.next_url == "https://www.ilo.org/secsoc/press-and-media-centre/news/lang--en/nextRow--20/index.htm"
    assert last.next_url is None


def test_quote_navigation_and_footer_are_not_items():
    _, listing = read_fixture("ilo/secsoc-home")
    text = " ".join(f"{r.title} {r.summary}" for r in listing.items)
    assert "Guy Ryder" not in text and "About the ILO" not in text and "Copyright" not in text


def test_image_credits_are_neither_label_nor_title():
    _, listing = read_fixture("ilo/newsroom-news")
    assert not any("©" in (r.title or "") + (r.label or "") + (r.summary or "") for r in listing.items)


def _one(html: str, selectors: Selectors = ILO_SELECTORS, url: str = "https://www.ilo.org/x/index.htm"):
    listing = extract(f"<html><body><div class='items-list'><ol>{html}</ol></div></body></html>", url, selectors)
    return listing.items


def test_title_split_over_lines_and_wrapped_in_extra_elements():
    [raw] = _one("""<li class="item"><h5 class="item-title"><a href="/a"><span>ILO</span>&rsquo;s
        <em>new</em>
        report</a></h5></li>""")
    assert raw.title == "ILO’s new report"


def test_block_elements_and_line_breaks_separate_words():
    [raw] = _one("""<li class="item"><h5 class="item-title"><a href="/a">Title</a></h5>
        <p class="teaser">First line<br>second line</p></li>""")
    assert raw.summary == "First line second line"


def test_scripts_styles_and_comments_are_not_text():
    [raw] = _one("""<li class="item"><h5 class="item-title"><a href="/a">Title<!-- hidden --></a></h5>
        <p class="teaser">Text<script>alert(1)</script><style>p{}</style> more</p></li>""")
    assert (raw.title, raw.summary) == ("Title", "Text more")


def test_markup_shown_as_text_stays_text():
    [raw] = _one("""<li class="item"><h5 class="item-title"><a href="/a">&lt;script&gt;alert(1)&lt;/script&gt;</a></h5></li>""")
    assert raw.title == "<script>alert(1)</script>"


def test_without_a_title_selector_the_link_text_is_the_title():
    selectors = Selectors(item="li.item", link="a.main")
    [raw] = _one("""<li class="item"><a class="main" href="/a">Main title</a> <a href="/more">Read more</a></li>""", selectors)
    assert (raw.title, raw.link) == ("Main title", "https://www.ilo.org/a")


def test_non_web_links_are_dropped():
    items = _one("""<li class="item"><h5 class="item-title"><a href="javascript:alert(1)">A</a></h5></li>
        <li class="item"><h5 class="item-title"><a href="mailto:x@ilo.org">B</a></h5></li>
        <li class="item"><h5 class="item-title"><a href="#top">C</a></h5></li>""")
    assert [raw.link for raw in items] == [None, None, None]
    assert [normalise(raw, "UTC") for raw in items] == [None, None, None]


@pytest.mark.parametrize("base, href, expected", [
    ("https://www.ilo.org/secsoc/lang--en/index.htm", "/global/a.htm", "https://www.ilo.org/global/a.htm"),
    ("https://www.ilo.org/secsoc/lang--en/index.htm", "b.htm", "https://www.ilo.org/secsoc/lang--en/b.htm"),
    ("https://www.ilo.org/secsoc/", "//example.org/c", "https://example.org/c"),
    ("https://www.ilo.org/", " https://other.org/d ", "https://other.org/d"),
    ("https://www.ilo.org/", "", None),
    ("https://www.ilo.org/", "#frag", None),
    ("https://www.ilo.org/", "javascript:void(0)", None),
    ("https://www.ilo.org/", "data:text/html,x", None),
    ("https://www.ilo.org/", None, None),
])
def test_resolve(base, href, expected):
    assert resolve(base, href) == expected


@pytest.mark.parametrize("head, url, configured, expected", [
    ("", "https://www.ilo.org/a/index.htm", None, "https://www.ilo.org/a/index.htm"),
    ("", "file:///tmp/page.html", "https://www.ilo.org/b/", "https://www.ilo.org/b/"),
    ('<base href="https://www.ilo.org/c/">', "file:///tmp/page.html", None, "https://www.ilo.org/c/"),
    ('<base href="/d/">', "https://www.ilo.org/x/y.htm", None, "https://www.ilo.org/d/"),
    ('<link rel="canonical" href="https://www.ilo.org/e/index.htm">', "file:///tmp/page.html", None,
     "https://www.ilo.org/e/index.htm"),
    # a live page's canonical link does not move its links: the browser resolves against the URL
    ('<link rel="canonical" href="https://www.ilo.org/e/index.htm">', "https://mirror.ilo.org/f/", None,
     "https://mirror.ilo.org/f/"),
])
def test_page_base(head, url, configured, expected):
    assert page_base(parse(f"<html><head>{head}</head><body></body></html>"), url, configured) == expected


def test_text_of_nothing_is_none():
    assert text_of(None) is None
    assert text_of(parse("<p> \u00a0 </p>").p) is None
