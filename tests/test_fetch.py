"""Fetching against a real local HTTP server: politeness, conditional GET, retries, limits."""

import os
import socket
import time

import pytest

from conftest import Reply
from spfeed import __version__
from spfeed.config import DEFAULT_USER_AGENT, HttpSettings
from spfeed.errors import FetchError
from spfeed.fetch import _Helper, fetch
from spfeed.model import Validators

HTML = b"<html><body><p>hello</p></body></html>"
FAST = HttpSettings(timeout=2, retries=2, backoff=0.01, max_bytes=100_000)


def test_a_page_with_a_truthful_user_agent(site):
    url = site.route("/p", Reply(body=HTML, content_type="text/html; charset=windows-1252"))
    page = fetch(url, FAST)
    assert page.body == HTML and page.charset == "windows-1252" and page.final_url == url
    [request] = site.hits("/p")
    assert request.headers["User-Agent"].startswith(f"spfeed/{__version__}")
    assert "text/html" in request.headers["Accept"]
    assert "If-None-Match" not in request.headers


def test_the_request_as_sent(site):
    """What a conditional GET says, header by header and in this order (requests' own, without
    anything from a session or the environment)."""
    url = site.route("/p", Reply(body=HTML))
    fetch(url, FAST, Validators('"v1"', "Wed, 01 Jun 2022 10:00:00 GMT"))
    [request] = site.hits("/p")
    assert list(request.headers.items()) == [
        ("Host", url.split("/")[2]),
        ("User-Agent", DEFAULT_USER_AGENT),
        ("Accept-Encoding", "gzip, deflate"),
        ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"),
        ("Connection", "keep-alive"),
        ("If-None-Match", '"v1"'),
        ("If-Modified-Since", "Wed, 01 Jun 2022 10:00:00 GMT"),
    ]


def test_fetches_one_after_another_share_one_helper_thread(site):
    url = site.page("/p", HTML)
    fetch(url, FAST)
    idle = list(_Helper._idle)
    fetch(url, FAST)
    assert idle and _Helper._idle == idle  # the same helper took the second fetch and came back


def test_a_helper_keeps_nothing_of_a_fetch_it_handed_back(site):
    """The page (a body of up to http.max_bytes) lives as long as its reader holds it, not until
    the helper's next fetch."""
    import weakref

    page = fetch(site.page("/p", HTML), FAST)
    handed = weakref.ref(page)
    del page
    assert handed() is None


def test_a_helper_left_past_its_deadline_gets_no_other_fetch_and_ends(site):
    fetch(site.page("/ok", HTML), FAST)  # a helper is idle now: the next fetch takes it
    idle = list(_Helper._idle)
    with pytest.raises(FetchError, match="no complete response within 0.5 s"):
        fetch(site.route("/p", Reply(body=HTML * 10, drip=0.1)), HttpSettings(timeout=0.5, retries=0))
    assert _Helper._idle == idle[:-1]  # the helper that ran it was not given back
    idle[-1].thread.join(5)  # it stops at its next chunk, then ends
    assert not idle[-1].thread.is_alive()


def test_conditional_get(site):
    url = site.page("/p", HTML)
    first = fetch(url, FAST)
    assert first.validators.etag and first.validators.last_modified
    assert fetch(url, FAST, first.validators) is None  # 304: nothing to do
    second = site.hits("/p")[1].headers
    assert second["If-None-Match"] == first.validators.etag
    assert second["If-Modified-Since"] == first.validators.last_modified


def test_last_modified_alone_also_works(site):
    url = site.route("/p", Reply(body=HTML, last_modified="Wed, 01 Jun 2022 10:00:00 GMT"))
    first = fetch(url, FAST)
    assert first.validators == Validators(None, "Wed, 01 Jun 2022 10:00:00 GMT")
    assert fetch(url, FAST, first.validators) is None


