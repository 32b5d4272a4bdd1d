"""deliver() and deliver_one() as the pipeline uses them: each channel gets only its events, a
failed channel does not stop the others, and a stored failure is retried by its channel id."""

from __future__ import annotations

import json

import pytest

from spfeed.announce import Announcement, Failure, channels_for, deliver, deliver_one
from spfeed.announce.settings import Command, NotifySettings, Webhook
from test_announce_webhook import UA, Receiver, announcement


@pytest.fixture
def receivers():
    servers = [Receiver(), Receiver()]
    yield servers
    for server in servers:
        server.stop()


@pytest.mark.parametrize("events, hit", [
    (("new",), [1, 0]),
    (("updated",), [1, 0]),
    (("gone",), [0, 0]),
    (("failure",), [0, 1]),
    (("new", "recovery"), [1, 1]),
])
def test_each_channel_gets_only_its_events(receivers, events, hit):
    news, alerts = receivers
    settings = NotifySettings(webhooks=(Webhook(news.url(), on=frozenset({"new", "updated"})),
                                        Webhook(alerts.url(), on=frozenset({"failure", "recovery"}))))
    assert deliver(settings, announcement(events), user_agent=UA) == []
    assert [len(news.posts), len(alerts.posts)] == hit


def test_a_failing_channel_does_not_stop_the_others_and_is_retried_by_its_id(receivers, tmp_path):
    down, up = receivers
    down.statuses[:] = [500]
    out = tmp_path / "ran"
    settings = NotifySettings(webhooks=(Webhook(down.url()), Webhook(up.url())),
                              commands=(Command(("sh", "-c", f"cat > '{out}'")),))
    sent = announcement(("new",))
    failures = deliver(settings, sent, user_agent=UA, backoff=0.01)
    assert failures == [Failure("webhooks[0]", "HTTP 500 Internal Server Error (after 3 attempts)")]
    assert str(failures[0]) == "webhooks[0]: HTTP 500 Internal Server Error (after 3 attempts)"
    assert len(up.posts) == 1 and json.loads(out.read_bytes())["new"]

    # the next run: the pending delivery, stored as JSON, is retried once the receiver works again
    pending = json.dumps(sent.to_dict())
    down.statuses[:] = [200]
    assert deliver_one(settings, failures[0].channel, Announcement.from_dict(json.loads(pending)), user_agent=UA) is None
    assert down.posts[-1].body == up.posts[0].body


@pytest.mark.parametrize("channel", ["webhooks[5]", "commands[0]", "email", "apprise[0]", "hubs[0]", "sms", "webhooks[x]"])
def test_a_channel_no_longer_configured_is_a_failure_that_says_so(channel):
    settings = NotifySettings(webhooks=(Webhook("https://example.invalid/"),))
    assert deliver_one(settings, channel, announcement(), user_agent=UA) == Failure(
        channel, "no such channel in the config (any more)")


def test_channels_for_a_run():
    settings = NotifySettings(webhooks=(Webhook("https://a.example/", on=frozenset({"failure"})),),
                              commands=(Command(("true",)),), apprise=("json://127.0.0.1:9/",))
    sent = Announcement("f", frozenset({"new"}), changed_urls=("https://feeds.example/atom.xml",),
                        hubs=("https://hub1.example/", "https://hub2.example/"))
    assert channels_for(settings, sent) == ["hubs[0]", "hubs[1]", "commands[0]", "apprise[0]"]


def test_the_announcement_survives_json():
    sent = announcement(("new", "failure"), changed_urls=("https://feeds.example/atom.xml",), hubs=("https://hub.example/",))
    assert Announcement.from_dict(json.loads(json.dumps(sent.to_dict()))) == sent
