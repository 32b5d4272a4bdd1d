"""The RSS and Atom views: both formats from the same items, plain text kept plain, no clock in the output."""

import html
from datetime import datetime, timedelta, timezone

import pytest

from conftest import parse_feed, validate_atom
from spfeed.model import Author, FeedMeta, Links, StoredItem
from spfeed.views import renderer

SETTINGS = FeedMeta(
    name="", title="ILO Social Protection Department: news", link="https://www.ilo.org/secsoc/lang--en/index.htm",
    author=Author("ILO Social Protection Department", "sp@example.org"),
    description="Reports, guides and events", language="en",
)
LINKS = Links(base="https://feeds.example.org/secsoc/", formats=("rss", "atom"))


def render(meta: FeedMeta, items, language):
    """(RSS, Atom) of *items* with the feed's language set to *language*."""
    meta = FeedMeta(**{**vars(meta), "language": language})
    return renderer("rss")(meta, items, LINKS), renderer("atom")(meta, items, LINKS)
CET = timezone(timedelta(hours=1))


def stored(n: int, **fields) -> StoredItem:
    published = datetime(2022, 1, 20 - n, 12, tzinfo=CET)
    values = dict(id=f"https://www.ilo.org/global/{n}/index.htm", link=f"https://www.ilo.org/global/{n}/index.htm",
                  title=f"Title {n}", summary=f"Summary {n}", label="New ILO report", kind=None, published=published,
                  dated=True, updated=published, first_seen=published, last_seen=published, changed_at=None,
                  position=n, source="https://www.ilo.org/secsoc/")
    values.update(fields)
    return StoredItem(**values)


ITEMS = [stored(0, kind="Press release"), stored(1, summary=None, label=None),
         stored(2, updated=datetime(2022, 3, 1, 9, tzinfo=CET), changed_at=datetime(2022, 3, 1, 8, tzinfo=timezone.utc))]


def test_both_feeds_parse_back_with_every_field():
    rss, atom = render(SETTINGS, ITEMS, "en")
    for data in (rss, atom):
        feed = parse_feed(data)
        assert feed.feed.title == SETTINGS.title
        assert feed.feed.language == "en"
        assert [e.title for e in feed.entries] == ["Title 0", "Title 1", "Title 2"]  # the order given
        assert [e.link for e in feed.entries] == [i.link for i in ITEMS]
        assert [e.id for e in feed.entries] == [i.id for i in ITEMS]
        assert [[t.term for t in e.get("tags", [])] for e in feed.entries] == [
            ["New ILO report", "Press release"], [], ["New ILO report"]]
        assert feed.entries[0].published_parsed[:4] == (2022, 1, 20, 11)  # 12:00 at +01:00
    validate_atom(atom)


def test_self_links_and_the_channel_link():
    rss, atom = render(SETTINGS, ITEMS, "en")
    rss_feed, atom_feed = parse_feed(rss), parse_feed(atom)
    assert rss_feed.feed.link == SETTINGS.link  # the page, not the feed itself
    assert {(l.rel, l.href) for l in rss_feed.feed.links} >= {("self", "https://feeds.example.org/secsoc/rss.xml")}
    assert {(l.rel, l.href) for l in atom_feed.feed.links} == {
        ("self", "https://feeds.example.org/secsoc/atom.xml"), ("alternate", SETTINGS.link)}
    assert atom_feed.feed.id == "https://feeds.example.org/secsoc/atom.xml"
    assert b"<managingEditor>sp@example.org (ILO Social Protection Department)</managingEditor>" in rss


def test_times_come_from_the_items_not_the_clock():
    rss, atom = render(SETTINGS, ITEMS, "en")
    assert b"<lastBuildDate>Tue, 01 Mar 2022 09:00:00 +0100</lastBuildDate>" in rss
    assert b"<updated>2022-03-01T09:00:00+01:00</updated>\n  <author>" in atom  # the feed's
    assert atom.count(b"<updated>") == 4 and atom.count(b"<published>") == 3
    assert b"<published>2022-01-18T12:00:00+01:00</published>" in atom
    assert render(SETTINGS, ITEMS, "en") == (rss, atom)


def test_an_item_without_summary_uses_its_title_so_every_entry_has_text():
    rss, atom = render(SETTINGS, ITEMS, "en")
    assert parse_feed(atom).entries[1].summary == "Title 1"
    assert parse_feed(rss).entries[1].summary == "Title 1"


