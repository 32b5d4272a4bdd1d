"""Several feeds from one config: each with its own history, folder, formats and label feeds; one
state database; the old single-feed shape and its databases keep working."""

import json
import shutil
import sqlite3
import textwrap
from pathlib import Path

import pytest
import yaml

from conftest import FIXTURES, REPO, Reply, parse_feed, validate_atom
from pages import entry, listing
from spfeed.cli import main
from spfeed.config import load, parse
from spfeed.errors import ConfigError
from spfeed.model import FILES
from spfeed.pipeline import regenerate, update
from spfeed.store import SCHEMA_VERSION

FEED = {"title": "T", "link": "https://www.ilo.org/", "author": "ILO"}


def feeds_config(folder: Path, feeds: list[dict], **output) -> Path:
    """A config of several *feeds* (each a dict with name and sources) publishing under folder/out."""
    data = {
        "feeds": [{**FEED, "title": f"Feed {f.get('name')}", **f} for f in feeds],
        "output": {"dir": "out", "base_url": "https://feeds.example.org/", **output},
        "state": {"path": "state/s.sqlite", "lock_timeout": 1},
        "http": {"timeout": 5, "retries": 0, "backoff": 0.05},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def source(url: str) -> dict:
    return {"url": url, "profile": "ilo", "page_delay": 0}


# -- the config ----------------------------------------------------------------------------------


def test_each_feed_gets_a_folder_and_a_url_under_output(tmp_path):
    config = load(feeds_config(tmp_path, [
        {"name": "a", "sources": [source("https://www.ilo.org/a")]},
        {"name": "b", "sources": [source("https://www.ilo.org/b")],
         "output": {"max_items": 5, "formats": ["atom", "rss"], "by_label": True}},
        {"name": "c", "sources": [source("https://www.ilo.org/c")], "output": {"dir": "out/deep/c"}},
    ], max_items=20))
    a, b, c = config.feeds
    assert [f.name for f in config.feeds] == ["a", "b", "c"]
    assert a.output.dir == tmp_path / "out" / "a" and a.settings.base_url == "https://feeds.example.org/a/"
    assert (a.output.max_items, a.output.formats, a.output.by_label) == (20, tuple(FILES), False)
    assert (b.output.max_items, b.output.formats, b.output.by_label) == (5, ("rss", "atom"), True)  # FILES order
    assert c.settings.base_url == "https://feeds.example.org/deep/c/" and c.path("atom") == tmp_path / "out/deep/c/atom.xml"
    assert config.base_url == "https://feeds.example.org/" and config.output.dir == tmp_path / "out"
    assert [s.key for s in b.sources] == ["feeds[1].sources[0]"]


def test_the_single_feed_shape_is_one_unnamed_feed_in_output_dir():
    config = load(REPO / "config.yaml")
    [feed] = config.feeds
    assert (feed.name, feed.output.dir, feed.settings.base_url) == (
        "", REPO / "feeds", "https://feeds.example.org/ilo-social-protection/")
    assert feed.output.formats == tuple(FILES)


@pytest.mark.parametrize("feeds, output, message", [
    ([{"name": "a b", "sources": [source("https://x.org/")]}], {}, "feeds[0].name: expected a slug"),
    ([{"name": "a", "sources": [source("https://x.org/")]}, {"name": "a", "sources": [source("https://y.org/")]}],
     {}, "feeds[1].name: two feeds are named 'a'"),
    ([{"sources": [source("https://x.org/")]}], {}, "feeds[0].name: missing"),
    ([{"name": "a"}], {}, "feeds[0].sources: missing"),
    ([{"name": "a", "sources": [source("https://x.org/")], "titel": "x"}], {}, "feeds[0].titel: unknown key"),
    ([{"name": "a", "sources": [source("https://x.org/")]}], {"formats": ["rss", "pdf"]},
     "output.formats: unknown format 'pdf'"),
    ([{"name": "a", "sources": [source("https://x.org/")], "output": {"formats": []}}], {},
     "feeds[0].output.formats: expected a non-empty list"),
    ([{"name": "a", "sources": [source("https://x.org/")], "output": {"dir": "/elsewhere"}}], {},
     "feeds[0].output.dir: is outside output.dir"),
    ([{"name": "a", "sources": [source("https://x.org/")]},
      {"name": "b", "sources": [source("https://y.org/")], "output": {"dir": "out/a"}}], {},
     "feeds[1].output.dir"),
])
def test_bad_feeds_are_config_errors_naming_the_key(tmp_path, feeds, output, message):
    with pytest.raises(ConfigError, match="config.yaml: " + message.replace("[", r"\[").replace("]", r"\]")):
        load(feeds_config(tmp_path, feeds, **output))


def test_feeds_and_the_single_feed_shape_do_not_mix(tmp_path):
    text = "feed: {title: T}\nfeeds: []\n"
    with pytest.raises(ConfigError, match="give either feeds"):
        parse(text, tmp_path / "config.yaml")


def test_an_unknown_feed_name_is_a_usage_error(tmp_path, capsys):
    config = feeds_config(tmp_path, [{"name": "a", "sources": [source("https://www.ilo.org/a")]}])
    assert main(["--config", str(config), "update", "--feed", "nope"]) == 2
    assert capsys.readouterr().err == "spfeed: error: --feed: unknown feed 'nope' (known: a)\n"


# -- runs ----------------------------------------------------------------------------------------


def test_the_shipped_three_feed_example_publishes_everything_then_nothing(tmp_path, capsys):
    examples = tmp_path / "examples"
    shutil.copytree(REPO / "examples", examples)
    config_path = examples / "ilo-feeds.yaml"
    assert main(["--config", str(config_path), "update"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("18 new, 0 updated, 0 gone; wrote ")
    assert [line for line in out.splitlines() if line.endswith(":")] == ["ilo-secsoc:", "ilo-newsroom:", "ilo-asia-pacific:"]
    config = load(config_path)
    top = config.output.dir
    assert (top / "feeds.opml").is_file() and (top / "index.html").is_file()
    for feed in config.feeds:
        for fmt in ("rss", "atom", "json", "html"):
            assert feed.path(fmt).is_file(), feed.path(fmt)
        assert not feed.path("opml").exists()  # the OPML list is written once, at the top
        atom = feed.path("atom").read_bytes()
        validate_atom(atom)
        assert len(parse_feed(atom).entries) == 6
        assert len(parse_feed(feed.path("rss").read_bytes()).entries) == 6
    files = {p: p.stat().st_mtime_ns for p in top.rglob("*") if p.is_file()}
    assert len(files) > 40  # label feeds included
    assert main(["--config", str(config_path), "update"]) == 0
    assert capsys.readouterr().out == ""  # a second run prints nothing
    assert {p: p.stat().st_mtime_ns for p in top.rglob("*") if p.is_file()} == files  # and writes nothing


def test_label_feeds_hold_exactly_their_items_and_keep_growing_or_not(tmp_path, site, clock):
    url = site.page("/p", listing([entry(1, label="Publicación"), entry(2, label="New ILO report"),
                                   entry(3, label="New ILO report", day="Press release | 17 June 2022")]))
    config = load(feeds_config(tmp_path, [{"name": "a", "sources": [source(url)], "output": {"by_label": True}}]))
    update(config, now=clock)
    feed = config.feeds[0]
    labels = feed.output.dir / "labels"
    assert sorted(p.name for p in labels.iterdir()) == ["new-ilo-report", "press-release", "publicacion"]
    for slug, titles in [("new-ilo-report", ["Report number 3", "Report number 2"]),
                         ("publicacion", ["Report number 1"]), ("press-release", ["Report number 3"])]:
        atom = (labels / slug / "atom.xml").read_bytes()
        validate_atom(atom)
        parsed = parse_feed(atom)
        assert [e.title for e in parsed.entries] == titles
        assert parsed.feed.id == f"https://feeds.example.org/a/labels/{slug}/atom.xml"
        rss = parse_feed((labels / slug / "rss.xml").read_bytes())
        assert [e.title for e in rss.entries] == titles
        assert json.loads((labels / slug / "feed.json").read_text())["feed_url"] == \
            f"https://feeds.example.org/a/labels/{slug}/feed.json"
        assert (labels / slug / "index.html").is_file() and not (labels / slug / "feeds.opml").exists()
    assert parse_feed((labels / "publicacion" / "atom.xml").read_bytes()).feed.title == "Feed a: Publicación"
    # the label leaves the page: its feed stays as it was
    before = (labels / "publicacion" / "atom.xml").read_bytes()
    site.page("/p", listing([entry(2, label="New ILO report"), entry(4, label="New ILO report")]))
    clock.advance(hours=1)
    update(config, now=clock)
    assert (labels / "publicacion" / "atom.xml").read_bytes() == before
    assert len(parse_feed((labels / "new-ilo-report" / "atom.xml").read_bytes()).entries) == 3
    opml = (config.output.dir / "feeds.opml").read_text()
    for slug in ("new-ilo-report", "press-release", "publicacion"):
        assert f"https://feeds.example.org/a/labels/{slug}/atom.xml" in opml


def test_the_same_link_in_two_feeds_keeps_two_copies_and_two_statuses(tmp_path, site, clock):
    one = site.page("/one", listing([entry(1), entry(2)]))
    two = site.page("/two", listing([entry(1, title="Another title")]))
    config = load(feeds_config(tmp_path, [{"name": "a", "sources": [source(one)]},
                                          {"name": "b", "sources": [source(two)]}]))
    report = update(config, now=clock)
    assert sorted((i.feed, i.title) for i in report.new) == [
        ("a", "Report number 1"), ("a", "Report number 2"), ("b", "Another title")]
    site.page("/two", listing([entry(1, title="Changed in b")]))
    clock.advance(hours=1)
    report = update(config, now=clock)
    assert [(i.feed, i.title) for i, _ in report.updated] == [("b", "Changed in b")] and not report.new
    a, b = (parse_feed(f.path("atom").read_bytes()) for f in config.feeds)
    assert [e.title for e in a.entries] == ["Report number 1", "Report number 2"]
    assert [e.title for e in b.entries] == ["Changed in b"] and a.entries[0].id == b.entries[0].id


def test_one_failing_feed_does_not_stop_the_others(tmp_path, site, clock, capsys):
    good = site.page("/good", listing([entry(1)]))
    bad = site.route("/bad", Reply(status=503, body=b"down", content_type="text/plain"))
    config = feeds_config(tmp_path, [{"name": "bad", "sources": [source(bad)]},
                                     {"name": "good", "sources": [source(good)]}])
    assert main(["--config", str(config), "update", "--json"]) == 1
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert [(i["feed"], i["title"]) for i in data["new"]] == [("good", "Report number 1")]
    assert len(data["errors"]) == 1 and "/bad: HTTP 503" in data["errors"][0]
    assert err.splitlines() == [f"spfeed: error: {data['errors'][0]}"]
    assert (tmp_path / "out" / "good" / "atom.xml").is_file() and not (tmp_path / "out" / "bad").exists()


def test_feed_limits_a_command_to_some_feeds(tmp_path, site, clock, capsys):
    a = site.page("/a", listing([entry(1)]))
    b = site.page("/b", listing([entry(2)]))
    config = feeds_config(tmp_path, [{"name": "a", "sources": [source(a)]}, {"name": "b", "sources": [source(b)]}])
    assert main(["--config", str(config), "update", "--feed", "b"]) == 0
    assert not site.hits("/a") and len(site.hits("/b")) == 1
    assert not (tmp_path / "out" / "a").exists() and (tmp_path / "out" / "b" / "atom.xml").is_file()
    capsys.readouterr()
    (tmp_path / "out" / "b" / "rss.xml").unlink()
    assert main(["--config", str(config), "regenerate", "--feed", "b"]) == 0
    assert capsys.readouterr().out == f"rebuilt {tmp_path / 'out' / 'b' / 'rss.xml'}\n"


def test_a_format_taken_out_of_formats_stops_being_written_and_stays(tmp_path, site, clock, caplog):
    url = site.page("/p", listing([entry(1)]))
    path = feeds_config(tmp_path, [{"name": "a", "sources": [source(url)]}])
    update(load(path), now=clock)
    json_file = tmp_path / "out" / "a" / "feed.json"
    before = json_file.read_bytes()
    path = feeds_config(tmp_path, [{"name": "a", "sources": [source(url)], "output": {"formats": ["rss", "atom"]}}])
    site.page("/p", listing([entry(1), entry(2)]))
    clock.advance(hours=1)
    with caplog.at_level("INFO", logger="spfeed"):
        report = update(load(path), now=clock)
    assert [i.title for i in report.new] == ["Report number 2"]
    assert json_file.read_bytes() == before
    assert any("feed.json: left in place, no longer written" in r.getMessage() for r in caplog.records)


# -- state databases of older versions -------------------------------------------------------------


def test_an_old_single_feed_database_migrates_without_anything_new(tmp_path, site, clock):
    """A state file written by spfeed 0.1.0 (schema 1): its history stays, nothing is reported as
    new, and the same RSS and Atom come out byte for byte."""
    state = tmp_path / "state" / "s.sqlite"
    state.parent.mkdir()
    shutil.copy(FIXTURES / "state" / "v1-single-feed.sqlite", state)
    url = site.page("/secsoc/lang--en/index.htm", (FIXTURES / "ilo" / "secsoc-home.html").read_bytes())
    text = textwrap.dedent(f"""\
        feed:
          title: "ILO Social Protection Department: news"
          link: https://www.ilo.org/secsoc/lang--en/index.htm
          language: en
          author: ILO Social Protection Department
          base_url: https://feeds.example.org/secsoc/
        sources:
          - url: {url}
            profile: ilo
            base_url: https://www.ilo.org/secsoc/lang--en/index.htm
        state:
          path: state/s.sqlite
        output:
          formats: [rss, atom]
        """)
    (tmp_path / "config.yaml").write_text(text)
    config = load(tmp_path / "config.yaml")
    report = regenerate(config, now=clock)
    assert set(report.written) == {str(tmp_path / "feeds" / "rss.xml"), str(tmp_path / "feeds" / "atom.xml")}
    assert (tmp_path / "feeds" / "rss.xml").read_bytes() == (FIXTURES / "state" / "v1-single-feed.rss.xml").read_bytes()
    assert (tmp_path / "feeds" / "atom.xml").read_bytes() == (FIXTURES / "state" / "v1-single-feed.atom.xml").read_bytes()
    report = update(config, now=clock)
    assert (report.new, report.updated, report.exit_code) == ((), (), 0)
    with sqlite3.connect(state) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("SELECT count(*), min(feed), max(feed) FROM items").fetchone() == (6, "", "")
        assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 3  # the old run and these two
        assert db.execute("SELECT count(*) FROM labels").fetchone()[0] == 6


def test_a_single_feed_moved_into_feeds_keeps_its_history(tmp_path, site, clock, caplog):
    url = site.page("/p", listing([entry(1), entry(2)]))
    single = {"feed": {**FEED, "base_url": "https://feeds.example.org/"}, "sources": [source(url)],
              "output": {"dir": "out"}, "state": {"path": "state/s.sqlite"}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(single))
    assert len(update(load(tmp_path / "config.yaml"), now=clock).new) == 2
    config = load(feeds_config(tmp_path, [{"name": "secsoc", "sources": [source(url)]}]))
    site.page("/p", listing([entry(1), entry(2), entry(3)]))
    clock.advance(hours=1)
    report = update(config, now=clock)
    assert [(i.feed, i.title) for i in report.new] == [("secsoc", "Report number 3")]
    assert any("took over the history" in r.getMessage() for r in caplog.records)
