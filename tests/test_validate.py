"""`spfeed validate`: every error of a config at once, one per line with file, line and key; and
the checks every command now makes at load (cron syntax, path collisions). In-process CLI runs."""

from __future__ import annotations

import pytest

from spfeed.cli import main
from spfeed.config import cron_problem, key_lines, load
from spfeed.errors import ConfigError

CLEAN = """\
feed:
  title: T
  link: https://www.ilo.org/
  author: ILO
  base_url: https://feeds.example.org/
sources:
  - url: https://www.ilo.org/secsoc/lang--en/index.htm
    profile: ilo
output:
  dir: feeds
state:
  path: state/spfeed.sqlite
schedule:
  cron: "17 */6 * * *"
"""


def validate(capsys, tmp_path, text: str) -> tuple[int, list[str], str]:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    code = main(["--config", str(path), "validate"])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_a_clean_config_prints_nothing(tmp_path, capsys):
    assert validate(capsys, tmp_path, CLEAN) == (0, [], "")


def test_the_examples_are_clean(capsys):
    from conftest import REPO

    for name in ("examples/saved-page.yaml", "examples/ilo-feeds.yaml", "config.yaml"):
        assert main(["--config", str(REPO / name), "validate"]) == 0, name
        assert capsys.readouterr() == ("", ""), name


CASES = {
    "unknown keys, with what they may have meant": (
        CLEAN.replace("  title: T", "  titel: T").replace("output:\n", "outptu: {}\noutput:\n")
             .replace("  dir: feeds", "  dir: feeds\n  max_itmes: 5"),
        [
            "1: feed.title: missing (required)",
            "2: feed.titel: unknown key (known keys: title, description, link, language, author, hubs, base_url); "
            "did you mean feed.title?",
            "9: outptu: unknown key (known keys: feed, sources, feeds, output, state, schedule, http, notify); "
            "did you mean output?",
            "12: output.max_itmes: unknown key (known keys: dir, max_items, formats, by_label, base_url); "
            "did you mean output.max_items?",
        ],
    ),
    "types, a time zone, a selector and the cron expression": (
        CLEAN.replace("    profile: ilo", "    profile: ilo\n    timezone: Mars/Base\n    max_pages: many\n"
                      "    selectors:\n      date: 'p[class='")
             .replace('  cron: "17 */6 * * *"', '  cron: "61 * * * *"') + "http:\n  timeout: soon\n  retries: 1.5\n",
        [
            "9: sources[0].timezone: unknown time zone 'Mars/Base' (use an IANA name such as Europe/Zurich)",
            "10: sources[0].max_pages: expected a whole number, got a string ('many')",
            "12: sources[0].selectors.date: invalid CSS selector 'p[class=': Expected string or ident, got the end "
            "at position 8",
            "18: schedule.cron: invalid cron expression '61 * * * *' (expected 5 fields: minute hour day month "
            "weekday): minute '61' is out of range (0-59)",
            "20: http.timeout: expected a number, got a string ('soon')",
            "21: http.retries: expected a whole number, got a number (1.5)",
        ],
    ),
    "every source on its own, and the state over a feed file": (
        CLEAN.replace("    profile: ilo", "    profile: bbc\n  - url: ftp://x/y\n    profile: ilo\n"
                      "  - url: https://www.ilo.org/b\n    selectors:\n      title: h2")
             .replace("  path: state/spfeed.sqlite", "  path: feeds/rss.xml"),
        [
            "8: sources[0].profile: unknown profile 'bbc' (known: ilo)",
            "9: sources[1].url: unsupported URL scheme 'ftp' (use http, https, file or a path)",
            "11: sources[2]: needs a profile (e.g. profile: ilo) or selectors with at least an item selector",
            "17: state.path: the state file {folder}/feeds/rss.xml is also the rss.xml of the feed; give the state "
            "its own path",
        ],
    ),
    "feeds, hubs and notify targets": (
        """\
feeds:
  - name: one
    title: T
    link: https://www.ilo.org/
    author: ILO
    hubs: [not-a-url]
    sources:
      - url: https://www.ilo.org/a
        profile: ilo
  - name: one
    title: T
    author: ILO
    sources:
      - url: https://www.ilo.org/b
        profile: ilo
  - name: three
    link: https://www.ilo.org/
    author: ILO
    sources:
      - url: https://www.ilo.org/c
        profile: ilo
        min_items: 0
output:
  base_url: https://feeds.example.org/
notify:
  webhooks:
    - url: ftp://hooks.example.org/
""",
        [
            "6: feeds[0].hubs[0]: expected an absolute http(s) URL, got 'not-a-url'",
            "10: feeds[1].name: two feeds are named 'one'",
            "16: feeds[2].title: missing (required)",
            "22: feeds[2].sources[0].min_items: expected a number at least 1, got 0",
            "27: notify.webhooks[0].url: expected an absolute http(s) URL, got 'ftp://hooks.example.org/'",
        ],
    ),
}


