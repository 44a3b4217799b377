"""Syslog (RFC 5424) over UDP (RFC 5426), TCP (RFC 6587 octet counting) or TLS (RFC 5425).

The MSG part is either the OCSF JSON document (UTF-8 with BOM, as RFC 5424
asks) or CEF for ArcSight and QRadar. Structured data carries the alert id,
level, risk and idempotency key under our SD-ID ``leakwarden@32473`` (32473 is
the private enterprise number RFC 5612 reserves for documentation examples).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import socket
import ssl
from dataclasses import dataclass
from typing import Any

from leakwarden.errors import DeliveryError
from server.forward import escaping
from server.forward.alert import AlertView
from server.forward.destination import COMMON_KEYS, Delivery, Resources
from server.forward.options import Section
from server.forward.schema import PRODUCT, to_ocsf
from server.forward.templates import Message
from server.forward.transport import tls_context

SD_ID = "leakwarden@32473"
FACILITIES = {name: code for code, name in enumerate(
    ["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
     "ntp", "security", "console", "solaris-cron", "local0", "local1", "local2", "local3", "local4", "local5",
     "local6", "local7"])}
# Alert level -> syslog severity: critical 2 (Critical), high 3 (Error), medium 4 (Warning), low 5 (Notice).
SYSLOG_SEVERITY = {"critical": 2, "high": 3, "medium": 4, "low": 5}
CEF_SEVERITY = {"low": 3, "medium": 5, "high": 8, "critical": 10}
BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class Settings:
    host: str
    port: int
    transport: str  # udp | tcp | tls
    format: str  # json | cef
    facility: int
    app_name: str
    hostname: str
    max_message: int
    timeout: float
    verify: bool
    ca_file: str | None


def parse(s: Section) -> Settings:
    s.only(COMMON_KEYS | {"host", "port", "transport", "format", "facility", "app_name", "hostname",
                          "max_message", "timeout", "verify", "ca_file"})
    transport = s.str("transport", "udp", choices=("udp", "tcp", "tls"))
    facility = s.str("facility", "local0", choices=tuple(FACILITIES))
    return Settings(
        host=s.str("host"),
        port=s.int("port", 6514 if transport == "tls" else 514, min=1, max=65535),
        transport=transport,
        format=s.str("format", "json", choices=("json", "cef")),
        facility=FACILITIES[facility],
        app_name=escaping.printable_ascii(s.str("app_name", "leakwarden"), 48),
        hostname=escaping.printable_ascii(s.str("hostname", socket.gethostname()), 255),
        # RFC 5426: UDP receivers must take 480 bytes and should take 2048; TCP/TLS frames may be larger.
        max_message=s.int("max_message", 2048 if transport == "udp" else 65536, min=480, max=1_000_000),
        timeout=s.duration("timeout", 10.0, min=0.1),
        verify=s.bool("verify", True),
        ca_file=s.str("ca_file", None),
    )


def cef(alert: AlertView, message: Message, key: str) -> str:
    """ArcSight CEF:0 with standard dictionary keys; custom strings labelled."""
    h, v = escaping.cef_header, escaping.cef_value
    ext: list[tuple[str, str]] = [
        ("rt", str(int(alert.time * 1000))),
        ("externalId", alert.id),
        ("dvchost", alert.host),
        ("act", "escalated" if alert.escalated else "alert"),
        ("cat", ",".join(alert.families)),
        ("cnt", str(alert.count)),
        ("cs1Label", "detectors"), ("cs1", ",".join(alert.detectors)),
        ("cs2Label", "level"), ("cs2", alert.level),
        ("cn1Label", "riskScore"), ("cn1", str(alert.risk_score)),
        ("cs5Label", "idempotencyKey"), ("cs5", key),
    ]
    if alert.user:
        ext.append(("duser", alert.user))
    if alert.path:
        ext += [("fname", alert.file_name or alert.path), ("filePath", alert.path)]
    if alert.content_hash:
        ext.append(("fileHash", alert.content_hash))
    if alert.file_size is not None:
        ext.append(("fsize", str(alert.file_size)))
    masked = "; ".join(f.masked for f in alert.findings if f.masked)
    if masked:
        ext += [("cs3Label", "maskedValues"), ("cs3", masked)]
    if alert.device_label:
        ext += [("cs4Label", "removableDevice"), ("cs4", alert.device_label)]
    dest = alert.destination
    if dest.get("host"):
        ext.append(("dhost", str(dest["host"])))
    if dest.get("ip"):
        try:
            ip = ipaddress.ip_address(str(dest["ip"]))
            ext.append(("dst" if ip.version == 4 else "c6a3", str(ip)))
        except ValueError:
            ext.append(("dhost", str(dest["ip"])))
    if dest.get("port") is not None:
        ext.append(("dpt", str(dest["port"])))
    if alert.url:
        ext += [("cs6Label", "url"), ("cs6", alert.url)]
    ext.append(("msg", escaping.truncate(message.body, 1023)))
    signature = alert.detectors[0] if alert.detectors else "leakwarden.alert"
    header = "|".join(["CEF:0", h(PRODUCT["vendor_name"]), h(PRODUCT["name"]), h(PRODUCT["version"]),
                       h(signature), h(escaping.truncate(message.title, 512)), str(CEF_SEVERITY.get(alert.level, 5))])
    return header + "|" + " ".join(f"{k}={v(val)}" for k, val in ext)


def _fit_json(doc: dict[str, Any], limit: int) -> str:
    """Serialise, dropping the bulkiest parts until the message fits a datagram."""
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    for trim in (lambda d: d["finding_info"].pop("desc", None),
                 lambda d: d["unmapped"]["leakwarden"].pop("explanation", None),
                 lambda d: d["unmapped"]["leakwarden"].pop("findings", None),
                 lambda d: d["data_security"].pop("pattern_match", None)):
        if len(text.encode()) <= limit:
            break
        trim(doc)
        doc["unmapped"]["leakwarden"]["truncated"] = True
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text


def build(settings: Settings, alert: AlertView, message: Message, key: str) -> dict[str, Any]:
    pri = settings.facility * 8 + SYSLOG_SEVERITY.get(alert.level, 5)
    stamp = dt.datetime.fromtimestamp(alert.updated_at or alert.time, dt.timezone.utc).isoformat(timespec="milliseconds")
    stamp = stamp.replace("+00:00", "Z")
    msgid = "escalation" if alert.escalated else "alert"
    sd = (f'[{SD_ID} alert="{escaping.sd_value(alert.id)}" level="{alert.level}" '
          f'risk="{alert.risk_score}" count="{alert.count}" key="{escaping.sd_value(key)}"]')
    head = f"<{pri}>1 {stamp} {settings.hostname} {settings.app_name} - {msgid} {sd} "
    room = settings.max_message - len(head.encode())
    if settings.format == "cef":
        body = cef(alert, message, key)
        raw = body.encode()
        if len(raw) > room:
            body = raw[:room].decode("utf-8", "ignore")
    else:
        body = BOM + _fit_json(to_ocsf(alert, title=message.title, description=message.body, uid=key),
                               room - len(BOM.encode()))
    return {"message": head + body}


class Sender:
    def __init__(self, settings: Settings, resources: Resources) -> None:
        self.settings = settings
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._udp: asyncio.DatagramTransport | None = None

    async def send(self, payload: dict[str, Any], delivery: Delivery) -> None:
        data = payload["message"].encode("utf-8")
        s = self.settings
        try:
            async with self._lock:
                if s.transport == "udp":
                    await self._send_udp(data)
                else:
                    await self._send_stream(b"%d " % len(data) + data)
        except (OSError, asyncio.TimeoutError, ssl.SSLError) as e:
            raise DeliveryError(f"syslog {s.transport} {s.host}:{s.port}: {type(e).__name__}: {e}") from e

    async def _send_udp(self, data: bytes) -> None:
        if self._udp is None or self._udp.is_closing():
            loop = asyncio.get_running_loop()
            self._udp, _ = await loop.create_datagram_endpoint(
                asyncio.DatagramProtocol, remote_addr=(self.settings.host, self.settings.port))
        self._udp.sendto(data)

    async def _send_stream(self, frame: bytes) -> None:
        s = self.settings
        for attempt in (1, 2):  # a kept-alive connection may have been closed by the receiver meanwhile
            if self._reader is not None and self._reader.at_eof():
                # The receiver closed its end: writing would "succeed" into a dead socket and be lost.
                await self._drop()
            if self._writer is None or self._writer.is_closing():
                ctx = tls_context(s.verify, s.ca_file) if s.transport == "tls" else None
                self._reader, self._writer = await asyncio.wait_for(
                    asyncio.open_connection(s.host, s.port, ssl=ctx, server_hostname=s.host if ctx else None),
                    s.timeout)
            try:
                self._writer.write(frame)
                await asyncio.wait_for(self._writer.drain(), s.timeout)
                return
            except (OSError, ssl.SSLError):
                await self._drop()
                if attempt == 2:
                    raise

    async def _drop(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except (OSError, ssl.SSLError):
                pass
            self._reader = self._writer = None

    async def close(self) -> None:
        await self._drop()
        if self._udp is not None:
            self._udp.close()
            self._udp = None