def test_markup_from_the_page_is_text_in_both_feeds():
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)> Q&A'
    rss, atom = render(SETTINGS, [stored(0, title=evil, summary=evil)], None)
    for data in (rss, atom):
        assert b"<script" not in data and b"<img" not in data
    atom_feed = parse_feed(atom)
    assert atom_feed.entries[0].title == evil and atom_feed.entries[0].summary == evil
    assert b'<summary type="text">' in atom
    # RSS descriptions are HTML: the text is escaped once more, so readers show it, never run it
    assert f"<description>{html.escape(html.escape(evil, quote=False), quote=False)}</description>".encode() in rss


def test_language_from_the_page_when_the_config_has_none():
    settings = SETTINGS
    rss, atom = render(settings, ITEMS, "fr")
    assert b"<language>fr</language>" in rss and b'xml:lang="fr"' in atom
    rss, atom = render(settings, ITEMS, None)
    assert b"<language>" not in rss and b"xml:lang" not in atom


def test_an_empty_feed_is_refused():
    with pytest.raises(ValueError):
        render(SETTINGS, [], None)


def test_an_entry_from_a_page_in_another_language_says_so_in_atom():
    items = [stored(0, lang="fr"), stored(1, lang="en"), stored(2)]
    _, atom = render(SETTINGS, items, "en")
    entries = parse_feed(atom).entries
    assert [e.title_detail.language for e in entries] == ["fr", "en", "en"]
    assert atom.count(b'xml:lang="fr"') == 1 and atom.count(b"xml:lang=") == 2  # the feed's, and the French entry's
    validate_atom(atom)


def test_the_atom_schema_is_there():
    """The Atom checks of every test need ../shared/validation; without it they are left out, and
    this test says so (the rest of each test still runs)."""
    from conftest import VALIDATION

    if not (VALIDATION / "atom-adjusted.rng").exists():
        pytest.skip(f"Atom schema not found at {VALIDATION} (set SPFEED_VALIDATION_DIR): "
                    "the schema assertions are left out of every test")
    validate_atom(render(SETTINGS, ITEMS, "en")[1])


@pytest.mark.parametrize("moment, written", [
    (datetime(2022, 6, 16, 12, tzinfo=timezone(timedelta(hours=2))), "Thu, 16 Jun 2022 12:00:00 +0200"),
    (datetime(2026, 12, 1, 0, 5, 9, tzinfo=timezone.utc), "Tue, 01 Dec 2026 00:05:09 +0000"),
    (datetime(2021, 2, 28, 23, 59, tzinfo=timezone(-timedelta(hours=5, minutes=30))), "Sun, 28 Feb 2021 23:59:00 -0530"),
])
def test_rss_dates_are_rfc_822_in_english_whatever_the_locale(moment, written):
    import locale

    from spfeed.views._xml import rfc822

    before = locale.setlocale(locale.LC_TIME)
    for name in ("fr_FR.UTF-8", "de_DE.UTF-8", "C.UTF-8"):
        try:
            locale.setlocale(locale.LC_TIME, name)
        except locale.Error:
            continue
        try:
            assert rfc822(moment) == written
        finally:
            locale.setlocale(locale.LC_TIME, before)
    assert rfc822(moment) == written


def test_hub_links_follow_the_self_link_one_per_line():
    meta = FeedMeta(**{**vars(SETTINGS), "hubs": ("https://hub.example.org/", "https://hub2.example.org/?a=1&b=2")})
    rss, atom = render(meta, ITEMS, "en")
    lines = rss.decode().splitlines()
    at = next(i for i, line in enumerate(lines) if 'rel="self"' in line)
    assert lines[at + 1:at + 3] == ['    <atom:link href="https://hub.example.org/" rel="hub"/>',
                                    '    <atom:link href="https://hub2.example.org/?a=1&amp;b=2" rel="hub"/>']
    assert lines[at + 3].strip().startswith("<docs>")
    for data in (rss, atom):
        assert [(l.rel, l.href) for l in parse_feed(data).feed.links if l.rel == "hub"] == [
            ("hub", "https://hub.example.org/"), ("hub", "https://hub2.example.org/?a=1&b=2")]
