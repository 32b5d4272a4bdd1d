"""`spfeed check` and `spfeed init` on new pages: the selectors they print, structured data, saved
pages, retries; init's config loads and publishes exactly what check showed."""

import logging
import re
import socket
import textwrap

import pytest
import yaml

from conftest import FIXTURES, Reply, fixture_bytes, parse_feed, run_cli
from spfeed.cli import main
from spfeed.config import Selectors, parse
from spfeed.extract import decode_html, extract
from spfeed.pipeline import update
from test_extract import PAGES, as_expected, expected_of, wanted

WIDE = 300  # terminal columns for check's table, so that no title is cut


@pytest.fixture(autouse=True)
def no_config_here(tmp_path, monkeypatch):
    """Each test runs in an empty folder with no $SPFEED_CONFIG and a wide terminal."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPFEED_CONFIG", raising=False)
    monkeypatch.setenv("COLUMNS", str(WIDE))


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def printed_entry(out: str) -> dict:
    """The `sources:` entry check printed after its table, parsed back as YAML."""
    lines = out.splitlines()
    start = lines.index("  the selectors that gave this table, for config.yaml:") + 1
    return yaml.safe_load(textwrap.dedent("\n".join(lines[start:])))["sources"][0]


def table_rows(out: str) -> list[tuple[str, str, str]]:
    """(date, title, link) of each row of check's table."""
    title_width = max(20, WIDE - 2 - 3 - 2 - 10 - 2 - 24 - 2 - 20)
    lines = out.splitlines()
    rows = []
    for i, line in enumerate(lines):
        if re.match(r"^  +\d+  ", line) and not line.startswith("  selectors"):
            rows.append((line[7:17].strip(), line[45:45 + title_width].rstrip(), lines[i + 1].split("  [")[0].strip()))
    return rows


def test_check_prints_the_selectors_it_used_and_they_read_the_same_table(capsys, site):
    url = site.page("/resource/news", fixture_bytes("modern/ilo-2024.html"))
    code, out, err = cli(capsys, "check", url)
    assert code == 0 and err == ""
    assert "found by generic detection: blocks like 'div.views-row' (no item selector given)" in out
    entry = printed_entry(out)
    assert entry["url"] == url and entry["timezone"] == "Europe/Zurich" and "base_url" not in entry
    assert entry["selectors"]["date"] == "time.datetime@datetime"
    # the printed selectors, given back to check, give the same table without detection
    again = cli(capsys, "check", url, *[f"--select={k}={v}" for k, v in entry["selectors"].items()])[1]
    assert "generic detection" not in again and table_rows(again) == table_rows(out)
    assert len(table_rows(out)) == 4


def test_check_with_selectors_but_no_item_detects_and_keeps_them(capsys, site):
    url = site.page("/resource/news", fixture_bytes("modern/ilo-2024.html"))
    code, out, _ = cli(capsys, "check", url, "--select", "summary=h3", "--select", "label=p.nothing")
    entry = printed_entry(out)
    assert entry["selectors"]["item"] == "div.views-row"
    assert entry["selectors"]["summary"] == "h3" and entry["selectors"]["label"] == "p.nothing"
    assert "label / kind" in out and "Press release" not in out  # the given label selector finds nothing


def test_check_marks_the_fields_taken_from_structured_data(capsys, site):
    url = site.page("/platform/news", fixture_bytes("modern/json-ld.html"))
    code, out, _ = cli(capsys, "check", url)
    assert "https://www.ilo.org/resource/news/universal-social-protection-2030  [from structured data: " \
           "title, date, summary, label]" in out
    assert printed_entry(out)["selectors"] == {"item": 'script[type="application/ld+json"]'}


def test_check_of_a_saved_page_with_relative_links_says_to_set_the_base_url(capsys):
    code, out, _ = cli(capsys, "check", str(FIXTURES / "ilo" / "asia-news.html"))
    assert code == 3
    assert "a saved page with relative links needs the source's base_url): set --base-url URL to the page's web address" in out
    assert "# base_url: https://" in out
    code, out, _ = cli(capsys, "check", str(FIXTURES / "ilo" / "asia-news.html"), "--base-url", "https://www.ilo.org/asia/")
    assert code == 0 and printed_entry(out)["base_url"] == "https://www.ilo.org/asia/"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("args, attempts", [([], 1), (["--retries", "1"], 2)])
def test_check_tries_an_unreachable_host_once_unless_told(capsys, caplog, args, attempts):
    url = f"http://127.0.0.1:{closed_port()}/news"
    with caplog.at_level(logging.INFO, logger="spfeed.fetch"):
        code, out, err = cli(capsys, "check", url, *args)
    assert code == 1 and out == ""
    assert len([r for r in caplog.records if r.getMessage().startswith("GET ")]) == attempts
    assert err.count("\n") == 1 and err.startswith(f"spfeed: error: {url}: ")


