"""Versioned schema migrations, one text for both backends.

``{id}``, ``{real}`` and ``{bigint}`` are replaced per dialect. A migration is
applied once, in order, inside a transaction, and recorded in
``schema_migrations``; never edit an applied one, append a new version.
"""

from __future__ import annotations

TYPES: dict[str, dict[str, str]] = {
    "sqlite": {"id": "INTEGER PRIMARY KEY AUTOINCREMENT", "real": "REAL", "bigint": "INTEGER"},
    "postgresql": {"id": "BIGSERIAL PRIMARY KEY", "real": "DOUBLE PRECISION", "bigint": "BIGINT"},
}

#: text search over alerts (the ``q`` filter): an index per dialect
TEXT_SEARCH = {
    "sqlite": """
CREATE VIRTUAL TABLE alerts_text USING fts5(body, tokenize = 'trigram');
INSERT INTO alerts_text (rowid, body) SELECT id, title || ' ' || COALESCE(path, '') || ' ' || COALESCE(host, '')
    || ' ' || COALESCE("user", '') FROM alerts;
CREATE TRIGGER alerts_text_insert AFTER INSERT ON alerts BEGIN
    INSERT INTO alerts_text (rowid, body) VALUES (new.id, new.title || ' ' || COALESCE(new.path, '') || ' '
        || COALESCE(new.host, '') || ' ' || COALESCE(new."user", ''));
END;
CREATE TRIGGER alerts_text_delete AFTER DELETE ON alerts BEGIN
    DELETE FROM alerts_text WHERE rowid = old.id;
END;
CREATE TRIGGER alerts_text_update AFTER UPDATE OF title ON alerts BEGIN
    UPDATE alerts_text SET body = new.title || ' ' || COALESCE(new.path, '') || ' ' || COALESCE(new.host, '')
        || ' ' || COALESCE(new."user", '') WHERE rowid = new.id;
END
""",
    "postgresql": """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX alerts_text_trgm ON alerts USING gin ((title || ' ' || COALESCE(path, '') || ' ' || COALESCE(host, '')
    || ' ' || COALESCE("user", '')) gin_trgm_ops)
""",
}
ALERT_TEXT_SQL = "(title || ' ' || COALESCE(path, '') || ' ' || COALESCE(host, '') || ' ' || COALESCE(\"user\", ''))"

