"""Read a listing page: the only network code. Conditional GET, retries with backoff, an overall
deadline, a size cap on the decompressed body, and a truthful User-Agent. ``file:`` URLs read a
saved copy of the page instead.

Nothing from the network is trusted: spfeed connects to no private, loopback, link-local or
metadata address (checked on the socket actually connected, so DNS rebinding does not get round
it) except those of the configured source's own host; redirects of a next page stay on the hosts
it may reach; no credentials are sent that the config did not give (no ``~/.netrc``), while the
environment's proxies and CA bundle still apply; server text in messages goes through
:func:`spfeed.errors.printable`. ``requests`` is imported only when something is fetched.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from spfeed.config import HttpSettings
from spfeed.errors import FetchError, Interrupted, printable
from spfeed.model import Validators

if TYPE_CHECKING:
    from spfeed.items import Page

log = logging.getLogger(__name__)

#: The longest Retry-After we wait for; a server asking for more fails the run (the next run retries).
MAX_RETRY_AFTER = 300.0
_RETRY_STATUS = frozenset({408, 429}) | frozenset(range(500, 600))
_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
MAX_REDIRECTS = 10
#: Cloud metadata services; link-local and unique-local anyway, named here to be plain about them.
METADATA_ADDRESSES = frozenset({"169.254.169.254", "fd00:ec2::254"})


# -- where spfeed may connect --------------------------------------------------------------------


def is_private(address: str) -> bool:
    """True for an address spfeed does not connect to by default: loopback, private, link-local,
    multicast, reserved, unspecified, shared (CGNAT) and cloud metadata addresses."""
    ip = ipaddress.ip_address(_normal(address))
    return not ip.is_global or ip.is_multicast or str(ip) in METADATA_ADDRESSES


def host_of(url: str) -> str:
    """The host of an http(s) URL, lower-case, without a trailing dot; "" for any other URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return ""
    try:
        return (parts.hostname or "").rstrip(".")
    except ValueError:
        return ""


def reachable_hosts(source_url: str, final_url: str, base_url: str | None = None,
                    allow_hosts: tuple[str, ...] = ()) -> frozenset[str]:
    """The hosts a source's next links and their redirects may reach: the configured URL's, the
    host its first page came from after redirects, its ``base_url``'s, and ``allow_hosts``."""
    hosts = {host_of(u) for u in (source_url, final_url, base_url or "")} | set(allow_hosts)
    if urlsplit(source_url).scheme == "file":
        hosts.add("file:")  # a saved page's next links may be saved pages too
    return frozenset(hosts - {""})


def may_follow(url: str, hosts: frozenset[str]) -> bool:
    """Whether a next link to *url* stays within *hosts* (see :func:`reachable_hosts`)."""
    if urlsplit(url).scheme == "file":
        return "file:" in hosts
    host = host_of(url)
    return bool(host) and host in hosts


class _Refused(Exception):
    """A connection to an address the guard does not allow (not an OSError: urllib3 must not wrap it)."""

    def __init__(self, address: str) -> None:
        super().__init__(address)
        self.address = address


@dataclass(frozen=True)
class _Guard:
    """Which addresses one fetch may connect to."""

    allow_private: bool = False
    exempt: frozenset[str] = field(default_factory=frozenset)  #: the source host's own addresses

    def check(self, address: str) -> None:
        address = _normal(address)
        if not self.allow_private and address not in self.exempt and is_private(address):
            raise _Refused(address)

    def check_name(self, host: str) -> None:
        """Through a proxy the socket's peer is the proxy: check what the target's name resolves to
        here (best effort: the proxy resolves it again; a name that does not resolve here passes)."""
        if not self.allow_private:
            for address in _addresses(host):
                self.check(address)


