"""Real receivers on loopback for every kind of forwarding destination, keeping what they got.

SMTP is aiosmtpd; webhook, Slack, Teams and TheHive POSTs go to one aiohttp server;
syslog arrives over a real TCP socket (RFC 6587 octet counting, OCSF JSON) and a
real UDP socket (CEF). ``forward_config`` wires a deployment to all of them.
"""

from __future__ import annotations

import asyncio
import email.policy
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller

from server.forward.webhook import SIGNATURE_HEADER, verify_signature

WEBHOOK_SECRET = "e2e-webhook-signing-secret"
HTTP_KINDS = ("webhook", "slack", "teams", "thehive")
RECEIVER_KINDS = ("mail", *HTTP_KINDS, "syslog_tcp", "syslog_udp")


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes
    signed: bool | None = None  # webhook only: the HMAC signature checked out


@dataclass
class Received:
    mails: list[bytes] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    syslog_tcp: list[bytes] = field(default_factory=list)
    syslog_udp: list[bytes] = field(default_factory=list)

    def bodies(self, kind: str) -> list[bytes]:
        return [p.body for p in self.posts if p.path.strip("/").split("/")[0] == kind]

    def texts(self, kind: str) -> list[str]:
        """What one kind of receiver got, as text (mail bodies decoded from base64 / quoted-printable)."""
        if kind == "mail":
            return ["\n".join(mail_parts(m).values()) for m in self.mails]
        if kind in HTTP_KINDS:
            raw = self.bodies(kind)
        else:
            raw = {"syslog_tcp": self.syslog_tcp, "syslog_udp": self.syslog_udp}[kind]
        return [b.decode("utf-8", "replace") for b in raw]

    def everywhere(self, *needles: str) -> bool:
        """Every receiver got some message holding each of ``needles``."""
        return all(any(n in t for t in self.texts(kind)) for kind in RECEIVER_KINDS for n in needles)


class _Smtp:
    def __init__(self, got: Received) -> None:
        self.got = got

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.got.mails.append(envelope.content)
        return "250 OK"


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, got: Received) -> None:
        self.got = got

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.got.syslog_udp.append(data)


class Receivers:
    def __init__(self) -> None:
        self.got = Received()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="e2e-receivers", daemon=True)
        self._smtp = Controller(_Smtp(self.got), hostname="127.0.0.1", port=_free_port())
        self._runner: web.AppRunner | None = None
        self._tcp: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self.http_port = self.tcp_port = self.udp_port = 0

    @property
    def smtp_port(self) -> int:
        return int(self._smtp.port)

    def start(self) -> "Receivers":
        self._smtp.start()
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._smtp.stop()

    async def _start(self) -> None:
        app = web.Application(client_max_size=16 << 20)
        app.router.add_post("/{tail:.*}", self._http)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.http_port = self._runner.addresses[0][1]
        self._tcp = await asyncio.start_server(self._syslog_stream, "127.0.0.1", 0)
        self.tcp_port = self._tcp.sockets[0].getsockname()[1]
        self._udp, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _Udp(self.got), local_addr=("127.0.0.1", 0))
        self.udp_port = self._udp.get_extra_info("sockname")[1]

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._tcp is not None:
            self._tcp.close()
        if self._udp is not None:
            self._udp.close()

    async def _http(self, request: web.Request) -> web.Response:
        body = await request.read()
        post = Post(request.path, dict(request.headers), body)
        self.got.posts.append(post)
        if request.path.startswith("/webhook"):
            # what an integrator's receiver does: refuse what is not signed with the shared secret
            post.signed = verify_signature(WEBHOOK_SECRET, request.headers.get(SIGNATURE_HEADER, ""), body,
                                           now=time.time())
            if not post.signed:
                return web.Response(status=401, text="bad signature")
        if request.path.startswith("/thehive"):
            return web.json_response({"_id": "~1", "status": "New"}, status=201)
        return web.Response(text="ok")

    async def _syslog_stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # RFC 6587 octet counting: "<length> <message>"
                length = await reader.readuntil(b" ")
                self.got.syslog_tcp.append(await reader.readexactly(int(length)))
        except (asyncio.IncompleteReadError, ValueError, ConnectionError):
            writer.close()

    def forward_config(self, jsonl: Path) -> dict[str, Any]:
        """``server_extra`` routing every alert to every receiver (and a JSON-lines file)."""
        base = f"http://127.0.0.1:{self.http_port}"
        destinations: dict[str, Any] = {
            "file": {"type": "jsonl", "path": str(jsonl)},
            "mail": {"type": "email", "host": "127.0.0.1", "port": self.smtp_port, "security": "none",
                     "from": "leakwarden@example.org", "to": ["soc@example.org"]},
            "hook": {"type": "webhook", "url": f"{base}/webhook", "secret": WEBHOOK_SECRET},
            "slack": {"type": "slack", "url": f"{base}/slack"},
            "teams": {"type": "teams", "url": f"{base}/teams"},
            "hive": {"type": "thehive", "url": f"{base}/thehive", "api_key": "e2e-hive-key"},
            "siem": {"type": "syslog", "host": "127.0.0.1", "port": self.tcp_port, "transport": "tcp",
                     "format": "json"},
            "arcsight": {"type": "syslog", "host": "127.0.0.1", "port": self.udp_port, "transport": "udp",
                         "format": "cef", "max_message": 8192},
        }
        return {"forward": {"enabled": True, "destinations": destinations,
                            "outbox": {"poll_interval": 0.2, "backoff": {"initial": 0.5, "max": 2}},
                            "routes": [{"name": "everyone", "to": list(destinations)}]}}


def mail_parts(raw: bytes) -> dict[str, str]:
    """Subject and the decoded text and HTML parts of one mail (bodies are base64 or quoted-printable)."""
    msg = message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    parts = {"subject": str(msg["Subject"] or "")}
    for part in msg.walk():
        if not part.is_multipart():
            parts[part.get_content_subtype()] = part.get_content()
    return parts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
