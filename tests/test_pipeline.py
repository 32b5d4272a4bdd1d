"""The pipeline end to end, in process, against a real local server and real SQLite files."""

import os
import sqlite3
from zoneinfo import ZoneInfo

import pytest

from conftest import GOLDEN, Reply, fixture_bytes, parse_feed, validate_atom, write_config
from pages import entry, listing
from spfeed.model import FILES
from spfeed.config import load
from spfeed.errors import HealthError
from spfeed.pipeline import regenerate, update

SEED_PATH = "/secsoc/lang--en/index.htm"
SEED_BASE = "https://www.ilo.org/secsoc/lang--en/index.htm"


def config_for(tmp_path, url, **kwargs):
    source = {"url": url, **kwargs.pop("source", {})}
    return load(write_config(tmp_path, [source], **kwargs))


def feeds(config) -> tuple[bytes, bytes]:
    return config.feeds[0].path("rss").read_bytes(), config.feeds[0].path("atom").read_bytes()


def test_the_seed_page_gives_the_golden_feeds(tmp_path, site, clock):
    config = config_for(tmp_path, site.page(SEED_PATH, fixture_bytes("ilo/secsoc-home.html")),
                        source={"base_url": SEED_BASE})
    report = update(config, now=clock)
    assert len(report.new) == 6 and report.written == tuple(str(config.feeds[0].path(fmt)) for fmt in FILES)
    rss, atom = feeds(config)
    if os.environ.get("SPFEED_UPDATE_GOLDEN"):
        (GOLDEN / "secsoc-home.rss.xml").write_bytes(rss)
        (GOLDEN / "secsoc-home.atom.xml").write_bytes(atom)
    assert rss == (GOLDEN / "secsoc-home.rss.xml").read_bytes()
    assert atom == (GOLDEN / "secsoc-home.atom.xml").read_bytes()
    validate_atom(atom)


@pytest.mark.parametrize("which", ["rss", "atom"])
def test_every_item_of_the_seed_page_comes_out_right(tmp_path, site, clock, which):
    import json

    from conftest import FIXTURES

    expected = json.loads((FIXTURES / "ilo" / "secsoc-home.expected.json").read_text())["items"]
    config = config_for(tmp_path, site.page(SEED_PATH, fixture_bytes("ilo/secsoc-home.html")),
                        source={"base_url": SEED_BASE})
    update(config, now=clock)
    feed = parse_feed(feeds(config)[0 if which == "rss" else 1])
    by_link = {e.link: e for e in feed.entries}
    assert len(feed.entries) == len(expected)
    for want in expected:
        got = by_link["https://www.ilo.org" + want["link_path"]]
        assert got.title == want["title"]
        assert got.id == "https://www.ilo.org" + want["link_path"]
        assert [t.term for t in got.tags] == [want["label"]]
        assert got.summary == (want["summary"] or want["title"])
        day = want["date"]
        assert (got.published[:10] if which == "atom" else got.published) in (day, _rfc822_noon(day))
    # newest first; the page's 7 and 8 November are out of order, the feed is not
    days = [e.published_parsed[:3] for e in feed.entries]
    assert days == sorted(days, reverse=True)


def _rfc822_noon(day: str) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(day).replace(hour=12, tzinfo=ZoneInfo("Europe/Zurich"))
    return moment.strftime("%a, %d %b %Y %H:%M:%S %z")


def test_an_unchanged_page_is_not_modified_and_touches_no_file(tmp_path, site, clock):
    config = config_for(tmp_path, site.page("/p", listing([entry(1), entry(2)])))
    update(config, now=clock)
    before = feeds(config), config.feeds[0].path("rss").stat().st_mtime_ns, config.feeds[0].path("atom").stat().st_mtime_ns
    clock.advance(hours=6)
    report = update(config, now=clock)
    assert report.not_modified and not report.written and not report.new and report.unchanged == 2
    assert (feeds(config), config.feeds[0].path("rss").stat().st_mtime_ns, config.feeds[0].path("atom").stat().st_mtime_ns) == before
    assert site.hits("/p")[-1].headers.get("If-None-Match")


