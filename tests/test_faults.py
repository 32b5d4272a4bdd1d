"""Fault injection: for every way a run can go wrong, the published feeds stay as they were (or are
updated correctly where the input allows), the state stays consistent, the exit code follows the
README's table, stderr carries one clear line, and the next normal run works.

Every case is a real `spfeed update` process against a real local server whose behaviour the case
sets; every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from conftest import Reply, parse_feed, run_cli, validate_atom, write_config
from pages import entry, listing
from spfeed.config import load
from spfeed.pipeline import update

GOOD = listing([entry(2, day="17 June 2022"), entry(1)])
NEWER = listing([entry(3, day="18 June 2022"), entry(2, day="17 June 2022"), entry(1)])
HTTP = {"timeout": 1, "retries": 1, "backoff": 0.05, "max_bytes": 200_000}


@dataclass
class Baseline:
    """A project after one good run: what every fault must leave alone."""

    tmp: Path
    config: Path
    url: str
    rss: bytes
    atom: bytes
    items: int

    @property
    def feeds(self) -> Path:
        return self.tmp / "feeds"

    @property
    def state(self) -> Path:
        return self.tmp / "state" / "spfeed.sqlite"

    def rewrite_config(self, **changes) -> None:
        data = yaml.safe_load(self.config.read_text())
        for section, values in changes.items():
            data[section] = {**data.get(section, {}), **values} if isinstance(values, dict) else values
        self.config.write_text(yaml.safe_dump(data))


@pytest.fixture
def baseline(tmp_path, site, clock) -> Baseline:
    url = site.page("/p", GOOD)
    config = write_config(tmp_path, url, http=HTTP)
    update(load(config), now=clock)
    base = Baseline(tmp_path, config, url, b"", b"", 0)
    base.rss, base.atom = (base.feeds / "rss.xml").read_bytes(), (base.feeds / "atom.xml").read_bytes()
    base.items = len(parse_feed(base.atom).entries)
    return base


def spfeed(base: Baseline, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return run_cli("--config", str(base.config), *args, timeout=timeout)


def assert_failed_safely(base: Baseline, result: subprocess.CompletedProcess, code: int, message: str,
                         site=None, state_readable: bool = True) -> None:
    """The shared assertion set: exit code, one clear line, feeds unchanged and valid, state
    consistent, and (with *site*) the next normal run works."""
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("spfeed: error: "), result.stderr
    assert message in lines[0], lines[0]
    assert (base.feeds / "rss.xml").read_bytes() == base.rss
    assert (base.feeds / "atom.xml").read_bytes() == base.atom
    parse_feed(base.rss), validate_atom(base.atom)
    assert not list(base.feeds.glob(".*.tmp")), "a temporary file was left behind"
    if state_readable:
        assert_state_consistent(base, failed_with=code)
    if site is not None:
        next_run_works(base, site)


def assert_state_consistent(base: Baseline, failed_with: int | None = None) -> None:
    with sqlite3.connect(base.state) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM items").fetchone()[0] >= base.items
        if failed_with is not None:
            outcome, code, message = db.execute(
                "SELECT outcome, exit_code, message FROM runs ORDER BY id DESC LIMIT 1").fetchone()
            assert (outcome, code) == ("failed", failed_with) and message


def next_run_works(base: Baseline, site) -> None:
    """The next normal run (in process: a real run, without another interpreter's start-up)."""
    site.page("/p", NEWER)
    report = update(load(base.config))
    assert report.exit_code == 0 and not report.failures, report.failures
    assert [i.title for i in report.new] == ["Report number 3"]
    # every file that lists the items; the OPML list of feeds does not change
    assert set(report.written) == {str(base.feeds / n) for n in ("rss.xml", "atom.xml", "feed.json", "index.html")}
    atom = (base.feeds / "atom.xml").read_bytes()
    validate_atom(atom)
    assert len(parse_feed(atom).entries) == base.items + 1


# -- network and server --------------------------------------------------------------------------


@dataclass
class Fault:
    replies: list[Reply]
    code: int
    message: str
    http: dict = field(default_factory=dict)


FAULTS = {
    "404": Fault([Reply(status=404, body=b"Not here")], 1, "/p: HTTP 404 Not Found"),
    "410": Fault([Reply(status=410, body=b"Gone")], 1, "/p: HTTP 410 Gone"),
    "500 persists": Fault([Reply(status=500, body=b"oops")], 1, "/p: HTTP 500 Internal Server Error (after 2 attempts)"),
    "502 persists": Fault([Reply(status=502, body=b"bad")], 1, "/p: HTTP 502 Bad Gateway (after 2 attempts)"),
    "never answers": Fault([Reply(body=GOOD, delay=5)], 1, "/p: no complete response within 1 s", {"retries": 0}),
    "drips a byte a second": Fault([Reply(body=NEWER, drip=1)], 1, "/p: no complete response within 1 s",
                                   {"retries": 0}),
    "reset mid-body": Fault([Reply(body=NEWER, reset=True)], 1, "/p: connection broken while reading the body"),
    "shorter than Content-Length": Fault([Reply(body=NEWER, declared_length=len(NEWER) + 500)], 1,
                                         "/p: connection broken while reading the body"),
    "redirect loop": Fault([Reply(status=302, headers={"Location": "/p?again"})], 1, "too many redirects"),
    "empty 200": Fault([Reply(body=b"")], 1, "/p: HTTP 200 OK with an empty body"),
    "a PDF": Fault([Reply(body=b"%PDF-1.7 binary", content_type="application/pdf")], 1,
                   "/p: not an HTML page (application/pdf)"),
    "far over max_bytes": Fault([Reply(body=NEWER + b"<!--" + b"x" * 5_000_000 + b"-->")], 1,
                                "/p: body of 5001178 bytes is larger than http.max_bytes (200000)"),
    "gzip over max_bytes": Fault([Reply(body=NEWER + b"<!--" + b" " * 20_000_000 + b"-->", gzip=True)], 1,
                                 "/p: decompressed body is larger than http.max_bytes (200000)"),
    "maintenance page": Fault([Reply(body=b"<html><body><h1>Site under maintenance</h1><p>Back on 1 July 2022."
                                          b"</p></body></html>")], 3, "'div.items-list li.item' matched nothing"),
    "consent page": Fault([Reply(body=b'<html><body><div class="consent"><p>We use cookies.</p>'
                                      b'<a href="/accept">Accept</a></div></body></html>')], 3, "matched nothing"),
}


@pytest.mark.parametrize("name", FAULTS)
def test_server_faults(baseline, site, name):
    fault = FAULTS[name]
    if fault.http:
        baseline.rewrite_config(http=fault.http)
    site.route("/p", *fault.replies)
    site.route("/p?again", Reply(status=302, headers={"Location": "/p"}))
    assert_failed_safely(baseline, spfeed(baseline, "update"), fault.code, fault.message, site)


def test_connection_refused(baseline, site):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/p"
    baseline.rewrite_config(sources=[{"url": closed, "profile": "ilo", "page_delay": 0}])
    result = spfeed(baseline, "update")
    baseline.rewrite_config(sources=[{"url": baseline.url, "profile": "ilo", "page_delay": 0}])
    assert_failed_safely(baseline, result, 1, f"{closed}: connection refused (after 2 attempts)", site)


def test_a_tls_error(baseline, site):
    tls = baseline.url.replace("http://", "https://")
    baseline.rewrite_config(sources=[{"url": tls, "profile": "ilo", "page_delay": 0}])
    result = spfeed(baseline, "update")
    baseline.rewrite_config(sources=[{"url": baseline.url, "profile": "ilo", "page_delay": 0}])
    assert_failed_safely(baseline, result, 1, f"{tls}: TLS error", site)


@pytest.mark.parametrize("status", [503, 429])
def test_retry_after_then_success_updates_the_feeds(baseline, site, status):
    site.route("/p", Reply(status=status, headers={"Retry-After": "1"}), Reply(body=NEWER))
    result = spfeed(baseline, "update")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("1 new") and len(site.hits("/p")) == 3  # the baseline's, the refused, the good
    assert_state_consistent(baseline)


def test_a_redirect_to_another_host_is_followed_and_recorded(baseline, site):
    moved = site.page("/moved", NEWER).replace("127.0.0.1", "localhost")
    site.route("/p", Reply(status=301, headers={"Location": moved}))
    result = spfeed(baseline, "update", "--json")
    assert result.returncode == 0 and '"Report number 3"' in result.stdout
    with sqlite3.connect(baseline.state) as db:
        assert db.execute("SELECT final_url FROM sources").fetchone() == (moved,)
        assert moved in db.execute("SELECT http FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0]


# -- content -------------------------------------------------------------------------------------


def test_broken_and_duplicate_items_are_skipped_counted_and_reported(baseline, site):
    page = listing([entry(3, day="18 June 2022"), entry(4, title=" "), entry(3, day="18 June 2022"),
                    entry(5, href="javascript:alert(1)"), entry(2, day="17 June 2022"), entry(1)])
    site.page("/p", page)
    result = spfeed(baseline, "update")
    assert result.returncode == 0
    assert result.stdout.startswith("1 new, 0 updated, 0 gone")
    assert result.stderr == f"spfeed: warning: {baseline.url}: skipped 2 of 6 items without a title or web link\n"
    assert len(parse_feed((baseline.feeds / "atom.xml").read_bytes()).entries) == baseline.items + 1


def test_hostile_text_is_text_everywhere(baseline, site):
    evil = '<script>alert("x")</script><img src=x onerror="alert(1)"><a href="javascript:alert(2)">click</a>'
    page = listing([entry(3, day="18 June 2022", title=f"Report {evil}", summary=f"Summary {evil}"),
                    entry(2, day="17 June 2022"), entry(1)])
    site.page("/p", page)
    result = spfeed(baseline, "update", "--json")
    assert result.returncode == 0, result.stderr
    from lxml import etree

    rss, atom = (baseline.feeds / "rss.xml").read_bytes(), (baseline.feeds / "atom.xml").read_bytes()
    for output in (rss, atom, result.stdout.encode()):
        for live in (b"<script", b"<img", b"<a "):
            assert live not in output
    for output in (rss, atom):
        elements = list(etree.fromstring(output).iter())
        assert {el.tag.split("}")[-1] for el in elements} & {"script", "img", "a", "div"} == set()
        assert all(el.get("href", "http").startswith("http") for el in elements)
    newest = parse_feed(atom).entries[0]
    assert newest.title == f"Report {evil}" and newest.summary == f"Summary {evil}"
    validate_atom(atom)


def test_raw_markup_in_the_page_keeps_only_its_text(baseline, site):
    page = listing([entry(3, day="18 June 2022", title="Report <b>bold</b> <img src=x onerror=alert(1)>",
                          summary="Sum<script>alert(1)</script>mary")], raw=True)
    site.page("/p", page)
    assert spfeed(baseline, "update").returncode == 0
    newest = parse_feed((baseline.feeds / "atom.xml").read_bytes()).entries[0]
    assert (newest.title, newest.summary) == ("Report bold", "Summary")


def test_forbidden_and_invisible_characters(baseline, site):
    page = listing([entry(3, day="18 June 2022", title="Bell\x07 and\x0b tab\u200b-less\u00a0title",
                          summary="Zero\u200dwidth\ufeff and \x1f control"), entry(2, day="17 June 2022"), entry(1)])
    site.page("/p", page)
    assert spfeed(baseline, "update").returncode == 0
    atom = (baseline.feeds / "atom.xml").read_bytes()
    validate_atom(atom)
    newest = parse_feed(atom).entries[0]
    assert (newest.title, newest.summary) == ("Bell and tab-less title", "Zerowidth and control")


def test_absurdly_long_fields_are_capped(baseline, site):
    page = listing([entry(3, day="18 June 2022", title="T" * 50_000, summary="S " * 100_000,
                          label="L" * 10_000), entry(2, day="17 June 2022"), entry(1)])
    site.page("/p", page)
    baseline.rewrite_config(http={"max_bytes": 1_000_000})
    assert spfeed(baseline, "update").returncode == 0
    newest = parse_feed((baseline.feeds / "atom.xml").read_bytes()).entries[0]
    assert len(newest.title) <= 500 and len(newest.summary) <= 4000 and len(newest.tags[0].term) <= 200


def test_an_unreadable_date_gets_the_first_seen_time(baseline, site):
    site.page("/p", listing([entry(3, day="Sometime soon"), entry(2, day="17 June 2022"), entry(1)]))
    result = spfeed(baseline, "update", "--json")
    assert result.returncode == 0
    import json

    [new] = json.loads(result.stdout)["new"]
    assert new["dated"] is False and new["published"][:4] == time.strftime("%Y")


def test_a_wrong_declared_encoding(baseline, site):
    page = listing([entry(3, day="18 June 2022", title="Sécurité sociale – été"), entry(2, day="17 June 2022"),
                    entry(1)], charset="windows-1252")
    site.page("/p", page, content_type="text/html; charset=utf-8")  # says UTF-8, is windows-1252
    assert spfeed(baseline, "update").returncode == 0
    assert parse_feed((baseline.feeds / "atom.xml").read_bytes()).entries[0].title == "Sécurité sociale – été"


# -- local state and process -------------------------------------------------------------------


def start_update(base: Baseline) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "SPFEED_CONFIG"}
    return subprocess.Popen([sys.executable, "-m", "spfeed", "--config", str(base.config), "update"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_second_run_gives_up_on_the_lock_with_its_own_code(baseline, site):
    site.page("/p", NEWER, delay=2)  # the first run holds the lock while it waits for the server
    baseline.rewrite_config(http={"timeout": 5})
    first = start_update(baseline)
    wait_for(lambda: len(site.hits("/p")) >= 2)
    baseline.rewrite_config(state={"lock_timeout": 0.2})
    second = spfeed(baseline, "update")
    out, err = first.communicate(timeout=30)
    assert second.returncode == 4 and second.stdout == ""
    assert second.stderr == (f"spfeed: error: another spfeed run (pid {first.pid}) holds {baseline.state}.lock; "
                             "gave up after 0.2 s (state.lock_timeout)\n")
    assert first.returncode == 0 and out.startswith("1 new"), err
    assert_state_consistent(baseline)


def test_a_second_run_waits_briefly_for_the_lock(baseline, site):
    site.page("/p", NEWER, delay=0.5)
    first = start_update(baseline)
    wait_for(lambda: len(site.hits("/p")) >= 2)
    baseline.rewrite_config(state={"lock_timeout": 20})
    second = spfeed(baseline, "update")
    first.communicate(timeout=30)
    assert (first.returncode, second.returncode, second.stdout) == (0, 0, "")  # the second found nothing new


def test_sigkill_at_any_moment_leaves_valid_feeds_and_a_consistent_state(baseline, site):
    """Kill runs at moments spread over their whole length (fetch, parse, store, render, write)."""
    pages = [listing([entry(n, day=f"{n} July 2022") for n in range(10 + k, 0, -1)]) for k in range(8)]
    for k, page in enumerate(pages):
        site.page("/p", page)
        process = start_update(baseline)
        time.sleep(0.1 + 0.1 * k)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        for name in ("rss.xml", "atom.xml"):
            data = (baseline.feeds / name).read_bytes()
            parse_feed(data)
        validate_atom((baseline.feeds / "atom.xml").read_bytes())
        assert_state_consistent(baseline)
    result = spfeed(baseline, "update")
    assert result.returncode == 0, result.stderr
    atom = (baseline.feeds / "atom.xml").read_bytes()
    ids = [e.id for e in parse_feed(atom).entries]
    assert len(ids) == len(set(ids)) == 17  # every item of the last page, once each
    assert not list(baseline.feeds.glob(".*.tmp"))
    with sqlite3.connect(baseline.state) as db:  # the killed runs are marked as such, none left open
        assert db.execute("SELECT count(*) FROM runs WHERE outcome IS NULL").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM runs WHERE outcome = 'died'").fetchone()[0] >= 1


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(b"this is not a database at all" * 200), "file is not a database"),
    (lambda p: p.write_bytes(p.read_bytes()[:100] + b"\xde\xad" * 3000), "malformed"),
    (lambda p: sqlite3.connect(p).execute("PRAGMA user_version = 99").connection.commit(), "schema version 99, newer"),
])
def test_a_corrupt_or_newer_state_file_is_refused_and_left_alone(baseline, site, damage, message):
    damage(baseline.state)
    before = baseline.state.read_bytes()
    result = spfeed(baseline, "update")
    assert_failed_safely(baseline, result, 5, message, state_readable=False)
    assert baseline.state.read_bytes() == before


