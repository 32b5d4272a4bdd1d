"""Webhooks: one JSON document per run and feed, POSTed, optionally signed (HMAC-SHA256 of the exact
body, as GitHub does), retried with backoff on connection errors and 5xx."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from spfeed.announce import DeliveryError
from spfeed.announce.settings import Webhook

log = logging.getLogger(__name__)

ATTEMPTS = 3  #: tries per delivery; waits backoff, then 2 × backoff seconds between them
SIGNATURE_HEADER = "X-Spfeed-Signature"
_RETRY_STATUS = frozenset({408, 429}) | frozenset(range(500, 600))


def body(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact UTF-8 JSON with <, > and & as \\u escapes, as
    `update --json` writes them, so that page text is never markup in a receiver's HTML."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode("utf-8")


def signature(secret: str, data: bytes) -> str:
    """The X-Spfeed-Signature value for *data*: ``sha256=`` and the hex HMAC-SHA256 keyed by *secret*."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), data, hashlib.sha256).hexdigest()


def post(hook: Webhook, payload: Mapping[str, Any], *, user_agent: str, timeout: float, backoff: float = 1.0) -> None:
    """POST *payload* to *hook*; DeliveryError with one line of reason when every attempt failed."""
    data = body(payload)
    headers = {"Content-Type": "application/json", "User-Agent": user_agent}
    if hook.secret:
        headers[SIGNATURE_HEADER] = signature(hook.secret, data)
    send(hook.url, data, headers, timeout=timeout, backoff=backoff)


def send(url: str, data: bytes, headers: dict[str, str], *, timeout: float, backoff: float = 1.0,
         attempts: int = ATTEMPTS) -> int:
    """POST *data* to *url*, retrying connection errors, timeouts, 408, 429 and 5xx; the 2xx status.
    Redirects are not followed (a POST must not turn into a GET elsewhere); the body is never read.
    The reason never names *url*: webhook URLs often carry a token; the channel id names it."""
    import requests

    for attempt in range(1, attempts + 1):
        try:
            with requests.post(url, data=data, headers=headers, timeout=timeout, allow_redirects=False,
                               stream=True) as response:
                status, reason = response.status_code, response.reason
        except requests.RequestException as e:
            problem = _reason(e)
        else:
            if 200 <= status < 300:
                return status
            problem = f"HTTP {status} {reason or ''}".rstrip()
            if 300 <= status < 400:
                problem += " (redirects are not followed)"
            if status not in _RETRY_STATUS:
                raise DeliveryError(problem)
        if attempt == attempts:
            raise DeliveryError(problem + (f" (after {attempts} attempts)" if attempts > 1 else ""))
        delay = backoff * 2 ** (attempt - 1)
        log.info("POST failed: %s; retrying in %.1f s", problem, delay)
        time.sleep(delay)
    raise AssertionError("unreachable")


def _reason(error: Exception) -> str:
    import requests

    if isinstance(error, requests.Timeout):
        return "no answer in time"
    if isinstance(error, requests.ConnectionError):
        text = str(error)
        if "Connection refused" in text or "Errno 111" in text:
            return "connection refused"
        if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
            return "host name not found"
        return "connection failed"
    return f"{type(error).__name__}: {error}".splitlines()[0]