def test_a_server_without_validators_sending_the_same_page_changes_nothing(tmp_path, site, clock):
    config = config_for(tmp_path, site.route("/p", Reply(body=listing([entry(1)]))))
    update(config, now=clock)
    before = feeds(config)
    clock.advance(hours=6)
    report = update(config, now=clock)
    assert not report.written and not report.new and feeds(config) == before


def test_new_updated_and_gone_across_runs(tmp_path, site, clock):
    url = site.page("/p", listing([entry(3), entry(2), entry(1)]))
    config = config_for(tmp_path, url)
    update(config, now=clock)
    first_atom = parse_feed(feeds(config)[1])

    # a new item on top, item 2's summary edited, item 1 scrolled off the page
    clock.advance(hours=6)
    site.page("/p", listing([entry(4, day="20 June 2022"), entry(3), entry(2, summary="Edited summary.")]))
    report = update(config, now=clock)
    assert [i.title for i in report.new] == ["Report number 4"]
    assert [(i.title, fields) for i, fields in report.updated] == [("Report number 2", ("summary",))]
    assert [i.title for i in report.gone] == ["Report number 1"]
    assert report.unchanged == 1

    atom = parse_feed(feeds(config)[1])
    entries = {e.id: e for e in atom.entries}
    assert len(entries) == 4  # the gone item stays in the feed
    edited = entries[entry_id(2, site)]
    old = {e.id: e for e in first_atom.entries}[entry_id(2, site)]
    assert edited.summary == "Edited summary." and edited.published == old.published
    assert edited.updated > old.updated and edited.updated.startswith(clock.now.astimezone(ZoneInfo("Europe/Zurich")).date().isoformat())
    assert atom.feed.updated == edited.updated  # the feed's updated is its newest entry's

    # the same page again: nothing changes, not even a byte
    clock.advance(hours=6)
    before = feeds(config)
    report = update(config, now=clock)
    assert not (report.new or report.updated or report.gone or report.written)
    assert feeds(config) == before


def entry_id(n: int, site) -> str:
    return site.url(entry(n)["href"])


def test_ids_never_change_and_items_come_back_without_repeating(tmp_path, site, clock):
    config = config_for(tmp_path, site.page("/p", listing([entry(1), entry(2)])))
    update(config, now=clock)
    site.page("/p", listing([entry(2)]))
    clock.advance(hours=1)
    assert [i.title for i in update(config, now=clock).gone] == ["Report number 1"]
    site.page("/p", listing([entry(1), entry(2)]))
    clock.advance(hours=1)
    report = update(config, now=clock)
    assert not report.new and not report.updated  # back on the page, not new again
    ids = [e.id for e in parse_feed(feeds(config)[1]).entries]
    assert len(ids) == len(set(ids)) == 2


def test_undated_items_keep_their_first_seen_time(tmp_path, site, clock):
    config = config_for(tmp_path, site.page("/p", listing([entry(1, day=None), entry(2)])),
                        source={"min_dated_share": 0})
    update(config, now=clock)
    published = parse_feed(feeds(config)[1]).entries[0].published
    for hours in (6, 12):
        clock.advance(hours=6)
        site.page("/p", listing([entry(3), entry(1, day=None), entry(2)]))
        update(config, now=clock)
    undated = {e.id: e for e in parse_feed(feeds(config)[1]).entries}[entry_id(1, site)]
    assert undated.published == published == "2026-11-27T09:00:00+01:00"


def test_a_page_with_no_items_keeps_the_last_feeds(tmp_path, site, clock):
    config = config_for(tmp_path, site.page("/p", listing([entry(1)])))
    update(config, now=clock)
    before = feeds(config)
    site.page("/p", b"<html><body><h1>We are redesigning our site</h1><p>16 June 2022</p></body></html>")
    clock.advance(hours=6)
    report = update(config, now=clock)
    assert report.exit_code == HealthError.exit_code
    [failure] = report.failures
    assert config.sources[0].url in failure and "sources[0].selectors.item 'div.items-list li.item' matched nothing" in failure
    assert feeds(config) == before
    row = sqlite3.connect(config.state_path).execute("SELECT outcome, exit_code, message FROM runs ORDER BY id DESC").fetchone()
    assert row == ("failed", 3, failure)


