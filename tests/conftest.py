"""Shared test parts: a real local HTTP server whose answers each test sets, config files, and the CLI
run as a real subprocess."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOLDEN = Path(__file__).resolve().parent / "golden"
VALIDATION = Path(os.environ.get("SPFEED_VALIDATION_DIR", REPO.parent / "shared" / "validation"))


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Reply:
    """One scripted answer of the test server."""

    status: int = 200
    reason: str | None = None  #: the status line's reason phrase (default: the standard one)
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "text/html; charset=utf-8"
    delay: float = 0.0  #: seconds before the status line
    drip: float | None = None  #: seconds between single bytes of the body
    declared_length: int | None = None  #: a Content-Length that differs from the body (then the connection closes)
    gzip: bool = False
    etag: str | None = None  #: answer 304 to a matching If-None-Match
    last_modified: str | None = None  #: answer 304 to an identical If-Modified-Since
    close: bool = False  #: close the connection without answering
    reset: bool = False  #: send half the body, then reset the connection (TCP RST)


@dataclass
class Seen:
    """A request the server received."""

    path: str
    headers: dict[str, str]
    at: float = 0.0  #: time.monotonic() when it arrived


class Site:
    """A threaded HTTP server on 127.0.0.1 (or *host*; behind TLS with an ``ssl.SSLContext`` *tls*);
    ``site.route(path, reply, ...)`` scripts its answers.

    Several replies for one path are given in turn, the last one repeated.
    """

    def __init__(self, host: str = "127.0.0.1", tls=None) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                site._answer(self)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:  # clients that hang up are expected
                pass

        self.server = Server((host, 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, *replies: Reply) -> str:
        with self.lock:
            self.routes[path] = list(replies)
        return self.url(path)

    def page(self, path: str, body: bytes, **kwargs) -> str:
        """Serve *body* at *path* with an ETag and Last-Modified, as a well-behaved server would."""
        import hashlib

        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        return self.route(path, Reply(body=body, etag=etag, last_modified="Wed, 01 Jun 2022 10:00:00 GMT", **kwargs))

    def hits(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        with self.lock:
            self.requests.append(Seen(path, dict(handler.headers.items()), time.monotonic()))
            replies = self.routes.get(path)
            if not replies:
                reply = Reply(status=404, body=b"not found", content_type="text/plain")
            else:
                reply = replies.pop(0) if len(replies) > 1 else replies[0]
        if reply.delay:
            time.sleep(reply.delay)
        if reply.close:
            handler.close_connection = True
            return
        if reply.etag and handler.headers.get("If-None-Match") == reply.etag or (
            reply.last_modified and handler.headers.get("If-Modified-Since") == reply.last_modified
            and not handler.headers.get("If-None-Match")
        ):
            handler.send_response(304)
            handler.send_header("Content-Length", "0")
            if reply.etag:
                handler.send_header("ETag", reply.etag)
            handler.end_headers()
            return
        body = gzip.compress(reply.body) if reply.gzip else reply.body
        handler.send_response(reply.status, reply.reason)
        if reply.content_type:
            handler.send_header("Content-Type", reply.content_type)
        if reply.gzip:
            handler.send_header("Content-Encoding", "gzip")
        if reply.etag:
            handler.send_header("ETag", reply.etag)
        if reply.last_modified:
            handler.send_header("Last-Modified", reply.last_modified)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(reply.declared_length if reply.declared_length is not None else len(body)))
        if reply.declared_length is not None:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        try:
            if reply.reset:
                import socket
                import struct

                handler.wfile.write(body[: len(body) // 2])
                handler.wfile.flush()
                handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                handler.connection.close()
                handler.close_connection = True
                return
            if reply.drip is not None:
                for i in range(len(body)):
                    handler.wfile.write(body[i : i + 1])
                    handler.wfile.flush()
                    time.sleep(reply.drip)
            else:
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def site():
    server = Site()
    yield server
    server.stop()


def write_config(folder: Path, sources: list[dict] | str, **sections) -> Path:
    """A config file in *folder* with test-friendly defaults (fast retries, no page delay)."""
    if isinstance(sources, str):
        sources = [{"url": sources}]
    data = {
        "feed": {
            "title": "ILO Social Protection Department: news",
            "description": "Test feed",
            "link": "https://www.ilo.org/secsoc/lang--en/index.htm",
            "language": "en",
            "author": {"name": "ILO Social Protection Department"},
            "base_url": "https://feeds.example.org/secsoc/",
        },
        "sources": [{"profile": "ilo", "page_delay": 0, **s} for s in sources],
        "output": {"dir": "feeds", "max_items": 50},
        "state": {"path": "state/spfeed.sqlite", "lock_timeout": 1},
        "http": {"timeout": 5, "retries": 1, "backoff": 0.05},
    }
    for name, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(name), dict):
            data[name] = {**data[name], **value}
        else:
            data[name] = value
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``python -m spfeed ARGS`` as a real process."""
    full_env = {k: v for k, v in os.environ.items() if k != "SPFEED_CONFIG"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "spfeed", *args], cwd=cwd, env=full_env, capture_output=True, text=True,
        timeout=timeout,
    )


class Clock:
    """A settable clock for in-process pipeline runs."""

    def __init__(self, start: str = "2026-11-27T08:00:00+00:00") -> None:
        from datetime import datetime

        self.now = datetime.fromisoformat(start)

    def __call__(self):
        return self.now

    def advance(self, **delta) -> None:
        from datetime import timedelta

        self.now = self.now + timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def journal_mode(path: Path) -> str:
    """The journal mode the SQLite file at *path* is in ("delete", "wal"), read by a connection of its own."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()


def validate_atom(data: bytes) -> None:
    """Check Atom bytes against RFC 4287's RELAX NG schema and Schematron rules from ../shared/validation.

    Where that folder is absent only this check is left out (``test_the_atom_schema_is_there`` says
    so, as a skip): the assertions after it in the calling test still run. The Atom must still be
    well-formed XML.
    """
    from lxml import etree

    etree.fromstring(data)
    if not (VALIDATION / "atom-adjusted.rng").exists():
        return
    from lxml import etree, isoschematron

    schema = etree.RelaxNG(etree.parse(str(VALIDATION / "atom-adjusted.rng")))
    rules = isoschematron.Schematron(etree.parse(str(VALIDATION / "atom-rules.sch")))
    doc = etree.fromstring(data).getroottree()
    assert schema.validate(doc), schema.error_log
    assert rules.validate(doc), rules.error_log


def parse_feed(data: bytes):
    """The feed as feedparser reads it; fails on any well-formedness problem."""
    import feedparser

    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


#: Test modules whose tests run real spfeed processes, browsers or readers (slow; kept out of the
#: second, time-zone pass of CI).
_PROCESS_MODULES = {"test_faults", "test_files", "test_hostile_fetch", "test_scheduler", "test_readers", "test_systemd"}


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "process: runs real processes (spfeed, a browser, a reader)")


def pytest_collection_modifyitems(config, items) -> None:
    """Mark the tests that start real processes, so a fast pass can leave them out (-m 'not process')."""
    import inspect

    for item in items:
        module = item.module.__name__.rpartition(".")[2]
        try:
            source = inspect.getsource(item.function)
        except (OSError, TypeError):
            source = ""
        if module in _PROCESS_MODULES or "run_cli(" in source or "subprocess" in source or "chromium" in source:
            item.add_marker(pytest.mark.process)
