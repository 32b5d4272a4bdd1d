"""Extraction: every fixture page against its expected.json, then the small rules one by one."""

import json
import warnings
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from conftest import FIXTURES
from spfeed.config import Selectors, Source
from spfeed.errors import ConfigError
from spfeed.extract import check_source_selectors, decode_html, extract, page_base, parse, read_listing, resolve, text_of
from spfeed.normalise import normalise
from spfeed.profiles import ILO

ILO_SELECTORS = Selectors(**ILO)
NOTHING = Selectors(item=".matches-nothing")
NONE_GIVEN = Selectors(item="")
#: Every fixture page: the department's real texts (ilo/), the variants written for these tests,
#: and pages in today's shapes (modern/: <time datetime>, JSON-LD, microdata, data-href cards...).
PAGES = sorted(f"{p.parent.name}/{p.name.removesuffix('.expected.json')}" for p in FIXTURES.glob("*/*.expected.json"))
#: Pages in the old ILO template, which the ilo profile reads; the others need detection.
ILO_TEMPLATE = [p for p in PAGES if p.startswith("ilo/") or (p.startswith("variants/") and not p.endswith("generic"))]
def expected_of(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.expected.json").read_text(encoding="utf-8"))


def read_fixture(name: str, selectors: Selectors = ILO_SELECTORS):
    expected = expected_of(name)
    text, _ = decode_html((FIXTURES / f"{name}.html").read_bytes())
    return expected, extract(text, expected["source_url"], selectors, detect=True)


def reading(expected: dict) -> dict:
    """normalise's settings for a page: its date_order, and the moment it was seen when its dates
    are relative or lack a year (both in the expected.json)."""
    settings = {"date_order": expected.get("source", {}).get("date_order", "DMY")}
    if "seen" in expected:
        settings["seen"] = datetime.fromisoformat(expected["seen"])
    return settings


def as_expected(listing, expected: dict) -> list[dict]:
    """The listing's items in the expected.json form, with the keys the expected items have (the
    raw date strings, date_text and date_value, of modern/ pages too)."""
    zurich = ZoneInfo("Europe/Zurich")
    items = [(raw, normalise(raw, "Europe/Zurich", **reading(expected))) for raw in listing.items]
    return [
        {key: value for key, value in {
            "link_path": item.link.removeprefix("https://www.ilo.org").removeprefix("http://www.ilo.org"),
            "title": item.title,
            "label": item.label,
            "kind": item.kind,
            "date": item.published.astimezone(zurich).date().isoformat() if item.published else None,
            "time": (item.published.astimezone(zurich).strftime("%H:%M")
                     if item.published and item.published.astimezone(zurich).time() != time(12) else None),
            "summary": item.summary,
            "date_text": raw.date_text,
            "date_value": raw.date_value,
        }.items() if key in expected["items"][0]}
        for raw, item in items
    ]


def wanted(expected: dict) -> list[dict]:
    """The expected items."""
    return expected["items"]


@pytest.mark.parametrize("name", PAGES)
def test_fixture_pages_give_their_expected_items(name):
    expected, listing = read_fixture(name)
    assert as_expected(listing, expected) == wanted(expected)
    assert listing.lang == expected["lang"]
    # the ilo profile reads every page of the old template; the rebuilt site's needs detection
    assert (listing.detected_as is None) == (name in ILO_TEMPLATE)


@pytest.mark.parametrize("name", PAGES)
def test_generic_detection_alone_finds_the_same_items(name):
    """With selectors that match nothing, every page still gives exactly its expected items."""
    expected, listing = read_fixture(name, NOTHING)
    assert listing.detected_as is not None
    assert as_expected(listing, expected) == wanted(expected)


@pytest.mark.parametrize("name", PAGES)
def test_the_selectors_detection_reports_read_the_same_items(name):
    """What detection found, as selectors (what `check` prints and `init` writes), read again
    without detection, gives the same items: the round trip a maintainer relies on."""
    expected = expected_of(name)
    text, _ = decode_html((FIXTURES / f"{name}.html").read_bytes())
    detected, used = read_listing(text, expected["source_url"], NONE_GIVEN, detect=True)
    assert used.item and detected.detected_as == used.item
    again = extract(text, expected["source_url"], used, detect=False)
    assert again.items == detected.items and again.detected_as is None
    assert as_expected(again, expected) == wanted(expected)
    assert again.next_url == detected.next_url


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
    # paths from the host's root, some of which urljoin rewrites
    ("https://www.ilo.org/a/b.htm", "/c/./d/../e.htm", "https://www.ilo.org/c/e.htm"),
    ("https://www.ilo.org/a/b.htm", "/c/..", "https://www.ilo.org/"),
    ("https://www.ilo.org/a/b.htm", "/c?", "https://www.ilo.org/c"),
    ("https://www.ilo.org/a/b.htm", "/c#", "https://www.ilo.org/c"),
    ("https://www.ilo.org/a/b.htm", "/c;", "https://www.ilo.org/c"),
    ("https://www.ilo.org/a/b.htm", "/c;p?q=1#f", "https://www.ilo.org/c;p?q=1#f"),
    ("HTTPS://www.ilo.org:8443/a/b.htm", "/c/d.htm", "https://www.ilo.org:8443/c/d.htm"),
    ("https://www.ilo.org/a/b.htm", "/c\td.htm", "https://www.ilo.org/cd.htm"),
    ("file:///tmp/page.html", "/c/d.htm", None),
])
def test_resolve(base, href, expected):
    assert resolve(base, href) == expected


