"""The ``notify:`` block and WebSub hubs as config.py will read them: every key and type checked,
errors that name the key; and the pure failure/recovery rule."""

from __future__ import annotations

import subprocess
import sys

import pytest

from spfeed.announce import Announcement, deliver, events_for
from spfeed.announce.settings import (ALL_EVENTS, Command, Email, NotifySettings, Smtp, Webhook, parse_hubs,
                                      parse_notify)
from spfeed.errors import ConfigError


def fail(key: str, message: str) -> ConfigError:
    return ConfigError(f"config.yaml: {key}: {message}")


def test_no_block_no_channels():
    assert parse_notify(None, fail) == NotifySettings(failures_after=3, timeout=10.0)
    assert NotifySettings().channels == ()


def test_a_full_block():
    settings = parse_notify({
        "failures_after": 5,
        "timeout": 2.5,
        "webhooks": [{"url": "https://hooks.example.org/spfeed", "on": ["new", "updated"], "secret": "k"},
                     {"url": "http://127.0.0.1:8080/"}],
        "commands": [{"run": "/usr/local/bin/post-news --channel '#social protection'", "on": "failure", "timeout": 5},
                     {"run": ["notify-send", "spfeed"]}],
        "email": {"to": "news@example.org", "from": "spfeed@example.org", "on": ["failure", "recovery"],
                  "smtp": {"host": "smtp.example.org", "username": "spfeed", "password_env": "SMTP_PASSWORD"}},
    }, fail)
    assert settings == NotifySettings(
        failures_after=5, timeout=2.5,
        webhooks=(Webhook("https://hooks.example.org/spfeed", frozenset({"new", "updated"}), "k"),
                  Webhook("http://127.0.0.1:8080/", ALL_EVENTS)),
        commands=(Command(("/usr/local/bin/post-news", "--channel", "#social protection"), frozenset({"failure"}), 5.0),
                  Command(("notify-send", "spfeed"), ALL_EVENTS, 30.0)),
        email=Email(to=("news@example.org",), sender="spfeed@example.org", on=frozenset({"failure", "recovery"}),
                    smtp=Smtp("smtp.example.org", 587, True, "spfeed", "SMTP_PASSWORD")))
    assert settings.channels == ("webhooks[0]", "webhooks[1]", "commands[0]", "commands[1]", "email")


@pytest.mark.parametrize("smtp, expected", [
    ({"host": "mail"}, Smtp("mail", 587, True)),
    ({"host": "localhost", "starttls": False}, Smtp("localhost", 25, False)),
    ({"host": "mail", "port": 2525, "starttls": False}, Smtp("mail", 2525, False)),
])
def test_smtp_port_follows_starttls(smtp, expected):
    settings = parse_notify({"email": {"to": ["a@example.org"], "from": "b@example.org", "smtp": smtp}}, fail)
    assert settings.email is not None and settings.email.smtp == expected


