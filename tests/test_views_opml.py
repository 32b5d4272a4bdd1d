"""OPML 2.0: every feed and label feed, grouped by feed, byte-stable, and imported whole by a real reader."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from conftest import Reply
from spfeed.model import Author, FeedMeta, Links, Listed, StoredItem
from spfeed.views import opml, renderer

GENEVA = ZoneInfo("Europe/Zurich")
AUTHOR = Author("ILO Social Protection Department")


def listed(base: str, title: str, labels: tuple[str, ...] = (), language: str | None = "en",
           formats: tuple[str, ...] = ("rss", "atom", "json", "html")) -> Listed:
    """A main feed at *base* with a label feed in ``base/<label>/`` for each of *labels*."""
    link = "https://www.ilo.org/secsoc/lang--en/index.htm"
    subs = tuple(Listed(FeedMeta(name=label, title=f"{title}: {label}", description=title, link=link,
                                 author=AUTHOR, language=language, label=label),
                        Links(base=f"{base}{label}/", formats=("atom", "html"), parent=base)) for label in labels)
    return Listed(FeedMeta(name=base, title=title, description=title, link=link, author=AUTHOR, language=language),
                  Links(base=base, formats=formats, labels=tuple((s.meta.label, s.links.base) for s in subs)), subs)


FEEDS = [listed("https://feeds.example.org/secsoc/", "Social protection", ("report", "event")),
         listed("https://feeds.example.org/asia/", "Asia & Pacific <news>", language=None, formats=("rss", "html")),
         listed("https://feeds.example.org/es/", "Protección social", language="es", formats=("atom",))]


def outline_attrs(element) -> dict[str, str]:
    return dict(element.attrib)


def test_every_feed_and_label_feed_with_its_urls_grouped_by_feed():
    root = etree.fromstring(opml.render("ILO feeds", FEEDS))
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "ILO feeds" and [e.tag for e in root.find("head")] == ["title"]
    body = root.find("body")
    # a feed with label feeds is a folder: the feed itself first, then its label feeds
    folder, asia, es = body
    assert outline_attrs(folder) == {"text": "Social protection"}
    assert [outline_attrs(o) for o in folder] == [
        {"type": "rss", "text": "Social protection", "title": "Social protection",
         "xmlUrl": "https://feeds.example.org/secsoc/atom.xml", "htmlUrl": "https://feeds.example.org/secsoc/index.html",
         "language": "en"},
        {"type": "rss", "text": "Social protection: report", "title": "Social protection: report",
         "xmlUrl": "https://feeds.example.org/secsoc/report/atom.xml",
         "htmlUrl": "https://feeds.example.org/secsoc/report/index.html", "language": "en"},
        {"type": "rss", "text": "Social protection: event", "title": "Social protection: event",
         "xmlUrl": "https://feeds.example.org/secsoc/event/atom.xml",
         "htmlUrl": "https://feeds.example.org/secsoc/event/index.html", "language": "en"}]
    # no label feeds: a plain outline; no Atom: its RSS; no language: none claimed; no page: the source's
    assert outline_attrs(asia) == {
        "type": "rss", "text": "Asia & Pacific <news>", "title": "Asia & Pacific <news>",
        "xmlUrl": "https://feeds.example.org/asia/rss.xml", "htmlUrl": "https://feeds.example.org/asia/index.html"}
    assert outline_attrs(es) == {
        "type": "rss", "text": "Protección social", "title": "Protección social",
        "xmlUrl": "https://feeds.example.org/es/atom.xml", "htmlUrl": "https://www.ilo.org/secsoc/lang--en/index.htm",
        "language": "es"}
    assert len(asia) == len(es) == 0


@pytest.mark.parametrize("title", ['Q&A <b>"quoted"</b> \'x\'', "bell\x07 and\x0b tab\tnewline\nend", "Genève — “news”"])
def test_titles_are_escaped_and_the_file_stays_well_formed(title):
    data = opml.render(title, [listed("https://feeds.example.org/x/", title)])
    root = etree.fromstring(data)  # lxml refuses anything malformed
    expected = title.replace("\x07", "").replace("\x0b", "")
    assert root.findtext("head/title") == expected
    assert root.find("body/outline").get("text") == expected
    assert b"<b>" not in data


def test_byte_stable_with_no_clock():
    data = opml.render("ILO feeds", FEEDS)
    assert data == opml.render("ILO feeds", list(FEEDS))
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n') and data.endswith(b"</opml>\n")
    assert b"dateCreated" not in data and b"dateModified" not in data
    assert opml.render("ILO feeds", FEEDS[:2]) != data


# --- a real reader ------------------------------------------------------------------------------

def stored(feed: str, n: int) -> StoredItem:
    published = datetime(2022, 6, 28 - n, 12, tzinfo=GENEVA)
    link = f"https://www.ilo.org/global/{feed}/{n}/index.htm"
    return StoredItem(id=link, link=link, title=f"{feed} item {n}", summary=None, label=feed, kind=None,
                      published=published, dated=True, updated=published, first_seen=published, last_seen=published,
                      changed_at=None, position=n, source="https://www.ilo.org/secsoc/")


@pytest.mark.skipif(shutil.which("newsboat") is None, reason="newsboat is not installed (apt-get install newsboat)")
def test_newsboat_imports_every_feed_and_reads_each_ones_items(site, tmp_path):
    counts = {"/secsoc/": 5, "/secsoc/report/": 3, "/secsoc/event/": 2, "/asia/": 4}
    feeds = [listed(site.url("/secsoc/"), "Social protection", ("report", "event")), listed(site.url("/asia/"), "Asia")]
    for listing in [feeds[0], *feeds[0].labels, feeds[1]]:
        path = listing.links.base.removeprefix(site.base)
        atom = renderer("atom")(listing.meta, [stored(path, n) for n in range(counts[path])], listing.links)
        site.route(path + "atom.xml", Reply(body=atom, content_type="application/atom+xml"))
    (tmp_path / "feeds.opml").write_bytes(opml.render("ILO feeds", feeds))

    home, urls, cache = tmp_path / "home", tmp_path / "urls", tmp_path / "cache.db"
    home.mkdir()
    urls.touch()
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_DATA_HOME": str(home / ".local/share")}
    common = ["newsboat", "-u", str(urls), "-c", str(cache), "-C", "/dev/null"]
    subprocess.run([*common, "-i", str(tmp_path / "feeds.opml")], check=True, capture_output=True, env=env, timeout=60)
    imported = urls.read_text().splitlines()
    assert sorted(line.split()[0] for line in imported) == sorted(site.url(p + "atom.xml") for p in counts)
    # the folder becomes a tag on the feed and on its label feeds
    assert sum('"Social protection"' in line for line in imported) == 3

    subprocess.run([*common, "-x", "reload"], check=True, capture_output=True, env=env, timeout=60)
    with sqlite3.connect(cache) as db:
        got = dict(db.execute("SELECT feedurl, COUNT(*) FROM rss_item GROUP BY feedurl").fetchall())
    assert got == {site.url(p + "atom.xml"): n for p, n in counts.items()}
