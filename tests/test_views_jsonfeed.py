"""JSON Feed 1.1: the Atom view's items, ids, dates and text as plain-text JSON, read back by real readers."""

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from conftest import Reply, parse_feed
from spfeed.model import Author, FeedMeta, Links, StoredItem
from spfeed.views import renderer

GENEVA = ZoneInfo("Europe/Zurich")
META = FeedMeta(
    name="", title="ILO Social Protection Department: news", description="Reports, guides and events",
    link="https://www.ilo.org/secsoc/lang--en/index.htm", author=Author("ILO Social Protection Department"),
    language="en",
)
LINKS = Links(base="https://feeds.example.org/secsoc/", formats=("rss", "atom", "json", "html"))


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


def render(entries, feed_meta: FeedMeta = META, links: Links = LINKS) -> dict:
    return json.loads(renderer("json")(feed_meta, entries, links))


ENTRIES = [
    stored(0, kind="Press release", updated=datetime(2022, 7, 1, 9, 30, tzinfo=GENEVA)),
    stored(1, summary=None, label=None),
    stored(2, label="Event", kind="Event", lang="fr", title="Réunion à Genève"),
    stored(3, dated=False, published=datetime(2022, 6, 10, 8, 0, 5, tzinfo=timezone.utc),
           updated=datetime(2022, 6, 10, 8, 0, 5, tzinfo=timezone.utc)),
]


@pytest.mark.parametrize("entry, expected", [
    (ENTRIES[0], {"id": "https://www.ilo.org/global/0/index.htm", "url": "https://www.ilo.org/global/0/index.htm",
                  "title": "Title 0", "content_text": "Summary 0", "summary": "Summary 0",
                  "date_published": "2022-06-16T12:00:00+02:00", "date_modified": "2022-07-01T09:30:00+02:00",
                  "tags": ["New ILO report", "Press release"]}),
    # no summary: the title is the text (as in Atom), and no summary key claims one
    (ENTRIES[1], {"id": "https://www.ilo.org/global/1/index.htm", "url": "https://www.ilo.org/global/1/index.htm",
                  "title": "Title 1", "content_text": "Title 1",
                  "date_published": "2022-06-15T12:00:00+02:00", "date_modified": "2022-06-15T12:00:00+02:00"}),
    # label and kind alike: one tag; a page in another language than the feed's says so
    (ENTRIES[2], {"id": "https://www.ilo.org/global/2/index.htm", "url": "https://www.ilo.org/global/2/index.htm",
                  "title": "Réunion à Genève", "content_text": "Summary 2", "summary": "Summary 2",
                  "date_published": "2022-06-14T12:00:00+02:00", "date_modified": "2022-06-14T12:00:00+02:00",
                  "tags": ["Event"], "language": "fr"}),
    # undated: first seen, in UTC, with seconds
    (ENTRIES[3], {"id": "https://www.ilo.org/global/3/index.htm", "url": "https://www.ilo.org/global/3/index.htm",
                  "title": "Title 3", "content_text": "Summary 3", "summary": "Summary 3",
                  "date_published": "2022-06-10T08:00:05+00:00", "date_modified": "2022-06-10T08:00:05+00:00",
                  "tags": ["New ILO report"]}),
    # the entry's language is the feed's: not repeated
    (stored(4, lang="en", label=None), {
        "id": "https://www.ilo.org/global/4/index.htm", "url": "https://www.ilo.org/global/4/index.htm",
        "title": "Title 4", "content_text": "Summary 4", "summary": "Summary 4",
        "date_published": "2022-06-12T12:00:00+02:00", "date_modified": "2022-06-12T12:00:00+02:00"}),
])
def test_each_item_has_exactly_its_fields_in_a_fixed_order(entry, expected):
    (item,) = render([entry])["items"]
    assert list(item.items()) == list(expected.items())


@pytest.mark.parametrize("feed_meta, links, expected", [
    (META, LINKS, {
        "version": "https://jsonfeed.org/version/1.1", "title": META.title, "home_page_url": META.link,
        "feed_url": "https://feeds.example.org/secsoc/feed.json", "description": META.description,
        "language": "en", "authors": [{"name": "ILO Social Protection Department"}]}),
    # no language known; an author with a web page; WebSub hubs
    (meta(language=None, author=Author("ILO", uri="https://www.ilo.org/"), hubs=("https://hub.example.org/",)),
     Links(base="https://feeds.example.org/a/b/", formats=("json",)), {
        "version": "https://jsonfeed.org/version/1.1", "title": META.title, "home_page_url": META.link,
        "feed_url": "https://feeds.example.org/a/b/feed.json", "description": META.description,
        "authors": [{"name": "ILO", "url": "https://www.ilo.org/"}],
        "hubs": [{"type": "WebSub", "url": "https://hub.example.org/"}]}),
    # an author with only an email address: a mailto: url
    (meta(author=Author("ILO", email="sp@example.org")), LINKS, {
        "version": "https://jsonfeed.org/version/1.1", "title": META.title, "home_page_url": META.link,
        "feed_url": "https://feeds.example.org/secsoc/feed.json", "description": META.description,
        "language": "en", "authors": [{"name": "ILO", "url": "mailto:sp@example.org"}]}),
])
def test_the_top_level_fields_then_the_items(feed_meta, links, expected):
    feed = render(ENTRIES, feed_meta, links)
    assert list(feed)[-1] == "items" and len(feed.pop("items")) == len(ENTRIES)
    assert list(feed.items()) == list(expected.items())


