"""A hostile network: pages and servers that try to send spfeed elsewhere, to take credentials, or
to write into the operator's terminal. Real `spfeed` processes against real local servers (a
second one on 127.0.0.2, another host to spfeed), as in test_faults.py: the exit code, one stderr
line, the feeds unchanged, and what each server was asked.
"""

from __future__ import annotations

import http.client
import json
import socket
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import Reply, Site, parse_feed, run_cli
from pages import entry, listing
from spfeed.cli import main
from spfeed.config import load
from spfeed.errors import printable
from spfeed.pipeline import update
from test_faults import GOOD, NEWER, Baseline, assert_failed_safely, baseline, spfeed  # noqa: F401 - a fixture

SECRET = listing([entry(9, day="19 June 2022", title="Secret report")])
REFUSED = "refused to connect to 127.0.0.2 (a private address; set http.allow_private: true to allow it)"


@pytest.fixture
def other():
    """Another host: a server on 127.0.0.2 (the same machine, another address in 127.0.0.0/8)."""
    try:
        server = Site("127.0.0.2")
    except OSError as e:  # nothing else in these tests can run without it
        pytest.skip(f"cannot bind 127.0.0.2 on this machine ({e})")
    server.route("/secret", Reply(body=SECRET))
    yield server
    server.stop()


def published_titles(base: Baseline) -> list[str]:
    return [e.title for e in parse_feed((base.feeds / "atom.xml").read_bytes()).entries]


