"""The config file: a working default, every key checked, errors that name the file and the key."""

import textwrap
from pathlib import Path

import pytest

from conftest import REPO
from spfeed.config import DEFAULT_USER_AGENT, config_path, load, parse
from spfeed.errors import ConfigError
from spfeed.extract import check_selectors
from spfeed.profiles import ILO

MINIMAL = """
feed:
  title: T
  link: https://www.ilo.org/secsoc/lang--en/index.htm
  author: ILO
  base_url: https://feeds.example.org/secsoc
sources:
  - url: https://www.ilo.org/secsoc/lang--en/index.htm
    profile: ilo
"""


def test_the_shipped_config_is_valid_and_points_at_the_live_page():
    config = load(REPO / "config.yaml")
    check_selectors(config)
    assert config.feeds[0].sources[0].url == "https://www.ilo.org/secsoc/lang--en/index.htm"
    assert config.feeds[0].sources[0].profile == "ilo"
    assert config.output.dir == REPO / "feeds"


def test_defaults(tmp_path):
    config = parse(MINIMAL, tmp_path / "config.yaml")
    assert config.feeds[0].settings.base_url == "https://feeds.example.org/secsoc/"  # a folder
    assert config.feeds[0].settings.rss_url == "https://feeds.example.org/secsoc/rss.xml"
    assert config.feeds[0].settings.atom_url == "https://feeds.example.org/secsoc/atom.xml"
    assert config.feeds[0].settings.description == "T" and config.feeds[0].settings.language is None
    assert config.feeds[0].settings.author.name == "ILO"
    source = config.feeds[0].sources[0]
    assert (source.timezone, source.max_pages, source.min_items, source.selectors.item) == (
        "Europe/Zurich", 1, 1, ILO["item"])
    assert config.output.dir == tmp_path / "feeds" and config.feeds[0].output.max_items == 50
    assert config.state_path == tmp_path / "state" / "spfeed.sqlite"
    assert config.schedule_cron == "0 */6 * * *"
    assert (config.http.timeout, config.http.retries, config.http.max_bytes) == (30, 3, 5_000_000)
    assert config.http.user_agent == DEFAULT_USER_AGENT and DEFAULT_USER_AGENT.startswith("spfeed/")


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    text = MINIMAL.replace("  - url: https://www.ilo.org/secsoc/lang--en/index.htm", "  - url: saved/page.html") + \
        "output:\n  dir: ../public\nstate:\n  path: data/s.sqlite\n"
    config = parse(text, tmp_path / "conf" / "config.yaml")
    assert config.feeds[0].sources[0].url == (tmp_path / "conf" / "saved" / "page.html").as_uri()
    assert config.output.dir == tmp_path / "public"
    assert config.state_path == tmp_path / "conf" / "data" / "s.sqlite"


def test_selectors_override_the_profile(tmp_path):
    text = MINIMAL + "    selectors:\n      summary: div.abstract\n      label: null\n"
    selectors = parse(text, tmp_path / "c.yaml").sources[0].selectors
    assert (selectors.item, selectors.summary, selectors.label) == (ILO["item"], "div.abstract", None)


def test_config_path_order(monkeypatch):
    monkeypatch.delenv("SPFEED_CONFIG", raising=False)
    assert config_path(None) == Path("config.yaml")
    monkeypatch.setenv("SPFEED_CONFIG", "/etc/spfeed.yaml")
    assert config_path(None) == Path("/etc/spfeed.yaml")
    assert config_path("mine.yaml") == Path("mine.yaml")


