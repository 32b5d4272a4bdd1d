"""WebSub publishing against a real hub: flask-websub's, served on 127.0.0.1 with its task queue run
inline. A real subscriber subscribes (the hub verifies its intent), spfeed publishes real feed
files, and the hub fetches each one back and pushes the new bytes to the subscriber."""

from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import Reply, write_config
from pages import entry, listing
from spfeed.announce import Announcement, Failure, deliver
from spfeed.announce.settings import NotifySettings
from spfeed.announce.websub import form
from spfeed.cli import main
from test_announce_webhook import UA, Receiver

class InlineQueue:
    """Stands in for the Celery app flask-websub's hub expects: each task runs at once, inside the
    hub's request, and a retry runs again at once (up to the task's max_retries)."""

    def task(self, bind: bool = False, max_retries: int = 0, **_options):
        def register(function):
            return _Task(function, bind, max_retries)
        return register

    def add_periodic_task(self, *args, **kwargs) -> None:
        pass


class _RetryNow(Exception):
    pass


class _Task:
    def __init__(self, function, bind: bool, max_retries: int) -> None:
        self.function, self.bind, self.max_retries = function, bind, max_retries
        self.request = type("Request", (), {"retries": 0})()

    def retry(self, countdown: float = 0) -> None:
        raise _RetryNow

    def delay(self, *args):
        if not self.bind:
            return self.function(*args)
        for self.request.retries in range(self.max_retries + 1):
            try:
                return self.function(self, *args)
            except _RetryNow:
                continue
        return None


@dataclass
class Hub:
    url: str
    published: list[dict] = field(default_factory=list)  #: every publish request's form


@pytest.fixture
def hub(tmp_path):
    pytest.importorskip("flask_websub", reason="flask-websub (in the test extra) is the hub this test publishes to")
    from flask import Flask, request
    from flask_websub.hub import Hub as WebSubHub, SQLite3HubStorage
    from werkzeug.serving import make_server

    app = Flask("hub")
    app.config["PUBLISH_SUPPORTED"] = True  # flask-websub accepts hub.mode=publish only when told so
    websub_hub = WebSubHub(SQLite3HubStorage(str(tmp_path / "hub.sqlite")), celery=InlineQueue(), REQUEST_TIMEOUT=5)
    app.register_blueprint(websub_hub.build_blueprint(url_prefix="/hub"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    seen = Hub(url=f"http://127.0.0.1:{server.server_port}/hub")

    @app.before_request
    def record() -> None:
        if request.form.get("hub.mode") == "publish":
            seen.published.append(dict(request.form))

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield seen
    server.shutdown()


class Subscriber:
    """A WebSub subscriber's callback: answers the hub's verification with its challenge and
    records each content distribution (body and signature)."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.verified: list[dict] = []
        subscriber = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                subscriber.verified.append(query)
                challenge = query.get("hub.challenge", "").encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(challenge)))
                self.end_headers()
                self.wfile.write(challenge)

            def do_POST(self) -> None:
                subscriber.received.append((self.rfile.read(int(self.headers["Content-Length"])), dict(self.headers)))
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callback"

    def subscribe(self, hub: str, topic: str, secret: str) -> None:
        import requests

        answer = requests.post(hub, data={"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": self.url,
                                          "hub.secret": secret}, timeout=10)
        assert answer.status_code == 202, answer.text
        assert self.verified and self.verified[-1]["hub.topic"] == topic, "the hub did not verify the subscription"


@pytest.fixture
def subscriber():
    callback = Subscriber()
    yield callback
    callback.server.shutdown()
    callback.server.server_close()


def serve_feed(site, path: str, data: bytes, hub_url: str) -> str:
    """Serve feed bytes as a WebSub publisher's web server does: with Link rel=hub and rel=self."""
    url = site.url(path)
    site.route(path, Reply(body=data, content_type="application/atom+xml",
                           headers={"Link": f'<{hub_url}>; rel="hub", <{url}>; rel="self"'}))
    return url


def test_the_hub_fetches_each_published_feed_and_pushes_its_new_bytes(tmp_path, site, hub, subscriber, capsys):
    page = site.page("/news", listing([entry(1)]))
    config = write_config(tmp_path, page)
    assert main(["--config", str(config), "update"]) == 0
    feeds = Path(tmp_path / "feeds")
    atom_url = serve_feed(site, "/feeds/atom.xml", (feeds / "atom.xml").read_bytes(), hub.url)
    rss_url = serve_feed(site, "/feeds/rss.xml", (feeds / "rss.xml").read_bytes(), hub.url)
    subscriber.subscribe(hub.url, atom_url, secret="topsecret")

    site.page("/news", listing([entry(1), entry(2)]))  # the page changes; the next run rewrites the feeds
    assert main(["--config", str(config), "update"]) == 0
    new_atom = (feeds / "atom.xml").read_bytes()
    serve_feed(site, "/feeds/atom.xml", new_atom, hub.url)
    serve_feed(site, "/feeds/rss.xml", (feeds / "rss.xml").read_bytes(), hub.url)
    sent = Announcement(feed="secsoc", events=frozenset({"new"}), changed_urls=(atom_url, rss_url), hubs=(hub.url,))

    assert deliver(NotifySettings(), sent, user_agent=UA) == []
    assert [(p["hub.mode"], p["hub.url"], p["hub.topic"]) for p in hub.published] == [
        ("publish", atom_url, atom_url), ("publish", rss_url, rss_url)]
    ((body, headers),) = subscriber.received  # subscribed to the Atom feed only
    assert body == new_atom and b"Report number 2" in body
    algorithm, _, digest = headers["X-Hub-Signature"].partition("=")
    assert digest == hmac.new(b"topsecret", body, getattr(hashlib, algorithm)).hexdigest()


def test_no_changed_files_no_ping(receiver_hub):
    sent = Announcement(feed="secsoc", events=frozenset({"failure"}), hubs=(receiver_hub.url(),))
    assert deliver(NotifySettings(), sent, user_agent=UA) == []
    assert receiver_hub.posts == []


def test_every_hub_is_pinged_and_a_failing_one_is_reported(receiver_hub):
    receiver_hub.statuses[:] = [503]
    working = Receiver(statuses=[204])
    try:
        sent = Announcement(feed="secsoc", events=frozenset({"new"}), changed_urls=("https://feeds.example.org/a.xml",),
                            hubs=(receiver_hub.url("/bad"), working.url("/good")))
        failures = deliver(NotifySettings(), sent, user_agent=UA, backoff=0.01)
    finally:
        working.stop()
    assert failures == [Failure("hubs[0]", f"publishing https://feeds.example.org/a.xml to {receiver_hub.url('/bad')}: "
                                           "HTTP 503 Service Unavailable (after 3 attempts)")]
    (post,) = working.posts
    assert post.body == form("https://feeds.example.org/a.xml")
    assert post.headers["Content-Type"] == "application/x-www-form-urlencoded" and post.headers["User-Agent"] == UA


@pytest.fixture
def receiver_hub():
    server = Receiver()
    yield server
    server.stop()