@pytest.mark.parametrize("text, expected", CASES.values(), ids=CASES.keys())
def test_every_error_at_once_with_its_line(tmp_path, capsys, text, expected):
    code, lines, err = validate(capsys, tmp_path, text)
    path = tmp_path / "config.yaml"
    assert (code, err) == (2, "")
    assert lines == [f"{path}:{line.format(folder=tmp_path)}" for line in expected]


@pytest.mark.parametrize("text, expected", CASES.values(), ids=CASES.keys())
def test_other_commands_stop_at_one_of_those_errors(tmp_path, capsys, text, expected):
    """Loading (every command) raises one of validate's errors, the same message without the line."""
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load(path)
    except ConfigError as e:
        message = str(e)
    else:  # only the selector is left for the commands that compile selectors
        assert any("selectors" in line for line in expected)
        return
    assert message.startswith(f"{path}: ") and "\n" not in message
    without_lines = [f"{path}: {line.format(folder=tmp_path).partition(': ')[2]}" for line in expected]
    assert message in without_lines


@pytest.mark.parametrize("text, line", [
    ("feed:\n  title: [oops\n", "config.yaml:3:1: YAML syntax error"),
    ("", "config.yaml: the config file is empty"),
    ("- a\n- b\n", "config.yaml: expected a mapping of feed, sources, feeds, output, state, schedule, http, notify"),
])
def test_what_stops_the_reading_is_one_line(tmp_path, capsys, text, line):
    code, lines, _ = validate(capsys, tmp_path, text)
    assert code == 2 and len(lines) == 1 and lines[0].startswith(str(tmp_path / line.split(":")[0]))
    assert line.partition("config.yaml")[2] in lines[0]


def test_a_missing_config_file(tmp_path, capsys):
    code = main(["--config", str(tmp_path / "nope.yaml"), "validate"])
    out, _ = capsys.readouterr()
    assert code == 2 and out == f"{tmp_path / 'nope.yaml'}: config file not found (use --config PATH or $SPFEED_CONFIG)\n"


def test_validate_reads_no_page_and_writes_nothing(tmp_path, capsys, site):
    url = site.page("/p", b"<html></html>")
    text = CLEAN.replace("https://www.ilo.org/secsoc/lang--en/index.htm", url)
    assert validate(capsys, tmp_path, text)[0] == 0
    assert site.hits("/p") == [] and sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]



def test_validate_imports_no_http_client(tmp_path):
    """validate checks selectors and the cron expression, never the network: requests stays out."""
    import subprocess
    import sys

    (tmp_path / "config.yaml").write_text(CLEAN, encoding="utf-8")
    probe = ("import sys\nfrom spfeed.cli import main\ncode = main(['--config', sys.argv[1], 'validate'])\n"
             "print(code, sorted(m for m in ('requests', 'urllib3', 'spfeed.fetch') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "config.yaml")], capture_output=True,
                            text=True, timeout=60)
    assert result.stdout.strip() == "0 []", result.stderr

@pytest.mark.parametrize("change, message", [
    (lambda t: t.replace('"17 */6 * * *"', '"61 * * * *"'), "schedule.cron: invalid cron expression '61 * * * *'"),
    (lambda t: t.replace("  path: state/spfeed.sqlite", "  path: feeds/rss.xml"),
     "state.path: the state file"),
    (lambda t: t.replace("  path: state/spfeed.sqlite", "  path: out").replace("  dir: feeds", "  dir: out.lock"),
     "state.path: the state file's lock"),
    (lambda t: t.replace("  path: state/spfeed.sqlite", "  path: feeds"), "is also output.dir"),
    (lambda t: t.replace("  path: state/spfeed.sqlite", "  path: feeds/feeds.opml"), "the feeds.opml in output.dir"),
    (lambda t: t.replace("  path: state/spfeed.sqlite", "  path: config.yaml"), "is the config file itself"),
])
def test_update_refuses_what_validate_refuses(tmp_path, capsys, change, message):
    path = tmp_path / "config.yaml"
    path.write_text(change(CLEAN), encoding="utf-8")
    code = main(["--config", str(path), "update"])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith(f"spfeed: error: {path}: ") and message in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]  # nothing fetched, nothing written


