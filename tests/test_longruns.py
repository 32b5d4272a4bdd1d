"""Long runs: a backfill over a listing that never ends is stored as it is read (capped, stopped
or killed, it keeps what it read), loops and repeated pages stop it, and a closed stdout
(`| head -1`) never turns a good run into a failure."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import write_config
from pages import entry, listing
from spfeed.config import load
from spfeed.pipeline import backfill, update

ITEMS_PER_PAGE = 3


class Endless:
    """A real local server whose listing never ends: /list/N shows three new items and links to
    /list/N+1. *repeat_from* makes every page from that number on show the same items."""

    def __init__(self, repeat_from: int | None = None, loop_to: int | None = None) -> None:
        self.hits: list[int] = []
        endless = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                match = re.fullmatch(r"/list/(\d+)", self.path)
                if not match:
                    self.send_error(404)
                    return
                number = int(match.group(1))
                endless.hits.append(number)
                shown = min(number, repeat_from) if repeat_from else number
                following = loop_to if loop_to and number >= loop_to else number + 1
                body = listing([entry(shown * 10 + i, day=f"{1 + (shown + i) % 28} May 2022")
                                for i in range(ITEMS_PER_PAGE)], next_href=f"/list/{following}")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, number: int = 1) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/list/{number}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endless():
    server = Endless()
    yield server
    server.stop()


def stored(config) -> int:
    with sqlite3.connect(config.state_path) as conn:
        return conn.execute("SELECT count(*) FROM items").fetchone()[0]


def test_a_capped_backfill_of_an_endless_listing_stores_every_page_it_read(tmp_path, endless, clock):
    config = load(write_config(tmp_path, [{"url": endless.url()}]))
    report = backfill(config, max_pages=50, now=clock)
    assert report.exit_code == 0 and endless.hits == list(range(1, 51))
    assert len(report.new) == stored(config) == 50 * ITEMS_PER_PAGE
    assert (tmp_path / "feeds" / "atom.xml").exists()
    # what update watches is still the first page: the archive is not reported gone
    clock.advance(hours=6)
    again = update(config, now=clock)
    assert not (again.new or again.updated or again.gone)


def test_each_page_is_stored_before_the_next_one_is_read(tmp_path, endless, clock):
    """Bounded memory by design: when page N is read, pages before it are already in the history."""
    config = load(write_config(tmp_path, [{"url": endless.url()}]))
    seen_in_history = []
    backfill(config, max_pages=6, now=clock,
             progress=lambda source, page, items: seen_in_history.append(stored(config)))
    assert seen_in_history == [n * ITEMS_PER_PAGE for n in range(1, 7)]


def test_the_first_max_pages_pages_are_what_update_watches(tmp_path, endless, clock):
    config = load(write_config(tmp_path, [{"url": endless.url(), "max_pages": 2}]))
    backfill(config, max_pages=5, now=clock)
    with sqlite3.connect(config.state_path) as conn:
        listed = conn.execute("SELECT count(*) FROM presence").fetchone()[0]
    assert listed == 2 * ITEMS_PER_PAGE and stored(config) == 5 * ITEMS_PER_PAGE


@pytest.mark.parametrize("server, pages, kept, note", [
    (dict(repeat_from=4), [1, 2, 3, 4, 5], 4, "page 5 of the listing repeats the items of page 4; stopped there"),
    (dict(loop_to=3), [1, 2, 3], 3, "next page {url3} was read before (the listing loops); stopped there"),
])
def test_a_listing_that_repeats_or_loops_stops_with_a_warning(tmp_path, clock, server, pages, kept, note):
    site = Endless(**server)
    try:
        config = load(write_config(tmp_path, [{"url": site.url()}]))
        report = backfill(config, max_pages=50, now=clock)
    finally:
        site.stop()
    assert site.hits == pages and report.exit_code == 0
    assert any(note.format(url3=site.url(3)) in w for w in report.warnings), report.warnings
    assert stored(config) == kept * ITEMS_PER_PAGE


def spfeed(config, *args, **kwargs) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "SPFEED_CONFIG"}
    return subprocess.Popen([sys.executable, "-m", "spfeed", "--config", str(config), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_backfill_stopped_mid_walk_keeps_the_pages_it_read(tmp_path, endless, sig):
    path = write_config(tmp_path, [{"url": endless.url(), "page_delay": 0.05}])
    process = spfeed(path, "backfill")
    try:
        wait_for(lambda: len(endless.hits) >= 5)
    finally:
        process.send_signal(sig)
        out, err = process.communicate(timeout=30)
    read = len(endless.hits)
    kept = stored(load(path))
    assert "Traceback" not in err
    # every page served was stored, but perhaps the last (being read when the signal came)
    assert (read - 1) * ITEMS_PER_PAGE <= kept <= read * ITEMS_PER_PAGE and kept >= 4 * ITEMS_PER_PAGE
    if sig == signal.SIGKILL:
        return  # no chance to say anything; the next run publishes what is stored
    assert process.returncode == 1
    assert re.search(rf"spfeed: error: {re.escape(endless.url())}: backfill stopped after \d+ page\(s\); "
                     r"the items read are kept", err), err
    assert (tmp_path / "feeds" / "atom.xml").exists()  # and published
    with sqlite3.connect(tmp_path / "state" / "spfeed.sqlite") as conn:
        outcome, new = conn.execute("SELECT outcome, new FROM runs ORDER BY id DESC").fetchone()
    assert outcome == "failed" and new == kept


# -- a closed stdout -------------------------------------------------------------------------------

MANY = 1500  #: enough summary lines to fill a pipe's buffer many times over


@pytest.fixture
def big_listing(site):
    return site.page("/big", listing([entry(n) for n in range(MANY)]))


def piped_into_head(config, *args) -> tuple[int, str, str]:
    """``spfeed ARGS | head -1`` as real processes; spfeed's exit code, head's output, spfeed's stderr."""
    producer = spfeed(config, *args)
    head = subprocess.Popen(["head", "-1"], stdin=producer.stdout, stdout=subprocess.PIPE, text=True)
    producer.stdout.close()  # head holds the only reading end
    first, _ = head.communicate(timeout=60)
    err = producer.stderr.read()
    producer.stderr.close()
    return producer.wait(timeout=60), first, err