MIGRATIONS: list[tuple[int, str, str | dict[str, str]]] = [
    (1, "initial schema", """
CREATE TABLE users (
    id {id},
    username TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at {real} NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id {bigint} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at {real} NOT NULL,
    expires_at {real} NOT NULL
);
CREATE INDEX sessions_expires ON sessions(expires_at);
CREATE TABLE enroll_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_at {real} NOT NULL,
    expires_at {real} NOT NULL,
    created_by TEXT NOT NULL,
    used_at {real},
    used_by TEXT,
    revoked_at {real}
);
CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    hostname TEXT NOT NULL,
    version TEXT NOT NULL,
    os TEXT NOT NULL,
    enrolled_at {real} NOT NULL,
    revoked_at {real},
    last_seen {real},
    last_seq {bigint} NOT NULL DEFAULT -1,
    config_hash TEXT,
    binary_hash TEXT,
    pinned_config_hash TEXT,
    pinned_binary_hash TEXT,
    monitors TEXT NOT NULL DEFAULT '{{}}',
    spool_depth {bigint},
    drops {bigint},
    degraded TEXT NOT NULL DEFAULT '[]',
    offline_alerted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    seq {bigint} NOT NULL,
    time {real} NOT NULL,
    received_at {real} NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    host TEXT NOT NULL,
    "user" TEXT,
    path TEXT,
    content_hash TEXT,
    device_key TEXT,
    data TEXT NOT NULL
);
CREATE INDEX events_agent_seq ON events(agent_id, seq);
CREATE INDEX events_received ON events(received_at);
CREATE INDEX events_content ON events(content_hash);
CREATE TABLE incidents (
    id {id},
    created_at {real} NOT NULL,
    updated_at {real} NOT NULL,
    host TEXT,
    "user" TEXT,
    content_hash TEXT,
    device_key TEXT,
    score INTEGER NOT NULL,
    level TEXT NOT NULL,
    status TEXT NOT NULL,
    alert_count INTEGER NOT NULL,
    steps TEXT NOT NULL,
    explanation TEXT NOT NULL
);
CREATE INDEX incidents_content ON incidents(content_hash, updated_at);
CREATE INDEX incidents_device ON incidents(device_key, updated_at);
CREATE TABLE alerts (
    id {id},
    created_at {real} NOT NULL,
    updated_at {real} NOT NULL,
    time {real} NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    agent_id TEXT,
    event_id TEXT,
    host TEXT,
    "user" TEXT,
    channel TEXT,
    path TEXT,
    device TEXT,
    destination TEXT,
    content_hash TEXT,
    detectors TEXT NOT NULL,
    score INTEGER NOT NULL,
    level TEXT NOT NULL,
    explanation TEXT NOT NULL,
    evidence TEXT NOT NULL,
    status TEXT NOT NULL,
    assignee TEXT,
    note TEXT,
    sla_deadline {real},
    escalation_level INTEGER NOT NULL DEFAULT 0,
    acknowledged_at {real},
    incident_id {bigint}
);
-- keyset pagination is ORDER BY id DESC; each filter column leads an index ending in id
CREATE INDEX alerts_level ON alerts(level, id);
CREATE INDEX alerts_status ON alerts(status, id);
CREATE INDEX alerts_host ON alerts(host, id);
CREATE INDEX alerts_user ON alerts("user", id);
CREATE INDEX alerts_time ON alerts(time);
CREATE INDEX alerts_incident ON alerts(incident_id);
CREATE INDEX alerts_content ON alerts(content_hash);
CREATE INDEX alerts_sla ON alerts(sla_deadline);
CREATE TABLE alert_detectors (
    alert_id {bigint} NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    detector TEXT NOT NULL,
    PRIMARY KEY (detector, alert_id)
);
CREATE INDEX alert_detectors_alert ON alert_detectors(alert_id);
CREATE TABLE devices (
    id {id},
    key TEXT NOT NULL UNIQUE,
    vendor_id TEXT,
    product_id TEXT,
    vendor TEXT,
    model TEXT,
    serial TEXT,
    fs_uuid TEXT,
    label TEXT,
    first_seen {real} NOT NULL,
    last_seen {real} NOT NULL,
    last_host TEXT,
    status TEXT NOT NULL DEFAULT 'known',
    note TEXT
);
CREATE TABLE audit (
    id {id},
    time {real} NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_target ON audit(target_type, target_id, id);
CREATE TABLE reviews (
    id {id},
    time {real} NOT NULL,
    actor TEXT NOT NULL,
    doc_hash TEXT NOT NULL,
    verdict TEXT NOT NULL,
    finding_count INTEGER NOT NULL,
    size {bigint} NOT NULL
);
CREATE TABLE outbox (
    id {id},
    key TEXT NOT NULL UNIQUE,
    destination TEXT NOT NULL,
    alert_id {bigint},
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at {real} NOT NULL,
    last_error TEXT,
    created_at {real} NOT NULL,
    delivered_at {real},
    lease_until {real} NOT NULL DEFAULT 0,
    worker TEXT
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
"""),
    (2, "alert text search", TEXT_SEARCH),
    (3, "agent clock skew", """
ALTER TABLE agents ADD COLUMN clock_skew {real};
ALTER TABLE agents ADD COLUMN clock_skew_since {real};
ALTER TABLE agents ADD COLUMN clock_skew_alerted INTEGER NOT NULL DEFAULT 0
"""),
    (4, "risk order, overdue and overview indexes", """
-- risk order (score DESC, id DESC): one index range per (status, level) pair, merged
CREATE INDEX alerts_risk ON alerts(status, level, score, id);
-- overdue alerts by deadline, per status; the SLA loop reads only alerts not escalated yet
DROP INDEX alerts_sla;
CREATE INDEX alerts_sla ON alerts(status, sla_deadline);
CREATE INDEX alerts_sla_unescalated ON alerts(status, sla_deadline) WHERE escalation_level = 0;
-- the overview's per-day counts by level read the index alone
DROP INDEX alerts_time;
CREATE INDEX alerts_time ON alerts(time, level)
"""),
    # NULL: the person never chose; the dashboard then follows the lw_lang cookie / Accept-Language
    (5, "user language preference", """
ALTER TABLE users ADD COLUMN lang TEXT
"""),
    # the removable-device verdict the agent applied (configs/devices.yaml: allow / alert / block), from
    # the wire's device.policy; device events are found per device key through a small partial index
    (6, "device policy verdict", """
ALTER TABLE devices ADD COLUMN policy TEXT;
ALTER TABLE devices ADD COLUMN policy_rule TEXT;
ALTER TABLE devices ADD COLUMN policy_at {real};
ALTER TABLE devices ADD COLUMN policy_host TEXT;
CREATE INDEX events_device ON events(device_key, time) WHERE device_key IS NOT NULL
"""),
]


def statements(version_sql: str | dict[str, str], dialect: str) -> list[str]:
    if isinstance(version_sql, dict):  # dialect-specific: used as is (triggers hold ';' inside BEGIN..END)
        text = version_sql[dialect]
        parts, current = [], []
        for line in text.strip().splitlines():
            current.append(line)
            stripped = line.strip()
            if stripped.endswith(";") and not _inside_trigger(current) or stripped == "END;":
                parts.append("\n".join(current).rstrip(";"))
                current = []
        if current:
            parts.append("\n".join(current).rstrip(";"))
        return [p.strip() for p in parts if p.strip()]
    sql = version_sql.format(**TYPES[dialect])
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _inside_trigger(lines: list[str]) -> bool:
    return lines[0].lstrip().upper().startswith("CREATE TRIGGER") and lines[-1].strip() != "END;"