def one_warning(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("spfeed: warning: "), stderr
    return lines[0]


# -- where spfeed may connect: next links and redirects ------------------------------------------


@pytest.mark.parametrize("command", [["update"], ["backfill"]])
def test_a_next_link_to_another_host_ends_the_walk(baseline, site, other, command):
    baseline.rewrite_config(sources=[{"url": baseline.url, "profile": "ilo", "page_delay": 0, "max_pages": 3}])
    site.page("/p", listing([entry(3, day="18 June 2022"), entry(2, day="17 June 2022"), entry(1)],
                            next_href=other.url("/secret")))
    result = spfeed(baseline, *command)
    assert result.returncode == 0, result.stderr
    assert one_warning(result.stderr) == (
        f"spfeed: warning: {baseline.url}: next page {other.url('/secret')} is on another host (127.0.0.2); "
        "stopped there; add it to sources[0].allow_hosts to follow it")
    assert other.requests == [] and "Secret report" not in published_titles(baseline)
    assert "Report number 3" in published_titles(baseline)


@pytest.mark.parametrize("allow_private, secret_read, warning", [
    (False, False, f"{REFUSED}; kept the 1 page(s) read"),  # allowed as a host, still a private address
    (True, True, None),
])
def test_allow_hosts_lets_the_walk_go_on(baseline, site, other, allow_private, secret_read, warning):
    baseline.rewrite_config(sources=[{"url": baseline.url, "profile": "ilo", "page_delay": 0, "max_pages": 2,
                                      "allow_hosts": ["127.0.0.2"]}], http={"allow_private": allow_private})
    site.page("/p", listing([entry(2, day="17 June 2022"), entry(1)], next_href=other.url("/secret")))
    result = spfeed(baseline, "update")
    assert result.returncode == 0
    assert ("Secret report" in published_titles(baseline)) is secret_read
    assert bool(other.hits("/secret")) is secret_read
    if warning is None:
        assert result.stderr == ""
    else:
        assert one_warning(result.stderr).endswith(warning)


def test_a_next_page_redirected_to_another_host_is_not_followed(baseline, site, other):
    baseline.rewrite_config(sources=[{"url": baseline.url, "profile": "ilo", "page_delay": 0, "max_pages": 2}],
                            http={"allow_private": True})  # the host rule alone must stop it
    site.page("/p", listing([entry(2, day="17 June 2022"), entry(1)], next_href="/p2"))
    site.route("/p2", Reply(status=302, headers={"Location": other.url("/secret")}))
    result = spfeed(baseline, "update")
    assert result.returncode == 0
    assert one_warning(result.stderr) == (
        f"spfeed: warning: {site.url('/p2')}: redirected to {other.url('/secret')}, on another host (127.0.0.2); "
        "not followed; kept the 1 page(s) read")
    assert other.requests == [] and "Secret report" not in published_titles(baseline)


@pytest.mark.parametrize("next_href, followed", [
    ("/p2", True),  # on the host the page came from
    ("{other}/secret", False),  # the new host's page may not send spfeed further
])
def test_the_source_redirected_to_another_host_is_followed_but_not_trusted_further(baseline, site, other,
                                                                                   next_href, followed):
    moved = site.url("/moved").replace("127.0.0.1", "localhost")
    baseline.rewrite_config(sources=[{"url": baseline.url, "profile": "ilo", "page_delay": 0, "max_pages": 2}],
                            http={"allow_private": True})
    site.route("/p", Reply(status=301, headers={"Location": moved}))
    site.page("/moved", listing([entry(3, day="18 June 2022"), entry(2, day="17 June 2022")],
                                next_href=next_href.format(other=other.base)))
    site.page("/p2", listing([entry(1)]))
    result = spfeed(baseline, "update")
    assert result.returncode == 0
    assert "Report number 3" in published_titles(baseline)
    assert bool(site.hits("/p2")) is followed and other.requests == []
    if followed:
        assert result.stderr == ""
    else:
        assert "is on another host (127.0.0.2); stopped there" in one_warning(result.stderr)


# -- private addresses ---------------------------------------------------------------------------


def test_a_redirect_from_a_loopback_source_to_another_private_address_is_refused(baseline, site, other):
    site.route("/p", Reply(status=302, headers={"Location": other.url("/secret")}))
    assert_failed_safely(baseline, spfeed(baseline, "update"), 1, f"{baseline.url}: {REFUSED}", site)
    assert other.requests == []  # refused before a byte was sent


def test_allow_private_allows_it(baseline, site, other):
    baseline.rewrite_config(http={"allow_private": True})
    site.route("/p", Reply(status=302, headers={"Location": other.url("/secret")}))
    result = spfeed(baseline, "update")
    assert result.returncode == 0 and result.stderr == ""
    assert "Secret report" in published_titles(baseline)


def test_dns_rebinding_is_caught_on_the_connected_socket(tmp_path, site, other, clock, monkeypatch, capsys):
    """A name that answers 127.0.0.1 (the source's own address) and then 127.0.0.2. A resolver hook
    is the one mock here: no real DNS server can be had offline."""
    real = socket.getaddrinfo
    ports = {"127.0.0.1": site.server.server_address[1], "127.0.0.2": other.server.server_address[1]}
    answers = iter(["127.0.0.1"])

    def resolve(host, port, *args, **kwargs):
        if host != "rebind.test":
            return real(host, port, *args, **kwargs)
        address = next(answers, "127.0.0.2")
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, ports[address] if port else 0))]

    from conftest import write_config

    url = f"http://rebind.test:{ports['127.0.0.1']}/p"
    site.page("/p", GOOD)
    other.route("/p", Reply(body=SECRET))
    config = write_config(tmp_path, url)
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    feeds = tmp_path / "feeds"
    answers = iter(["127.0.0.1"] * 2)  # a first run while the name is honest: the source's own address
    assert update(load(config), now=clock).exit_code == 0
    before = (feeds / "atom.xml").read_bytes(), (feeds / "rss.xml").read_bytes()
    capsys.readouterr()

    answers = iter(["127.0.0.1"])  # then it rebinds after its first answer
    assert main(["--config", str(config), "update"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == f"spfeed: error: {url}: {REFUSED}\n"
    assert other.requests == [] and ((feeds / "atom.xml").read_bytes(), (feeds / "rss.xml").read_bytes()) == before


# -- credentials and the environment -------------------------------------------------------------


def netrc_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    netrc = home / ".netrc"
    netrc.write_text("".join(f"machine {host} login spfeed password hunter2\n"
                             for host in ("127.0.0.1", "127.0.0.2", "localhost")))
    netrc.chmod(0o600)
    return home


def test_no_netrc_credentials_are_sent_anywhere(baseline, site, other, tmp_path):
    baseline.rewrite_config(sources=[{"url": baseline.url, "profile": "ilo", "page_delay": 0, "max_pages": 2,
                                      "allow_hosts": ["127.0.0.2"]}], http={"allow_private": True})
    moved = site.url("/moved").replace("127.0.0.1", "localhost")
    site.route("/p", Reply(status=302, headers={"Location": moved}))
    site.page("/moved", listing([entry(3, day="18 June 2022"), entry(2, day="17 June 2022")],
                                next_href=other.url("/secret")))
    result = spfeed_with_env(baseline, {"HOME": str(netrc_home(tmp_path))})
    assert result.returncode == 0, result.stderr
    seen = site.requests[-2:] + other.requests
    assert [r.path for r in seen] == ["/p", "/moved", "/secret"]  # every host was asked, and
    assert not [r for r in seen if "Authorization" in r.headers]  # none was told the password


class Proxy:
    """A forwarding HTTP proxy on 127.0.0.1 that records the absolute URLs it is asked for."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                proxy.seen.append(self.path)
                target = urlsplit(self.path)
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=5)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
                upstream.request("GET", target.path + (f"?{target.query}" if target.query else ""), headers=headers)
                answer = upstream.getresponse()
                body = answer.read()
                self.send_response(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                upstream.close()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy():
    server = Proxy()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def a_plain_environment(monkeypatch):
    """Each test sets the proxy and CA variables it means (an empty one would still override another)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "NETRC", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
                 "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def spfeed_with_env(base: Baseline, env: dict[str, str], *args: str):
    """`spfeed update`, a real process, with *env* added to the environment."""
    return run_cli("--config", str(base.config), "update", *args, env=env)


@pytest.mark.parametrize("env, proxied", [
    ({"HTTP_PROXY": "{proxy}"}, True),
    ({"http_proxy": "{proxy}"}, True),
    ({"HTTP_PROXY": "{proxy}", "NO_PROXY": "127.0.0.1"}, False),
    ({"http_proxy": "{proxy}", "no_proxy": "example.org,127.0.0.1"}, False),
])
def test_the_environments_proxy_settings_still_apply(baseline, site, proxy, env, proxied):
    site.page("/p", NEWER)
    result = spfeed_with_env(baseline, {k: v.format(proxy=proxy.url) for k, v in env.items()})
    assert result.returncode == 0 and result.stdout.startswith("1 new"), result.stderr
    assert proxy.seen == ([baseline.url] if proxied else [])


def test_a_proxy_does_not_open_the_way_to_private_addresses(baseline, site, other, proxy):
    site.route("/p", Reply(status=302, headers={"Location": other.url("/secret")}))
    result = spfeed_with_env(baseline, {"HTTP_PROXY": proxy.url})
    assert_failed_safely(baseline, result, 1, f"{baseline.url}: {REFUSED}")
    assert proxy.seen == [baseline.url] and other.requests == []


# -- server text in messages ---------------------------------------------------------------------

OSC = "\x1b]0;PWNED\x07"


@pytest.mark.parametrize("reply, message", [
    (Reply(status=404, reason=f"Not Found{OSC}\x1b[2J\x9b2J\x85"), "/p: HTTP 404 Not Found"),
    (Reply(status=503, reason="Busy " + "x" * 60_000), "/p: HTTP 503 Busy xxx"),
    (Reply(status=200, body=b"%PDF", content_type=f"application/pdf{OSC}"), "/p: not an HTML page (application/pdf"),
    (Reply(status=302, headers={"Location": f"javascript:alert(1){OSC}"}), "/p: redirected to javascript:alert(1)"),
])
def test_server_text_reaches_no_terminal_raw(baseline, site, reply, message):
    site.route("/p", reply)
    result = spfeed(baseline, "update")
    assert_failed_safely(baseline, result, 1, message, site)
    line = result.stderr.splitlines()[0]
    assert line.isprintable() and "\u202e" not in line and len(line) < 400, line
    with sqlite3.connect(baseline.state) as db:
        [stored] = db.execute("SELECT message FROM runs WHERE outcome = 'failed'").fetchone()
    assert stored.isprintable() and len(stored) < 400


def test_a_next_link_with_escapes_is_printed_safely(baseline, site):
    baseline.rewrite_config(sources=[{"url": baseline.url, "profile": "ilo", "page_delay": 0, "max_pages": 2}])
    page = listing([entry(2, day="17 June 2022"), entry(1)], next_href=f"http://127.0.0.2:1/{OSC}{'y' * 5000}")
    site.page("/p", page)
    result = spfeed(baseline, "update", "--json")
    assert result.returncode == 0
    line = one_warning(result.stderr)
    assert line.isprintable() and len(line) < 600 and "on another host (127.0.0.2)" in line
    assert json.loads(result.stdout)["warnings"] == [line.removeprefix("spfeed: warning: ")]


@pytest.mark.parametrize("text, limit, expected", [
    ("404 Not Found", 200, "404 Not Found"),
    (f"404 Not Found{OSC}", 200, "404 Not Found"),  # an OSC sequence goes whole
    ("\x1b[31mred\x1b[0m", 200, "red"),  # and so does a CSI one
    ("a\x1bb\x07c\x00d\x7fe\x9bf", 200, "abcdef"),  # stray C0 and C1 controls
    ("line\nbreak\ttab\r", 200, "line break tab "),  # one line
    ("\u202eevil\u2066x\u2069\u200f", 200, "evilx"),  # bidi controls
    ("Café – été", 200, "Café – été"),
    ("x" * 60_000, 200, "x" * 199 + "…"),
    ("abcdef", 4, "abc…"),
])
def test_printable(text, limit, expected):
    assert printable(text, limit) == expected


def test_printable_ascii_is_left_as_it_is_without_a_look_at_the_patterns():
    """printable() skips its patterns for printable ASCII: none of them matches there."""
    import re

    from spfeed import errors

    every = "".join(chr(c) for c in range(0x20, 0x7F))
    assert every.isascii() and every.isprintable()
    assert not re.search(errors._UNPRINTABLE, every) and not re.search(errors._ESCAPE, every)
    assert printable(every, 1000) == every
    # and no other character passes the shortcut: each control is one the patterns take out
    for c in map(chr, range(0x80)):
        if not c.isprintable():
            assert re.search(errors._UNPRINTABLE, c), repr(c)


@pytest.fixture
def tls_site(tmp_path):
    """A Site behind TLS with a self-signed certificate for 127.0.0.1, made by openssl."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate for the TLS server")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,digitalSignature",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = Site(tls=context)
    server.cert = cert
    yield server
    server.stop()


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", None])
def test_the_environments_ca_bundle_still_applies(baseline, tls_site, variable):
    url = tls_site.page("/p", NEWER)
    baseline.rewrite_config(sources=[{"url": url, "profile": "ilo", "page_delay": 0}])
    result = spfeed_with_env(baseline, {variable: str(tls_site.cert)} if variable else {})
    if variable is None:  # the certificate is trusted only through the variable
        assert_failed_safely(baseline, result, 1, f"{url}: TLS error")
    else:
        assert result.returncode == 0 and result.stderr == "" and "Report number 3" in result.stdout


# -- the settings --------------------------------------------------------------------------------


@pytest.mark.parametrize("source, http, hosts, allow_private", [
    ({}, {}, (), False),
    ({"allow_hosts": ["WebApps.ILO.org.", "127.0.0.2", "[::1]"]}, {"allow_private": True},
     ("webapps.ilo.org", "127.0.0.2", "::1"), True),
])
def test_allow_hosts_and_allow_private_are_read(tmp_path, source, http, hosts, allow_private):
    from conftest import write_config

    config = load(write_config(tmp_path, [{"url": "https://www.ilo.org/p", **source}], http=http))
    assert config.sources[0].allow_hosts == hosts and config.http.allow_private is allow_private


@pytest.mark.parametrize("source, http, message", [
    ({"allow_hosts": "webapps.ilo.org"}, {}, "sources[0].allow_hosts: expected a list of host names, got a string"),
    ({"allow_hosts": ["https://webapps.ilo.org/"]}, {}, "sources[0].allow_hosts[0]: expected a host name such as "
                                                        "www.ilo.org (no scheme, port or path)"),
    ({"allow_hosts": ["ilo.org:443"]}, {}, "sources[0].allow_hosts[0]: expected a host name"),
    ({"allow_hosts": [7]}, {}, "sources[0].allow_hosts[0]: expected a host name"),
    ({}, {"allow_private": "yes"}, "http.allow_private: expected true or false, got a string ('yes')"),
])
def test_bad_allow_hosts_and_allow_private(tmp_path, capsys, source, http, message):
    from conftest import write_config

    config = write_config(tmp_path, [{"url": "https://www.ilo.org/p", **source}], http=http)
    assert main(["--config", str(config), "regenerate"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"spfeed: error: {config}: {message}"), line