def test_plain_text_only_and_never_markup_when_pasted_into_html():
    evil = '<script>alert("x")</script> Q&A </p>'
    data = renderer("json")(meta(title=evil, description=evil), [stored(0, title=evil, summary=evil, label=evil)], LINKS)
    assert b"<" not in data and b">" not in data and b"&" not in data
    assert b"\\u003cscript\\u003e" in data and b"Q\\u0026A" in data
    feed = json.loads(data)
    (item,) = feed["items"]
    assert feed["title"] == evil and item["title"] == evil and item["content_text"] == evil and item["tags"] == [evil]
    assert not any(key.endswith("_html") for key in item)


def test_utf8_two_space_indent_and_a_trailing_newline():
    data = renderer("json")(META, [stored(2, title="Réunion à Genève — “Social protection”")], LINKS)
    assert "Réunion à Genève — “Social protection”".encode() in data  # not \u escapes
    assert data.startswith(b'{\n  "version": ') and data.endswith(b"}\n") and not data.endswith(b"\n\n")


def test_the_same_entries_give_the_same_bytes():
    first = renderer("json")(META, ENTRIES, LINKS)
    assert renderer("json")(META, list(ENTRIES), LINKS) == first
    assert renderer("json")(META, ENTRIES[:2], LINKS) != first


def test_an_empty_feed_is_refused():
    with pytest.raises(ValueError):
        renderer("json")(META, [], LINKS)


def test_the_same_entries_as_feedparser_reads_from_the_atom_feed():
    # feedparser's releases (6.0.x) do not read JSON Feed yet: the JSON side is read as JSON here,
    # and by a real JSON Feed reader below
    items = render(ENTRIES)["items"]
    atom = parse_feed(renderer("atom")(META, ENTRIES, LINKS))
    assert len(items) == len(atom.entries) == len(ENTRIES)
    for j, a in zip(items, atom.entries):
        assert (j["id"], j["title"], j["url"]) == (a.id, a.title, a.link)
        assert datetime.fromisoformat(j["date_published"]).utctimetuple() == a.published_parsed
        assert datetime.fromisoformat(j["date_modified"]).utctimetuple() == a.updated_parsed
        assert j.get("tags", []) == [t.term for t in a.get("tags", [])]
        assert j["content_text"] == a.summary
        assert j.get("language", "en") == a.title_detail.language


def test_the_same_instants_as_atom_with_the_offsets_kept():
    from lxml import etree

    atom = etree.fromstring(renderer("atom")(META, ENTRIES, LINKS))
    ns = {"a": "http://www.w3.org/2005/Atom"}
    atom_times = [(e.findtext("a:published", namespaces=ns), e.findtext("a:updated", namespaces=ns))
                  for e in atom.iterfind("a:entry", ns)]
    json_times = [(i["date_published"], i["date_modified"]) for i in render(ENTRIES)["items"]]
    assert json_times == atom_times  # the same strings, so the same instants and offsets
    for (published, updated), entry in zip(json_times, ENTRIES):
        assert datetime.fromisoformat(published) == entry.published
        assert datetime.fromisoformat(updated) == entry.updated
        assert datetime.fromisoformat(published).utcoffset() == entry.published.utcoffset()


def test_lemon24_reader_subscribes_over_http_and_loses_nothing(tmp_path, site):
    from reader import make_reader

    data = renderer("json")(meta(author=Author("ILO", email="sp@example.org")), ENTRIES, LINKS)
    url = site.route("/secsoc/feed.json", Reply(body=data, content_type="application/feed+json"))
    reader = make_reader(str(tmp_path / "reader.sqlite"))
    try:
        reader.add_feed(url)
        reader.update_feeds()
        feed = reader.get_feed(url)
        assert feed.last_exception is None and feed.version == "json11"  # read as JSON Feed 1.1
        assert (feed.title, feed.link, feed.subtitle) == (META.title, META.link, META.description)
        got = {e.id: e for e in reader.get_entries(feed=url)}
        assert set(got) == {e.id for e in ENTRIES}
        for entry in ENTRIES:
            e = got[entry.id]
            assert (e.title, e.link) == (entry.title, entry.link)
            assert e.published == entry.published and e.updated == entry.updated
            assert e.summary == entry.summary
            (content,) = e.content
            assert (content.value, content.type) == (entry.summary or entry.title, "text/plain")
            assert content.language == (entry.lang or "en")
        assert [(a.name, a.email) for a in feed.authors] == [("ILO", "sp@example.org")]
    finally:
        reader.close()