def test_resolve_gives_what_urljoin_gives():
    """resolve() joins the usual "/path" itself; on any href it agrees with urljoin (the oracle)."""
    import random
    from urllib.parse import urljoin

    def joined(base, href):
        href = href.strip()
        if not href or href.startswith("#"):
            return None
        absolute = urljoin(base, href)
        return absolute if absolute.split(":")[0].lower() in ("http", "https") else None

    pieces = ["/", ".", "..", "a", "?", "#", ";", ":", "@", "%2e", "\\", " ", "\t", "\x01", "\u00e9", "~", "=", "b/"]
    bases = ["https://www.ilo.org/global/x/index.htm", "HTTP://User@Host:80/a/b?q#f", "http://h", "https://h/a/../b/",
             "http://[::1]:8080/x", "ftp://h/x", "file:///tmp/x.html", "https://h/a;p?q"]
    chance = random.Random(11)
    for _ in range(3000):
        href = chance.choice(["/", "", " /"]) + "".join(chance.choice(pieces) for _ in range(chance.randint(0, 7)))
        for base in bases:
            assert resolve(base, href) == joined(base, href), (base, href)


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


@pytest.mark.parametrize("page, text", [
    ("<ruby>kan<rt><b>KAN</b></rt></ruby>", None),  # a ruby annotation, with an element inside
    ("<template><b>later</b></template>", None),
    ("<div><b>shown</b></div><script>var b</script>", "shown"),  # a script holds no elements
    ("<ruby>kan<rt>KAN</rt></ruby><b>shown</b>", "shown"),
])
def test_the_text_inside_annotations_and_templates_is_not_the_pages(page, text):
    assert text_of(next(parse(page).iter("b"))) == text


def test_text_of_nothing_is_none():
    assert text_of(None) is None
    assert text_of(parse("<p> \u00a0 </p>").find(".//p")) is None


# -- deep nesting: no walk of the tree recurses ----------------------------------------------------


@pytest.mark.parametrize("depth", [1000, 5000])
def test_deeply_nested_titles_are_read_by_selectors_and_by_detection(depth):
    title = "<b>" * depth + "Deep title" + "</b>" * depth
    page = "<html><body><ul>" + "".join(
        f'<li class="n"><h3><a href="/a{i}">{title} {i}</a></h3><span>{i + 1} June 2022</span></li>' for i in range(3)
    ) + "</ul></body></html>"
    by_selectors = extract(page, "https://www.ilo.org/", Selectors(item="li.n", title="h3", date="span"))
    detected = extract(page, "https://www.ilo.org/", NOTHING, detect=True)
    for listing in (by_selectors, detected):
        assert [(r.title, r.link, r.date_text) for r in listing.items] == [
            (f"Deep title {i}", f"https://www.ilo.org/a{i}", f"{i + 1} June 2022") for i in range(3)]
    assert detected.detected_as == "li.n"


