"""WebSub publishing: tell each hub which feed files changed, so that it fetches them and pushes
the new bytes to its subscribers.

One form-encoded POST per hub and URL with ``hub.mode=publish``: publishing is not normative in
the W3C Recommendation, and hubs differ in the parameter: ``hub.url`` (the PubSubHubbub hubs) or
``hub.topic`` (flask-websub, Switchboard); every request carries both, with the same value.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from spfeed.announce import DeliveryError
from spfeed.announce.webhook import send


def form(url: str) -> bytes:
    """The body of one publish request for the feed at *url*."""
    return urlencode({"hub.mode": "publish", "hub.url": url, "hub.topic": url}).encode("ascii")


def publish(hub: str, urls: Sequence[str], *, user_agent: str, timeout: float, backoff: float = 1.0) -> None:
    """Ping *hub* for each of *urls*; DeliveryError at the first URL every attempt failed for."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": user_agent}
    for url in urls:
        try:
            send(hub, form(url), headers, timeout=timeout, backoff=backoff)
        except DeliveryError as e:
            raise DeliveryError(f"publishing {url} to {hub}: {e}") from None