def test_max_items_keeps_the_newest(tmp_path, site, clock):
    days = [f"{d} June 2022" for d in range(1, 11)]
    config = config_for(tmp_path, site.page("/p", listing([entry(n, day=days[n]) for n in range(10)])),
                        output={"max_items": 3})
    update(config, now=clock)
    assert [e.title for e in parse_feed(feeds(config)[0]).entries] == [
        "Report number 9", "Report number 8", "Report number 7"]


def test_regenerate_needs_no_network(tmp_path, site, clock):
    config = config_for(tmp_path, site.page("/p", listing([entry(1), entry(2)])))
    update(config, now=clock)
    before = feeds(config)
    site.stop()
    config.feeds[0].path("rss").unlink()
    config.feeds[0].path("atom").write_bytes(b"garbage")
    report = regenerate(config, now=clock)
    assert set(report.written) == {str(config.feeds[0].path("rss")), str(config.feeds[0].path("atom"))}
    assert feeds(config) == before


def test_not_modified_with_missing_feed_files_rebuilds_them(tmp_path, site, clock):
    config = config_for(tmp_path, site.page("/p", listing([entry(1)])))
    update(config, now=clock)
    before = feeds(config)
    config.feeds[0].path("atom").unlink()
    report = update(config, now=clock)
    assert report.not_modified and report.written == (str(config.feeds[0].path("atom")),)
    assert feeds(config) == before


def test_a_changed_feed_setting_is_published_by_the_next_update(tmp_path, site, clock):
    url = site.page("/p", listing([entry(1)]))
    update(config_for(tmp_path, url), now=clock)
    config = config_for(tmp_path, url, feed={"title": "Renamed feed", "link": SEED_BASE, "author": "ILO",
                                             "base_url": "https://feeds.example.org/x/"})
    report = update(config, now=clock)
    assert report.not_modified and len(report.written) == len(FILES)  # every file names the feed
    assert parse_feed(feeds(config)[0]).feed.title == "Renamed feed"


def test_changed_selectors_read_an_unchanged_page_again(tmp_path, site, clock):
    url = site.page("/p", listing([entry(1)]))
    update(config_for(tmp_path, url), now=clock)
    config = config_for(tmp_path, url, source={"selectors": {"summary": "p.nothing"}})
    report = update(config, now=clock)
    assert [fields for _, fields in report.updated] == [("summary",)]
    assert "If-None-Match" not in site.hits("/p")[-1].headers  # a fresh read, not a 304


def test_the_feed_language_falls_back_to_the_page(tmp_path, site, clock):
    config = config_for(tmp_path, site.page("/p", listing([entry(1)], lang="fr")),
                        feed={"language": None})
    update(config, now=clock)
    rss, atom = feeds(config)
    assert b"<language>fr</language>" in rss and b'xml:lang="fr"' in atom


@pytest.mark.parametrize("value, tag", [("en", "en"), ("fr-CH", "fr-CH"), ("en_US", "en-US"), (" es ", "es"),
                                        ("english language", None), ("", None), (None, None)])
def test_page_languages_become_language_tags(value, tag):
    from spfeed.pipeline import language_tag

    assert language_tag(value) == tag