ERRORS = [
    # (change to MINIMAL, words the message must contain)
    (lambda t: t + "extra: 1\n", ["extra: unknown key"]),
    (lambda t: t.replace("  title: T", "  titel: T"), ["feed.titel: unknown key"]),
    (lambda t: t + "http:\n  timeout: soon\n", ["http.timeout: expected a number", "'soon'"]),
    (lambda t: t + "http:\n  retries: 1.5\n", ["http.retries: expected a whole number"]),
    (lambda t: t + "http:\n  timeout: -1\n", ["http.timeout: expected a number"]),
    (lambda t: t + "output:\n  max_items: 0\n", ["output.max_items"]),
    (lambda t: t + "output:\n  max_items: true\n", ["output.max_items: expected a whole number"]),
    (lambda t: t.replace("  title: T\n", ""), ["feed.title: missing"]),
    (lambda t: t.replace("  author: ILO\n", ""), ["feed.author: missing"]),
    (lambda t: t.replace("https://feeds.example.org/secsoc", "feeds/"), ["feed.base_url: expected an absolute http(s) URL"]),
    (lambda t: t.replace("    profile: ilo", "    profile: bbc"), ["sources[0].profile: unknown profile 'bbc'"]),
    (lambda t: t.replace("    profile: ilo", "    timezone: Mars/Base"), ["sources[0]", "needs a profile"]),
    (lambda t: t + "    timezone: Mars/Base\n", ["sources[0].timezone: unknown time zone 'Mars/Base'"]),
    (lambda t: t + "    selectors:\n      itme: li\n", ["sources[0].selectors.itme: unknown key"]),
    (lambda t: t.split("sources:")[0] + "sources: https://www.ilo.org/\n", ["sources: expected a non-empty list"]),
    (lambda t: t.replace("  - url: https://www.ilo.org/secsoc/lang--en/index.htm", "  - url: ftp://x/y"),
     ["sources[0].url: unsupported URL scheme 'ftp'"]),
    (lambda t: t + "feed2: {}\n", ["feed2: unknown key"]),
    (lambda t: t + "schedule:\n  every: often\n", ["schedule.every: expected a duration"]),
    (lambda t: t + "schedule:\n  every: 1h\n  cron: '* * * * *'\n", ["schedule: give either cron or every"]),
    (lambda t: t.replace("  author: ILO", "  author:\n    name: ILO\n    email: not-an-address"), ["feed.author.email"]),
    (lambda t: t.replace("  title: T", "  title: T\n  language: 'english language'"), ["feed.language"]),
    (lambda t: "", ["the config file is empty"]),
    (lambda t: t + "    date_order: DM\n", ["sources[0].date_order: expected one of DMY, MDY, YMD, got 'DM'"]),
    (lambda t: t + "    date_order: 1\n", ["sources[0].date_order: expected a non-empty string"]),
    # characters XML 1.0 cannot hold, written as YAML escapes
    (lambda t: t.replace("  title: T", '  title: "T\\x01"'), ["feed.title: contains U+0001, a character XML cannot hold"]),
    (lambda t: t.replace("  title: T", '  title: T\n  description: "a\\x1fb"'), ["feed.description: contains U+001F"]),
    (lambda t: t.replace("  author: ILO", '  author: "IL\\x0bO"'), ["feed.author: contains U+000B"]),
    (lambda t: t.replace("  author: ILO", '  author:\n    name: "IL\\uFFFEO"'), ["feed.author.name: contains U+FFFE"]),
    (lambda t: t + 'http:\n  user_agent: "spfeed\\x00"\n', ["http.user_agent: contains U+0000"]),
    (lambda t: t + '    selectors:\n      summary: "p\\x08"\n', ["sources[0].selectors.summary: contains U+0008"]),
    (lambda t: "- a\n- b\n", ["expected a mapping"]),
]


