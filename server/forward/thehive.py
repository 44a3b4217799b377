"""TheHive 5 alert API with observables: one TheHive alert per LeakWarden alert.

``sourceRef`` is stable per LeakWarden alert (``lw-<alert id>``), not per delivery:
TheHive refuses a second alert with the same (type, source, sourceRef). The
first delivery creates it (``POST /api/v1/alert``); a later one (level rose,
SLA escalation, repeat count) or a retry after a lost answer meets that
refusal, finds the alert by sourceRef (``POST /api/v1/query``) and updates its
title, description, severity and tags (``PATCH /api/v1/alert/{id}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from leakwarden.errors import DeliveryError
from server.forward import escaping
from server.forward.alert import AlertView
from server.forward.destination import COMMON_KEYS, Delivery
from server.forward.options import Section
from server.forward.templates import Message
from server.forward.transport import JsonPostSender, post

SEVERITY = {"low": 1, "medium": 2, "high": 3, "critical": 4}
ALERT_TYPE = "leakwarden"
ALREADY_EXISTS = ("already exist", "AlreadyExists", "CreateError")
UPDATED_FIELDS = ("title", "description", "severity", "tags")  # what a later delivery changes


def source_ref(alert_id: str) -> str:
    """The one TheHive sourceRef of a LeakWarden alert, whatever the delivery."""
    return f"lw-{alert_id}"


@dataclass(frozen=True, slots=True)
class Settings:
    url: str  # base URL, e.g. https://thehive.example:9000
    api_key: str
    organisation: str | None
    source: str
    tlp: int
    pap: int
    tags: tuple[str, ...]
    timeout: float
    verify: bool
    ca_file: str | None


def parse(s: Section) -> Settings:
    s.only(COMMON_KEYS | {"url", "api_key", "api_key_file", "api_key_env", "organisation", "source", "tlp", "pap",
                          "tags", "timeout", "verify", "ca_file"})
    url = s.str("url").rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise s.error("url", "must be an http:// or https:// URL")
    return Settings(
        url=url, api_key=s.secret("api_key"), organisation=s.str("organisation", None),
        source=s.str("source", "LeakWarden"), tlp=s.int("tlp", 2, min=0, max=4), pap=s.int("pap", 2, min=0, max=3),
        tags=s.str_list("tags", ()), timeout=s.duration("timeout", 15.0, min=0.1), verify=s.bool("verify", True),
        ca_file=s.str("ca_file", None),
    )


def observables(alert: AlertView) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"dataType": "hostname", "data": alert.host, "message": "endpoint"}]
    if alert.user:
        out.append({"dataType": "other", "data": alert.user, "tags": ["user"], "message": "user"})
    if alert.file_name:
        out.append({"dataType": "filename", "data": alert.file_name, "message": alert.path})
    if alert.content_hash:
        out.append({"dataType": "hash", "data": alert.content_hash, "tags": ["hmac-sha256"],
                    "message": "keyed content hash (HMAC-SHA256 with the organisation key)"})
    if alert.device_label:
        out.append({"dataType": "other", "data": alert.device_label, "tags": ["removable-device"],
                    "message": "removable device"})
    dest = alert.destination
    if dest.get("ip"):
        out.append({"dataType": "ip", "data": str(dest["ip"]), "message": "destination"})
    if dest.get("host"):
        out.append({"dataType": "fqdn", "data": str(dest["host"]), "message": "destination"})
    return out


def build(settings: Settings, alert: AlertView, message: Message, key: str) -> dict[str, Any]:
    tags = [*settings.tags, f"level:{alert.level}", *(f"detector:{d}" for d in alert.detectors)]
    if alert.escalated:
        tags.append("escalated")
    payload: dict[str, Any] = {
        "type": ALERT_TYPE,
        "source": settings.source,
        "sourceRef": source_ref(alert.id),
        "title": escaping.truncate(message.title, 512),
        # TheHive renders descriptions as Markdown: names from endpoints must not become links or HTML.
        "description": escaping.markdown(message.body),
        "severity": SEVERITY.get(alert.level, 2),
        "date": int(alert.time * 1000),
        "tags": tags,
        "tlp": settings.tlp,
        "pap": settings.pap,
        "observables": observables(alert),
    }
    if alert.url:
        payload["externalLink"] = alert.url
    return payload


class Sender(JsonPostSender):
    accept = ALREADY_EXISTS

    def url(self) -> str:
        return f"{self.settings.url}/api/v1/alert"

    def headers(self, body: bytes, delivery: Delivery) -> dict[str, str]:
        headers = super().headers(body, delivery)
        headers["Authorization"] = f"Bearer {self.settings.api_key}"
        if self.settings.organisation:
            headers["X-Organisation"] = self.settings.organisation
        return headers

    async def _call(self, method: str, url: str, body: dict[str, Any], delivery: Delivery,
                    accept: tuple[str, ...] = ()) -> tuple[int, str]:
        data = msgspec.json.encode(body)
        return await post(self.http, url, data, self.headers(data, delivery), timeout=self.settings.timeout,
                          ssl_ctx=self.ssl, accept=accept, method=method, max_text=1 << 20)

    async def send(self, payload: dict[str, Any], delivery: Delivery) -> None:
        status, _ = await self._call("POST", self.url(), payload, delivery, accept=ALREADY_EXISTS)
        if 200 <= status < 300:
            return  # created
        # It exists (an earlier delivery of this alert, or this one whose answer was lost): update it.
        hive_id = await self._find(payload, delivery)
        update = {k: payload[k] for k in UPDATED_FIELDS if k in payload}
        await self._call("PATCH", f"{self.settings.url}/api/v1/alert/{hive_id}", update, delivery)

    async def _find(self, payload: dict[str, Any], delivery: Delivery) -> str:
        query = {"query": [
            {"_name": "listAlert"},
            {"_name": "filter", "_and": [{"_eq": {"_field": f, "_value": payload[f]}}
                                         for f in ("type", "source", "sourceRef")]},
            {"_name": "page", "from": 0, "to": 1},
        ]}
        _, text = await self._call("POST", f"{self.settings.url}/api/v1/query", query, delivery)
        try:
            found = msgspec.json.decode(text)
            return str(found[0]["_id"])
        except (msgspec.DecodeError, LookupError, TypeError) as e:
            # Refused as a duplicate yet not found: TheHive is still indexing, or another organisation's.
            raise DeliveryError(f"TheHive refused a duplicate sourceRef {payload.get('sourceRef')} but the query "
                                f"did not find it: {text[:200]}", retryable=True) from e
