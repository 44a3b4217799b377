"""HTTP delivery and TLS settings shared by the HTTP-based destinations."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import msgspec

from leakwarden.errors import DeliveryError
from server.forward.destination import Delivery, Resources

# Answers that may succeed later; every other 4xx is a permanent refusal (dead letter at once).
RETRYABLE_STATUS = frozenset({408, 409, 425, 429})


class RetryLater(DeliveryError):
    """The receiver asked us to come back later (HTTP 429/503 with Retry-After)."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message, retryable=True)
        self.retry_after = retry_after


def tls_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca_file)
    if not verify:
        # Only for a lab receiver with a self-signed cert; documented as such.
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    ssl_ctx: ssl.SSLContext | None,
    accept: tuple[str, ...] = (),
    method: str = "POST",
    max_text: int = 2000,
) -> tuple[int, str]:
    """Send ``body`` (POST unless ``method`` says otherwise); return (status, text) on 2xx, raise
    :class:`DeliveryError` otherwise. ``text`` is the answer's first ``max_text`` bytes.

    ``accept`` lists substrings of an error answer that mean "already done"
    (e.g. TheHive refusing a duplicate sourceRef): returned, not failed.
    """
    try:
        async with session.request(
            method, url, data=body, headers=dict(headers), ssl=ssl_ctx if ssl_ctx is not None else True,
            timeout=aiohttp.ClientTimeout(total=timeout), allow_redirects=False,
        ) as r:
            text = (await r.content.read(max_text)).decode("utf-8", "replace")
            status = r.status
            after = r.headers.get("Retry-After")
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
        raise DeliveryError(f"{type(e).__name__}: {e}".strip(": "), retryable=True) from e
    if 200 <= status < 300:
        return status, text
    if accept and any(a in text for a in accept):
        return status, text
    message = f"HTTP {status}: {' '.join(text.split())[:200]}"
    if status in (429, 503):
        raise RetryLater(message, retry_after(after))
    raise DeliveryError(message, retryable=status >= 500 or status in RETRYABLE_STATUS)


class JsonPostSender:
    """Sends a payload as a JSON POST to ``settings.url``; subclasses add headers."""

    accept: tuple[str, ...] = ()

    def __init__(self, settings: Any, resources: Resources) -> None:
        self.settings = settings
        self.http = resources.http
        self.ssl = tls_context(settings.verify, settings.ca_file) if settings.url.startswith("https") else None

    def url(self) -> str:
        return str(self.settings.url)

    def headers(self, body: bytes, delivery: Delivery) -> dict[str, str]:
        return {"Content-Type": "application/json", "User-Agent": "LeakWarden"}

    async def send(self, payload: dict[str, Any], delivery: Delivery) -> None:
        body = msgspec.json.encode(payload)  # compact UTF-8 JSON, several times faster than json.dumps
        await post(self.http, self.url(), body, self.headers(body, delivery),
                   timeout=self.settings.timeout, ssl_ctx=self.ssl, accept=self.accept)

    async def close(self) -> None:
        return None