@pytest.mark.parametrize("change, words", ERRORS, ids=[w[0] for _, w in ERRORS])
def test_errors_name_the_file_and_the_key(tmp_path, change, words):
    path = tmp_path / "config.yaml"
    with pytest.raises(ConfigError) as caught:
        parse(change(MINIMAL), path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    for word in words:
        assert word in message
    assert "\n" not in message and caught.value.exit_code == 2


def test_yaml_syntax_errors_give_the_line(tmp_path):
    path = tmp_path / "config.yaml"
    text = MINIMAL + "http:\n  timeout: [1, 2\n"
    with pytest.raises(ConfigError) as caught:
        parse(text, path)
    line = text.count("\n") + 1
    assert str(caught.value).startswith(f"{path}:{line}:") and "YAML syntax error" in str(caught.value)


def test_a_missing_file_says_how_to_point_at_one(tmp_path):
    with pytest.raises(ConfigError, match="config file not found.*--config"):
        load(tmp_path / "nope.yaml")


@pytest.mark.parametrize("selector", ["li..item", "div[", "a:nosuchpseudo", ""])
def test_bad_selectors_name_their_key(tmp_path, selector):
    text = MINIMAL + f"    selectors:\n      summary: {selector!r}\n"
    if not selector:
        with pytest.raises(ConfigError, match=r"sources\[0\]\.selectors\.summary"):
            parse(text, tmp_path / "c.yaml")
        return
    config = parse(text, tmp_path / "c.yaml")  # loading does not compile selectors (the cheap path)
    with pytest.raises(ConfigError) as caught:
        check_selectors(config)
    assert f"sources[0].selectors.summary: invalid CSS selector {selector!r}" in str(caught.value)


def test_a_source_may_be_a_local_file(tmp_path):
    text = textwrap.dedent(MINIMAL).replace(
        "  - url: https://www.ilo.org/secsoc/lang--en/index.htm", f"  - url: {(tmp_path / 'p.html').as_uri()}")
    assert parse(text, tmp_path / "c.yaml").sources[0].url == (tmp_path / "p.html").as_uri()


@pytest.mark.parametrize("line, order", [("", "DMY"), ("    date_order: DMY\n", "DMY"),
                                         ("    date_order: MDY\n", "MDY"), ("    date_order: YMD\n", "YMD")])
def test_date_order(tmp_path, line, order):
    from spfeed.dates import DATE_ORDERS

    assert parse(MINIMAL + line, tmp_path / "c.yaml").sources[0].date_order == order
    assert order in DATE_ORDERS


def test_the_config_knows_every_date_order():
    from spfeed import config, dates

    assert config.DATE_ORDERS == dates.DATE_ORDERS


def test_text_xml_allows_is_kept(tmp_path):
    text = MINIMAL.replace("  title: T", '  title: "Tab\\there, \\u00e9, \\u0085, \\U0001F600 and \\x7f!"')
    assert parse(text, tmp_path / "c.yaml").feeds[0].settings.title == "Tab\there, \u00e9, \u0085, \U0001F600 and \x7f!"


def test_a_config_string_xml_cannot_hold_exits_2_before_anything_runs(tmp_path, site, capsys):
    """It used to pass the load and fail at render with "internal error: ValueError"."""
    from conftest import write_config
    from pages import entry, listing
    from spfeed.cli import main

    url = site.page("/p", listing([entry(1)]))
    path = write_config(tmp_path, url, feed={"title": "News\x01"})
    assert main(["--config", str(path), "update"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"spfeed: error: {path}: feed.title: contains U+0001, a character XML cannot hold\n"
    assert site.hits("/p") == [] and not (tmp_path / "feeds").exists()


def test_printable_ascii_strings_skip_the_xml_character_check_safely():
    """A printable ASCII string is taken without the pattern of characters XML cannot hold: the
    pattern matches none of them, and every other ASCII character is looked at."""
    import re

    from spfeed import config

    every = "".join(chr(c) for c in range(0x20, 0x7F))
    assert not re.search(config._NOT_XML, every)
    forbidden = [c for c in map(chr, range(0x80)) if re.search(config._NOT_XML, c)]
    assert forbidden and not any(c.isprintable() for c in forbidden)
    import json

    assert parse(MINIMAL.replace("  title: T", f"  title: {json.dumps(every)}"),
                 Path("config.yaml")).feeds[0].settings.title == every.strip()
