"""The one store interface of the collector, and the records it holds.

Two backends implement it with the same SQL (``server/store/sql.py``): SQLite
(WAL, default) and PostgreSQL (asyncpg). Everything the dashboard and the
forwarders read or write goes through :class:`Store`; nobody else writes SQL.

Times are float seconds since the epoch (UTC). JSON-ish fields are plain
Python dicts/lists. Records hold no raw sensitive value: evidence is the
redacted findings of the wire (masked rendering + keyed hash).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["admin", "analyst", "viewer"]
ROLES: tuple[str, ...] = ("admin", "analyst", "viewer")
Level = Literal["low", "medium", "high", "critical"]
LEVELS: tuple[str, ...] = ("low", "medium", "high", "critical")
LEVEL_RANK: dict[str, int] = {name: i for i, name in enumerate(LEVELS)}
AlertStatus = Literal["new", "acknowledged", "in_progress", "resolved", "false_positive"]
ALERT_STATUSES: tuple[str, ...] = ("new", "acknowledged", "in_progress", "resolved", "false_positive")
OPEN_STATUSES: tuple[str, ...] = ("new", "acknowledged", "in_progress")
DeviceStatus = Literal["known", "lost", "revoked"]
#: verdicts of the agent's device policy (configs/devices.yaml), as the wire's device.policy carries them
DEVICE_POLICIES: tuple[str, ...] = ("allow", "alert", "block")
OutboxStatus = Literal["pending", "delivered", "dead"]


@dataclass(slots=True)
class User:
    id: int
    username: str
    role: str
    password_hash: str
    created_at: float
    disabled: bool = False
    #: dashboard language the person chose (a supported locale, e.g. "zh_CN"); None: not chosen
    lang: str | None = None


@dataclass(slots=True)
class Session:
    token_hash: str
    user_id: int
    created_at: float
    expires_at: float


@dataclass(slots=True)
class EnrollToken:
    id: str  # public handle (list/revoke); the token itself is only shown once
    token_hash: str
    created_at: float
    expires_at: float
    created_by: str
    used_at: float | None = None
    used_by: str | None = None  # agent id
    revoked_at: float | None = None


@dataclass(slots=True)
class Agent:
    id: str
    token_hash: str
    hostname: str
    version: str
    os: str
    enrolled_at: float
    revoked_at: float | None = None
    last_seen: float | None = None
    last_seq: int = -1
    config_hash: str | None = None
    binary_hash: str | None = None
    pinned_config_hash: str | None = None  # first-seen pinning (docs/collector.md)
    pinned_binary_hash: str | None = None
    monitors: dict[str, str] = field(default_factory=dict)
    spool_depth: int | None = None
    drops: int | None = None
    degraded: list[str] = field(default_factory=list)
    offline_alerted: bool = False
    #: agent clock minus collector clock (s) at its last batch, from the batch's newest event
    clock_skew: float | None = None
    clock_skew_since: float | None = None  # collector time the current out-of-tolerance streak began
    clock_skew_alerted: bool = False  # one agent.clock_skew alert per streak


@dataclass(slots=True)
class EventRecord:
    """One stored event (the validated wire event, plus where it came from)."""

    id: str
    agent_id: str
    seq: int
    time: float
    received_at: float
    kind: str
    channel: str
    host: str
    user: str | None
    path: str | None
    content_hash: str | None
    device_key: str | None
    data: dict[str, Any]  # the whole wire event as JSON


@dataclass(slots=True)
class Alert:
    id: int
    created_at: float
    updated_at: float
    time: float  # of the event that raised it
    kind: str  # event kind, or collector kinds agent.offline / agent.tamper / device.lost_seen
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
    explanation: list[dict[str, Any]]  # [{"factor", "detail", "points"}], sums to score
    evidence: list[dict[str, Any]]  # redacted findings (masked + keyed hash)
    status: str = "new"
    assignee: str | None = None
    note: str | None = None
    sla_deadline: float | None = None
    escalation_level: int = 0
    acknowledged_at: float | None = None
    incident_id: int | None = None


@dataclass(slots=True)
class Incident:
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
    steps: list[dict[str, Any]]  # [{"time", "kind", "channel", "alert_id"|None, "event_id"}]
    explanation: list[dict[str, Any]]


@dataclass(slots=True)
class Device:
    id: int
    key: str  # vendor_id:product_id:serial, or fs:<uuid>
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
    status: str = "known"  # the collector's mark (analysts): known / lost / revoked
    note: str | None = None
    #: the agent's latest verdict under its device policy (allow / alert / block), the policy rule
    #: that decided it, when (agent clock) and on which host; None: no agent reported one yet
    policy: str | None = None
    policy_rule: str | None = None
    policy_at: float | None = None
    policy_host: str | None = None


@dataclass(slots=True)
class AuditEntry:
    id: int
    time: float
    actor: str
    action: str
    target_type: str
    target_id: str
    detail: dict[str, Any]


@dataclass(slots=True)
class Review:
    id: int
    time: float
    actor: str
    doc_hash: str
    verdict: str
    finding_count: int
    size: int


@dataclass(slots=True)
class OutboxItem:
    id: int | None
    key: str  # idempotency key, unique
    destination: str
    alert_id: int | None
    payload: dict[str, Any]
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: float = 0.0
    last_error: str | None = None
    created_at: float = 0.0
    delivered_at: float | None = None


@dataclass(slots=True)
class AlertFilter:
    level: list[str] | None = None
    status: list[str] | None = None
    host: str | None = None
    user: str | None = None
    detector: str | None = None  # exact id, or "family.*"
    kind: str | None = None
    incident_id: int | None = None
    since: float | None = None  # event time
    until: float | None = None
    q: str | None = None  # substring of title, path, host, user
    deadline_before: float | None = None  # sla_deadline <= this (overdue, with open statuses)
    #: "id": newest first (cursor before_id); "risk": score DESC, id DESC (cursor before_score + before_id)
    order: str = "id"
    before_id: int | None = None  # keyset cursor: alerts with id < before_id (risk: (score, id) < (before_score, before_id))
    before_score: int | None = None
    limit: int = 50


ALERT_ORDERS: tuple[str, ...] = ("id", "risk")
#: columns the overview's top-N lists group by
TOP_COLUMNS: tuple[str, ...] = ("host", "user", "detector")


@dataclass(slots=True)
class AlertPage:
    items: list[Alert]
    next_cursor: int | None  # pass as before_id for the next page
    next_score: int | None = None  # risk order: pass as before_score with it


class Store(Protocol):
    """What every backend offers. All methods are coroutines unless noted."""

    dialect: str  # "sqlite" | "postgresql"

    # lifecycle -------------------------------------------------------------
    async def open(self) -> None: ...  # connects and applies migrations
    async def close(self) -> None: ...
    async def ping(self) -> bool: ...
    def transaction(self) -> AbstractAsyncContextManager["Store"]:
        """A view of this store whose calls all run in one transaction (nested: same tx)."""
        ...

    async def lock_key(self, key: str) -> None:
        """Inside a transaction: serialise concurrent transactions on ``key`` (PG advisory lock)."""
        ...
    async def schema_version(self) -> int: ...

    # people ----------------------------------------------------------------
    async def create_user(self, username: str, role: str, password_hash: str, now: float) -> User: ...
    async def get_user(self, user_id: int) -> User | None: ...
    async def get_user_by_name(self, username: str) -> User | None: ...
    async def list_users(self) -> list[User]: ...
    async def update_user(self, user_id: int, *, role: str | None = None, password_hash: str | None = None,
                          disabled: bool | None = None) -> None: ...
    async def set_user_lang(self, user_id: int, lang: str | None) -> bool:
        """Save (or clear, with None) the person's dashboard language; False if there is no such user."""
        ...
    async def create_session(self, session: Session) -> None: ...
    async def get_session(self, token_hash: str) -> Session | None: ...
    async def delete_session(self, token_hash: str) -> None: ...
    async def delete_user_sessions(self, user_id: int) -> int: ...
    async def purge_sessions(self, now: float) -> int: ...

    # agents and enrollment -------------------------------------------------
    async def create_enroll_token(self, token: EnrollToken) -> None: ...
    async def list_enroll_tokens(self) -> list[EnrollToken]: ...
    async def revoke_enroll_token(self, token_id: str, now: float) -> bool: ...
    async def consume_enroll_token(self, token_hash: str, agent_id: str, now: float) -> bool:
        """Atomically mark a valid (unused, unexpired, unrevoked) token used; False otherwise."""
        ...
    async def create_agent(self, agent: Agent) -> None: ...
    async def get_agent(self, agent_id: str) -> Agent | None: ...
    async def get_agent_by_token(self, token_hash: str) -> Agent | None: ...
    async def list_agents(self) -> list[Agent]: ...
    async def revoke_agent(self, agent_id: str, now: float) -> bool: ...
    async def update_agent(self, agent: Agent) -> None: ...  # health/seq/pins, by id
    async def lock_agent(self, agent_id: str) -> Agent | None:
        """Inside a transaction: the agent row, locked against concurrent ingest (PG: FOR UPDATE)."""
        ...
    async def list_silent_agents(self, seen_before: float) -> list[Agent]: ...

    # events ----------------------------------------------------------------
    async def insert_events(self, events: list[EventRecord]) -> set[str]:
        """Insert, ignoring ids already stored; returns the ids that were new."""
        ...
    async def get_event(self, event_id: str) -> EventRecord | None: ...
    async def count_events(self) -> int: ...

    # alerts ----------------------------------------------------------------
    async def insert_alert(self, alert: Alert) -> Alert: ...  # returns it with its id
    async def get_alert(self, alert_id: int) -> Alert | None: ...
    async def list_alerts(self, flt: AlertFilter) -> AlertPage: ...
    async def update_alert(self, alert: Alert) -> None: ...  # all mutable fields, by id
    async def count_alerts_by_level(self) -> dict[str, int]: ...
    async def count_alerts(self, flt: AlertFilter) -> int:
        """Exact number of alerts matching the filter (cursor and limit ignored)."""
        ...
    async def count_alerts_grouped(self, flt: AlertFilter, column: str) -> dict[str, int]:
        """Exact counts of the filter's alerts per ``level`` or ``status``."""
        ...
    async def alerts_per_day(self, flt: AlertFilter, *, start: float, days: int) -> dict[str, list[int]]:
        """Alerts of the filter per level and per day (event time; day i = [start + i*86400, ...))."""
        ...
    async def top_alert_values(self, flt: AlertFilter, column: str, n: int) -> list[tuple[str, int]]:
        """The ``n`` most frequent hosts, users or detector ids among the filter's alerts, with counts."""
        ...
    async def count_recent_alerts(self, *, since: float, host: str | None, user: str | None,
                                  content_hash: str | None, detectors: list[str]) -> int:
        """Earlier alerts for the same user (or host) that share the content or a detector."""
        ...
    async def list_overdue(self, now: float, limit: int = 100, *, statuses: tuple[str, ...] = OPEN_STATUSES,
                           escalated: bool | None = None) -> list[Alert]:
        """Alerts in ``statuses`` (default: open) whose sla_deadline has passed, oldest deadline first;
        ``escalated=False`` skips alerts already escalated (the SLA loop), ``True`` keeps only those."""
        ...
    async def escalate(self, alert_id: int, new_level: int, note: str, now: float, actor: str = "system") -> bool:
        """Raise escalation_level (never lowers) and audit it; False if not raised."""
        ...

    # incidents -------------------------------------------------------------
    async def find_open_incident(self, *, host: str | None, user: str | None, content_hash: str | None,
                                 device_key: str | None, since: float) -> Incident | None: ...
    async def open_incident_keys(self, *, content_hashes: list[str], device_keys: list[str],
                                 since: float) -> set[str]:
        """The given content hashes / device keys that an open incident holds (a cheap pre-check)."""
        ...
    async def insert_incident(self, incident: Incident) -> Incident: ...
    async def update_incident(self, incident: Incident) -> None: ...
    async def get_incident(self, incident_id: int) -> Incident | None: ...
    async def list_incidents(self, *, status: str | None = None, before_id: int | None = None,
                             limit: int = 50) -> list[Incident]: ...

    # devices ---------------------------------------------------------------
    async def upsert_device(self, device: Device) -> Device:
        """Insert, or refresh last_seen/last_host/descriptive fields; returns the stored row (status kept).

        The policy verdict is the record's if it has one, else that of the latest stored ``device.*``
        event of this key that carries ``device.policy``; it replaces the stored one unless that is newer."""
        ...
    async def get_device(self, device_id: int) -> Device | None: ...
    async def list_devices(self) -> list[Device]: ...
    async def set_device_status(self, device_id: int, status: str, note: str | None) -> bool: ...

    # audit and reviews -----------------------------------------------------
    async def add_audit(self, actor: str, action: str, target_type: str, target_id: str,
                        detail: dict[str, Any], now: float) -> AuditEntry: ...
    async def list_audit(self, *, target_type: str | None = None, target_id: str | None = None,
                         limit: int = 100) -> list[AuditEntry]: ...
    async def add_review(self, actor: str, doc_hash: str, verdict: str, finding_count: int, size: int,
                         now: float) -> Review: ...

    # outbox (forwarding engineer) -----------------------------------------
    async def outbox_enqueue(self, items: list[OutboxItem]) -> int: ...
    async def outbox_claim(self, now: float, limit: int, lease: float, worker: str) -> list[OutboxItem]: ...
    async def outbox_delivered(self, item_id: int, now: float) -> None: ...
    async def outbox_failed(self, item_id: int, error: str, next_attempt_at: float | None, now: float) -> None: ...
    async def outbox_delivered_many(self, deliveries: list[tuple[int, float]]) -> None:
        """``outbox_delivered`` for a batch of ``(item_id, delivered_at)``."""
        ...
    async def outbox_failed_many(self, failures: list[tuple[int, str, float | None]], now: float) -> None:
        """``outbox_failed`` for a batch of ``(item_id, error, next_attempt_at)``; None => dead."""
        ...
    async def outbox_release(self, releases: list[tuple[int, float]], note: str | None, now: float) -> None:
        """Hand claimed rows back, due at ``next_attempt_at``, without counting the claim as an attempt
        (a row deferred by a rate limit was never tried); ``note`` becomes ``last_error`` if given."""
        ...
    async def outbox_list(self, status: str | None, limit: int) -> list[OutboxItem]: ...
    async def outbox_retry(self, item_id: int, now: float) -> bool: ...
    async def outbox_fold(self, items: list[OutboxItem], now: float) -> list[int]: ...
    async def outbox_page(self, *, status: str | None = None, destination: str | None = None,
                          before_id: int | None = None, limit: int = 100) -> list[OutboxItem]: ...
    async def outbox_retry_many(self, now: float, *, ids: list[int] | None = None,
                                destination: str | None = None) -> list[int]: ...
    async def outbox_depth(self) -> dict[str, int]: ...
    async def outbox_backlog(self) -> dict[tuple[str, str], int]:
        """Rows still pending or dead, per ``(destination, status)`` (read from the due index)."""
        ...

    # retention -------------------------------------------------------------
    async def purge_before(self, *, events_before: float, alerts_before: float, batch: int = 5000) -> dict[str, int]:
        """Delete events and closed alerts older than the cut-offs, with the settled outbox rows and
        orphaned incidents of the alert cut-off and the reviews of the event cut-off, in small batches.
        The audit trail is kept: it is the record of who did what."""
        ...