@pytest.mark.parametrize("depth", [1000, 5000])
def test_deeply_nested_blocks_and_dates_are_detected(depth):
    """The whole listing, and each date line, under thousands of levels of markup."""
    wrap = "<div>" * depth
    page = f"<html><body>{wrap}<ol>" + "".join(
        f'<li><a href="/n{i}">News {i}</a> <span>{"<i>" * depth}{i + 1} May 2023{"</i>" * depth}</span></li>'
        for i in range(2)) + f"</ol>{'</div>' * depth}</body></html>"
    listing = extract(page, "https://www.ilo.org/", NOTHING, detect=True)
    assert [(r.title, r.date_text) for r in listing.items] == [("News 0", "1 May 2023"), ("News 1", "2 May 2023")]


def test_text_of_a_deep_tree():
    assert text_of(parse("<p>" + "<span>" * 5000 + "deep" + "</span>" * 5000 + " end</p>").find(".//p")) == "deep end"


# -- machine-readable dates and @attribute selectors ----------------------------------------------


@pytest.mark.parametrize("date_html, date_text, date_value", [
    ('<time datetime="2026-11-30T10:00:00+01:00">Yesterday</time>', "Yesterday", "2026-11-30T10:00:00+01:00"),
    ('<p class="d">Published <time datetime="2026-11-29">2 days ago</time></p>', "Published 2 days ago", "2026-11-29"),
    ('<p class="d"><meta itemprop="datePublished" content="2026-11-28">Last week</p>', "Last week", "2026-11-28"),
    ('<p class="d"><data value="2026-11-27">27/11</data></p>', "27/11", "2026-11-27"),
    ('<abbr class="d" title="2026-11-26">Thu</abbr>', "Thu", "2026-11-26"),
    ('<abbr class="d" title="Coordinated Universal Time">UTC</abbr>', "UTC", None),  # a title that is no date
    ('<time datetime="soon">16 June 2022</time>', "16 June 2022", None),
    ('<p class="d">16 June 2022</p>', "16 June 2022", None),
])
def test_machine_readable_dates_go_to_date_value(date_html, date_text, date_value):
    [raw] = _one(f'<li class="item"><h5 class="item-title"><a href="/a">T</a></h5>{date_html}</li>',
                 Selectors(item="li.item", title="h5", date="time, .d"))
    assert (raw.date_text, raw.date_value) == (date_text, date_value)


CARD = """<li class="item" data-href="/own"><h5 class="item-title"><a href="/a" title="The full title">Short</a></h5>
    <a class="card" data-href="/b">Card link</a><time datetime="2026-11-30">Yesterday</time>
    <span class="when" data-day="30 November 2026">Mon</span><p class="teaser" data-text="From an attribute">Visible</p></li>"""


@pytest.mark.parametrize("key, selector, field, value", [
    ("title", "a@title", "title", "The full title"),
    ("title", "a@no-such-attribute", "title", None),
    ("link", "a.card@data-href", "link", "https://www.ilo.org/b"),
    ("link", "@data-href", "link", "https://www.ilo.org/own"),  # the block's own attribute
    ("link", "a.card", "link", None),  # an element without href holds no <a href>
    ("date", "time@datetime", "date_value", "2026-11-30"),
    ("date", "time@datetime", "date_text", "Yesterday"),  # the visible text stays
    ("date", "span.when@data-day", "date_text", "30 November 2026"),  # not ISO: the date line
    ("date", "span.when@data-day", "date_value", None),
    ("date", "h5@datetime", "date_text", "Short"),  # no such attribute: the visible text
    ("summary", "p.teaser@data-text", "summary", "From an attribute"),
    ("label", "li.x@class", "label", None),
])
def test_a_selector_ending_in_at_name_reads_that_attribute(key, selector, field, value):
    [raw] = _one(CARD, Selectors(**{"item": "li.item", "title": "h5", key: selector}))
    assert getattr(raw, field) == value


def test_the_next_link_from_an_attribute():
    page = '<html><body><ul><li class="n"><a href="/a">A</a></li></ul><a class="next" data-href="?page=2">›</a></body></html>'
    listing = extract(page, "https://www.ilo.org/news", Selectors(item="li.n", next="a.next@data-href"))
    assert listing.next_url == "https://www.ilo.org/news?page=2"


