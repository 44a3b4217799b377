"""Shapes of the API's JSON answers, as msgspec structs: the OpenAPI document is generated from
these and from the request structs the handlers decode with, so the document cannot drift
from the code silently (tests/server/test_openapi.py validates live answers against it)."""

from __future__ import annotations

import functools
from operator import attrgetter
from typing import Any

import msgspec


def answer(record: Any, shape: type[msgspec.Struct], **computed: Any) -> dict[str, Any]:
    """The fields ``shape`` documents, read from a store record, ``computed`` ones given: handlers
    answer exactly what the document promises, with no second list of field names to keep in step."""
    names, read = _reader(shape, frozenset(computed))
    return dict(zip(names, read(record)), **computed)


@functools.cache
def _reader(shape: type[msgspec.Struct], computed: frozenset[str]) -> tuple[tuple[str, ...], attrgetter[Any]]:
    # one attrgetter per shape: alert pages read hundreds of records per answer
    names = tuple(n for n in shape.__struct_fields__ if n not in computed)
    return names, attrgetter(*names)


class Error(msgspec.Struct):
    error: str
    detail: str
    field: str | None = None


class Explanation(msgspec.Struct):
    factor: str
    detail: str
    points: int


class AlertOut(msgspec.Struct):
    id: int
    created_at: float
    updated_at: float
    time: float
    kind: str
    title: str
    agent_id: str | None
    event_id: str | None
    host: str | None
    user: str | None
    channel: str | None
    path: str | None
    device: dict[str, Any] | None
    destination: dict[str, Any] | None
    content_hash: str | None
    detectors: list[str]
    score: int
    level: str
    explanation: list[Explanation]
    status: str
    assignee: str | None
    note: str | None
    sla_deadline: float | None
    escalation_level: int
    acknowledged_at: float | None
    incident_id: int | None


class AuditOut(msgspec.Struct):
    id: int
    time: float
    actor: str
    action: str
    target_type: str
    target_id: str
    detail: dict[str, Any]


class AlertDetail(AlertOut):
    evidence: list[dict[str, Any]]
    audit: list[AuditOut]


class AlertPage(msgspec.Struct):
    items: list[AlertOut]
    next_before: int | None
    next_before_score: int | None = None  # sort=risk: pass as before_score with next_before


class IncidentOut(msgspec.Struct):
    id: int
    created_at: float
    updated_at: float
    host: str | None
    user: str | None
    content_hash: str | None
    device_key: str | None
    score: int
    level: str
    status: str
    alert_count: int
    steps: list[dict[str, Any]]
    explanation: list[Explanation]


class IncidentDetail(IncidentOut):
    alerts: list[AlertOut]


class IncidentPage(msgspec.Struct):
    items: list[IncidentOut]
    next_before: int | None


class AgentOut(msgspec.Struct):
    id: str
    hostname: str
    version: str
    os: str
    enrolled_at: float
    revoked_at: float | None
    last_seen: float | None
    state: str
    last_seq: int
    config_hash: str | None
    binary_hash: str | None
    pinned_config_hash: str | None
    pinned_binary_hash: str | None
    monitors: dict[str, str]
    spool_depth: int | None
    drops: int | None
    degraded: list[str]
    clock_skew: float | None  # agent clock minus collector clock at the last batch (s)


class AgentList(msgspec.Struct):
    items: list[AgentOut]


class RevokeOut(msgspec.Struct):
    id: str
    revoked: bool
    changed: bool | None = None


class TokenOut(msgspec.Struct):
    id: str
    created_at: float
    expires_at: float
    created_by: str
    used_at: float | None
    used_by: str | None
    revoked_at: float | None
    state: str


class NewTokenOut(TokenOut):
    token: str


class TokenList(msgspec.Struct):
    items: list[TokenOut]


class DeviceOut(msgspec.Struct):
    id: int
    key: str
    vendor_id: str | None
    product_id: str | None
    vendor: str | None
    model: str | None
    serial: str | None
    fs_uuid: str | None
    label: str | None
    first_seen: float
    last_seen: float
    last_host: str | None
    status: str
    note: str | None


class DeviceList(msgspec.Struct):
    items: list[DeviceOut]


class UserOut(msgspec.Struct):
    id: int
    username: str
    role: str
    created_at: float
    disabled: bool
    #: dashboard language the person chose with the switcher ("en", "zh_CN"); null: not chosen
    lang: str | None


class UserList(msgspec.Struct):
    items: list[UserOut]


class AuditList(msgspec.Struct):
    items: list[AuditOut]


class LoginOut(msgspec.Struct):
    token: str
    username: str
    role: str
    expires_in: float


class MeOut(msgspec.Struct):
    id: int
    username: str
    role: str


class Ok(msgspec.Struct):
    ok: bool


class ReviewFinding(msgspec.Struct):
    detector: str
    severity: str
    confidence: float
    path: str
    location: dict[str, Any]
    masked: str
    hash: str
    attributes: dict[str, Any] | None = None


class ReviewOut(msgspec.Struct):
    id: int
    name: str
    verdict: str
    document_hash: str
    size: int
    media_type: str | None
    error: str | None
    findings: list[ReviewFinding]


class Health(msgspec.Struct):
    status: str