def test_a_relative_date_is_fixed_when_first_seen_and_never_drifts(tmp_path, site, clock):
    url = site.page("/p", listing([entry(1, day="2 days ago"), entry(2, day="Yesterday")]))
    config = config_for(tmp_path, url)
    report = update(config, now=clock)  # 2026-11-27 08:00 UTC
    assert {i.title: i.published.date().isoformat() for i in report.new} == {
        "Report number 1": "2026-11-25", "Report number 2": "2026-11-26"}
    before = feeds(config)
    clock.advance(days=1)
    site.page("/p", listing([entry(1, day="2 days ago"), entry(2, day="Yesterday"), entry(3)]))  # same words, a day on
    report = update(config, now=clock)
    assert [i.title for i in report.new] == ["Report number 3"] and not report.updated
    entries = {e.title: e.published for e in parse_feed(feeds(config)[1]).entries}
    assert entries["Report number 1"].startswith("2026-11-25") and entries["Report number 2"].startswith("2026-11-26")
    assert before != feeds(config)


def test_some_undated_items_are_reported_in_one_warning(tmp_path, site, clock):
    url = site.page("/p", listing([entry(1), entry(2), entry(3, day="sometime")]))
    report = update(config_for(tmp_path, url), now=clock)
    assert not report.failures
    assert [w for w in report.warnings if "no readable date" in w] == [
        f"{url}: 1 of 3 items have no readable date (sources[0].selectors.date 'p.date'): published when first seen"]


def test_times_published_once_never_move_back_when_the_clock_does(tmp_path, site, clock):
    """The clock going back between runs (2026-12-01, then 2024-01-01) once moved a changed item's
    <updated>, and the feed's, back by years."""
    url = site.page("/p", listing([entry(1), entry(2)]))
    config = config_for(tmp_path, url)
    clock.now = clock.now.replace(year=2026, month=12, day=1)
    update(config, now=clock)
    site.page("/p", listing([entry(1, summary="Changed once."), entry(2)]))
    update(config, now=clock)
    first = parse_feed(feeds(config)[1])
    clock.now = clock.now.replace(year=2024, month=1, day=1)
    site.page("/p", listing([entry(1, summary="Changed twice."), entry(2)]))
    report = update(config, now=clock)
    [(changed, fields)] = report.updated
    assert fields == ("summary",)
    second = parse_feed(feeds(config)[1])
    assert second.feed.updated_parsed > first.feed.updated_parsed
    before = {e.id: e.updated_parsed for e in first.entries}
    after = {e.id: e.updated_parsed for e in second.entries}
    assert after[changed.id] > before[changed.id] and all(after[i] >= before[i] for i in before)


def test_an_unchanged_page_costs_twelve_statements_and_two_commits(tmp_path, site, monkeypatch):
    """What a 304 run says to SQLite once the file is open, counted with the connection's trace
    callback: the run's row (5: a transaction), the source's validators, what it listed, the render
    state, and the run's outcome with the source's record (4: a transaction). The run's row is
    committed before the fetch so that `status` shows a run in progress (and a killed one as died)."""
    from spfeed.store import Store

    config = load(write_config(tmp_path, site.page("/p", listing([entry(1)]))))
    assert update(config).new
    statements: list[str] = []
    opened = Store.open.__func__

    def traced(cls, path):
        store = opened(cls, path)
        store.conn.set_trace_callback(statements.append)
        return store

    monkeypatch.setattr(Store, "open", classmethod(traced))
    report = update(config)
    assert report.not_modified and not report.written
    assert [s for s in statements if s in ("BEGIN IMMEDIATE", "COMMIT")] == ["BEGIN IMMEDIATE", "COMMIT"] * 2
    assert len(statements) == 12, statements


def test_items_in_their_place_are_not_copied(tmp_path, site, monkeypatch):
    """A page's items keep the positions they were read with through the run: none is copied to
    move it (a copy per item and stage cost a first update of 8,000 items a twentieth of its time)."""
    import spfeed.diff

    config = load(write_config(tmp_path, site.page("/p", listing([entry(n) for n in range(1, 6)]))))
    copies: list[object] = []
    real = spfeed.diff.replace
    monkeypatch.setattr(spfeed.diff, "replace", lambda item, **changes: copies.append(item) or real(item, **changes))
    report = update(config)
    assert [item.position for item in report.new] == [0, 1, 2, 3, 4]
    assert copies == []