@pytest.mark.parametrize("status", [503, 429])
def test_retry_after_is_honoured_then_success(site, status):
    url = site.route("/p", Reply(status=status, headers={"Retry-After": "1"}, body=b"busy"), Reply(body=HTML))
    started = time.monotonic()
    assert fetch(url, FAST).body == HTML
    assert time.monotonic() - started >= 0.9  # waited as asked, not the 0.01 s backoff
    assert len(site.hits("/p")) == 2


def test_a_retry_after_date_is_understood(site):
    from email.utils import formatdate

    url = site.route("/p", Reply(status=503, headers={"Retry-After": formatdate(time.time() + 1, usegmt=True)}),
                     Reply(body=HTML))
    assert fetch(url, FAST).body == HTML


def test_an_absurd_retry_after_fails_at_once(site):
    url = site.route("/p", Reply(status=503, headers={"Retry-After": "86400"}))
    with pytest.raises(FetchError, match="retry after 86400 s"):
        fetch(url, FAST)
    assert len(site.hits("/p")) == 1


@pytest.mark.parametrize("status, reason", [(500, "HTTP 500"), (502, "HTTP 502")])
def test_persistent_server_errors_are_retried_then_fail(site, status, reason):
    url = site.route("/p", Reply(status=status, body=b"oops"))
    with pytest.raises(FetchError) as caught:
        fetch(url, FAST)
    assert str(caught.value).startswith(f"{url}: {reason}") and "after 3 attempts" in str(caught.value)
    assert len(site.hits("/p")) == 3


@pytest.mark.parametrize("status", [404, 410, 403])
def test_client_errors_are_not_retried(site, status):
    url = site.route("/p", Reply(status=status, body=b"gone"))
    with pytest.raises(FetchError, match=f"HTTP {status}"):
        fetch(url, FAST)
    assert len(site.hits("/p")) == 1


def test_a_body_over_the_cap(site):
    url = site.route("/p", Reply(body=b"<p>" + b"x" * 200_000))
    with pytest.raises(FetchError, match="larger than http.max_bytes"):
        fetch(url, FAST)


def test_a_gzip_body_counts_its_decompressed_size(site):
    url = site.route("/p", Reply(body=b"<p>" + b" " * 50_000_000, gzip=True))
    with pytest.raises(FetchError, match="decompressed body is larger than http.max_bytes"):
        fetch(url, FAST)


def test_a_small_gzip_body_is_decompressed(site):
    url = site.route("/p", Reply(body=HTML, gzip=True))
    assert fetch(url, FAST).body == HTML


def test_a_server_that_never_answers_hits_the_deadline(site):
    url = site.route("/p", Reply(body=HTML, delay=3))
    # the socket's own timeout and the overall deadline are both 0.5 s: either may fire first
    with pytest.raises(FetchError, match="no complete response within 0.5 s|timed out"):
        fetch(url, HttpSettings(timeout=0.5, retries=0))


def test_a_dripping_server_hits_the_overall_deadline(site):
    url = site.route("/p", Reply(body=HTML * 10, drip=0.1))  # every read succeeds; the whole takes 40 s
    started = time.monotonic()
    with pytest.raises(FetchError, match="no complete response within 1 s"):
        fetch(url, HttpSettings(timeout=1, retries=0))
    assert time.monotonic() - started < 5


def test_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError, match="connection refused"):
        fetch(f"http://127.0.0.1:{port}/", HttpSettings(timeout=2, retries=1, backoff=0.01))


def test_a_body_shorter_than_its_content_length(site):
    url = site.route("/p", Reply(body=HTML, declared_length=len(HTML) + 100))
    with pytest.raises(FetchError, match="connection broken while reading the body"):
        fetch(url, FAST)
    assert len(site.hits("/p")) == 3


def test_a_redirect_loop(site):
    site.route("/a", Reply(status=302, headers={"Location": "/b"}))
    url = site.route("/b", Reply(status=302, headers={"Location": "/a"}))
    with pytest.raises(FetchError, match="too many redirects"):
        fetch(url, FAST)