def test_a_missing_output_folder_is_created(baseline, site):
    import shutil

    shutil.rmtree(baseline.feeds)
    site.page("/p", NEWER)
    result = spfeed(baseline, "update")
    assert result.returncode == 0 and "1 new" in result.stdout
    validate_atom((baseline.feeds / "atom.xml").read_bytes())


@pytest.fixture
def small_disk(baseline):
    """The output folder on a tmpfs of its own (read-only or full as the test makes it); needs root."""
    target = baseline.feeds
    saved = {p.name: p.read_bytes() for p in target.iterdir()}
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(target)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    for name, data in saved.items():
        (target / name).write_bytes(data)
    yield target
    subprocess.run(["umount", "-l", str(target)], check=False)
    for name, data in saved.items():
        (target / name).write_bytes(data)


def test_a_read_only_output_folder(baseline, site, small_disk):
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    site.page("/p", NEWER)
    result = spfeed(baseline, "update")
    assert result.returncode == 6
    assert result.stderr == f"spfeed: error: cannot write in {small_disk}: Read-only file system\n"
    assert (small_disk / "atom.xml").read_bytes() == baseline.atom
    assert_state_consistent(baseline, failed_with=6)
    # the items were stored; once the folder is writable the next run publishes them
    subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    result = spfeed(baseline, "update")
    assert result.returncode == 0 and result.stdout.startswith("rebuilt ")
    assert len(parse_feed((small_disk / "atom.xml").read_bytes()).entries) == baseline.items + 1


