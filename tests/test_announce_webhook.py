"""Webhooks against a real local HTTP receiver: the exact JSON body, spfeed's User-Agent, the
HMAC-SHA256 signature checked the way a receiver checks it, retries with backoff on 5xx and
connection errors, no retries on 4xx, no redirects followed."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from spfeed.announce import Announcement, Failure, deliver, deliver_one, document
from spfeed.announce.settings import NotifySettings, Webhook
from spfeed.model import RunReport, StoredItem

UA = "spfeed/test (announce tests)"


@dataclass
class Posted:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A threaded HTTP server on 127.0.0.1 that records every POST and answers the scripted
    statuses in turn (the last one repeated)."""

    statuses: list[int] = field(default_factory=lambda: [204])
    posts: list[Posted] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.posts.append(Posted(self.path, dict(self.headers.items()), data))
                    status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


def stored(n: int, feed: str = "") -> StoredItem:
    """A history item as the store returns it."""
    published = datetime(2022, 6, n, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    return StoredItem(
        id=f"https://www.ilo.org/global/publications/WCMS_{n}/lang--en/index.htm",
        link=f"https://www.ilo.org/global/publications/WCMS_{n}/lang--en/index.htm",
        title=f"Report number {n} <on social protection> & more", summary=f"Summary {n}", label="New ILO report",
        kind=None, published=published, dated=True, updated=published, first_seen=published, last_seen=published,
        changed_at=None, position=n, source="sources[0]", feed=feed)


def announcement(events=("new",), feed: str = "ilo-secsoc", **kwargs) -> Announcement:
    report = RunReport(new=(stored(16), stored(14)) if "new" in events else (),
                       updated=((stored(10), ("summary",)),) if "updated" in events else (),
                       gone=(stored(3),) if "gone" in events else (),
                       written=("feeds/rss.xml", "feeds/atom.xml"),
                       failures=("https://www.ilo.org/…: HTTP 503 Service Unavailable (after 4 attempts)",)
                       if "failure" in events else ())
    return Announcement(feed=feed, events=frozenset(events), document=document(report, feed), **kwargs)


def test_posts_the_signed_json_document(receiver):
    secret = "s3cret-ünïcode"
    settings = NotifySettings(webhooks=(Webhook(url=receiver.url(), secret=secret),))
    sent = announcement(("new", "updated"))
    assert deliver(settings, sent, user_agent=UA) == []
    (post,) = receiver.posts
    assert post.path == "/hook"
    assert post.headers["Content-Type"] == "application/json" and post.headers["User-Agent"] == UA
    # what a receiver does: HMAC the raw body with the shared secret, compare in constant time
    expected = "sha256=" + hmac.new(secret.encode(), post.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(post.headers["X-Spfeed-Signature"], expected)
    data = json.loads(post.body)
    assert data["feed"] == "ilo-secsoc" and data["events"] == ["new", "updated"]
    assert b"<" not in post.body and b"\\u003con social protection\\u003e \\u0026 more" in post.body
    assert [i["title"] for i in data["new"]] == ["Report number 16 <on social protection> & more",
                                                  "Report number 14 <on social protection> & more"]
    assert data["new"][0]["published"] == "2022-06-16T12:00:00+02:00"
    assert data["updated"][0]["changed"] == ["summary"]
    assert {i["feed"] for i in data["new"] + data["updated"]} == {"ilo-secsoc"}
    assert set(data) >= {"new", "updated", "gone", "unchanged", "written", "not_modified", "warnings", "errors"}


def test_no_secret_no_signature(receiver):
    assert deliver(NotifySettings(webhooks=(Webhook(url=receiver.url()),)), announcement(), user_agent=UA) == []
    assert "X-Spfeed-Signature" not in receiver.posts[0].headers


def test_a_receiver_that_fails_twice_then_succeeds_gets_the_same_body_three_times(receiver):
    receiver.statuses[:] = [503, 500, 200]
    settings = NotifySettings(webhooks=(Webhook(url=receiver.url(), secret="k"),))
    assert deliver(settings, announcement(), user_agent=UA, backoff=0.01) == []
    assert len(receiver.posts) == 3
    assert len({(p.body, p.headers["X-Spfeed-Signature"]) for p in receiver.posts}) == 1


@pytest.mark.parametrize("statuses, attempts, reason", [
    ([500], 3, "HTTP 500 Internal Server Error (after 3 attempts)"),
    ([502, 502, 404], 3, "HTTP 404 Not Found"),
    ([400], 1, "HTTP 400 Bad Request"),
    ([410], 1, "HTTP 410 Gone"),
    ([301], 1, "HTTP 301 Moved Permanently (redirects are not followed)"),
])
def test_failures_are_reported_not_raised(receiver, statuses, attempts, reason):
    receiver.statuses[:] = statuses
    receiver.headers["Location"] = receiver.url("/elsewhere")
    settings = NotifySettings(webhooks=(Webhook(url=receiver.url()),))
    assert deliver(settings, announcement(), user_agent=UA, backoff=0.01) == [Failure("webhooks[0]", reason)]
    assert [p.path for p in receiver.posts] == ["/hook"] * attempts


def test_connection_refused_is_retried_then_reported():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    settings = NotifySettings(webhooks=(Webhook(url="https://example.invalid/"), Webhook(url=url)))
    failure = deliver_one(settings, "webhooks[1]", announcement(), user_agent=UA, backoff=0.01)
    assert failure == Failure("webhooks[1]", "connection refused (after 3 attempts)")


def test_a_receiver_that_never_answers_times_out():
    with socket.socket() as silent:  # accepts connections (the backlog) but never reads or answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings = NotifySettings(timeout=0.2, webhooks=(Webhook(url=f"http://127.0.0.1:{silent.getsockname()[1]}/"),))
        (failure,) = deliver(settings, announcement(), user_agent=UA, backoff=0.01)
    assert failure == Failure("webhooks[0]", "no answer in time (after 3 attempts)")