def test_a_redirect_to_another_host_is_followed_and_the_final_url_kept(site):
    target = site.route("/new", Reply(body=HTML)).replace("127.0.0.1", "localhost")
    url = site.route("/old", Reply(status=301, headers={"Location": target}))
    page = fetch(url, FAST)
    assert (page.url, page.final_url, page.body) == (url, target, HTML)


def test_a_tls_error_is_not_retried(site):
    site.route("/p", Reply(body=HTML))
    url = site.url("/p").replace("http://", "https://")  # a plain-HTTP server behind https
    with pytest.raises(FetchError, match="TLS error"):
        fetch(url, FAST)


@pytest.mark.parametrize("content_type", ["application/pdf", "image/png"])
def test_a_non_html_type(site, content_type):
    url = site.route("/p", Reply(body=b"%PDF-1.4 ...", content_type=content_type))
    with pytest.raises(FetchError, match=f"not an HTML page \\({content_type}\\)"):
        fetch(url, FAST)


def test_an_empty_body(site):
    url = site.route("/p", Reply(body=b""))
    with pytest.raises(FetchError, match="HTTP 200 OK with an empty body"):
        fetch(url, FAST)


def test_a_saved_page_from_a_file_url(tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes(HTML)
    page = fetch(path.as_uri(), FAST)
    assert (page.body, page.final_url) == (HTML, path.as_uri())


@pytest.mark.parametrize("content, message", [(None, "file not found"), (b"", "the file is empty"),
                                              (b"x" * 200_000, "larger than http.max_bytes")])
def test_bad_saved_pages(tmp_path, content, message):
    path = tmp_path / "page.html"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FetchError, match=message):
        fetch(path.as_uri(), FAST)


# -- where fetch may connect ---------------------------------------------------------------------

from spfeed.fetch import host_of, is_private, may_follow, reachable_hosts  # noqa: E402


@pytest.mark.parametrize("address, private", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True),  # loopback
    ("10.1.2.3", True), ("172.16.0.1", True), ("192.168.1.1", True), ("fd12::1", True),  # private
    ("169.254.169.254", True), ("fd00:ec2::254", True), ("fe80::1%eth0", True),  # metadata, link-local
    ("224.0.0.1", True), ("239.255.255.250", True), ("ff02::1", True),  # multicast
    ("0.0.0.0", True), ("::", True), ("240.0.0.1", True), ("100.64.0.1", True),  # unspecified, reserved, CGNAT
    ("::ffff:127.0.0.1", True), ("::ffff:10.0.0.1", True),  # IPv4-mapped
    ("93.184.215.14", False), ("2606:4700::6810:84e5", False), ("::ffff:8.8.8.8", False),  # the internet
])
def test_is_private(address, private):
    assert is_private(address) is private


@pytest.mark.parametrize("url, host", [
    ("https://www.ILO.org./secsoc/", "www.ilo.org"),
    ("http://127.0.0.2:8080/p", "127.0.0.2"),
    ("http://[::1]:80/", "::1"),
    ("file:///tmp/page.html", ""),
    ("javascript:alert(1)", ""),
])
def test_host_of(url, host):
    assert host_of(url) == host


HOSTS = reachable_hosts("https://www.ilo.org/a", "https://ilo.org/b", None, ("webapps.ilo.org",))


