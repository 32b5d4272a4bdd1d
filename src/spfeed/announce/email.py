"""Messages for people: a short plain-text digest sent by e-mail (stdlib smtplib) or through Apprise.

The digest lists only the events the channel asked for: each new item's date, title and link,
updated and gone items, and failures and recoveries with their message.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

from spfeed.announce import Announcement, DeliveryError
from spfeed.announce.settings import ALL_EVENTS, Email

log = logging.getLogger(__name__)


def subject(announcement: Announcement, on: Iterable[str] = ALL_EVENTS) -> str:
    """``spfeed: 2 new, 1 updated in ilo-secsoc``; failures and recoveries say so."""
    events, doc = announcement.events & frozenset(on), announcement.document
    parts = [f"{len(doc.get(e) or ())} {e}" for e in ("new", "updated", "gone") if e in events and doc.get(e)]
    words = []
    if parts:
        words.append(f"{', '.join(parts)} in {announcement.feed}")
    if "failure" in events:
        words.append(f"{announcement.feed} is failing")
    if "recovery" in events:
        words.append(f"{announcement.feed} works again")
    return "spfeed: " + ("; ".join(words) or f"news from {announcement.feed}")


def digest(announcement: Announcement, on: Iterable[str] = ALL_EVENTS) -> str:
    """The plain-text body: a section per event the channel wants."""
    events, doc = announcement.events & frozenset(on), announcement.document
    lines: list[str] = []
    if "failure" in events:
        lines.append(f"{announcement.feed} is failing:")
        lines += [f"  {message}" for message in _errors(doc)] or ["  (no message)"]
        lines.append("The feeds stay as they were; spfeed says again when it works.")
        lines.append("")
    if "recovery" in events:
        lines += [f"{announcement.feed} works again: the last run succeeded.", ""]
    for event, heading, sign in (("new", "New", "+"), ("updated", "Updated", "~"), ("gone", "Gone from the page "
                                                                                    "(kept in the feed)", "-")):
        items = doc.get(event) or []
        if event not in events or not items:
            continue
        lines.append(f"{heading}:")
        for item in items:
            date = str(item.get("published") or "")[:10] if item.get("dated", True) else "undated"
            changed = f" (changed: {', '.join(item['changed'])})" if item.get("changed") else ""
            lines.append(f"{sign} {date}  {_one_line(item.get('title'))}{changed}")
            lines.append(f"    {item.get('link') or ''}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def message(mail: Email, announcement: Announcement):
    """The e-mail for *announcement*: From, To, Subject, Date, a Message-ID, and the digest."""
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    msg = EmailMessage()
    msg["From"] = mail.sender
    msg["To"] = ", ".join(mail.to)
    msg["Subject"] = subject(announcement, mail.on)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid("spfeed", domain=mail.sender.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    msg.set_content(digest(announcement, mail.on))
    return msg


def send(mail: Email, announcement: Announcement, *, timeout: float) -> None:
    """Send the digest over SMTP (STARTTLS with a verified certificate unless ``starttls: false``);
    DeliveryError with one line of reason when it fails."""
    import smtplib
    import ssl

    smtp = mail.smtp
    password = None
    if smtp.password_env is not None:
        password = os.environ.get(smtp.password_env)
        if not password:
            raise DeliveryError(f"the SMTP password variable ${smtp.password_env} is not set")
    where = f"{smtp.host}:{smtp.port}"
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.username is not None and password is not None:
                _login(client, smtp.username, password)
            refused = client.send_message(message(mail, announcement), from_addr=mail.sender, to_addrs=list(mail.to))
    except smtplib.SMTPNotSupportedError:
        raise DeliveryError(f"{where}: the server does not offer STARTTLS (set starttls: false to send "
                            "without it)") from None
    except smtplib.SMTPAuthenticationError as e:
        raise DeliveryError(f"{where}: login refused: {e.smtp_code} {_text(e.smtp_error)}") from None
    except smtplib.SMTPRecipientsRefused as e:
        raise DeliveryError(f"{where}: every recipient refused ({', '.join(e.recipients)})") from None
    except smtplib.SMTPResponseException as e:
        raise DeliveryError(f"{where}: {e.smtp_code} {_text(e.smtp_error)}") from None
    except ssl.SSLError as e:
        raise DeliveryError(f"{where}: TLS error: {e.reason or e}") from None
    except (smtplib.SMTPException, OSError) as e:
        raise DeliveryError(f"{where}: {_text(getattr(e, 'strerror', None) or str(e) or type(e).__name__)}") from None
    if refused:
        log.warning("e-mail: recipients refused: %s", ", ".join(refused))


def _login(client, username: str, password: str) -> None:
    """AUTH PLAIN in UTF-8 (RFC 4616) where the server offers it: smtplib's login() sends ASCII
    only; else smtplib's own choice of mechanism."""
    import base64
    import smtplib

    client.ehlo_or_helo_if_needed()
    if "PLAIN" in client.esmtp_features.get("auth", "").upper().split():
        token = base64.b64encode(f"\0{username}\0{password}".encode("utf-8")).decode("ascii")
        code, reply = client.docmd("AUTH", "PLAIN " + token)
        if code != 235:
            raise smtplib.SMTPAuthenticationError(code, reply)
    else:
        client.login(username, password)


def apprise(url: str, announcement: Announcement) -> None:
    """Send the digest through the Apprise URL *url* (the optional extra spfeed[apprise])."""
    try:
        import apprise as apprise_lib
    except ImportError:
        raise DeliveryError("needs the apprise package: pip install 'spfeed[apprise]'") from None
    sender = apprise_lib.Apprise()
    if not sender.add(url):
        raise DeliveryError("Apprise does not understand this URL")
    if not sender.notify(title=subject(announcement), body=digest(announcement)):
        raise DeliveryError("Apprise could not deliver the message (-v shows its log)")


def _errors(doc: dict) -> list[str]:
    errors = list(doc.get("errors") or [])
    if doc.get("error"):
        errors.append(doc["error"])
    return [_one_line(e) for e in errors]


def _one_line(text: object) -> str:
    return " ".join(str(text or "").split())


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return _one_line(value)