@pytest.mark.parametrize("block, message", [
    ([], "notify: expected a mapping of failures_after, timeout, webhooks, commands, email, apprise, got a list"),
    ({"webhook": []}, "notify.webhook: unknown key (known keys: failures_after, timeout, webhooks, commands, email, apprise)"),
    ({"failures_after": 0}, "notify.failures_after: expected a number from 1 to 1000, got 0"),
    ({"failures_after": 2.5}, "notify.failures_after: expected a whole number, got a number (2.5)"),
    ({"timeout": "soon"}, "notify.timeout: expected a number, got a string ('soon')"),
    ({"timeout": True}, "notify.timeout: expected a number, got a boolean (True)"),
    ({"webhooks": {"url": "x"}}, "notify.webhooks: expected a list, got a mapping"),
    ({"webhooks": [{"on": ["new"]}]}, "notify.webhooks[0].url: missing (required)"),
    ({"webhooks": [{"url": "https://a.example/"}, {"url": "ftp://b.example/"}]},
     "notify.webhooks[1].url: expected an absolute http(s) URL, got 'ftp://b.example/'"),
    ({"webhooks": [{"url": "https:///path"}]}, "notify.webhooks[0].url: expected an absolute http(s) URL, got 'https:///path'"),
    ({"webhooks": [{"url": "https://a.example/", "on": ["new", "changed"]}]},
     "notify.webhooks[0].on[1]: unknown event 'changed' (known: new, updated, gone, failure, recovery)"),
    ({"webhooks": [{"url": "https://a.example/", "on": []}]},
     "notify.webhooks[0].on: expected a list of events (new, updated, gone, failure, recovery), got an empty list"),
    ({"webhooks": [{"url": "https://a.example/", "secret": 42}]},
     "notify.webhooks[0].secret: expected a non-empty string, got a number (42)"),
    ({"webhooks": [{"url": "https://a.example/", "header": "x"}]},
     "notify.webhooks[0].header: unknown key (known keys: url, on, secret)"),
    ({"commands": [{"on": ["new"]}]}, "notify.commands[0].run: missing (required)"),
    ({"commands": [{"run": "   "}]}, "notify.commands[0].run: expected a command line (a string or a list of words), "
                                      "got a string ('   ')"),
    ({"commands": [{"run": "echo 'unclosed"}]}, "notify.commands[0].run: cannot split \"echo 'unclosed\" into words: "
                                                "No closing quotation"),
    ({"commands": [{"run": "true", "timeout": 0}]}, "notify.commands[0].timeout: expected a number from 0.1 to 3600, got 0"),
    ({"email": {"from": "a@example.org", "smtp": {"host": "h"}}},
     "notify.email.to: expected an e-mail address or a list of them, got nothing"),
    ({"email": {"to": ["a@example.org", "not an address"], "from": "b@example.org", "smtp": {"host": "h"}}},
     "notify.email.to[1]: expected an e-mail address, got a string ('not an address')"),
    ({"email": {"to": "a@example.org", "smtp": {"host": "h"}}}, "notify.email.from: missing (required)"),
    ({"email": {"to": "a@example.org", "from": "b@example.org"}}, "notify.email.smtp: missing (required: at least a host)"),
    ({"email": {"to": "a@example.org", "from": "b@example.org", "smtp": {"port": 25}}}, "notify.email.smtp.host: missing (required)"),
    ({"email": {"to": "a@example.org", "from": "b@example.org", "smtp": {"host": "h", "password": "hunter2"}}},
     "notify.email.smtp.password: unknown key (known keys: host, port, starttls, username, password_env)"),
    ({"email": {"to": "a@example.org", "from": "b@example.org", "smtp": {"host": "h", "username": "u"}}},
     "notify.email.smtp.password_env: missing (username and password_env go together)"),
    ({"email": {"to": "a@example.org", "from": "b@example.org", "smtp": {"host": "h", "username": "u",
                                                                         "password_env": "$SMTP"}}},
     "notify.email.smtp.password_env: expected the name of an environment variable, got '$SMTP'"),
    ({"email": {"to": "a@example.org", "from": "b@example.org", "smtp": {"host": "h", "starttls": "yes"}}},
     "notify.email.smtp.starttls: expected true or false, got a string ('yes')"),
    ({"email": {"to": "a@example.org", "from": "b@example.org", "smtp": {"host": "h", "port": 70000}}},
     "notify.email.smtp.port: expected a number from 1 to 65535, got 70000"),
    ({"apprise": "json://x"}, "notify.apprise: expected a list, got a string ('json://x')"),
    ({"apprise": ["json://x", "nonsense"]},
     "notify.apprise[1]: expected an Apprise URL such as mailto://… or json://…, got a string ('nonsense')"),
])
def test_errors_name_the_key(block, message):
    with pytest.raises(ConfigError) as error:
        parse_notify(block, fail)
    assert str(error.value) == f"config.yaml: {message}"


