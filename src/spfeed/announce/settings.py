"""The config's ``notify:`` block (and WebSub hubs) as frozen settings, every key and type checked.

Kept light (no network or mail modules): config.py calls :func:`parse_notify` on every load,
including the cheap path of an unchanged page.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from spfeed.errors import kind_of

#: Everything a run can announce, in the order messages list them.
EVENTS: tuple[str, ...] = ("new", "updated", "gone", "failure", "recovery")
ALL_EVENTS: frozenset[str] = frozenset(EVENTS)

DEFAULT_FAILURES_AFTER = 3
DEFAULT_TIMEOUT = 10.0  #: seconds per delivery attempt (connect, each read; SMTP dialogue)
DEFAULT_COMMAND_TIMEOUT = 30.0

Fail = Callable[[str, str], Exception]
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+")


@dataclass(frozen=True)
class Webhook:
    url: str
    on: frozenset[str] = ALL_EVENTS
    secret: str | None = None  #: signs the body: X-Spfeed-Signature: sha256=<hex HMAC>


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]  #: ``run`` split like a shell would (shlex), but run without a shell
    on: frozenset[str] = ALL_EVENTS
    timeout: float = DEFAULT_COMMAND_TIMEOUT


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password_env: str | None = None  #: the environment variable that holds the password


@dataclass(frozen=True)
class Email:
    to: tuple[str, ...]
    sender: str
    smtp: Smtp
    on: frozenset[str] = ALL_EVENTS


@dataclass(frozen=True)
class NotifySettings:
    failures_after: int = DEFAULT_FAILURES_AFTER
    timeout: float = DEFAULT_TIMEOUT
    webhooks: tuple[Webhook, ...] = ()
    commands: tuple[Command, ...] = ()
    email: Email | None = None
    apprise: tuple[str, ...] = ()

    @property
    def channels(self) -> tuple[str, ...]:
        """The ids of every configured channel, as :class:`~spfeed.announce.Failure` names them."""
        return (*(f"webhooks[{i}]" for i in range(len(self.webhooks))),
                *(f"commands[{i}]" for i in range(len(self.commands))),
                *(("email",) if self.email else ()),
                *(f"apprise[{i}]" for i in range(len(self.apprise))))


#: Runs one part of the notify block: ``attempt(default, read)`` gives read(), or default for a kept error.
Attempt = Callable[[Any, Callable[[], Any]], Any]


def parse_notify(value: Any, fail: Fail, attempt: Attempt | None = None) -> NotifySettings:
    """The ``notify:`` block; *fail(key, message)* builds the error raised for a bad key
    (key like ``notify.webhooks[0].url``). None (no block) gives the defaults: no channels.

    *attempt(default, read)*, when given, runs each part (a setting, a channel) so that an error in
    one is kept and the others are still checked (``spfeed validate`` reports them all)."""
    run: Attempt = attempt or (lambda default, read: read())
    top = _table(value, "notify", ("failures_after", "timeout", "webhooks", "commands", "email", "apprise"), fail)

    def each(name: str, parse: Callable[[Any, str, Fail], Any]) -> tuple:
        parsed = (run(None, lambda v=v, k=k: parse(v, k, fail)) for v, k in run([], lambda: _list(top, name, "notify", fail)))
        return tuple(p for p in parsed if p is not None)

    return NotifySettings(
        failures_after=run(DEFAULT_FAILURES_AFTER, lambda: _number(top, "failures_after", "notify", DEFAULT_FAILURES_AFTER,
                                                                   fail, integer=True, minimum=1, maximum=1000)),
        timeout=float(run(DEFAULT_TIMEOUT, lambda: _number(top, "timeout", "notify", DEFAULT_TIMEOUT, fail,
                                                            minimum=0.1, maximum=600))),
        webhooks=each("webhooks", _webhook),
        commands=each("commands", _command),
        email=run(None, lambda: _email(top["email"], "notify.email", fail)) if top.get("email") is not None else None,
        apprise=run((), lambda: _apprise(top, fail)),
    )


def parse_hubs(value: Any, fail: Fail, key: str = "feed.hubs") -> tuple[str, ...]:
    """WebSub hub URLs: a list of absolute http(s) URLs (None: no hubs), without duplicates."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise fail(key, f"expected a list of hub URLs, got {kind_of(value)}")
    hubs = tuple(_url(v, f"{key}[{i}]", fail) for i, v in enumerate(value))
    for i, hub in enumerate(hubs):
        if hub in hubs[:i]:
            raise fail(f"{key}[{i}]", f"listed twice: {hub}")
    return hubs


# -- channels -----------------------------------------------------------------------------------

def _webhook(value: Any, key: str, fail: Fail) -> Webhook:
    hook = _table(value, key, ("url", "on", "secret"), fail)
    if "url" not in hook:
        raise fail(f"{key}.url", "missing (required)")
    return Webhook(url=_url(hook["url"], f"{key}.url", fail), on=_on(hook, key, fail),
                   secret=_string(hook, "secret", key, fail))