@pytest.mark.parametrize("url, hosts, followed", [
    ("https://www.ilo.org/p2", HOSTS, True),  # the source's host
    ("http://ilo.org/p2", HOSTS, True),  # the host it was redirected to
    ("https://webapps.ilo.org/p2", HOSTS, True),  # listed in allow_hosts
    ("https://evil.example/p2", HOSTS, False),
    ("https://www.ilo.org.evil.example/p2", HOSTS, False),
    ("file:///etc/passwd", HOSTS, False),  # a web page never leads to a local file
    ("javascript:alert(1)", HOSTS, False),
    # a saved page: its own folder, and its base_url's host
    ("file:///srv/saved/page2.html", reachable_hosts("file:///srv/saved/page.html", "file:///srv/saved/page.html",
                                                     "https://www.ilo.org/secsoc/"), True),
    ("https://www.ilo.org/p2", reachable_hosts("file:///srv/saved/page.html", "file:///srv/saved/page.html",
                                               "https://www.ilo.org/secsoc/"), True),
    ("https://evil.example/p2", reachable_hosts("file:///srv/saved/page.html", "file:///srv/saved/page.html",
                                                "https://www.ilo.org/secsoc/"), False),
])
def test_may_follow(url, hosts, followed):
    assert may_follow(url, hosts) is followed


def test_redirects_of_a_next_page_stay_on_its_hosts(site):
    url = site.route("/p2", Reply(status=302, headers={"Location": site.url("/p3").replace("127.0.0.1", "localhost")}))
    with pytest.raises(FetchError, match=r"/p2: redirected to http://localhost:\d+/p3, on another host \(localhost\)"):
        fetch(url, FAST, hosts=frozenset({"127.0.0.1"}))
    assert site.hits("/p3") == []


def test_a_redirect_to_another_private_address_is_refused_and_not_retried(site):
    url = site.route("/p", Reply(status=302, headers={"Location": "http://127.0.0.2:9/p"}))
    with pytest.raises(FetchError, match=r"/p: refused to connect to 127.0.0.2 \(a private address; "
                                         r"set http.allow_private: true to allow it\)$"):
        fetch(url, FAST)
    assert len(site.hits("/p")) == 1


def test_a_loopback_page_read_for_another_source_is_refused(site):
    url = site.route("/p", Reply(body=HTML))
    with pytest.raises(FetchError, match="refused to connect to 127.0.0.1"):
        fetch(url, FAST, origin="http://192.0.2.1/")  # a next page of a source on another (public) address
    assert site.hits("/p") == []
    assert fetch(url, HttpSettings(timeout=2, retries=0, allow_private=True), origin="http://192.0.2.1/").body == HTML


def test_no_netrc_and_no_authorization(site, tmp_path, monkeypatch):
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login spfeed password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(netrc))
    url = site.route("/p", Reply(body=HTML))
    assert fetch(url, FAST).body == HTML
    assert "Authorization" not in site.hits("/p")[0].headers


def test_requests_is_imported_only_to_fetch():
    import subprocess
    import sys

    code = ("import sys, spfeed.pipeline, spfeed.fetch, spfeed.encoding; "
            "print(sorted(m for m in ('requests', 'urllib3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_session_kept_for_the_next_fetch_keeps_no_cookies(site):
    """A process fetches with one session per guard (`spfeed run` for months): a cookie a page set
    is never sent back, to it or to another source on the same host."""
    first = site.route("/a", Reply(body=HTML, headers={"Set-Cookie": "tracker=1; Path=/"}))
    second = site.page("/b", HTML)
    for url in (first, first, second):
        assert fetch(url, FAST) is not None
    assert [("Cookie" in r.headers) for r in site.requests] == [False, False, False]


@pytest.mark.parametrize("env", [
    {},
    {"HTTP_PROXY": "http://proxy.example:3128"},
    {"https_proxy": "http://proxy.example:3128", "no_proxy": "ilo.org"},
    {"NO_PROXY": "*"},
    {"ALL_PROXY": "socks5://proxy.example:1080"},
    {"HTTP_PROXY": ""},
])
def test_the_proxies_are_what_requests_takes_from_the_environment(monkeypatch, env):
    from requests.utils import get_environ_proxies

    from spfeed.fetch import _proxies

    for name in [n for n in os.environ if n.lower().endswith("_proxy")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for url in ("https://www.ilo.org/secsoc/", "http://example.org/a"):
        assert _proxies(url) == get_environ_proxies(url)