def test_a_full_output_folder(baseline, site, small_disk):
    filler = small_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:  # full
        pass
    finally:
        os.close(fd)
    site.page("/p", NEWER)
    result = spfeed(baseline, "update")
    assert result.returncode == 6 and "No space left on device" in result.stderr
    assert result.stderr.count("\n") == 1
    assert (small_disk / "atom.xml").read_bytes() == baseline.atom
    assert not list(small_disk.glob(".*.tmp"))
    filler.unlink()
    assert spfeed(baseline, "update").returncode == 0
    assert len(parse_feed((small_disk / "atom.xml").read_bytes()).entries) == baseline.items + 1


# -- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize("text, message", [
    (None, "config file not found"),
    ("feed:\n  title: [oops\n", "config.yaml:3:1: YAML syntax error"),
    ("feed: {}\nsources: []\nfeeds: 1\n", "config.yaml: feed: give either feeds (several feeds) or feed and sources"),
    ("feed: {}\nsources: []\nfeedz: 1\n", "config.yaml: feedz: unknown key"),
])
def test_config_errors(baseline, text, message):
    if text is None:
        baseline.config.unlink()
    else:
        baseline.config.write_text(text)
    assert_failed_safely(baseline, spfeed(baseline, "update"), 2, message, state_readable=False)


def test_a_bad_selector(baseline, site):
    baseline.rewrite_config(sources=[{"url": baseline.url, "profile": "ilo", "selectors": {"date": "p[class="}}])
    site.page("/p", NEWER)
    result = spfeed(baseline, "update")
    assert_failed_safely(baseline, result, 2, "sources[0].selectors.date: invalid CSS selector 'p[class='")


def test_a_bad_cron_expression(baseline):
    baseline.rewrite_config(schedule={"cron": "every day"})
    result = spfeed(baseline, "run", timeout=20)
    assert_failed_safely(baseline, result, 2, "schedule.cron: invalid cron expression 'every day'", state_readable=False)