def test_check_and_init_read_an_xhtml_page_quietly(tmp_path, site):
    """No parser warnings on stderr, which cron would mail: checked in a real process."""
    page = ('<?xml version="1.0"?>\n<?xml-stylesheet href="s.xsl"?>\n<page><body><ul>'
            '<li class="n"><a href="/a">Alpha item</a> <span>1 June 2022</span></li>'
            '<li class="n"><a href="/b">Beta item</a> <span>2 June 2022</span></li></ul></body></page>').encode()
    url = site.route("/x", Reply(body=page, content_type="application/xhtml+xml"))
    for command in ("check", "init"):
        result = run_cli(command, url, cwd=tmp_path)
        assert result.returncode == 0 and result.stderr == ""
        assert "Alpha item" in result.stdout or "item: li.n" in result.stdout


@pytest.mark.parametrize("name", PAGES)
def test_the_selectors_init_writes_read_every_fixture_page(capsys, tmp_path, name):
    expected = expected_of(name)
    path = FIXTURES / f"{name}.html"
    code, out, _ = cli(capsys, "init", str(path), "--base-url", expected["source_url"])
    assert code == 0
    config = parse(out, tmp_path / "config.yaml")
    [source] = config.sources
    assert source.base_url == expected["source_url"] and source.url == path.as_uri()
    text, _ = decode_html(path.read_bytes())
    listing = extract(text, source.url, source.selectors, source.base_url, detect=False)
    assert as_expected(listing, expected) == wanted(expected)


@pytest.mark.parametrize("name", ["modern/ilo-2024", "modern/data-href", "modern/us-dates", "variants/generic",
                                  "ilo/secsoc-home"])
def test_init_then_update_publishes_exactly_what_check_showed(capsys, tmp_path, site, clock, name):
    url = site.page("/listing", fixture_bytes(f"{name}.html"))
    code, config_text, err = cli(capsys, "init", url)
    assert code == 0 and err == ""
    (tmp_path / "config.yaml").write_text(config_text, encoding="utf-8")
    config = parse(config_text, tmp_path / "config.yaml")
    assert config.feeds[0].settings.link == url and config.sources[0].url == url
    shown = table_rows(cli(capsys, "check", url)[1])
    assert shown and all(date != "?" for date, _, _ in shown)
    update(config, now=clock)
    atom = parse_feed(config.feeds[0].path("atom").read_bytes())
    published = [(f"{e.published_parsed.tm_year:04}-{e.published_parsed.tm_mon:02}-{e.published_parsed.tm_mday:02}",
                  e.title, e.link) for e in atom.entries]
    # the feed lists by date; dates are noon in Zurich, so the UTC day is the page's day
    assert sorted(published) == sorted(shown)


def test_init_takes_the_feed_from_the_page(capsys, tmp_path, site):
    url = site.page("/resource/news", fixture_bytes("modern/ilo-2024.html"))
    out = cli(capsys, "init", url)[1]
    config = parse(out, tmp_path / "config.yaml")
    feed = config.feeds[0].settings
    assert feed.title == "News | International Labour Organization"
    assert feed.author.name == "International Labour Organization"  # og:site_name
    assert feed.language == "en" and feed.base_url == "https://feeds.example.org/spfeed/"
    assert "# The URL of the folder where rss.xml and atom.xml are published: edit it to yours." in out
    assert config.sources[0].selectors == Selectors(**printed_entry(cli(capsys, "check", url)[1])["selectors"])
    titled = parse(cli(capsys, "init", url, "--feed-title", "Social protection: news")[1], tmp_path / "c.yaml")
    assert titled.feeds[0].settings.title == "Social protection: news"
    plain = site.page("/plain", fixture_bytes("modern/us-dates.html").replace(b"<title>Newsroom | Washington office</title>", b""))
    untitled = parse(cli(capsys, "init", plain)[1], tmp_path / "c.yaml")
    assert untitled.feeds[0].settings.title == untitled.feeds[0].settings.author.name == "127.0.0.1"  # no <title>, no site name: the host


def test_init_of_a_page_without_a_listing_fails_in_one_line(capsys, site):
    url = site.page("/empty", b"<html><head><title>Nothing</title></head><body><p>No news here.</p></body></html>")
    code, out, err = cli(capsys, "init", url)
    assert code == 3 and out == ""
    assert err.startswith(f"spfeed: error: {url}: found no listing on the page") and err.count("\n") == 1


def test_check_and_init_read_numeric_dates_in_the_order_the_page_shows(capsys, tmp_path, site):
    url = site.page("/washington/news", fixture_bytes("modern/us-dates.html"))
    out = cli(capsys, "check", url)[1]
    assert printed_entry(out)["date_order"] == "MDY"
    assert [date for date, _, _ in table_rows(out)] == ["2026-11-28", "2026-11-05", "2026-10-13"]
    config = parse(cli(capsys, "init", url)[1], tmp_path / "config.yaml")
    assert config.sources[0].date_order == "MDY"
    # a page in the config keeps the config's order, whatever it shows
    (tmp_path / "config.yaml").write_text(cli(capsys, "init", url)[1].replace("  date_order: MDY\n", ""))
    out = cli(capsys, "check", url)[1]
    assert "date_order" not in printed_entry(out) and table_rows(out)[1][0] == "2026-05-11"