@pytest.mark.parametrize("args, first", [
    (["update"], f"{MANY} new, 0 updated, 0 gone; wrote "),
    (["update", "--json"], "{"),
    (["check"], "/big: 1500 items (lang en)"),
])
def test_a_closed_stdout_does_not_fail_a_good_run(tmp_path, big_listing, args, first):
    config = write_config(tmp_path, big_listing, output={"max_items": 10})
    code, shown, err = piped_into_head(config, *args)
    assert first in shown and shown.count("\n") == 1
    assert code == 0 and err == "", err
    if args[0] == "update":  # the run did all its work: stored and published
        assert stored(load(config)) == MANY and (tmp_path / "feeds" / "atom.xml").exists()


def test_a_long_backfill_lists_only_the_first_items_and_counts_the_rest(tmp_path, site, monkeypatch, capsys):
    """Its summary (and its memory) does not grow with the archive: past REPORT_CAP items it counts."""
    from spfeed import pipeline
    from spfeed.cli import main

    monkeypatch.setattr(pipeline, "REPORT_CAP", 5)
    for n in range(3):
        nxt = f"/page{n + 1}" if n < 2 else None
        site.page(f"/page{n}", listing([entry(10 * n + i) for i in range(4)], next_href=nxt))
    config = write_config(tmp_path, site.url("/page0"))
    assert main(["--config", str(config), "backfill", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["new"]) == 5 and data["left_out"] == {"new": 7, "updated": 0, "gone": 0}
    import sqlite3

    with sqlite3.connect(tmp_path / "state" / "spfeed.sqlite") as db:
        assert db.execute("SELECT count(*) FROM items").fetchone() == (12,)
        assert db.execute("SELECT new FROM runs ORDER BY id DESC LIMIT 1").fetchone() == (12,)