@pytest.mark.parametrize("key, selector, message", [
    ("item", "li.item@data-id", "the item selector finds elements and cannot read an attribute"),
    ("date", "time@", "'' after @ is not an attribute name"),
    ("date", "time@date time", "'date time' after @ is not an attribute name"),
    ("title", "a@ti\"tle", "after @ is not an attribute name"),
    ("next", "@data-href", "expected CSS before @data-href"),
    ("link", "a..b@href", "invalid CSS selector 'a..b@href'"),
])
def test_bad_attribute_selectors_are_config_errors_naming_the_key(key, selector, message):
    source = Source(key="sources[0]", url="https://www.ilo.org/", selectors=Selectors(**{"item": "li", key: selector}))
    with pytest.raises(ConfigError) as e:
        check_source_selectors(source, "config.yaml")
    assert str(e.value).startswith(f"config.yaml: sources[0].selectors.{key}: ") and message in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("key, selector", [
    ("link", 'a[href*="@"]'),  # an @ inside brackets is CSS
    ("title", "a[title='x@y']@title"),
    ("link", "@data-href"),
    ("next", "a.next@data-href"),
    ("date", "time@datetime"),
    ("item", ""),  # no item selector given (check, init)
])
def test_good_attribute_selectors_pass(key, selector):
    check_source_selectors(Source(key="s", url="https://x.org/", selectors=Selectors(**{"item": "li", key: selector})),
                           "config.yaml")


# -- XHTML and XML pages are read quietly ---------------------------------------------------------


XML_PAGES = [
    '<?xml version="1.0" encoding="utf-8"?>\n<html lang="en"><head><title>x</title></head><body>{}</body></html>',
    '<?xml version="1.0"?>\n<?xml-stylesheet href="s.xsl"?>\n<page><body>{}</body></page>',
    '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml" lang="en">'
    "<body>{}</body></html>",
]
LIST = ('<ul><li class="n"><a href="/a">Alpha</a> <span>1 June 2022</span></li>'
        '<li class="n"><a href="/b">Beta</a> <span>2 June 2022</span></li></ul>')


@pytest.mark.parametrize("page", XML_PAGES)
def test_xhtml_and_xml_pages_are_read_without_warnings(page):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        listing = extract(page.format(LIST), "https://www.ilo.org/", NOTHING, detect=True)
    assert [r.title for r in listing.items] == ["Alpha", "Beta"]
    assert [str(w.message) for w in caught] == []


def test_lxml_alone_refuses_a_page_that_declares_its_encoding():
    """Why parse() gives lxml bytes: lxml refuses a str with an XML encoding declaration."""
    import lxml.html

    with pytest.raises(ValueError, match="encoding declaration"):
        lxml.html.fromstring(XML_PAGES[0].format(LIST))
    assert [p.text for p in parse(XML_PAGES[0].format(LIST)).iter("a")] == ["Alpha", "Beta"]


@pytest.mark.parametrize("text", ["", " \n\t ", "\u00a0\u3000\x1c", "<!-- nothing but a comment -->",
                                  '<?xml version="1.0"?>'])
def test_an_empty_page_is_an_empty_document(text):
    """lxml.html raises on an empty document; parse() gives an empty <html>, and no items."""
    import lxml.etree
    import lxml.html

    if not text.strip(" \n\t"):
        with pytest.raises(lxml.etree.ParserError):
            lxml.html.document_fromstring(text)
    for given in (text, text.encode()):  # the text, or the text in UTF-8
        root = parse(given)
        assert root.tag == "html" and text_of(root) is None
        assert extract(given, "https://www.ilo.org/", NOTHING, detect=True).items == ()


def test_a_page_nested_deeper_than_libxml2_builds_is_read_whole():
    """libxml2's tree stops at 2,048 levels and drops the rest of the page; parse() reads it all."""
    import lxml.etree
    import lxml.html

    page = "<p>before</p>" + "<b>" * 3000 + "deep" + "</b>" * 3000 + '<ul><li class="n"><a href="/a">after</a></li></ul>'
    plain = lxml.etree.fromstring(page.encode(), lxml.html.HTMLParser(encoding="utf-8", huge_tree=True))
    assert "after" not in "".join(plain.itertext())
    listing = extract(page, "https://www.ilo.org/", Selectors(item="li.n"))
    assert [(r.title, r.link) for r in listing.items] == [("after", "https://www.ilo.org/a")]
