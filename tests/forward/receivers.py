"""Real receivers the forwarding tests deliver to, all on 127.0.0.1.

- :class:`HttpReceiver`: an aiohttp server standing in for a generic webhook,
  Slack, Teams and TheHive (TheHive refuses a repeated sourceRef, as the real one does).
- :class:`SmtpReceiver`: aiosmtpd with STARTTLS (self-signed cert) and AUTH.
- :class:`SyslogReceiver`: UDP datagrams, or TCP/TLS with RFC 6587 octet counting.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import socket
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
import ipaddress


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for localhost/127.0.0.1 (also the CA the clients trust)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json
        return json.loads(self.body)


class HttpReceiver:
    """Records every POST; ``status`` makes it answer an error instead (e.g. 500 forever)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.requests: list[Request] = []  # accepted ones
        self.hits = 0  # every request, also those answered with an error
        self.status = 200
        self.retry_after: str | None = None
        self.hive_refs: set[tuple[str, str, str]] = set()
        self.hive_alerts: dict[str, dict[str, Any]] = {}  # TheHive's alerts by _id, as updated
        self.hive_patches: list[tuple[str, dict[str, Any]]] = []
        self._runner: web.AppRunner | None = None
        self.arrived = asyncio.Event()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _any(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.hits += 1
        if self.status != 200:
            headers = {"Retry-After": self.retry_after} if self.retry_after else None
            return web.Response(status=self.status, text="receiver error", headers=headers)
        self.requests.append(Request(request.path, dict(request.headers), body))
        self.arrived.set()
        return web.Response(text="ok")

    async def _hive(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.hits += 1
        if self.status != 200:
            return web.Response(status=self.status, text="receiver error")
        import json
        alert = json.loads(body)
        ref = (alert["type"], alert["source"], alert["sourceRef"])
        if ref in self.hive_refs:  # TheHive 5: unique (type, source, sourceRef)
            return web.json_response({"type": "CreateError", "message": f"Alert {ref} already exists"}, status=400)
        self.hive_refs.add(ref)
        self.requests.append(Request(request.path, dict(request.headers), body))
        hive_id = f"~{len(self.hive_refs)}"
        self.hive_alerts[hive_id] = {"_id": hive_id, **alert}
        self.arrived.set()
        return web.json_response(self.hive_alerts[hive_id], status=201)

    async def _hive_query(self, request: web.Request) -> web.Response:
        """TheHive 5 ``POST /api/v1/query``: listAlert, a filter of ``_and``-ed ``_eq``s, a page."""
        self.hits += 1
        steps = (await request.json())["query"]
        if steps[0] != {"_name": "listAlert"}:
            return web.json_response({"type": "BadRequest", "message": "unsupported query"}, status=400)
        found = list(self.hive_alerts.values())
        for step in steps[1:]:
            if step["_name"] == "filter":
                for cond in step["_and"]:
                    eq = cond["_eq"]
                    found = [a for a in found if a.get(eq["_field"]) == eq["_value"]]
            elif step["_name"] == "page":
                found = found[step["from"]:step["to"]]
        return web.json_response(found)

    async def _hive_patch(self, request: web.Request) -> web.Response:
        """TheHive 5 ``PATCH /api/v1/alert/{id}``: 204, or 404 for an unknown id."""
        self.hits += 1
        alert = self.hive_alerts.get(request.match_info["id"])
        if alert is None:
            return web.json_response({"type": "NotFoundError", "message": "alert not found"}, status=404)
        update = await request.json()
        alert.update(update)
        self.hive_patches.append((request.match_info["id"], update))
        self.arrived.set()
        return web.Response(status=204)

    async def start(self) -> "HttpReceiver":
        app = web.Application()
        app.router.add_post("/thehive/api/v1/alert", self._hive)
        app.router.add_post("/thehive/api/v1/query", self._hive_query)
        app.router.add_patch("/thehive/api/v1/alert/{id}", self._hive_patch)
        app.router.add_post("/{tail:.*}", self._any)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def at(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]


@dataclass
class _MailHandler:
    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 OK"


class SmtpReceiver:
    """aiosmtpd in its own thread: STARTTLS required before AUTH, AUTH required before MAIL."""

    USER, PASSWORD = "forwarder", "s3cret-pass"

    def __init__(self, cert: Path, key: Path) -> None:
        self.handler = _MailHandler()
        self.port = free_port()
        self.logins: list[str] = []

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and data.login.decode() == self.USER \
                and data.password.decode() == self.PASSWORD
            if ok:
                self.logins.append(data.login.decode())
            return AuthResult(success=ok, handled=False)

        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, tls_context=server_tls(cert, key),
            require_starttls=True, auth_required=True, auth_require_tls=True, authenticator=authenticator,
            server_hostname="localhost")

    @property
    def messages(self) -> list[tuple[str, list[str], EmailMessage]]:
        return self.handler.messages

    def start(self) -> "SmtpReceiver":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


class SyslogReceiver:
    """Collects syslog messages: UDP datagrams, or octet-counted frames over TCP or TLS."""

    def __init__(self, transport: str, tls: ssl.SSLContext | None = None) -> None:
        self.transport = transport
        self.tls = tls
        self.port = free_port(socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM)
        self.messages: list[str] = []
        self.arrived = asyncio.Event()
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.Server | None = None
        self._conns: list[asyncio.StreamWriter] = []

    def _got(self, data: bytes) -> None:
        self.messages.append(data.decode("utf-8"))
        self.arrived.set()

    async def start(self) -> "SyslogReceiver":
        loop = asyncio.get_running_loop()
        if self.transport == "udp":
            receiver = self

            class Proto(asyncio.DatagramProtocol):
                def datagram_received(self, data: bytes, addr: Any) -> None:
                    receiver._got(data)

            self._udp, _ = await loop.create_datagram_endpoint(Proto, local_addr=("127.0.0.1", self.port))
        else:
            self._server = await asyncio.start_server(self._stream, "127.0.0.1", self.port, ssl=self.tls)
        return self

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.append(writer)
        try:
            while True:
                length = await reader.readuntil(b" ")  # RFC 6587 octet counting: "LEN SP MSG"
                self._got(await reader.readexactly(int(length[:-1])))
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._server is not None:
            self._server.close()
            for w in self._conns:
                w.close()
            await self._server.wait_closed()

    async def wait_for(self, n: int, timeout: float = 5.0) -> list[str]:
        async with asyncio.timeout(timeout):
            while len(self.messages) < n:
                self.arrived.clear()
                await self.arrived.wait()
        return self.messages
