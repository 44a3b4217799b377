"""The alert as forwarding sees it: one immutable, redacted view.

The collector's store hands alerts over in its own shape (a dataclass or a
row mapping). Forwarding reads them once, through :meth:`AlertView.from_alert`,
so that every payload builder works on the same typed fields and none of them
depends on the store's internals.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

LEVELS: tuple[str, ...] = ("low", "medium", "high", "critical")
STATUSES: tuple[str, ...] = ("new", "acknowledged", "in_progress", "resolved", "false_positive")


def level_rank(level: str) -> int:
    """0 for low .. 3 for critical; unknown levels rank lowest."""
    try:
        return LEVELS.index(level)
    except ValueError:
        return 0


def raise_level(level: str) -> str:
    """The next higher level (critical stays critical)."""
    return LEVELS[min(level_rank(level) + 1, len(LEVELS) - 1)]


@dataclass(frozen=True, slots=True)
class FindingView:
    detector: str
    severity: str
    confidence: float
    masked: str
    hash: str
    path: str | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class AlertView:
    """Everything a forwarder may say about an alert; never a raw value."""

    id: str
    time: float
    host: str
    level: str
    risk_score: int
    detectors: tuple[str, ...]
    status: str = "new"
    title: str | None = None  # the collector's own one-line summary
    kind: str | None = None
    channel: str | None = None
    user: str | None = None
    agent_id: str | None = None
    path: str | None = None
    content_hash: str | None = None
    file_size: int | None = None
    media_type: str | None = None
    device: Mapping[str, Any] = field(default_factory=dict)
    destination: Mapping[str, Any] = field(default_factory=dict)
    findings: tuple[FindingView, ...] = ()
    explanation: tuple[Mapping[str, Any], ...] = ()
    incident_id: str | None = None
    assignee: str | None = None
    sla_deadline: float | None = None
    escalation_level: int = 0
    updated_at: float | None = None
    count: int = 1  # occurrences folded into this delivery by deduplication
    escalated: bool = False  # this delivery is an SLA escalation
    url: str | None = None  # link to the alert in the dashboard

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(sorted({d.split(".", 1)[0] for d in self.detectors}))

    @property
    def file_name(self) -> str | None:
        if not self.path:
            return None
        # Archive members are named outer.zip!inner/path: the name is the innermost.
        tail = self.path.rsplit("!", 1)[-1]
        return tail.replace("\\", "/").rsplit("/", 1)[-1] or tail

    @property
    def device_label(self) -> str | None:
        d = self.device
        if not d:
            return None
        parts = [str(d[k]) for k in ("vendor", "model") if d.get(k)]
        if d.get("serial"):
            parts.append(f"serial {d['serial']}")
        if not parts and d.get("label"):
            parts.append(str(d["label"]))
        return " ".join(parts) or None

    @property
    def destination_label(self) -> str | None:
        d = self.destination
        if not d:
            return None
        name = d.get("host") or d.get("ip")
        if not name:
            return None
        return f"{name}:{d['port']}" if d.get("port") else str(name)

    def facts(self) -> list[tuple[str, str]]:
        """The label/value lines a chat or mail message shows: level, risk and host, then what is known."""
        facts = [("Level", self.level), ("Risk", f"{self.risk_score}/100"), ("Host", self.host)]
        for label, value in (("User", self.user), ("File", self.path), ("Device", self.device_label),
                             ("Destination", self.destination_label), ("Status", self.status)):
            if value:
                facts.append((label, value))
        if self.count > 1:
            facts.append(("Seen", f"{self.count} times"))
        return facts

    def dedup_key(self) -> str:
        """Repeats of one another: the same thing happening again, not merely the same host.

        Same host, event kind, detectors, content (keyed content hash, or path), channel,
        destination (host, address, port, category) and removable device. Agent health alerts
        (``agent.*``) carry their substance in their title and explanation (a gap's range, a
        silence's length): they fold only when those are identical too.
        """
        basis: list[Any] = [self.host, self.kind or "", sorted(self.detectors),
                            self.content_hash or self.path or "", self.channel or "",
                            _identity(self.destination, DESTINATION_IDENTITY), _identity(self.device, DEVICE_IDENTITY)]
        if (self.kind or "").startswith("agent."):
            basis += [self.title or "", [str(e.get("detail", e.get("factor", ""))) for e in self.explanation]]
        return hashlib.sha256(json.dumps(basis, ensure_ascii=True, default=str).encode()).hexdigest()[:32]

    def with_(self, **changes: Any) -> "AlertView":
        return replace(self, **changes)

    @classmethod
    def from_alert(cls, alert: Any) -> "AlertView":
        """Read the collector's alert (dataclass, object or mapping)."""
        get = _getter(alert)
        file = _mapping(get("file"))
        findings = tuple(_finding(f) for f in (get("findings") or get("evidence") or ()))
        detectors = get("detectors") or [f.detector for f in findings]
        explanation = get("explanation") or ()
        if isinstance(explanation, str):
            explanation = ({"factor": explanation},)
        created = get("time") or get("created_at") or get("first_seen") or 0.0
        return cls(
            id=str(get("id")),
            time=float(created),
            host=str(get("host") or ""),
            level=str(get("level") or "low"),
            risk_score=int(get("risk_score") or get("score") or 0),
            detectors=tuple(str(d) for d in dict.fromkeys(detectors)),
            status=str(get("status") or "new"),
            title=_opt_str(get("title")),
            kind=_opt_str(get("kind")),
            channel=_opt_str(get("channel")),
            user=_opt_str(get("user")),
            agent_id=_opt_str(get("agent_id")),
            path=_opt_str(get("path") or file.get("path")),
            content_hash=_opt_str(get("content_hash") or file.get("content_hash")),
            file_size=_opt_int(get("file_size") or file.get("size")),
            media_type=_opt_str(get("media_type") or file.get("media_type")),
            device=_mapping(get("device")),
            destination=_mapping(get("destination")),
            findings=findings,
            explanation=tuple(_mapping(e) for e in explanation),
            incident_id=_opt_str(get("incident_id")),
            assignee=_opt_str(get("assignee")),
            sla_deadline=_opt_float(get("sla_deadline")),
            escalation_level=int(get("escalation_level") or 0),
            updated_at=_opt_float(get("updated_at")),
            count=int(get("count") or 1),
        )


# What tells one network destination / removable medium from another (sizes and mount points do not).
DESTINATION_IDENTITY = ("host", "ip", "port", "category")
DEVICE_IDENTITY = ("vendor_id", "product_id", "vendor", "model", "serial", "fs_uuid", "label", "key")


def _identity(mapping: Mapping[str, Any], keys: tuple[str, ...]) -> list[Any]:
    return [[k, str(mapping[k])] for k in keys if mapping.get(k) not in (None, "")]


def _getter(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return obj.get
    return lambda name: getattr(obj, name, None)


def _mapping(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return {k: v for k, v in obj.items() if v is not None}
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: getattr(obj, f.name) for f in fields(obj) if getattr(obj, f.name) is not None}
    if hasattr(obj, "__struct_fields__"):  # msgspec.Struct
        return {k: getattr(obj, k) for k in obj.__struct_fields__ if getattr(obj, k) is not None}
    return {}


def _finding(obj: Any) -> FindingView:
    get = _getter(obj)
    location = _mapping(get("location"))
    severity = get("severity")
    severity = getattr(severity, "label", severity)
    return FindingView(
        detector=str(get("detector")),
        severity=str(severity or "low"),
        confidence=float(get("confidence") or 0.0),
        masked=str(get("masked") or ""),
        hash=str(get("hash") or ""),
        path=_opt_str(get("path") or location.get("path")),
        line=_opt_int(location.get("line") if location else get("line")),
    )


def _opt_str(v: Any) -> str | None:
    return None if v is None or v == "" else str(v)


def _opt_int(v: Any) -> int | None:
    return None if v is None else int(v)


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)
