"""The wire schema of agent events: the one home both agent and collector import.

Versioned (``schema``) and strict: unknown fields are rejected, so a buggy or
hostile agent cannot smuggle data the collector does not understand. Findings
on the wire are already redacted (masked + keyed hash); there is no field
that could carry a raw value.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

SCHEMA_VERSION = 1

Text = Annotated[str, msgspec.Meta(max_length=4096)]
ShortText = Annotated[str, msgspec.Meta(max_length=256)]
UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
Hex = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{16,128}$")]

EventKind = Literal[
    "file.write", "file.create", "file.move", "file.delete",
    "device.attach", "device.detach", "device.mount", "device.unmount", "device.write",
    "net.connection", "net.transfer", "net.forbidden_destination", "net.anomaly",
    "agent.heartbeat", "agent.degraded", "agent.overflow", "agent.gap", "agent.started",
    "agent.stopped", "agent.spool_drop",
]
Channel = Literal["local", "archive", "removable", "network", "agent"]


class WireLocation(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    path: Text
    start: int
    end: int
    line: int | None = None
    part: ShortText | None = None
    page: int | None = None
    sheet: ShortText | None = None
    cell: ShortText | None = None


class WireFinding(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    detector: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$", max_length=128)]
    severity: Literal["low", "medium", "high", "critical"]
    confidence: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
    location: WireLocation
    masked: Annotated[str, msgspec.Meta(max_length=512)]
    hash: Hex
    attributes: dict[str, Any] = {}


class Process(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    pid: int | None = None
    name: ShortText | None = None
    exe: Text | None = None
    user: ShortText | None = None


class FileInfo(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    path: Text
    size: int | None = None
    content_hash: Hex | None = None  # keyed hash of the content, for incident grouping
    media_type: ShortText | None = None
    disguised: bool = False
    old_path: Text | None = None


class Device(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    vendor_id: ShortText | None = None
    product_id: ShortText | None = None
    vendor: ShortText | None = None
    model: ShortText | None = None
    serial: ShortText | None = None
    fs_uuid: ShortText | None = None
    label: ShortText | None = None
    size: int | None = None
    mountpoint: Text | None = None
    policy: Literal["allow", "alert", "block"] | None = None


class Destination(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    host: ShortText | None = None
    ip: ShortText | None = None
    port: int | None = None
    category: ShortText | None = None
    bytes_sent: int | None = None


class Event(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    # a UUID in canonical lower-case form (str(uuid.uuid4())): the idempotency key of ingest
    id: Annotated[str, msgspec.Meta(pattern=UUID_PATTERN)]
    seq: Annotated[int, msgspec.Meta(ge=0)]
    time: Annotated[float, msgspec.Meta(ge=0, le=1e11)]  # seconds since the epoch, agent clock
    kind: EventKind
    channel: Channel = "local"
    host: ShortText
    user: ShortText | None = None
    process: Process | None = None
    file: FileInfo | None = None
    device: Device | None = None
    destination: Destination | None = None
    findings: Annotated[list[WireFinding], msgspec.Meta(max_length=10000)] = []
    attributes: dict[str, Any] = {}


#: event fields that identify rather than describe: never rewritten when names are masked
#: (detectors.redact), so ids, hashes and enumerations stay byte-exact
IDENTIFIERS = ("id", "content_hash", "hash", "masked", "detector", "kind", "channel", "severity", "policy")


class Batch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    schema: Literal[1] = SCHEMA_VERSION
    agent_id: ShortText
    events: Annotated[list[Event], msgspec.Meta(min_length=1, max_length=5000)]


class BatchAck(msgspec.Struct, kw_only=True):
    accepted: int
    duplicates: int
    acked: list[str]  # event ids the agent may delete from its spool


class EnrollRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/v1/agents/enroll``: exactly one of ``enroll_secret`` / ``enroll_token``."""

    enroll_secret: Annotated[str, msgspec.Meta(max_length=512)] | None = None
    enroll_token: Annotated[str, msgspec.Meta(max_length=512)] | None = None
    hostname: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    version: ShortText = ""
    os: ShortText = ""


class EnrollResponse(msgspec.Struct, kw_only=True):
    agent_id: str
    token: str  # shown once; the collector keeps only its hash
    heartbeat_interval: float


def encode(obj: Any) -> bytes:
    return msgspec.json.encode(obj)


def decode_batch(data: bytes) -> Batch:
    """Decode and validate a batch; raises ``msgspec.ValidationError`` with the path of the bad field."""
    return msgspec.json.decode(data, type=Batch)
