"""Real-world listings end to end: every fixture page in both feeds, the archive and its backfill,
several sources in one feed, languages."""

import json
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import FIXTURES, parse_feed, validate_atom, write_config
from pages import entry, listing
from spfeed.config import load
from spfeed.pipeline import backfill, update

PAGES = sorted(f"{p.parent.name}/{p.name.removesuffix('.expected.json')}" for p in FIXTURES.glob("*/*.expected.json"))
def expected_of(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.expected.json").read_text(encoding="utf-8"))


def feeds(config):
    return parse_feed(config.feeds[0].path("rss").read_bytes()), parse_feed(config.feeds[0].path("atom").read_bytes())


@pytest.mark.parametrize("name", PAGES)
def test_every_fixture_page_comes_out_right_in_both_feeds(tmp_path, clock, name):
    expected = expected_of(name)
    if "seen" in expected:  # relative and year-less dates read against the moment the page was seen
        clock.now = datetime.fromisoformat(expected["seen"])
    config = load(write_config(tmp_path, [{"url": str(FIXTURES / f"{name}.html"), "base_url": expected["source_url"],
                                           "min_dated_share": 0, **expected.get("source", {})}],
                               feed={"language": None}))
    update(config, now=clock)
    origin = expected["source_url"].split("/")[0] + "//www.ilo.org"
    wanted = {}
    for item in expected["items"]:  # one feed entry per link, the first occurrence's text
        wanted.setdefault(origin + item["link_path"].split("#")[0], item)
    rss, atom = feeds(config)
    validate_atom(config.feeds[0].path("atom").read_bytes())
    assert atom.feed.language == rss.feed.language == expected["lang"]
    for feed in (rss, atom):
        entries = {e.id: e for e in feed.entries}
        assert len(feed.entries) == len(entries) == len(wanted)
        for link, item in wanted.items():
            got = entries[link]
            assert got.title == item["title"]
            assert got.summary == (item["summary"] or item["title"])
            assert [t.term for t in got.get("tags", [])] == [c for c in (item["label"], item["kind"]) if c]
            published = datetime(*got.published_parsed[:6], tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("Europe/Zurich"))
            if item["date"] is None:
                assert published == clock.now  # first seen
            else:
                assert published.date().isoformat() == item["date"]
                assert published.strftime("%H:%M") == (item["time"] or "12:00")


def archive_page(site, number: int, entries: list[dict], last: bool = False) -> str:
    path = "/news/index.htm" if number == 1 else f"/news/nextRow--{(number - 1) * 3}/index.htm"
    next_href = None if last else f"/news/nextRow--{number * 3}/index.htm"
    return site.page(path, listing(entries, next_href=next_href))


def test_archive_backfill_then_a_new_item_on_page_one(tmp_path, site, clock):
    days = {n: f"{n} May 2022" for n in range(1, 8)}
    # two overlapping pages: the list shifted by one between the two requests
    url = archive_page(site, 1, [entry(n, day=days[n]) for n in (7, 6, 5)])
    archive_page(site, 2, [entry(n, day=days[n]) for n in (5, 4, 3)])
    archive_page(site, 3, [entry(n, day=days[n]) for n in (2, 1)], last=True)
    config = load(write_config(tmp_path, [{"url": url}]))

    report = backfill(config, now=clock)
    assert sorted(i.title for i in report.new) == [f"Report number {n}" for n in range(1, 8)]
    assert [len(site.hits(f"/news/nextRow--{n}/index.htm")) for n in (3, 6)] == [1, 1]
    rss, atom = feeds(config)
    assert len(rss.entries) == len(atom.entries) == 7

    # the next update sees the same first page: nothing to say, the archive is not "gone"
    clock.advance(hours=6)
    report = update(config, now=clock)
    assert not (report.new or report.updated or report.gone) and report.not_modified

    # a new item on page one pushes item 5 to page two
    clock.advance(hours=6)
    archive_page(site, 1, [entry(n, day=days.get(n, "8 May 2022")) for n in (8, 7, 6)])
    report = update(config, now=clock)
    assert [i.title for i in report.new] == ["Report number 8"]
    assert [i.title for i in report.gone] == ["Report number 5"]  # it left the page the update watches
    rss, atom = feeds(config)
    ids = [e.id for e in atom.entries]
    assert len(ids) == len(set(ids)) == 8 and len(rss.entries) == 8


def test_backfill_stops_at_max_pages_and_waits_between_pages(tmp_path, site, clock):
    url = archive_page(site, 1, [entry(1), entry(2)])
    archive_page(site, 2, [entry(3), entry(4)])
    archive_page(site, 3, [entry(5)], last=True)
    config = load(write_config(tmp_path, [{"url": url, "page_delay": 0.3}]))
    started = time.monotonic()
    report = backfill(config, max_pages=2, now=clock)
    assert time.monotonic() - started >= 0.3
    assert len(report.new) == 4 and not site.hits("/news/nextRow--6/index.htm")


def test_a_listing_that_loops_back_is_read_once(tmp_path, site, clock):
    url = site.page("/a", listing([entry(1)], next_href="/b"))
    site.page("/b", listing([entry(2)], next_href="/a"))
    config = load(write_config(tmp_path, [{"url": url}]))
    report = backfill(config, now=clock)
    assert len(report.new) == 2 and len(site.hits("/a")) == 1


def test_update_reads_max_pages(tmp_path, site, clock):
    url = archive_page(site, 1, [entry(1)])
    archive_page(site, 2, [entry(2)])
    archive_page(site, 3, [entry(3)], last=True)
    config = load(write_config(tmp_path, [{"url": url, "max_pages": 2}]))
    assert len(update(config, now=clock).new) == 2


def test_a_later_page_that_fails_keeps_what_was_read(tmp_path, site, clock):
    url = site.page("/a", listing([entry(1)], next_href="/broken"))
    config = load(write_config(tmp_path, [{"url": url, "max_pages": 2}], http={"retries": 0}))
    report = update(config, now=clock)
    assert [i.title for i in report.new] == ["Report number 1"] and report.exit_code == 0
    assert any("/broken: HTTP 404" in w and "kept the 1 page(s) read" in w for w in report.warnings)


def test_several_sources_merge_into_one_feed(tmp_path, site, clock):
    home = site.page("/home", listing([entry(1, summary="Homepage teaser."), entry(2)]))
    news = site.page("/news", listing([entry(1, summary="Archive summary, longer."), entry(3)]))
    config = load(write_config(tmp_path, [{"url": home}, {"url": news}]))
    report = update(config, now=clock)
    assert sorted(i.title for i in report.new) == ["Report number 1", "Report number 2", "Report number 3"]
    rss, atom = feeds(config)
    assert len(atom.entries) == 3
    shared = {e.title: e for e in atom.entries}["Report number 1"]
    assert shared.summary == "Homepage teaser."  # the first source's version

    # only the archive changes (the homepage answers 304): the shared item does not flip-flop
    clock.advance(hours=6)
    site.page("/news", listing([entry(4), entry(1, summary="Archive summary, longer."), entry(3)]))
    report = update(config, now=clock)
    assert [i.title for i in report.new] == ["Report number 4"] and not report.updated


def test_one_failing_source_does_not_stop_the_others(tmp_path, site, clock):
    home = site.page("/home", listing([entry(1)]))
    config = load(write_config(tmp_path, [{"url": site.url("/missing")}, {"url": home}]))
    report = update(config, now=clock)
    assert [i.title for i in report.new] == ["Report number 1"] and report.written
    assert report.exit_code == 1 and "/missing: HTTP 404" in report.failures[0]


def test_sources_in_other_languages_keep_their_language(tmp_path, site, clock):
    en = site.page("/en", listing([entry(1)], lang="en"))
    fr = site.page("/fr", listing([entry(2, day="25 septembre 2023", title="Rapport mondial")], lang="fr"))
    config = load(write_config(tmp_path, [{"url": en}, {"url": fr}], feed={"language": None}))
    update(config, now=clock)
    atom = config.feeds[0].path("atom").read_bytes()
    assert b'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">' in atom
    entries = {e.title: e for e in parse_feed(atom).entries}
    assert entries["Rapport mondial"].title_detail.language == "fr"
    assert entries["Rapport mondial"].published.startswith("2023-09-25T12:00:00+02:00")
    validate_atom(atom)
