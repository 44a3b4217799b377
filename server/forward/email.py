"""E-mail over SMTP: a text part and an HTML part, STARTTLS and authentication.

The HTML part escapes every value (file names are attacker-controlled and
mail clients render HTML); the subject is one line, so no header injection.
The Message-ID is derived from the idempotency key, so a retried mail is
recognisably the same mail.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from typing import Any

from leakwarden.errors import DeliveryError
from server.forward import escaping
from server.forward.alert import AlertView
from server.forward.destination import COMMON_KEYS, Delivery, Resources
from server.forward.options import Section
from server.forward.templates import Message
from server.forward.transport import tls_context

LEVEL_COLOR = {"low": "#2b6cb0", "medium": "#b7791f", "high": "#c05621", "critical": "#c53030"}


@dataclass(frozen=True, slots=True)
class Settings:
    host: str
    port: int
    security: str  # starttls | tls | none
    username: str | None
    password: str | None
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject_prefix: str
    timeout: float
    verify: bool
    ca_file: str | None


def parse(s: Section) -> Settings:
    s.only(COMMON_KEYS | {"host", "port", "security", "username", "password", "password_file", "password_env",
                          "from", "to", "cc", "subject_prefix", "timeout", "verify", "ca_file"})
    security = s.str("security", "starttls", choices=("starttls", "tls", "none"))
    username = s.str("username", None)
    password = s.secret("password", required=username is not None)
    if password is not None and username is None:
        raise s.error("username", "is required when a password is given")
    sender, to, cc = s.str("from"), s.str_list("to"), s.str_list("cc", ())
    for key, values in (("from", (sender,)), ("to", to), ("cc", cc)):
        for a in values:
            if "@" not in a or any(c in a for c in "\r\n<>,;\"") or a.strip() != a:
                raise s.error(key, f"{a!r} is not a plain e-mail address")
    return Settings(
        host=s.str("host"), port=s.int("port", 465 if security == "tls" else 587, min=1, max=65535),
        security=security, username=username, password=password, sender=sender,
        to=to, cc=cc, subject_prefix=s.str("subject_prefix", "[LeakWarden]"),
        timeout=s.duration("timeout", 20.0, min=0.1), verify=s.bool("verify", True), ca_file=s.str("ca_file", None),
    )


def _html(alert: AlertView, message: Message) -> str:
    if message.html is not None:  # the route's own template, rendered with autoescape
        return message.html
    e = escaping.html
    table = "".join(f"<tr><th align=\"left\">{e(k)}</th><td>{e(v)}</td></tr>" for k, v in alert.facts() if v)
    link = f'<p><a href="{e(alert.url)}">Open in LeakWarden</a></p>' if alert.url else ""
    color = LEVEL_COLOR.get(alert.level, "#333333")
    return (
        "<!DOCTYPE html><html><body>"
        f'<h2 style="color:{color}">{e(message.title)}</h2>'
        f"<table>{table}</table>"
        f'<pre style="white-space:pre-wrap">{e(message.body)}</pre>{link}'
        "</body></html>"
    )


def build(settings: Settings, alert: AlertView, message: Message, key: str) -> dict[str, Any]:
    subject = escaping.one_line(f"{settings.subject_prefix} {message.title}".strip())
    return {
        "from": settings.sender,
        "to": list(settings.to),
        "cc": list(settings.cc),
        "subject": escaping.truncate(subject, 250),
        "message_id": f"<{key}@leakwarden>",
        "date": formatdate(alert.updated_at or alert.time, usegmt=True),
        "text": message.body,
        "html": _html(alert, message),
    }


def to_mime(payload: dict[str, Any]) -> EmailMessage:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = payload["from"]
    msg["To"] = ", ".join(payload["to"])
    if payload["cc"]:
        msg["Cc"] = ", ".join(payload["cc"])
    msg["Subject"] = payload["subject"]
    msg["Message-ID"] = payload["message_id"]
    msg["Date"] = payload["date"]
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to the SOC robot
    msg.set_content(payload["text"])
    msg.add_alternative(payload["html"], subtype="html")
    return msg


class Sender:
    def __init__(self, settings: Settings, resources: Resources) -> None:
        self.settings = settings
        self.ssl: ssl.SSLContext = tls_context(settings.verify, settings.ca_file)

    async def send(self, payload: dict[str, Any], delivery: Delivery) -> None:
        msg = to_mime(payload)
        # smtplib is blocking and battle-tested; one thread per delivery keeps the loop free.
        await asyncio.to_thread(self._send_sync, msg, payload["to"] + payload["cc"])

    def _send_sync(self, msg: EmailMessage, rcpts: list[str]) -> None:
        s = self.settings
        try:
            if s.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self.ssl)
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with client:
                if s.security == "starttls":
                    client.starttls(context=self.ssl)
                if s.username:
                    client.login(s.username, s.password or "")
                client.send_message(msg, from_addr=s.sender, to_addrs=rcpts)
        except smtplib.SMTPRecipientsRefused as e:
            codes = [c for c, _ in e.recipients.values()]
            raise DeliveryError(f"SMTP recipients refused: {codes}", retryable=all(c < 500 for c in codes)) from e
        except smtplib.SMTPAuthenticationError as e:
            raise DeliveryError(f"SMTP authentication failed: {e.smtp_code}", retryable=False) from e
        except smtplib.SMTPResponseException as e:
            raise DeliveryError(f"SMTP {e.smtp_code}: {e.smtp_error!r}", retryable=e.smtp_code < 500) from e
        except (smtplib.SMTPException, OSError) as e:
            raise DeliveryError(f"SMTP: {type(e).__name__}: {e}", retryable=True) from e

    async def close(self) -> None:
        return None
