"""E-mail against a real SMTP server (aiosmtpd on 127.0.0.1): the digest's subject and body, From
and To, STARTTLS with a verified (self-signed, trusted for the test) certificate and a login with
the password from the environment; and Apprise's json:// against a real receiver."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import socket
import ssl
import subprocess
from dataclasses import dataclass, field

import pytest

from spfeed.announce import Failure, deliver
from spfeed.announce.email import digest, subject
from spfeed.announce.settings import Email, NotifySettings, Smtp
from test_announce_webhook import UA, Receiver, announcement

aiosmtpd = pytest.importorskip("aiosmtpd", reason="aiosmtpd (in the test extra) is the SMTP server these tests send to")


@dataclass
class Inbox:
    messages: list = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message, session.ssl is not None))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smtp_server(inbox: Inbox, **kwargs):
    from aiosmtpd.controller import Controller

    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), **kwargs)
    controller.start()
    return controller


@pytest.fixture
def plain_smtp():
    inbox = Inbox()
    controller = smtp_server(inbox)
    yield inbox, controller.port
    controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make the STARTTLS test's certificate")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem")], check=True, capture_output=True)
    return folder / "cert.pem", folder / "key.pem"


@pytest.fixture
def tls_smtp(certificate):
    from aiosmtpd.smtp import AuthResult

    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()

    def authenticate(server, session, envelope, mechanism, auth_data):
        inbox.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"spfeed", b"pa55 w\xc3\xb6rd"), handled=False)

    controller = smtp_server(inbox, tls_context=context, require_starttls=True, authenticator=authenticate,
                             auth_require_tls=True)
    yield inbox, controller.port, cert
    controller.stop()


def mail(port: int, **smtp) -> Email:
    return Email(to=("news@example.org", "ops@example.org"), sender="spfeed@feeds.example.org",
                 smtp=Smtp(host="127.0.0.1", port=port, **{"starttls": False, **smtp}))


def test_a_plain_smtp_digest_of_new_items(plain_smtp):
    inbox, port = plain_smtp
    assert deliver(NotifySettings(email=mail(port)), announcement(("new",)), user_agent=UA) == []
    ((sender, recipients, message, encrypted),) = inbox.messages
    assert (sender, recipients, encrypted) == ("spfeed@feeds.example.org", ["news@example.org", "ops@example.org"], False)
    assert message["From"] == "spfeed@feeds.example.org" and message["To"] == "news@example.org, ops@example.org"
    assert message["Subject"] == "spfeed: 2 new in ilo-secsoc"
    assert message["Auto-Submitted"] == "auto-generated" and message["Message-ID"]
    assert message.get_content().replace("\r\n", "\n") == (
        "New:\n"
        "+ 2022-06-16  Report number 16 <on social protection> & more\n"
        "    https://www.ilo.org/global/publications/WCMS_16/lang--en/index.htm\n"
        "+ 2022-06-14  Report number 14 <on social protection> & more\n"
        "    https://www.ilo.org/global/publications/WCMS_14/lang--en/index.htm\n")


def test_starttls_and_login_with_the_password_from_the_environment(tls_smtp, monkeypatch):
    inbox, port, cert = tls_smtp
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test's certificate, as the system's CAs would
    monkeypatch.setenv("SPFEED_TEST_SMTP_PASSWORD", "pa55 wörd")
    settings = NotifySettings(email=mail(port, starttls=True, username="spfeed", password_env="SPFEED_TEST_SMTP_PASSWORD"))
    assert deliver(settings, announcement(("new", "failure")), user_agent=UA) == []
    ((_, _, message, encrypted),) = inbox.messages
    assert encrypted and inbox.logins == [(b"spfeed", "pa55 wörd".encode())]
    assert message["Subject"] == "spfeed: 2 new in ilo-secsoc; ilo-secsoc is failing"
    assert "HTTP 503 Service Unavailable (after 4 attempts)" in message.get_content()


def test_an_untrusted_certificate_is_refused(tls_smtp):
    inbox, port, _ = tls_smtp
    (failure,) = deliver(NotifySettings(email=mail(port, starttls=True)), announcement(), user_agent=UA)
    assert failure.channel == "email" and "TLS error: CERTIFICATE_VERIFY_FAILED" in failure.reason
    assert inbox.messages == []


def test_a_server_that_requires_starttls_refuses_plain_mail(tls_smtp):
    inbox, port, _ = tls_smtp
    (failure,) = deliver(NotifySettings(email=mail(port)), announcement(), user_agent=UA)
    assert failure == Failure("email", f"127.0.0.1:{port}: 530 Must issue a STARTTLS command first")
    assert inbox.messages == []


@pytest.mark.parametrize("env, reason", [
    ({}, "the SMTP password variable $SPFEED_TEST_SMTP_PASSWORD is not set"),
    ({"SPFEED_TEST_SMTP_PASSWORD": "wrong"}, "{where}: login refused: 535 5.7.8 Authentication credentials invalid"),
])
def test_login_problems_are_failures(tls_smtp, monkeypatch, env, reason):
    inbox, port, cert = tls_smtp
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.delenv("SPFEED_TEST_SMTP_PASSWORD", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = NotifySettings(email=mail(port, starttls=True, username="spfeed", password_env="SPFEED_TEST_SMTP_PASSWORD"))
    assert deliver(settings, announcement(), user_agent=UA) == [Failure("email", reason.format(where=f"127.0.0.1:{port}"))]
    assert inbox.messages == []


def test_no_server_is_a_failure():
    (failure,) = deliver(NotifySettings(email=mail(_free_port())), announcement(), user_agent=UA)
    assert failure.channel == "email" and "Connection refused" in failure.reason


def test_the_mail_only_says_what_its_events_ask_for(plain_smtp):
    inbox, port = plain_smtp
    settings = NotifySettings(email=Email(**{**vars(mail(port)), "on": frozenset({"failure", "recovery"})}))
    assert deliver(settings, announcement(("new",)), user_agent=UA) == []
    assert inbox.messages == []
    assert deliver(settings, announcement(("new", "failure")), user_agent=UA) == []
    ((_, _, message, _),) = inbox.messages
    assert message["Subject"] == "spfeed: ilo-secsoc is failing"
    assert "Report number" not in message.get_content()


@pytest.mark.parametrize("events, expected_subject, expected_lines", [
    (("new",), "spfeed: 2 new in ilo-secsoc", ["New:", "+ 2022-06-16  Report number 16 <on social protection> & more"]),
    (("updated", "gone"), "spfeed: 1 updated, 1 gone in ilo-secsoc",
     ["Updated:", "~ 2022-06-10  Report number 10 <on social protection> & more (changed: summary)",
      "Gone from the page (kept in the feed):", "- 2022-06-03  Report number 3 <on social protection> & more"]),
    (("failure",), "spfeed: ilo-secsoc is failing",
     ["ilo-secsoc is failing:", "  https://www.ilo.org/…: HTTP 503 Service Unavailable (after 4 attempts)"]),
    (("recovery",), "spfeed: ilo-secsoc works again", ["ilo-secsoc works again: the last run succeeded."]),
])
def test_digest(events, expected_subject, expected_lines):
    sent = announcement(events)
    assert subject(sent) == expected_subject
    lines = digest(sent).splitlines()
    assert all(line in lines for line in expected_lines), lines


@pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")  # inside apprise
def test_apprise_json_url_reaches_a_real_receiver():
    pytest.importorskip("apprise", reason="apprise is an optional extra: pip install 'spfeed[apprise]'")
    receiver = Receiver(statuses=[200])
    try:
        url = receiver.url("/apprise").replace("http://", "json://")
        assert deliver(NotifySettings(apprise=(url,)), announcement(("new",)), user_agent=UA) == []
        receiver.statuses[:] = [500]
        assert deliver(NotifySettings(apprise=(url,)), announcement(("new",)), user_agent=UA) == [
            Failure("apprise[0]", "Apprise could not deliver the message (-v shows its log)")]
    finally:
        receiver.stop()
    data = json.loads(receiver.posts[0].body)
    assert receiver.posts[0].path == "/apprise"
    assert data["title"] == "spfeed: 2 new in ilo-secsoc"
    assert "+ 2022-06-16  Report number 16 <on social protection> & more" in data["message"]