def _command(value: Any, key: str, fail: Fail) -> Command:
    command = _table(value, key, ("run", "on", "timeout"), fail)
    run = command.get("run")
    if isinstance(run, str) and run.strip():
        try:
            argv = tuple(shlex.split(run))
        except ValueError as e:
            raise fail(f"{key}.run", f"cannot split {run!r} into words: {e}") from None
    elif isinstance(run, list) and run and all(isinstance(word, str) and word for word in run):
        argv = tuple(run)
    elif run is None:
        raise fail(f"{key}.run", "missing (required)")
    else:
        raise fail(f"{key}.run", f"expected a command line (a string or a list of words), got {kind_of(run)}")
    return Command(argv=argv, on=_on(command, key, fail),
                   timeout=float(_number(command, "timeout", key, DEFAULT_COMMAND_TIMEOUT, fail,
                                         minimum=0.1, maximum=3600)))


def _email(value: Any, key: str, fail: Fail) -> Email:
    mail = _table(value, key, ("to", "from", "on", "smtp"), fail)
    to = mail.get("to")
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not to:
        raise fail(f"{key}.to", f"expected an e-mail address or a list of them, got {kind_of(to)}")
    for i, address in enumerate(to):
        _address(address, f"{key}.to[{i}]", fail)
    if "from" not in mail:
        raise fail(f"{key}.from", "missing (required)")
    if "smtp" not in mail:
        raise fail(f"{key}.smtp", "missing (required: at least a host)")
    return Email(to=tuple(a.strip() for a in to), sender=_address(mail["from"], f"{key}.from", fail),
                 smtp=_smtp(mail["smtp"], f"{key}.smtp", fail), on=_on(mail, key, fail))


def _smtp(value: Any, key: str, fail: Fail) -> Smtp:
    smtp = _table(value, key, ("host", "port", "starttls", "username", "password_env"), fail)
    host = _string(smtp, "host", key, fail)
    if host is None:
        raise fail(f"{key}.host", "missing (required)")
    starttls = smtp.get("starttls", True)
    if not isinstance(starttls, bool):
        raise fail(f"{key}.starttls", f"expected true or false, got {kind_of(starttls)}")
    username = _string(smtp, "username", key, fail)
    password_env = _string(smtp, "password_env", key, fail)
    if password_env is not None and not _ENV_NAME.fullmatch(password_env):
        raise fail(f"{key}.password_env", f"expected the name of an environment variable, got {password_env!r}")
    if (username is None) != (password_env is None):
        missing = "password_env" if password_env is None else "username"
        raise fail(f"{key}.{missing}", "missing (username and password_env go together)")
    return Smtp(host=host, port=_number(smtp, "port", key, 587 if starttls else 25, fail, integer=True,
                                        minimum=1, maximum=65535),
                starttls=starttls, username=username, password_env=password_env)


def _apprise(top: dict, fail: Fail) -> tuple[str, ...]:
    urls = []
    for value, key in _list(top, "apprise", "notify", fail):
        if not isinstance(value, str) or "://" not in value:
            raise fail(key, f"expected an Apprise URL such as mailto://… or json://…, got {kind_of(value)}")
        urls.append(value.strip())
    if urls:
        from importlib.util import find_spec

        if find_spec("apprise") is None:
            raise fail("notify.apprise", "needs the apprise package: pip install 'spfeed[apprise]'")
    return tuple(urls)


# -- values -------------------------------------------------------------------------------------

def _table(value: Any, key: str, known: tuple[str, ...], fail: Fail) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail(key, f"expected a mapping of {', '.join(known)}, got {kind_of(value)}")
    if True in value and "on" in known:
        # YAML 1.1 reads a bare `on:` key as the boolean true: it is the `on` list of events
        value = {("on" if name is True else name): item for name, item in value.items()}
    for name in value:
        if name not in known:
            raise fail(f"{key}.{name}", f"unknown key (known keys: {', '.join(known)})")
    return value


def _list(table: dict, name: str, key: str, fail: Fail) -> list[tuple[Any, str]]:
    value = table.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail(f"{key}.{name}", f"expected a list, got {kind_of(value)}")
    return [(v, f"{key}.{name}[{i}]") for i, v in enumerate(value)]


def _on(table: dict, key: str, fail: Fail) -> frozenset[str]:
    value = table.get("on")
    if value is None:
        return ALL_EVENTS
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        got = "an empty list" if value == [] else kind_of(value)
        raise fail(f"{key}.on", f"expected a list of events ({', '.join(EVENTS)}), got {got}")
    for i, event in enumerate(value):
        if event not in ALL_EVENTS:
            raise fail(f"{key}.on[{i}]", f"unknown event {event!r} (known: {', '.join(EVENTS)})")
    return frozenset(value)


def _string(table: dict, name: str, key: str, fail: Fail) -> str | None:
    value = table.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise fail(f"{key}.{name}", f"expected a non-empty string, got {kind_of(value)}")
    return value.strip()


def _number(table: dict, name: str, key: str, default: float, fail: Fail, *, integer: bool = False,
            minimum: float = 0, maximum: float | None = None) -> Any:
    value = table.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int,) if integer else (int, float)):
        raise fail(f"{key}.{name}", f"expected {'a whole number' if integer else 'a number'}, got {kind_of(value)}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise fail(f"{key}.{name}", f"expected a number {bound}, got {value}")
    return value


def _url(value: Any, key: str, fail: Fail) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(key, f"expected an absolute http(s) URL, got {kind_of(value)}")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise fail(key, f"expected an absolute http(s) URL, got {value!r}")
    return value.strip()


def _address(value: Any, key: str, fail: Fail) -> str:
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value.strip()):
        raise fail(key, f"expected an e-mail address, got {kind_of(value)}")
    return value.strip()
