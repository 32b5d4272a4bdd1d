"""Read a listing page: the only network code. Conditional GET, retries with backoff, an overall
deadline, a size cap on the decompressed body, and a truthful User-Agent. ``file:`` URLs read a
saved copy of the page instead.
"""

from __future__ import annotations

import logging
import threading
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests
import urllib3

from spfeed.config import HttpSettings
from spfeed.errors import FetchError, Interrupted
from spfeed.model import Page, Validators

log = logging.getLogger(__name__)

#: The longest Retry-After we wait for; a server asking for more fails the run (the next run retries).
MAX_RETRY_AFTER = 300.0
_RETRY_STATUS = frozenset({408, 429}) | frozenset(range(500, 600))
_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"


class _Retry(Exception):
    """A failure worth another attempt; ``delay`` is what the server asked for, if anything."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


def fetch(url: str, http: HttpSettings, validators: Validators | None = None,
          stop: threading.Event | None = None) -> Page | None:
    """The page at *url*, or None when the server answers 304 Not Modified to *validators*.

    Raises FetchError (with the URL and one line of reason) when every attempt failed, and
    Interrupted when *stop* is set while waiting to retry.
    """
    if urlsplit(url).scheme == "file":
        return read_file(url, http.max_bytes)
    headers = {"User-Agent": http.user_agent, "Accept": _ACCEPT, "Accept-Encoding": "gzip, deflate"}
    if validators is not None and validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators is not None and validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    attempts = http.retries + 1
    for attempt in range(1, attempts + 1):
        log.info("GET %s (attempt %d of %d)", url, attempt, attempts)
        try:
            return _with_deadline(lambda cancel: _get(url, headers, http, cancel), http.timeout)
        except _Retry as e:
            if attempt == attempts:
                tries = f" (after {attempts} attempts)" if attempts > 1 else ""
                raise FetchError(f"{url}: {e.reason}{tries}") from None
            delay = http.backoff * 2 ** (attempt - 1)
            if e.delay is not None:
                if e.delay > MAX_RETRY_AFTER:
                    raise FetchError(f"{url}: {e.reason}; the server asks to retry after {e.delay:.0f} s") from None
                delay = max(delay, e.delay)
            log.info("%s: %s; retrying in %.1f s", url, e.reason, delay)
            if stop is not None:
                if stop.wait(delay):
                    raise Interrupted(f"{url}: stopped while waiting to retry") from None
            else:
                time.sleep(delay)
    raise AssertionError("unreachable")


def read_file(url: str, max_bytes: int) -> Page:
    """A saved copy of a page, from a ``file:`` URL."""
    from urllib.request import url2pathname  # not at the top: it costs the cheap path 20 ms

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

    def run() -> None:
        try:
            outcome["value"] = work(cancel)
        except BaseException as e:  # handed to the caller's thread
            outcome["error"] = e

    worker = threading.Thread(target=run, name="spfeed-fetch", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        cancel.set()  # the helper stops at its next chunk; its socket times out on its own
        raise _Retry(f"no complete response within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome.get("value")


def _get(url: str, headers: dict[str, str], http: HttpSettings, cancel: threading.Event) -> Page | None:
    with requests.Session() as session:
        session.max_redirects = 10
        try:
            response = session.get(url, headers=headers, timeout=(http.timeout, http.timeout), stream=True)
        except requests.exceptions.SSLError as e:
            raise FetchError(f"{url}: TLS error: {_first_line(e)}") from None
        except requests.exceptions.TooManyRedirects:
            raise FetchError(f"{url}: too many redirects (a redirect loop?)") from None
        except requests.exceptions.InvalidURL as e:
            raise FetchError(f"{url}: invalid URL: {_first_line(e)}") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as e:
            raise _Retry(_connection_reason(e)) from None
        except requests.exceptions.RequestException as e:
            raise FetchError(f"{url}: {_first_line(e)}") from None
        with response:
            if response.url != url:
                log.info("%s redirected to %s", url, response.url)
            status = f"HTTP {response.status_code} {response.reason or ''}".strip()
            if response.status_code == 304:
                log.info("%s: 304 Not Modified", url)
                return None
            if response.status_code in _RETRY_STATUS:
                raise _Retry(status, _retry_after(response.headers.get("Retry-After")))
            if response.status_code >= 400:
                raise FetchError(f"{url}: {status}")
            if response.status_code != 200:
                raise FetchError(f"{url}: unexpected {status}")
            content_type = response.headers.get("Content-Type")
            media = (content_type or "").split(";")[0].strip().lower()
            if media and not _looks_like_html(media):
                raise FetchError(f"{url}: not an HTML page ({media})")
            body = _read_body(response, http.max_bytes, cancel)
            if not body.strip():
                raise FetchError(f"{url}: {status} with an empty body")
            if media in ("", "application/octet-stream") and not body.lstrip()[:1] == b"<":
                raise FetchError(f"{url}: not an HTML page (no content type, and the body is not markup)")
            return Page(
                url=url,
                final_url=response.url,
                body=body,
                charset=_charset(content_type),
                content_type=media or None,
                validators=Validators(response.headers.get("ETag"), response.headers.get("Last-Modified")),
            )


def _read_body(response: requests.Response, max_bytes: int, cancel: threading.Event) -> bytes:
    """The decompressed body, refusing more than *max_bytes* (a gzip bomb is cut off as it inflates)."""
    encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    length = response.headers.get("Content-Length", "")
    if not encoded and length.isdigit() and int(length) > max_bytes:
        raise FetchError(f"{response.url}: body of {int(length)} bytes is larger than http.max_bytes ({max_bytes})")
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
                raise FetchError(f"{response.url}: {what} is larger than http.max_bytes ({max_bytes})")
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
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _connection_reason(e: Exception) -> str:
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
    return text.splitlines()[0][:300]
