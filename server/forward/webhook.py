"""Generic webhook: the OCSF document as JSON, signed with HMAC-SHA256.

Receivers verify ``X-LeakWarden-Signature: t=<unix time>,v1=<hex>`` where the
hex is HMAC-SHA256(secret, "<t>." + body) and reject old timestamps (replay).
``Idempotency-Key`` is the same on every retry of one delivery, so a receiver
that saw it already can answer 2xx and drop the copy.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.forward.alert import AlertView
from server.forward.destination import COMMON_KEYS, Delivery, Resources
from server.forward.options import Section
from server.forward.schema import to_ocsf
from server.forward.templates import Message
from server.forward.transport import JsonPostSender

SIGNATURE_HEADER = "X-LeakWarden-Signature"
TIMESTAMP_HEADER = "X-LeakWarden-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"


@dataclass(frozen=True, slots=True)
class Settings:
    url: str
    secret: str | None
    headers: tuple[tuple[str, str], ...]
    timeout: float
    verify: bool
    ca_file: str | None


def parse(s: Section) -> Settings:
    s.only(COMMON_KEYS | {"url", "secret", "secret_file", "secret_env", "headers", "timeout", "verify", "ca_file"})
    url = s.str("url")
    if not url.startswith(("http://", "https://")):
        raise s.error("url", f"must be an http:// or https:// URL, got {url!r}")
    headers = s.section("headers")
    return Settings(
        url=url,
        secret=s.secret("secret", required=False),
        headers=tuple((k, headers.str(k)) for k in headers.data),
        timeout=s.duration("timeout", 10.0, min=0.1),
        verify=s.bool("verify", True),
        ca_file=s.str("ca_file", None),
    )


def build(settings: Settings, alert: AlertView, message: Message, key: str) -> dict[str, Any]:
    return to_ocsf(alert, title=message.title, description=message.body, uid=key)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, header: str, body: bytes, *, now: float, tolerance: float = 300.0) -> bool:
    """What a receiver does (used by our tests and documented for integrators)."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        ts = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, ts, body), header)


class Sender(JsonPostSender):
    def __init__(self, settings: Settings, resources: Resources, clock: Callable[[], float] = time.time) -> None:
        super().__init__(settings, resources)
        self.clock = clock

    def headers(self, body: bytes, delivery: Delivery) -> dict[str, str]:
        headers = super().headers(body, delivery)
        headers[IDEMPOTENCY_HEADER] = delivery.key
        headers.update(self.settings.headers)
        if self.settings.secret:
            ts = int(self.clock())
            headers[TIMESTAMP_HEADER] = str(ts)
            headers[SIGNATURE_HEADER] = sign(self.settings.secret, ts, body)
        return headers
