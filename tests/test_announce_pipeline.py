"""Announcing through real runs: what a run changed reaches a real webhook receiver and a real
WebSub hub after publishing; a failed delivery is a warning, kept and retried; "failure" and
"recovery" fire once per outage, across runs."""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import Reply, parse_feed, write_config
from pages import entry, listing
from spfeed.cli import main
from test_announce_webhook import Receiver
from test_announce_websub import Subscriber, hub, subscriber  # noqa: F401 - fixtures


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


def hook_config(tmp_path, url, hook: str, **notify):
    return write_config(tmp_path, url, notify={"webhooks": [{"url": hook, "secret": "s3cret"}], **notify})


def posted(receiver: Receiver) -> list[dict]:
    return [json.loads(p.body) for p in receiver.posts]


def test_a_run_that_changed_something_posts_it_once(tmp_path, site, receiver, capsys):
    url = site.page("/p", listing([entry(1), entry(2)]))
    config = hook_config(tmp_path, url, receiver.url())
    assert main(["--config", str(config), "update"]) == 0
    [doc] = posted(receiver)
    assert doc["events"] == ["new"] and doc["feed"] == ""
    assert [(i["title"], i["feed"]) for i in doc["new"]] == [("Report number 1", ""), ("Report number 2", "")]
    assert set(doc) >= {"new", "updated", "gone", "unchanged", "written", "warnings", "errors"}
    assert receiver.posts[0].headers["User-Agent"].startswith("spfeed/")
    assert receiver.posts[0].headers["X-Spfeed-Signature"].startswith("sha256=")
    capsys.readouterr()
    assert main(["--config", str(config), "update"]) == 0  # nothing changed: nothing posted
    assert len(receiver.posts) == 1 and capsys.readouterr().err == ""


def test_a_failed_delivery_is_a_warning_kept_and_retried_next_run(tmp_path, site, receiver):
    """A real process, so that its stderr is only spfeed's."""
    from conftest import run_cli

    receiver.statuses = [500, 500, 500, 204]  # three attempts fail, the next run's works
    url = site.page("/p", listing([entry(1)]))
    config = hook_config(tmp_path, url, receiver.url())
    result = run_cli("--config", str(config), "update")
    assert result.returncode == 0  # the feed is published all the same
    assert result.stdout.startswith("1 new") and (tmp_path / "feeds" / "atom.xml").is_file()
    [line] = result.stderr.splitlines()
    assert line.startswith("spfeed: warning: announce: the feed: webhooks[0]: HTTP 500") and "retried" in line
    with sqlite3.connect(tmp_path / "state" / "spfeed.sqlite") as db:
        assert db.execute("SELECT channel, attempts FROM pending").fetchall() == [("webhooks[0]", 1)]
    again = run_cli("--config", str(config), "update")  # the page is unchanged; the retry goes out
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    assert len(receiver.posts) == 4 and posted(receiver)[-1]["new"][0]["title"] == "Report number 1"
    with sqlite3.connect(tmp_path / "state" / "spfeed.sqlite") as db:
        assert db.execute("SELECT count(*) FROM pending").fetchone() == (0,)


def test_failure_and_recovery_fire_once_per_outage(tmp_path, site, receiver, capsys):
    good = Reply(body=listing([entry(1)]))
    down = Reply(status=503, body=b"down", content_type="text/plain")
    url = site.route("/p", good)
    config = hook_config(tmp_path, url, receiver.url(), failures_after=2)
    runs = [good, down, down, down, down, good, good, down]
    events = []
    for reply in runs:
        site.route("/p", reply)
        before = len(receiver.posts)
        main(["--config", str(config), "update"])
        events.append([e for doc in posted(receiver)[before:] for e in doc["events"]])
    capsys.readouterr()
    assert events == [["new"], [], ["failure"], [], [], ["recovery"], [], []]
    failure = posted(receiver)[1]
    assert failure["errors"] and "HTTP 503" in failure["errors"][0]


def test_websub_hubs_are_in_the_feeds_and_pinged_with_the_changed_files(tmp_path, site, hub, subscriber):
    """The files are served by a static web server, as a publisher's would be; the real hub
    (flask-websub) fetches the topic back when pinged and pushes the new bytes to its subscriber."""
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    class Files(SimpleHTTPRequestHandler):
        """A static web server that says where a feed's hub is, as WebSub asks publishers to."""

        def log_message(self, *args) -> None:
            pass

        def end_headers(self) -> None:
            self.send_header("Link", f'<{hub.url}>; rel="hub", <{base}{self.path.lstrip("/")}>; rel="self"')
            super().end_headers()

    web = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Files, directory=str(feeds)))
    threading.Thread(target=web.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{web.server_address[1]}/"
    try:
        url = site.page("/p", listing([entry(1)]))
        config = write_config(tmp_path, url, feed={"base_url": base, "hubs": [hub.url]})
        assert main(["--config", str(config), "update"]) == 0
        rss, atom = (feeds / "rss.xml").read_bytes(), (feeds / "atom.xml").read_bytes()
        assert f'<atom:link href="{hub.url}" rel="hub"/>'.encode() in rss
        assert ("hub", hub.url) in {(l.rel, l.href) for l in parse_feed(atom).feed.links}
        assert json.loads((feeds / "feed.json").read_text())["hubs"] == [{"type": "WebSub", "url": hub.url}]
        assert sorted(p["hub.url"] for p in hub.published) == [base + "atom.xml", base + "feed.json", base + "rss.xml"]
        subscriber.subscribe(hub.url, base + "atom.xml", secret="x")
        hub.published.clear()
        site.page("/p", listing([entry(1), entry(2)]))
        assert main(["--config", str(config), "update"]) == 0
        assert sorted(p["hub.url"] for p in hub.published) == [base + "atom.xml", base + "feed.json", base + "rss.xml"]
        [(body, _)] = subscriber.received
        assert body == (feeds / "atom.xml").read_bytes() and b"Report number 2" in body
        hub.published.clear()
        assert main(["--config", str(config), "update"]) == 0  # nothing changed: no ping
        assert hub.published == []
    finally:
        web.shutdown()
        web.server_close()


def test_nothing_under_announce_is_imported_when_nothing_changed(tmp_path, site, receiver):
    from conftest import run_cli

    url = site.page("/p", listing([entry(1)]))
    config = hook_config(tmp_path, url, receiver.url())
    assert run_cli("--config", str(config), "update").returncode == 0
    probe = ("import sys, runpy; sys.argv = ['spfeed', '--config', sys.argv[1], 'update']\n"
             "from spfeed.cli import main\ncode = main()\n"
             "print(sorted(m for m in sys.modules if m.startswith('spfeed.announce.') and m != 'spfeed.announce.settings'))")
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", probe, str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
