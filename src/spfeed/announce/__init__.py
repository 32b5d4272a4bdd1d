"""Announcing what a run changed: WebSub pings, webhooks, commands, e-mail and (optionally) Apprise.

The caller builds one :class:`Announcement` per feed and run and calls :func:`deliver`; nothing
here raises for a failed delivery: the failures come back, each with a channel id stable across
runs, for the caller to retry later with :func:`deliver_one`. The channel modules (and requests,
smtplib, subprocess) are imported only when a channel is used.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spfeed.announce.settings import EVENTS, NotifySettings

if TYPE_CHECKING:
    from spfeed.model import RunReport

log = logging.getLogger(__name__)

__all__ = ["Announcement", "Failure", "NotifySettings", "channels_for", "deliver", "deliver_one", "document", "events_for"]


@dataclass(frozen=True)
class Announcement:
    """What one run did to one feed, as every channel receives it."""

    feed: str  #: the feed's name
    events: frozenset[str]  #: what happened this run: a subset of new, updated, gone, failure, recovery
    document: dict[str, Any] = field(default_factory=dict)  #: as `update --json` prints it (see :func:`document`)
    changed_urls: tuple[str, ...] = ()  #: for WebSub: the self URLs of the feed files this run rewrote
    hubs: tuple[str, ...] = ()  #: for WebSub: the feed's hubs

    def payload(self) -> dict[str, Any]:
        """The JSON document webhooks, commands and Apprise receive: the feed and events, then the report."""
        return {"feed": self.feed, "events": [e for e in EVENTS if e in self.events], **self.document}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, for storing a pending delivery until the next run retries it."""
        return {"feed": self.feed, "events": [e for e in EVENTS if e in self.events], "document": self.document,
                "changed_urls": list(self.changed_urls), "hubs": list(self.hubs)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Announcement:
        return cls(feed=data["feed"], events=frozenset(data["events"]), document=data.get("document", {}),
                   changed_urls=tuple(data.get("changed_urls", ())), hubs=tuple(data.get("hubs", ())))


@dataclass(frozen=True)
class Failure:
    """A delivery that failed: the channel (``webhooks[0]``, ``commands[1]``, ``email``, ``apprise[0]``,
    ``hubs[0]``) and one line of reason."""

    channel: str
    reason: str

    def __str__(self) -> str:
        return f"{self.channel}: {self.reason}"


def events_for(previous_consecutive_failures: int, failed_now: bool, failures_after: int) -> frozenset[str]:
    """The failure events of a source's run: "failure" once, on the run that reaches *failures_after*
    consecutive failures; "recovery" once, on the first success after that. No alert storm."""
    if failed_now:
        return frozenset({"failure"}) if previous_consecutive_failures + 1 == failures_after else frozenset()
    return frozenset({"recovery"}) if previous_consecutive_failures >= failures_after else frozenset()


def document(report: RunReport, feed: str) -> dict[str, Any]:
    """The `update --json` object for *report*, each item marked with its *feed*."""
    from spfeed.output import _json_report

    data = _json_report(report)
    for key in ("new", "updated", "gone"):
        data[key] = [{**item, "feed": item.get("feed") or feed} for item in data[key]]
    return data


def deliver(settings: NotifySettings, announcement: Announcement, *, user_agent: str,
            backoff: float = 1.0) -> list[Failure]:
    """Send *announcement* to every channel whose ``on`` matches its events, and ping its WebSub hubs
    when files changed; returns what failed (never raises for a failed delivery)."""
    failures = []
    for channel in channels_for(settings, announcement):
        failure = deliver_one(settings, channel, announcement, user_agent=user_agent, backoff=backoff)
        if failure is not None:
            failures.append(failure)
    return failures


def channels_for(settings: NotifySettings, announcement: Announcement) -> list[str]:
    """The ids of the channels *announcement* goes to."""
    events = announcement.events
    chosen = [f"hubs[{i}]" for i in range(len(announcement.hubs))] if announcement.changed_urls else []
    chosen += [f"webhooks[{i}]" for i, hook in enumerate(settings.webhooks) if hook.on & events]
    chosen += [f"commands[{i}]" for i, command in enumerate(settings.commands) if command.on & events]
    if settings.email is not None and settings.email.on & events:
        chosen.append("email")
    if settings.apprise and events:
        chosen += [f"apprise[{i}]" for i in range(len(settings.apprise))]
    return chosen


_CHANNEL = re.compile(r"(hubs|webhooks|commands|apprise)\[(\d+)\]|email")


def deliver_one(settings: NotifySettings, channel: str, announcement: Announcement, *, user_agent: str,
                backoff: float = 1.0) -> Failure | None:
    """Deliver *announcement* to the one *channel* (an id from a :class:`Failure`); None when it
    worked. A channel no longer configured is a failure that says so (the caller may drop it)."""
    m = _CHANNEL.fullmatch(channel)
    kind, index = (m.group(1), int(m.group(2))) if m and m.group(1) else ("email", 0)
    try:
        send = _sender(settings, kind, index, announcement, user_agent, backoff) if m else None
        if send is None:
            return Failure(channel, "no such channel in the config (any more)")
        send()
    except DeliveryError as e:  # returned, for the caller to report and retry: not logged loudly here
        log.info("%s: %s", channel, e)
        return Failure(channel, str(e))
    except Exception as e:  # noqa: BLE001 - a channel's bug must not break the run that published
        log.info("%s: %s", channel, e, exc_info=log.isEnabledFor(logging.DEBUG))
        return Failure(channel, f"{type(e).__name__}: {e}".splitlines()[0])
    log.info("%s: delivered", channel)
    return None


class DeliveryError(Exception):
    """A delivery failed; the message is one line of reason."""


def _sender(settings: NotifySettings, kind: str, index: int, announcement: Announcement, user_agent: str,
            backoff: float) -> Callable[[], None] | None:
    timeout = settings.timeout
    if kind == "hubs" and index < len(announcement.hubs):
        from spfeed.announce import websub

        hub = announcement.hubs[index]
        return lambda: websub.publish(hub, announcement.changed_urls, user_agent=user_agent, timeout=timeout,
                                      backoff=backoff)
    if kind == "webhooks" and index < len(settings.webhooks):
        from spfeed.announce import webhook

        hook = settings.webhooks[index]
        return lambda: webhook.post(hook, announcement.payload(), user_agent=user_agent, timeout=timeout,
                                    backoff=backoff)
    if kind == "commands" and index < len(settings.commands):
        from spfeed.announce import command

        return lambda: command.run(settings.commands[index], announcement)
    if kind == "email" and settings.email is not None:
        from spfeed.announce import email

        return lambda: email.send(settings.email, announcement, timeout=timeout)
    if kind == "apprise" and index < len(settings.apprise):
        from spfeed.announce.email import apprise

        url = settings.apprise[index]
        return lambda: apprise(url, announcement)
    return None