def _normal(address: str) -> str:
    ip = ipaddress.ip_address(address.strip("[]").split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return False
    return True


def _addresses(host: str) -> frozenset[str]:
    """What *host* resolves to now; nothing when it does not resolve."""
    if not host:
        return frozenset()
    import socket  # here, not at the top: `regenerate` imports this module but never fetches

    try:
        infos = socket.getaddrinfo(host.strip("[]"), None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return frozenset()
    return frozenset(_normal(info[4][0]) for info in infos)


class _PeerCheck:
    """Mixed into urllib3's connection classes: after the TCP connect, the peer address must pass
    the guard (a proxy's is the operator's choice and passes). An address literal is checked
    before connecting too, so that a refused one is not even sent a SYN."""

    guard: _Guard

    def _new_conn(self):
        direct = not getattr(self, "proxy", None)
        if direct and _is_address(getattr(self, "_dns_host", "")):
            self.guard.check(self._dns_host)  # type: ignore[attr-defined]
        sock = super()._new_conn()  # type: ignore[misc]
        if direct:
            try:
                self.guard.check(sock.getpeername()[0])
            except BaseException:
                sock.close()
                raise
        return sock


#: The sessions made so far in this process, by guard: `spfeed run` fetches the same sources every
#: few hours, and making a session (its adapters and pool classes) costs more than a conditional
#: GET. Safe to share because a session keeps nothing from one fetch to the next: it stores no
#: cookies, its connections are closed after each fetch, and every request gets its headers,
#: proxies and CA bundle anew.
_SESSIONS: dict[_Guard, object] = {}
_SESSIONS_KEPT = 8  #: more guards than this (many sources' hosts) and the oldest session is closed


def _session(guard: _Guard):
    """The session of this process for *guard* (made on first use): its connections pass *guard*;
    it reads no ``~/.netrc`` and keeps no cookies."""
    session = _SESSIONS.get(guard)
    if session is None:
        if len(_SESSIONS) >= _SESSIONS_KEPT:
            _SESSIONS.pop(next(iter(_SESSIONS))).close()  # type: ignore[attr-defined]
        session = _SESSIONS[guard] = _new_session(guard)
    return session


def _new_session(guard: _Guard):
    """A requests session whose connections pass *guard*, that reads no ``~/.netrc`` and keeps no
    cookies (a server's Set-Cookie is refused, so nothing is sent back to it or to another source)."""
    from http.cookiejar import DefaultCookiePolicy

    import requests
    from requests.adapters import HTTPAdapter
    from requests.utils import select_proxy
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    pools = {
        "http": type("Pool", (HTTPConnectionPool,), {
            "ConnectionCls": type("Connection", (_PeerCheck, HTTPConnection), {"guard": guard})}),
        "https": type("Pool", (HTTPSConnectionPool,), {
            "ConnectionCls": type("Connection", (_PeerCheck, HTTPSConnection), {"guard": guard})}),
    }

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy, **kwargs):
            manager = super().proxy_manager_for(proxy, **kwargs)
            manager.pool_classes_by_scheme = pools
            return manager

        def send(self, request, *args, proxies=None, **kwargs):
            if select_proxy(request.url, proxies):
                guard.check_name(host_of(request.url))
            return super().send(request, *args, proxies=proxies, **kwargs)

    class NoCookies(DefaultCookiePolicy):
        """Accepts no cookie, returns none."""

        def set_ok(self, cookie, request) -> bool:
            return False

        def return_ok(self, cookie, request) -> bool:
            return False

    session = requests.Session()
    session.trust_env = False  # no ~/.netrc; proxies and CA bundle are taken from the environment below
    session.cookies.set_policy(NoCookies())
    session.mount("http://", Adapter())
    session.mount("https://", Adapter())
    return session


def _environment(url: str) -> dict:
    """What requests would take from the environment for *url*, less ``.netrc``: the proxies
    (``HTTP_PROXY``, ``HTTPS_PROXY``, ``NO_PROXY``…) and the CA bundle."""
    verify = next((os.environ[k] for k in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")
                   if os.environ.get(k)), True)
    return {"proxies": _proxies(url), "verify": verify}


def _proxies(url: str) -> dict:
    """requests' proxies for *url* from the environment. Where the environment is the only place
    proxies are set (not macOS or Windows, which have system settings too), no ``*_proxy``
    variable means none, without requests' two readings of the whole environment per request."""
    import urllib.request

    if urllib.request.getproxies is urllib.request.getproxies_environment and not any(
            name[-6:].lower() == "_proxy" for name in os.environ):
        return {}
    from requests.utils import get_environ_proxies

    return get_environ_proxies(url)


class _Retry(Exception):
    """A failure worth another attempt; ``delay`` is what the server asked for, if anything."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


def fetch(url: str, http: HttpSettings, validators: Validators | None = None,
          stop: threading.Event | None = None, *, origin: str | None = None,
          hosts: frozenset[str] | None = None) -> Page | None:
    """The page at *url*, or None when the server answers 304 Not Modified to *validators*.

    *origin* is the configured source URL this fetch serves (default: *url*): the addresses its
    host resolves to now are the only private ones allowed (unless ``http.allow_private``).
    *hosts*, when given, are the only hosts redirects may reach (a next page's); None follows
    redirects anywhere (the source URL's own: ilo.org moves its pages).

    Raises FetchError (with the URL and one line of reason) when every attempt failed, and
    Interrupted when *stop* is set while waiting to retry.
    """
    if urlsplit(url).scheme == "file":
        return read_file(url, http.max_bytes)
    guard = _Guard(http.allow_private, frozenset() if http.allow_private else _addresses(host_of(origin or url)))
    headers = {"User-Agent": http.user_agent, "Accept-Encoding": "gzip, deflate", "Accept": _ACCEPT,
               "Connection": "keep-alive"}  # as a session's get sends them
    if validators is not None and validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators is not None and validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    attempts = http.retries + 1
    for attempt in range(1, attempts + 1):
        log.info("GET %s (attempt %d of %d)", printable(url), attempt, attempts)
        try:
            return _with_deadline(lambda cancel: _get(url, headers, http, guard, hosts, cancel), http.timeout)
        except _Retry as e:
            if attempt == attempts:
                tries = f" (after {attempts} attempts)" if attempts > 1 else ""
                raise FetchError(f"{printable(url)}: {e.reason}{tries}") from None
            delay = http.backoff * 2 ** (attempt - 1)
            if e.delay is not None:
                if e.delay > MAX_RETRY_AFTER:
                    raise FetchError(f"{printable(url)}: {e.reason}; the server asks to retry after {e.delay:.0f} s") \
                        from None
                delay = max(delay, e.delay)
            log.info("%s: %s; retrying in %.1f s", printable(url), e.reason, delay)
            if stop is not None:
                if stop.wait(delay):
                    raise Interrupted(f"{url}: stopped while waiting to retry") from None
            else:
                time.sleep(delay)
    raise AssertionError("unreachable")


def read_file(url: str, max_bytes: int) -> Page:
    """A saved copy of a page, from a ``file:`` URL."""
    from urllib.request import url2pathname  # not at the top: it costs the cheap path 20 ms

    from spfeed.items import Page

    path = Path(url2pathname(urlsplit(url).path))
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FetchError(f"{url}: file of {size} bytes is larger than http.max_bytes ({max_bytes})")
        body = path.read_bytes()
    except FileNotFoundError:
        raise FetchError(f"{url}: file not found") from None
    except OSError as e:
        raise FetchError(f"{url}: cannot read file: {e.strerror or e}") from None
    if not body.strip():
        raise FetchError(f"{url}: the file is empty")
    return Page(url=url, final_url=url, body=body)


def _with_deadline(work, seconds: float):
    """Run *work(cancel)* in a helper thread and give up after *seconds*, whatever the socket is
    doing: a server that drips a byte a second never trips a socket timeout."""
    cancel = threading.Event()
    outcome: dict[str, object] = {}
    finished = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = work(cancel)
        except BaseException as e:  # handed to the caller's thread
            outcome["error"] = e
        finally:
            finished.set()

    helper = _Helper.take()
    helper.tasks.put(run)
    if not finished.wait(seconds):
        cancel.set()  # the helper stops at its next chunk; its socket times out on its own
        helper.tasks.put(None)  # and then ends: it is not given back
        raise _Retry(f"no complete response within {seconds:g} s")
    _Helper.give_back(helper)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome.get("value")


class _Helper:
    """A helper thread for :func:`_with_deadline`, kept between fetches (`spfeed run` fetches every
    few minutes; starting a thread costs more than handing one a task). A daemon: it never holds
    the process up. One left working past its deadline is never given back, so no fetch waits
    behind another."""

    _idle: list[_Helper] = []  #: helpers given back, waiting for a task

    def __init__(self) -> None:
        from queue import SimpleQueue  # (requests has imported queue already)

        self.tasks: SimpleQueue = SimpleQueue()
        self.thread = threading.Thread(target=self._serve, name="spfeed-fetch", daemon=True)
        self.thread.start()

    @classmethod
    def take(cls) -> _Helper:
        try:
            return cls._idle.pop()
        except IndexError:
            return cls()

    @classmethod
    def give_back(cls, helper: _Helper) -> None:
        cls._idle.append(helper)

    def _serve(self) -> None:
        while (task := self.tasks.get()) is not None:
            task()
            del task  # it holds what it fetched (a page's body) until the next task comes otherwise


def _get(url: str, headers: dict[str, str], http: HttpSettings, guard: _Guard, hosts: frozenset[str] | None,
         cancel: threading.Event) -> Page | None:
    import requests

    where = printable(url)
    # closing the session at the end closes its connections (it stays usable): each fetch connects
    # anew, so that the guard checks the address a name resolves to now
    with _session(guard) as session:
        target = url
        for _ in range(MAX_REDIRECTS + 1):
            try:
                # reads may take a second longer than the overall deadline, so that the deadline, not a
                # socket timeout at the same instant, says what happened
                # prepared here, not by the session: it has nothing of its own to merge in
                request = requests.Request("GET", target, headers=headers).prepare()
                response = session.send(request, timeout=(http.timeout, http.timeout + 1), stream=True,
                                        allow_redirects=False, **_environment(target))
            except _Refused as e:
                raise FetchError(f"{where}: refused to connect to {e.address} (a private address; "
                                 f"set http.allow_private: true to allow it)") from None
            except requests.exceptions.SSLError as e:
                raise FetchError(f"{where}: TLS error: {_first_line(e)}") from None
            except requests.exceptions.InvalidURL as e:
                raise FetchError(f"{where}: invalid URL: {_first_line(e)}") from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as e:
                raise _Retry(_connection_reason(e)) from None
            except requests.exceptions.RequestException as e:
                raise FetchError(f"{where}: {_first_line(e)}") from None
            if not response.is_redirect:
                break
            response.close()
            location = _redirect_target(response.url, response.headers["Location"])
            if urlsplit(location).scheme not in ("http", "https"):
                raise FetchError(f"{where}: redirected to {printable(location)}, which is not a web URL")
            if hosts is not None and host_of(location) not in hosts:
                raise FetchError(f"{where}: redirected to {printable(location)}, on another host "
                                 f"({printable(host_of(location))}); not followed")
            log.info("%s redirected to %s", printable(target), printable(location))
            target = location
        else:
            raise FetchError(f"{where}: too many redirects (a redirect loop?)")
        with response:
            status = printable(f"HTTP {response.status_code} {response.reason or ''}".strip())
            if response.status_code == 304:
                log.info("%s: 304 Not Modified", where)
                return None
            if response.status_code in _RETRY_STATUS:
                raise _Retry(status, _retry_after(response.headers.get("Retry-After")))
            if response.status_code >= 400:
                raise FetchError(f"{where}: {status}")
            if response.status_code != 200:
                raise FetchError(f"{where}: unexpected {status}")
            content_type = response.headers.get("Content-Type")
            media = (content_type or "").split(";")[0].strip().lower()
            if media and not _looks_like_html(media):
                raise FetchError(f"{where}: not an HTML page ({printable(media, 100)})")
            body = _read_body(response, http.max_bytes, cancel)
            if not body.strip():
                raise FetchError(f"{where}: {status} with an empty body")
            if media in ("", "application/octet-stream") and not body.lstrip()[:1] == b"<":
                raise FetchError(f"{where}: not an HTML page (no content type, and the body is not markup)")
            from spfeed.items import Page

            return Page(
                url=url,
                final_url=response.url,
                body=body,
                charset=_charset(content_type),
                content_type=media or None,
                validators=Validators(response.headers.get("ETag"), response.headers.get("Last-Modified")),
            )


def _redirect_target(current: str, location: str) -> str:
    """The absolute URL a Location header names (sent as UTF-8 bytes, read by http.client as latin-1)."""
    try:
        location = location.encode("latin-1").decode("utf-8")
    except UnicodeError:
        pass
    return urljoin(current, location.strip())


def _read_body(response, max_bytes: int, cancel: threading.Event) -> bytes:
    """The decompressed body, refusing more than *max_bytes* (a gzip bomb is cut off as it inflates)."""
    import requests
    import urllib3

    encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    length = response.headers.get("Content-Length", "")
    if not encoded and length.isdigit() and int(length) > max_bytes:
        raise FetchError(f"{printable(response.url)}: body of {int(length)} bytes is larger than http.max_bytes "
                         f"({max_bytes})")
    raw = response.raw
    chunks: list[bytes] = []
    total = 0
    try:
        while True:
            if cancel.is_set():
                raise _Retry("cancelled")
            chunk = raw.read1(16384, decode_content=True) if hasattr(raw, "read1") else raw.read(16384, decode_content=True)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                what = "decompressed body" if encoded else "body"
                raise FetchError(f"{printable(response.url)}: {what} is larger than http.max_bytes ({max_bytes})")
            chunks.append(chunk)
    except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, OSError) as e:
        raise _Retry(f"connection broken while reading the body ({_first_line(e)})") from None
    return b"".join(chunks)


def _looks_like_html(media: str) -> bool:
    return media.startswith("text/") or "html" in media or media.endswith("xml") or media == "application/octet-stream"


def _charset(content_type: str | None) -> str | None:
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _connection_reason(e: Exception) -> str:
    import requests

    text = str(e)
    if "Connection refused" in text:
        return "connection refused"
    if "timed out" in text.lower() or isinstance(e, requests.exceptions.Timeout):
        return "timed out"
    if "reset" in text.lower():
        return "connection reset"
    if "Name or service not known" in text or "Temporary failure in name resolution" in text or "nodename nor servname" in text:
        return "host name not found"
    return f"connection failed ({_first_line(e)})"


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return printable(text.splitlines()[0], 300)