def test_apprise_configured_but_not_installed_is_a_config_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "apprise", None)  # what Python does for a package that cannot be imported
    with pytest.raises(ConfigError, match=r"^config.yaml: notify.apprise: needs the apprise package: "
                                          r"pip install 'spfeed\[apprise\]'$"):
        parse_notify({"apprise": ["json://127.0.0.1:9/"]}, fail)


def test_apprise_configured_and_installed():
    pytest.importorskip("apprise", reason="apprise is an optional extra: pip install 'spfeed[apprise]'")
    settings = parse_notify({"apprise": ["json://127.0.0.1:9/", "mailto://u:p@example.org"]}, fail)
    assert settings.apprise == ("json://127.0.0.1:9/", "mailto://u:p@example.org")
    assert settings.channels == ("apprise[0]", "apprise[1]")


@pytest.mark.parametrize("value, expected", [
    (None, ()),
    ([], ()),
    (["https://pubsubhubbub.appspot.com/", "https://websub.example.org/hub"],
     ("https://pubsubhubbub.appspot.com/", "https://websub.example.org/hub")),
])
def test_hubs(value, expected):
    assert parse_hubs(value, fail) == expected


@pytest.mark.parametrize("value, message", [
    ("https://hub.example/", "feed.hubs: expected a list of hub URLs, got a string ('https://hub.example/')"),
    (["https://hub.example/", "hub.example"], "feed.hubs[1]: expected an absolute http(s) URL, got 'hub.example'"),
    (["https://hub.example/", 3], "feed.hubs[1]: expected an absolute http(s) URL, got a number (3)"),
    (["https://hub.example/", "https://hub.example/"], "feed.hubs[1]: listed twice: https://hub.example/"),
])
def test_bad_hubs(value, message):
    with pytest.raises(ConfigError) as error:
        parse_hubs(value, fail)
    assert str(error.value) == f"config.yaml: {message}"


# -- failure and recovery: once each, never a storm ---------------------------------------------

@pytest.mark.parametrize("previous, failed_now, failures_after, events", [
    (0, False, 3, set()),           # healthy
    (0, True, 3, set()),            # first failure: not yet
    (1, True, 3, set()),
    (2, True, 3, {"failure"}),      # the third in a row fires, once
    (3, True, 3, set()),            # still failing: no storm
    (10, True, 3, set()),
    (3, False, 3, {"recovery"}),    # first success after an alert
    (10, False, 3, {"recovery"}),
    (2, False, 3, set()),           # recovered before any alert: nothing to take back
    (0, True, 1, {"failure"}),      # failures_after: 1 alerts on the first failure
    (1, False, 1, {"recovery"}),
])
def test_events_for(previous, failed_now, failures_after, events):
    assert events_for(previous, failed_now, failures_after) == events


def test_a_long_outage_alerts_once_and_recovers_once():
    fired, count = [], 0
    for failed in [True] * 8 + [False] * 3 + [True, False]:
        fired += sorted(events_for(count, failed, 3))
        count = count + 1 if failed else 0
    assert fired == ["failure", "recovery"]


def test_no_channels_nothing_sent():
    assert deliver(NotifySettings(), Announcement("f", frozenset({"new"})), user_agent="x") == []


def test_loading_settings_imports_no_network_or_mail_code():
    """config.py parses notify: on every run, the cheap path of an unchanged page included."""
    code = ("import sys; from spfeed.announce.settings import parse_notify; "
            "parse_notify({'webhooks': [{'url': 'https://a.example/'}], 'commands': [{'run': 'true'}], "
            "'email': {'to': 'a@b.example', 'from': 'c@d.example', 'smtp': {'host': 'h'}}}, lambda k, m: ValueError(m)); "
            "print(sorted(m for m in ('requests', 'urllib3', 'smtplib', 'ssl', 'email.message', 'subprocess', 'json', "
            "'apprise', 'spfeed.model', 'spfeed.output', 'spfeed.announce.webhook', 'spfeed.announce.email') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