def test_lines_of_keys():
    text = "feed:\n  title: T\nsources:\n  - url: a\n    selectors:\n      item: li\n  -\n    url: b\n"
    assert key_lines(text) == {"feed": 1, "feed.title": 2, "sources": 3, "sources[0]": 4, "sources[0].url": 4,
                               "sources[0].selectors": 5, "sources[0].selectors.item": 6, "sources[1]": 8,
                               "sources[1].url": 8}


CRON = [
    # (expression, accepted)
    ("0 */6 * * *", True), ("17 */6 * * *", True), ("* * * * *", True), ("0,15,30,45 * * * *", True),
    ("1-5/2 * * * *", True), ("5/10 * * * *", True), ("*/59 * * * *", True), ("0-0/5 * * * *", True),
    ("0 0 * * mon-fri", True), ("0 0 * jan-mar *", True), ("0 0 * * MON", True), ("0 0 * * 0", True),
    ("0 0 * * sun", True),
    ("61 * * * *", False), ("*/0 * * * *", False), ("*/60 * * * *", False), ("70/5 * * * *", False),
    ("0 0 * * fri-mon", False), ("0 0 * * 7", False), ("0 0 0 * *", False), ("0 0 32 * *", False),
    ("0 0 * 13 *", False), ("5-1 * * * *", False), ("*-5 * * * *", False), ("a * * * *", False),
    ("0 0 * * 1-fri", False), ("@daily", False), ("* * * *", False), ("* * * * * *", False),
    ("0 24 * * *", False), ("0 0 L * *", False), ("1,,2 * * * *", False), ("0 0 1-31/31 * *", False),
    ("every day", False),
]


@pytest.mark.parametrize("expression, accepted", CRON)
def test_the_cron_syntax_check_agrees_with_apscheduler(expression, accepted):
    from apscheduler.triggers.cron import CronTrigger

    assert (cron_problem(expression) is None) == accepted
    try:
        CronTrigger.from_crontab(expression)
        theirs = True
    except ValueError:
        theirs = False
    assert theirs == accepted  # so a config that loads never fails in `run`


def test_validate_and_status_are_documented(capsys):
    for command in ("validate", "status"):
        with pytest.raises(SystemExit) as done:
            main([command, "--help"])
        out = capsys.readouterr().out
        assert done.value.code == 0 and f"usage: spfeed {command}" in out and "exit codes:" in out


def test_every_notify_error_is_reported_and_a_bare_on_key_is_the_event_list(tmp_path, capsys):
    """`on:` unquoted is the boolean true in YAML 1.1: it still means the channel's events."""
    from spfeed.cli import main

    path = tmp_path / "config.yaml"
    path.write_text(
        "feed:\n  title: T\n  link: https://x.org/\n  author: A\n  base_url: https://f.org/\n"
        "sources:\n  - url: https://x.org/\n    profile: ilo\n"
        "notify:\n  failures_after: 0\n  webhooks:\n    - url: ftp://x\n    - url: https://ok.org/\n"
        "      on: [news]\n    - url: https://fine.org/\n      on: [new, failure]\n  commands:\n    - {}\n")
    assert main(["--config", str(path), "validate"]) == 2
    assert capsys.readouterr().out.splitlines() == [
        f"{path}:10: notify.failures_after: expected a number from 1 to 1000, got 0",
        f"{path}:12: notify.webhooks[0].url: expected an absolute http(s) URL, got 'ftp://x'",
        f"{path}:14: notify.webhooks[1].on[0]: unknown event 'news' (known: new, updated, gone, failure, recovery)",
        f"{path}:18: notify.commands[0].run: missing (required)",
    ]


def test_a_bare_on_key_selects_the_events(tmp_path):
    from spfeed.config import parse

    text = ("feed:\n  title: T\n  link: https://x.org/\n  author: A\n  base_url: https://f.org/\n"
            "sources:\n  - url: https://x.org/\n    profile: ilo\n"
            "notify:\n  webhooks:\n    - url: https://fine.org/\n      on: [new, failure]\n")
    [hook] = parse(text, tmp_path / "config.yaml").notify.webhooks
    assert hook.on == frozenset({"new", "failure"})
