"""The store, written once over :class:`~server.store.executor.Executor` for both backends.

Dialect differences are few and marked where they occur: bulk insert of
events, row locks and ``FOR UPDATE SKIP LOCKED`` (PostgreSQL), ILIKE.
"""

from __future__ import annotations

import time as _time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import msgspec

from leakwarden.errors import StoreError
from server.grading import loaded as loaded_explanation
from server.grading import stored as stored_explanation
from server.store.executor import Executor, Row
from server.store.interface import (
    ALERT_STATUSES, DEVICE_POLICIES, LEVELS, OPEN_STATUSES, Agent, Alert, AlertFilter, AlertPage, AuditEntry, Device, EnrollToken,
    EventRecord, Incident, OutboxItem, Review, Session, User,
)
from server.store.migrations import ALERT_TEXT_SQL, MIGRATIONS, statements

_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder()


def dumps(value: Any) -> str:
    return _enc.encode(value).decode()


def loads(text: str | None) -> Any:
    return None if text is None else _dec.decode(text)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def detector_keys(detectors: list[str]) -> list[str]:
    """Index keys of an alert: each detector id, and each family as ``family.*``."""
    return sorted(set(detectors) | {d.split(".", 1)[0] + ".*" for d in detectors})


def _marks(n: int) -> str:
    return ",".join("?" * n)


REPETITION_LOOKBACK = 200
AGENT_COLS = ("id, token_hash, hostname, version, os, enrolled_at, revoked_at, last_seen, last_seq, config_hash, "
              "binary_hash, pinned_config_hash, pinned_binary_hash, monitors, spool_depth, drops, degraded, "
              "offline_alerted, clock_skew, clock_skew_since, clock_skew_alerted")
ALERT_COLS = ('id, created_at, updated_at, time, kind, title, agent_id, event_id, host, "user", channel, path, device, '
              "destination, content_hash, detectors, score, level, explanation, evidence, status, assignee, note, "
              "sla_deadline, escalation_level, acknowledged_at, incident_id")
INCIDENT_COLS = ('id, created_at, updated_at, host, "user", content_hash, device_key, score, level, status, '
                 "alert_count, steps, explanation")
DEVICE_COLS = ("id, key, vendor_id, product_id, vendor, model, serial, fs_uuid, label, first_seen, last_seen, "
               "last_host, status, note, policy, policy_rule, policy_at, policy_host")
#: the latest policy verdict among a device's stored events (dialect: JSON access to events.data)
DEVICE_VERDICT = {
    "sqlite": ("SELECT json_extract(data, '$.device.policy') AS policy, json_extract(data, '$.attributes.rule') AS rule, "
               "time, host FROM events WHERE device_key = ? AND device_key IS NOT NULL "
               "AND json_extract(data, '$.device.policy') IS NOT NULL ORDER BY time DESC LIMIT 1"),
    "postgresql": ("SELECT (data::jsonb)->'device'->>'policy' AS policy, (data::jsonb)->'attributes'->>'rule' AS rule, "
                   "time, host FROM events WHERE device_key = ? AND device_key IS NOT NULL "
                   "AND (data::jsonb)->'device'->>'policy' IS NOT NULL ORDER BY time DESC LIMIT 1"),
}
#: a verdict replaces the stored one only if it is at least as recent (a drained spool must not undo a newer one)
_NEWER_VERDICT = "excluded.policy IS NOT NULL AND (devices.policy_at IS NULL OR excluded.policy_at >= devices.policy_at)"
OUTBOX_COLS = ("id, key, destination, alert_id, payload, status, attempts, next_attempt_at, last_error, created_at, "
               "delivered_at")
EVENT_COLS = 'id, agent_id, seq, time, received_at, kind, channel, host, "user", path, content_hash, device_key, data'


def _user(r: Row) -> User:
    return User(id=r["id"], username=r["username"], role=r["role"], password_hash=r["password_hash"],
                created_at=r["created_at"], disabled=bool(r["disabled"]), lang=r["lang"])


def _agent(r: Row) -> Agent:
    return Agent(id=r["id"], token_hash=r["token_hash"], hostname=r["hostname"], version=r["version"], os=r["os"],
                 enrolled_at=r["enrolled_at"], revoked_at=r["revoked_at"], last_seen=r["last_seen"],
                 last_seq=r["last_seq"], config_hash=r["config_hash"], binary_hash=r["binary_hash"],
                 pinned_config_hash=r["pinned_config_hash"], pinned_binary_hash=r["pinned_binary_hash"],
                 monitors=loads(r["monitors"]) or {}, spool_depth=r["spool_depth"], drops=r["drops"],
                 degraded=loads(r["degraded"]) or [], offline_alerted=bool(r["offline_alerted"]),
                 clock_skew=r["clock_skew"], clock_skew_since=r["clock_skew_since"],
                 clock_skew_alerted=bool(r["clock_skew_alerted"]))


def _alert(r: Row) -> Alert:
    return Alert(id=r["id"], created_at=r["created_at"], updated_at=r["updated_at"], time=r["time"], kind=r["kind"],
                 title=r["title"], agent_id=r["agent_id"], event_id=r["event_id"], host=r["host"], user=r["user"],
                 channel=r["channel"], path=r["path"], device=loads(r["device"]),
                 destination=loads(r["destination"]), content_hash=r["content_hash"],
                 detectors=loads(r["detectors"]), score=r["score"], level=r["level"],
                 explanation=loaded_explanation(loads(r["explanation"])), evidence=loads(r["evidence"]), status=r["status"],
                 assignee=r["assignee"], note=r["note"], sla_deadline=r["sla_deadline"],
                 escalation_level=r["escalation_level"], acknowledged_at=r["acknowledged_at"],
                 incident_id=r["incident_id"])


def _incident(r: Row) -> Incident:
    return Incident(id=r["id"], created_at=r["created_at"], updated_at=r["updated_at"], host=r["host"],
                    user=r["user"], content_hash=r["content_hash"], device_key=r["device_key"], score=r["score"],
                    level=r["level"], status=r["status"], alert_count=r["alert_count"], steps=loads(r["steps"]),
                    explanation=loaded_explanation(loads(r["explanation"])))


def _device(r: Row) -> Device:
    return Device(**{k: r[k] for k in DEVICE_COLS.split(", ")})


def _outbox(r: Row) -> OutboxItem:
    return OutboxItem(id=r["id"], key=r["key"], destination=r["destination"], alert_id=r["alert_id"],
                      payload=loads(r["payload"]), status=r["status"], attempts=r["attempts"],
                      next_attempt_at=r["next_attempt_at"], last_error=r["last_error"], created_at=r["created_at"],
                      delivered_at=r["delivered_at"])


def _audit(r: Row) -> AuditEntry:
    return AuditEntry(id=r["id"], time=r["time"], actor=r["actor"], action=r["action"], target_type=r["target_type"],
                      target_id=r["target_id"], detail=loads(r["detail"]))


def _event(r: Row) -> EventRecord:
    return EventRecord(id=r["id"], agent_id=r["agent_id"], seq=r["seq"], time=r["time"],
                       received_at=r["received_at"], kind=r["kind"], channel=r["channel"], host=r["host"],
                       user=r["user"], path=r["path"], content_hash=r["content_hash"], device_key=r["device_key"],
                       data=loads(r["data"]))


class SqlStore:
    """One implementation of :class:`server.store.interface.Store` for SQLite and PostgreSQL."""

    def __init__(self, x: Executor, root: "SqlStore | None" = None) -> None:
        self._x = x
        self._root = root or self
        self.dialect = x.dialect
        self.pg = x.dialect == "postgresql"

    # lifecycle ---------------------------------------------------------------
    async def open(self) -> None:
        await self._x.open()  # type: ignore[attr-defined]
        await self.migrate()

    async def migrate(self) -> None:
        if self.pg:
            # several collectors may start at once against one database
            async with self.transaction() as tx:
                await tx._x.execute("SELECT pg_advisory_xact_lock(7316001)")
                await tx._migrate()
        else:
            async with self.transaction() as tx:
                await tx._migrate()

    async def _migrate(self) -> None:
        await self._x.execute(f"CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                              f"name TEXT NOT NULL, applied_at {'DOUBLE PRECISION' if self.pg else 'REAL'} NOT NULL)")
        done = {r["version"] for r in await self._x.fetch("SELECT version FROM schema_migrations")}
        for version, name, sql in MIGRATIONS:
            if version in done:
                continue
            for stmt in statements(sql, self.dialect):
                await self._x.execute(stmt)
            await self._x.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                                  version, name, _time.time())

    async def schema_version(self) -> int:
        return int(await self._x.fetchval("SELECT MAX(version) FROM schema_migrations") or 0)

    async def close(self) -> None:
        await self._x.close()

    async def ping(self) -> bool:
        try:
            return await self._x.fetchval("SELECT 1") == 1
        except Exception:  # noqa: BLE001  # health check: any failure means "not healthy"
            return False

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator["SqlStore"]:
        if self._x.in_transaction:
            yield self
            return
        async with self._x.transaction() as tx:
            yield SqlStore(tx, self._root)

    async def lock_key(self, key: str) -> None:
        """Serialise concurrent transactions on one key (PG advisory lock; SQLite has one writer)."""
        if self.pg and self._x.in_transaction:
            await self._x.execute("SELECT pg_advisory_xact_lock(hashtext(?))", key)

    # people ------------------------------------------------------------------
    async def create_user(self, username: str, role: str, password_hash: str, now: float) -> User:
        rows = await self._x.write_fetch(
            "INSERT INTO users (username, role, password_hash, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (username) DO NOTHING RETURNING id", username, role, password_hash, now)
        if not rows:
            raise StoreError(f"user {username!r} exists")
        return User(id=rows[0]["id"], username=username, role=role, password_hash=password_hash, created_at=now)

    async def get_user(self, user_id: int) -> User | None:
        r = await self._x.fetchrow("SELECT * FROM users WHERE id = ?", user_id)
        return _user(r) if r else None

    async def get_user_by_name(self, username: str) -> User | None:
        r = await self._x.fetchrow("SELECT * FROM users WHERE username = ?", username)
        return _user(r) if r else None

    async def list_users(self) -> list[User]:
        return [_user(r) for r in await self._x.fetch("SELECT * FROM users ORDER BY username")]

    async def update_user(self, user_id: int, *, role: str | None = None, password_hash: str | None = None,
                          disabled: bool | None = None) -> None:
        sets, args = [], []
        for col, value in (("role", role), ("password_hash", password_hash),
                           ("disabled", None if disabled is None else int(disabled))):
            if value is not None:
                sets.append(f"{col} = ?")
                args.append(value)
        if sets:
            await self._x.execute(f"UPDATE users SET {', '.join(sets)} WHERE id = ?", *args, user_id)

    async def set_user_lang(self, user_id: int, lang: str | None) -> bool:
        return await self._x.execute("UPDATE users SET lang = ? WHERE id = ?", lang, user_id) > 0

    async def create_session(self, session: Session) -> None:
        await self._x.execute("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                              session.token_hash, session.user_id, session.created_at, session.expires_at)

    async def get_session(self, token_hash: str) -> Session | None:
        r = await self._x.fetchrow("SELECT * FROM sessions WHERE token_hash = ?", token_hash)
        return Session(r["token_hash"], r["user_id"], r["created_at"], r["expires_at"]) if r else None

    async def delete_session(self, token_hash: str) -> None:
        await self._x.execute("DELETE FROM sessions WHERE token_hash = ?", token_hash)

    async def purge_sessions(self, now: float) -> int:
        return await self._x.execute("DELETE FROM sessions WHERE expires_at < ?", now)

    # enrollment and agents ---------------------------------------------------
    async def create_enroll_token(self, token: EnrollToken) -> None:
        await self._x.execute(
            "INSERT INTO enroll_tokens (id, token_hash, created_at, expires_at, created_by) VALUES (?, ?, ?, ?, ?)",
            token.id, token.token_hash, token.created_at, token.expires_at, token.created_by)

    async def list_enroll_tokens(self) -> list[EnrollToken]:
        rows = await self._x.fetch("SELECT * FROM enroll_tokens ORDER BY created_at DESC")
        return [EnrollToken(**{k: r[k] for k in ("id", "token_hash", "created_at", "expires_at", "created_by",
                                                   "used_at", "used_by", "revoked_at")}) for r in rows]

    async def revoke_enroll_token(self, token_id: str, now: float) -> bool:
        return await self._x.execute("UPDATE enroll_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                                     now, token_id) > 0

    async def consume_enroll_token(self, token_hash: str, agent_id: str, now: float) -> bool:
        # one UPDATE with every condition: two agents racing for one token cannot both win
        return await self._x.execute(
            "UPDATE enroll_tokens SET used_at = ?, used_by = ? WHERE token_hash = ? AND used_at IS NULL "
            "AND revoked_at IS NULL AND expires_at > ?", now, agent_id, token_hash, now) > 0

    async def create_agent(self, agent: Agent) -> None:
        await self._x.execute(
            "INSERT INTO agents (id, token_hash, hostname, version, os, enrolled_at) VALUES (?, ?, ?, ?, ?, ?)",
            agent.id, agent.token_hash, agent.hostname, agent.version, agent.os, agent.enrolled_at)

    async def get_agent(self, agent_id: str) -> Agent | None:
        r = await self._x.fetchrow(f"SELECT {AGENT_COLS} FROM agents WHERE id = ?", agent_id)
        return _agent(r) if r else None

    async def lock_agent(self, agent_id: str) -> Agent | None:
        lock = " FOR UPDATE" if self.pg else ""
        r = await self._x.fetchrow(f"SELECT {AGENT_COLS} FROM agents WHERE id = ?{lock}", agent_id)
        return _agent(r) if r else None

    async def get_agent_by_token(self, token_hash: str) -> Agent | None:
        r = await self._x.fetchrow(f"SELECT {AGENT_COLS} FROM agents WHERE token_hash = ?", token_hash)
        return _agent(r) if r else None

    async def list_agents(self) -> list[Agent]:
        return [_agent(r) for r in await self._x.fetch(f"SELECT {AGENT_COLS} FROM agents ORDER BY hostname, id")]

    async def revoke_agent(self, agent_id: str, now: float) -> bool:
        return await self._x.execute("UPDATE agents SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                                     now, agent_id) > 0

    async def update_agent(self, a: Agent) -> None:
        await self._x.execute(
            "UPDATE agents SET hostname = ?, version = ?, os = ?, last_seen = ?, last_seq = ?, config_hash = ?, "
            "binary_hash = ?, pinned_config_hash = ?, pinned_binary_hash = ?, monitors = ?, spool_depth = ?, "
            "drops = ?, degraded = ?, offline_alerted = ?, clock_skew = ?, clock_skew_since = ?, "
            "clock_skew_alerted = ? WHERE id = ?",
            a.hostname, a.version, a.os, a.last_seen, a.last_seq, a.config_hash, a.binary_hash,
            a.pinned_config_hash, a.pinned_binary_hash, dumps(a.monitors), a.spool_depth, a.drops,
            dumps(a.degraded), int(a.offline_alerted), a.clock_skew, a.clock_skew_since, int(a.clock_skew_alerted),
            a.id)

    async def list_silent_agents(self, seen_before: float) -> list[Agent]:
        rows = await self._x.fetch(
            f"SELECT {AGENT_COLS} FROM agents WHERE revoked_at IS NULL AND offline_alerted = 0 "
            "AND COALESCE(last_seen, enrolled_at) < ?", seen_before)
        return [_agent(r) for r in rows]

    # events ------------------------------------------------------------------
    async def insert_events(self, events: list[EventRecord]) -> set[str]:
        if not events:
            return set()
        cols = [(e.id, e.agent_id, e.seq, e.time, e.received_at, e.kind, e.channel, e.host, e.user, e.path,
                 e.content_hash, e.device_key, dumps(e.data)) for e in events]
        if self.pg:
            # one statement, race-free across collector processes: the conflict decides who is new
            rows = await self._x.write_fetch(
                f"INSERT INTO events ({EVENT_COLS}) SELECT * FROM unnest(?::text[], ?::text[], ?::bigint[], "
                "?::float8[], ?::float8[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], "
                "?::text[], ?::text[]) ON CONFLICT (id) DO NOTHING RETURNING id",
                *[list(col) for col in zip(*cols)])
            return {r["id"] for r in rows}
        async with self.transaction() as tx:  # SQLite: the writer lock makes check-then-insert safe
            ids = [e.id for e in events]
            known = {r["id"] for r in await tx._x.fetch(f"SELECT id FROM events WHERE id IN ({_marks(len(ids))})",
                                                         *ids)}
            seen: set[str] = set()
            new = []
            for row in cols:
                if row[0] not in known and row[0] not in seen:
                    seen.add(row[0])
                    new.append(row)
            await tx._x.executemany(f"INSERT INTO events ({EVENT_COLS}) VALUES ({_marks(13)})", new)
            return seen

    async def get_event(self, event_id: str) -> EventRecord | None:
        r = await self._x.fetchrow(f"SELECT {EVENT_COLS} FROM events WHERE id = ?", event_id)
        return _event(r) if r else None

    async def count_events(self) -> int:
        return int(await self._x.fetchval("SELECT COUNT(*) FROM events"))

    # alerts ------------------------------------------------------------------
    def _alert_values(self, a: Alert) -> tuple[Any, ...]:
        return (a.created_at, a.updated_at, a.time, a.kind, a.title, a.agent_id, a.event_id, a.host, a.user,
                a.channel, a.path, None if a.device is None else dumps(a.device),
                None if a.destination is None else dumps(a.destination), a.content_hash, dumps(a.detectors),
                a.score, a.level, dumps(stored_explanation(a.explanation)), dumps(a.evidence), a.status, a.assignee, a.note,
                a.sla_deadline, a.escalation_level, a.acknowledged_at, a.incident_id)

    async def insert_alert(self, alert: Alert) -> Alert:
        cols = ALERT_COLS.split(", ", 1)[1]
        async with self.transaction() as tx:
            rows = await tx._x.write_fetch(f"INSERT INTO alerts ({cols}) VALUES ({_marks(26)}) RETURNING id",
                                           *self._alert_values(alert))
            alert.id = rows[0]["id"]
            if alert.detectors:
                await tx._x.executemany("INSERT INTO alert_detectors (alert_id, detector) VALUES (?, ?)",
                                        [(alert.id, d) for d in detector_keys(alert.detectors)])
        return alert

    async def get_alert(self, alert_id: int) -> Alert | None:
        r = await self._x.fetchrow(f"SELECT {ALERT_COLS} FROM alerts WHERE id = ?", alert_id)
        return _alert(r) if r else None

    async def update_alert(self, a: Alert) -> None:
        await self._x.execute(
            "UPDATE alerts SET updated_at = ?, title = ?, score = ?, level = ?, explanation = ?, status = ?, "
            "assignee = ?, note = ?, sla_deadline = ?, escalation_level = ?, acknowledged_at = ?, incident_id = ? "
            "WHERE id = ?", a.updated_at, a.title, a.score, a.level, dumps(stored_explanation(a.explanation)), a.status, a.assignee,
            a.note, a.sla_deadline, a.escalation_level, a.acknowledged_at, a.incident_id, a.id)

    def _alert_where(self, flt: AlertFilter, *, level_status: bool = True,
                     detector: bool = False) -> tuple[list[str], list[Any]]:
        """WHERE terms of a filter (no cursor). ``detector``: as an EXISTS probe of the
        (detector, alert_id) key, for queries that do not walk that key themselves."""
        where: list[str] = []
        args: list[Any] = []
        if level_status and flt.level:
            where.append(f"level IN ({_marks(len(flt.level))})")
            args += flt.level
        if level_status and flt.status:
            where.append(f"status IN ({_marks(len(flt.status))})")
            args += flt.status
        for col, value in (("host", flt.host), ('"user"', flt.user), ("kind", flt.kind),
                           ("incident_id", flt.incident_id)):
            if value is not None:
                where.append(f"{col} = ?")
                args.append(value)
        if flt.since is not None:
            where.append("time >= ?")
            args.append(float(flt.since))
        if flt.until is not None:
            where.append("time < ?")
            args.append(float(flt.until))
        if flt.deadline_before is not None:
            where.append("sla_deadline <= ?")
            args.append(float(flt.deadline_before))
        if flt.q:
            pattern = f"%{_escape_like(flt.q)}%"
            if self.pg:  # the expression of the trigram index (migration 2)
                where.append(f"{ALERT_TEXT_SQL} ILIKE ? ESCAPE '\\'")
                args.append(pattern)
            elif len(flt.q) >= 3 and not set(flt.q) & {"%", "_", "\\"}:
                # the FTS5 trigram index answers LIKE for 3+ characters (it knows no ESCAPE)
                where.append("id IN (SELECT rowid FROM alerts_text WHERE body LIKE ?)")
                args.append(f"%{flt.q}%")
            else:
                where.append("(title || ' ' || COALESCE(path, '') || ' ' || COALESCE(host, '') || ' ' || "
                             "COALESCE(\"user\", '')) LIKE ? ESCAPE '\\'")
                args.append(pattern)
        if detector and flt.detector:
            where.append("EXISTS (SELECT 1 FROM alert_detectors d WHERE d.detector = ? AND d.alert_id = a.id)")
            args.append(flt.detector)
        return where, args

    async def list_alerts(self, flt: AlertFilter) -> AlertPage:
        if flt.order == "risk":
            return await self._list_by_risk(flt)
        if flt.order != "id":
            raise ValueError(f"unknown alert order {flt.order!r}")
        where, args = self._alert_where(flt)
        if flt.before_id is not None:
            where.append("id < ?")
            args.append(flt.before_id)
        if flt.detector:
            # walk the (detector, alert_id) key backwards: newest first, stops after one page.
            # Families are stored as their own key ("pii.*"), so they walk the same way.
            cols = ", ".join(f"a.{c.strip()}" for c in ALERT_COLS.split(","))
            # (the filter columns exist only in alerts, so they need no table prefix)
            sql = (f"SELECT {cols} FROM alert_detectors d JOIN alerts a ON a.id = d.alert_id WHERE d.detector = ?"
                   + "".join(f" AND {w}" for w in where) + " ORDER BY d.alert_id DESC LIMIT ?")
            args.insert(0, flt.detector)
        else:
            sql = f"SELECT {ALERT_COLS} FROM alerts a"
            if where:
                sql += " WHERE " + " AND ".join(where)
            sql += " ORDER BY id DESC LIMIT ?"
        rows = await self._x.fetch(sql, *args, flt.limit + 1)
        items = [_alert(r) for r in rows[:flt.limit]]
        return AlertPage(items=items, next_cursor=items[-1].id if len(rows) > flt.limit and items else None)

    async def _list_by_risk(self, flt: AlertFilter) -> AlertPage:
        """Strict risk order across pages: ``ORDER BY score DESC, id DESC``, keyset ``(score, id) < (s, i)``.

        Without a selective filter the query is one arm per (status, level) pair, each an index range
        on ``alerts(status, level, score, id)`` read backwards for one page, merged: a page costs
        at most 20 short range scans at any depth. With a host, user, kind, incident or text filter
        the matching rows are few; one query lets the planner take that filter's index and sort them.
        """
        if (flt.before_id is None) != (flt.before_score is None):
            raise ValueError("the risk cursor needs both before_score and before_id")
        keyset: list[str] = []
        kargs: list[Any] = []
        if flt.before_id is not None:
            keyset.append("(score, id) < (?, ?)")
            kargs += [flt.before_score, flt.before_id]
        n = flt.limit + 1
        order = " ORDER BY score DESC, id DESC LIMIT ?"
        selective = (flt.host, flt.user, flt.kind, flt.incident_id, flt.q or None)
        if any(v is not None for v in selective):
            where, args = self._alert_where(flt, detector=True)
            where += keyset
            sql = f"SELECT {ALERT_COLS} FROM alerts a" + (" WHERE " + " AND ".join(where) if where else "") + order
            rows = await self._x.fetch(sql, *args, *kargs, n)
        else:
            where, args = self._alert_where(flt, level_status=False, detector=True)
            where = ["status = ?", "level = ?", *where, *keyset]
            arm = f"SELECT {ALERT_COLS} FROM alerts a WHERE " + " AND ".join(where) + order
            arms, all_args = [], []
            for status in flt.status or ALERT_STATUSES:
                for level in flt.level or LEVELS:
                    arms.append(f"SELECT * FROM ({arm}) AS arm{len(arms)}")
                    all_args += [status, level, *args, *kargs, n]
            rows = await self._x.fetch(" UNION ALL ".join(arms) + order, *all_args, n)
        items = [_alert(r) for r in rows[:flt.limit]]
        more = len(rows) > flt.limit and items
        return AlertPage(items=items, next_cursor=items[-1].id if more else None,
                         next_score=items[-1].score if more else None)

    async def count_alerts_by_level(self) -> dict[str, int]:
        rows = await self._x.fetch("SELECT level, COUNT(*) AS n FROM alerts GROUP BY level")
        return {r["level"]: int(r["n"]) for r in rows}

    def _filtered(self, flt: AlertFilter) -> tuple[str, list[Any]]:
        where, args = self._alert_where(flt, detector=True)
        return "FROM alerts a" + (" WHERE " + " AND ".join(where) if where else ""), args

    async def count_alerts(self, flt: AlertFilter) -> int:
        frm, args = self._filtered(flt)
        return int(await self._x.fetchval(f"SELECT COUNT(*) {frm}", *args))

    async def count_alerts_grouped(self, flt: AlertFilter, column: str) -> dict[str, int]:
        if column not in ("level", "status"):
            raise ValueError(f"cannot group alerts by {column!r}")
        frm, args = self._filtered(flt)
        rows = await self._x.fetch(f"SELECT {column} AS k, COUNT(*) AS n {frm} GROUP BY {column}", *args)
        return {r["k"]: int(r["n"]) for r in rows}

    async def alerts_per_day(self, flt: AlertFilter, *, start: float, days: int) -> dict[str, list[int]]:
        end = start + days * 86400.0
        since = max(start, flt.since) if flt.since is not None else start
        until = min(end, flt.until) if flt.until is not None else end
        frm, args = self._filtered(replace(flt, since=since, until=until))
        # time >= start here, so SQLite's truncating CAST is a floor; PostgreSQL's CAST would round
        day = "FLOOR((time - ?) / 86400)" if self.pg else "CAST((time - ?) / 86400 AS INTEGER)"
        rows = await self._x.fetch(f"SELECT {day} AS day, level, COUNT(*) AS n {frm} GROUP BY 1, 2",
                                   float(start), *args)
        out = {lv: [0] * days for lv in LEVELS}
        for r in rows:
            i = int(r["day"])
            if 0 <= i < days and r["level"] in out:
                out[r["level"]][i] += int(r["n"])
        return out

    async def top_alert_values(self, flt: AlertFilter, column: str, n: int) -> list[tuple[str, int]]:
        frm, args = self._filtered(flt)
        # Grouping by an expression, not the bare column: otherwise SQLite walks the column's own index
        # in order (every alert, 1,000,000 table lookups) instead of the filter's range (the recent days).
        if column in ("host", "user"):
            col = f'a."{column}"'
            sql = (f"SELECT COALESCE({col}, '') AS v, COUNT(*) AS n {frm}"
                   f"{' AND' if 'WHERE' in frm else ' WHERE'} {col} IS NOT NULL")
        elif column == "detector":
            # exact ids only: families are stored as their own keys ("pii.*") for the detector filter
            joined = frm.replace("FROM alerts a", "FROM alerts a JOIN alert_detectors d ON d.alert_id = a.id", 1)
            sql = (f"SELECT COALESCE(d.detector, '') AS v, COUNT(*) AS n {joined}"
                   f"{' AND' if 'WHERE' in frm else ' WHERE'} d.detector NOT LIKE '%*'")
        else:
            raise ValueError(f"no top list for {column!r}")
        rows = await self._x.fetch(sql + " GROUP BY v ORDER BY n DESC, v LIMIT ?", *args, n)
        return [(r["v"], int(r["n"])) for r in rows]

    async def count_recent_alerts(self, *, since: float, host: str | None, user: str | None,
                                  content_hash: str | None, detectors: list[str]) -> int:
        if user:
            who, args = '"user" = ?', [user]
        elif host:
            who, args = "host = ?", [host]
        else:
            return 0
        if not content_hash and not detectors:
            return 0
        # bounded work: only the person's latest alerts are looked at (repetition points are capped anyway)
        recent = (f"(SELECT id, time, content_hash FROM alerts WHERE {who} ORDER BY id DESC "
                  f"LIMIT {REPETITION_LOOKBACK}) a")
        if self.pg:
            # PostgreSQL turns an EXISTS under OR into a hashed subplan that reads every alert_detectors
            # row of these detectors (grows with the table); the lateral probe reads at most 200 index entries
            return int(await self._x.fetchval(
                f"SELECT COUNT(*) FROM {recent} LEFT JOIN LATERAL (SELECT 1 AS hit FROM alert_detectors d "
                "WHERE d.alert_id = a.id AND d.detector = ANY(?::text[]) LIMIT 1) d ON TRUE "
                "WHERE a.time >= ? AND (a.content_hash = ? OR d.hit IS NOT NULL)",
                args[0], detectors, since, content_hash))
        same: list[str] = []
        if content_hash:
            same.append("a.content_hash = ?")
            args.append(content_hash)
        if detectors:
            same.append("EXISTS (SELECT 1 FROM alert_detectors d WHERE d.alert_id = a.id "
                        f"AND d.detector IN ({_marks(len(detectors))}))")
            args += detectors
        return int(await self._x.fetchval(f"SELECT COUNT(*) FROM {recent} WHERE a.time >= ? AND ({' OR '.join(same)})",
                                          args[0], since, *args[1:]))

    async def list_overdue(self, now: float, limit: int = 100, *, statuses: tuple[str, ...] = OPEN_STATUSES,
                           escalated: bool | None = None) -> list[Alert]:
        # one arm per status, each a range of alerts(status, sla_deadline) read for one page, merged: no
        # sort of every overdue alert. Not escalated: the partial index of new, unescalated alerts.
        extra = {None: "", False: " AND escalation_level = 0", True: " AND escalation_level > 0"}[escalated]
        arm = (f"SELECT {ALERT_COLS} FROM alerts WHERE status = ?{extra} AND sla_deadline <= ? "
               "ORDER BY sla_deadline, id LIMIT ?")
        arms, args = [], []
        for status in statuses:
            arms.append(f"SELECT * FROM ({arm}) AS arm{len(arms)}")
            args += [status, now, limit]
        if not arms:
            return []
        rows = await self._x.fetch(" UNION ALL ".join(arms) + " ORDER BY sla_deadline, id LIMIT ?", *args, limit)
        return [_alert(r) for r in rows]

    async def escalate(self, alert_id: int, new_level: int, note: str, now: float, actor: str = "system") -> bool:
        async with self.transaction() as tx:
            changed = await tx._x.execute(
                "UPDATE alerts SET escalation_level = ?, updated_at = ? WHERE id = ? AND escalation_level < ?",
                new_level, now, alert_id, new_level) > 0
            if changed:
                await tx.add_audit(actor, "alert.escalate", "alert", str(alert_id),
                                   {"escalation_level": new_level, "note": note}, now)
            return changed

    # incidents ---------------------------------------------------------------
    async def find_open_incident(self, *, host: str | None, user: str | None, content_hash: str | None,
                                 device_key: str | None, since: float) -> Incident | None:
        same, args = [], []
        if content_hash:
            same.append("content_hash = ?")
            args.append(content_hash)
        if device_key:
            same.append("device_key = ?")
            args.append(device_key)
        who = []
        for col, value in (("host", host), ('"user"', user)):
            if value:
                who.append(f"{col} = ?")
                args.append(value)
        if not same or not who:
            return None
        r = await self._x.fetchrow(
            f"SELECT {INCIDENT_COLS} FROM incidents WHERE ({' OR '.join(same)}) AND ({' OR '.join(who)}) "
            "AND updated_at >= ? AND status = 'open' ORDER BY updated_at DESC LIMIT 1", *args, since)
        return _incident(r) if r else None

    async def open_incident_keys(self, *, content_hashes: list[str], device_keys: list[str],
                                 since: float) -> set[str]:
        """Which of these content hashes / device keys belong to an open incident (one query per batch)."""
        out: set[str] = set()
        for col, keys in (("content_hash", sorted(set(content_hashes))), ("device_key", sorted(set(device_keys)))):
            if not keys:
                continue
            if self.pg:
                # one index probe per key: with IN (...) the planner prefers a sequential scan of all
                # incidents while the table is small enough to look cheap (40 ms per batch under load)
                rows = await self._x.fetch(
                    f"SELECT k FROM unnest(?::text[]) AS k, LATERAL (SELECT 1 FROM incidents i WHERE i.{col} = k "
                    "AND i.updated_at >= ? AND i.status = 'open' LIMIT 1) hit", keys, since)
            else:
                rows = await self._x.fetch(
                    f"SELECT DISTINCT {col} AS k FROM incidents WHERE {col} IN ({_marks(len(keys))}) "
                    "AND updated_at >= ? AND status = 'open'", *keys, since)
            out.update(r["k"] for r in rows)
        return out

    async def insert_incident(self, i: Incident) -> Incident:
        cols = INCIDENT_COLS.split(", ", 1)[1]
        rows = await self._x.write_fetch(
            f"INSERT INTO incidents ({cols}) VALUES ({_marks(12)}) RETURNING id", i.created_at, i.updated_at,
            i.host, i.user, i.content_hash, i.device_key, i.score, i.level, i.status, i.alert_count,
            dumps(i.steps), dumps(stored_explanation(i.explanation)))
        i.id = rows[0]["id"]
        return i

    async def update_incident(self, i: Incident) -> None:
        await self._x.execute(
            'UPDATE incidents SET updated_at = ?, host = ?, "user" = ?, content_hash = ?, device_key = ?, score = ?, '
            "level = ?, status = ?, alert_count = ?, steps = ?, explanation = ? WHERE id = ?",
            i.updated_at, i.host, i.user, i.content_hash, i.device_key, i.score, i.level, i.status, i.alert_count,
            dumps(i.steps), dumps(stored_explanation(i.explanation)), i.id)

    async def get_incident(self, incident_id: int) -> Incident | None:
        r = await self._x.fetchrow(f"SELECT {INCIDENT_COLS} FROM incidents WHERE id = ?", incident_id)
        return _incident(r) if r else None

    async def list_incidents(self, *, status: str | None = None, before_id: int | None = None,
                             limit: int = 50) -> list[Incident]:
        where, args = [], []
        if status:
            where.append("status = ?")
            args.append(status)
        if before_id is not None:
            where.append("id < ?")
            args.append(before_id)
        sql = f"SELECT {INCIDENT_COLS} FROM incidents"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = await self._x.fetch(sql + " ORDER BY id DESC LIMIT ?", *args, limit)
        return [_incident(r) for r in rows]

    # devices -----------------------------------------------------------------
    async def upsert_device(self, d: Device) -> Device:
        if d.policy is None:
            d = replace(d, **await self._device_verdict(d.key))
        verdict = ", ".join(f"{col} = CASE WHEN {_NEWER_VERDICT} THEN excluded.{col} ELSE devices.{col} END"
                            for col in ("policy", "policy_rule", "policy_at", "policy_host"))
        rows = await self._x.write_fetch(
            f"INSERT INTO devices ({DEVICE_COLS.split(', ', 1)[1]}) VALUES ({_marks(17)}) "
            "ON CONFLICT (key) DO UPDATE SET last_seen = excluded.last_seen, last_host = excluded.last_host, "
            "vendor = COALESCE(excluded.vendor, devices.vendor), model = COALESCE(excluded.model, devices.model), "
            "label = COALESCE(excluded.label, devices.label), fs_uuid = COALESCE(excluded.fs_uuid, devices.fs_uuid), "
            f"{verdict} RETURNING {DEVICE_COLS}",
            d.key, d.vendor_id, d.product_id, d.vendor, d.model, d.serial, d.fs_uuid, d.label, d.first_seen,
            d.last_seen, d.last_host, d.status, d.note, d.policy, d.policy_rule, d.policy_at, d.policy_host)
        return _device(rows[0])

    async def _device_verdict(self, key: str) -> dict[str, Any]:
        """The verdict of the device's latest stored event that carries one (ingest stores a batch's events
        before it registers their devices), as Device fields; {} if none."""
        r = await self._x.fetchrow(DEVICE_VERDICT[self.dialect], key)
        if r is None or r["policy"] not in DEVICE_POLICIES:
            return {}
        rule = r["rule"]
        return {"policy": r["policy"], "policy_rule": None if rule is None else str(rule)[:256],
                "policy_at": r["time"], "policy_host": r["host"]}

    async def get_device(self, device_id: int) -> Device | None:
        r = await self._x.fetchrow(f"SELECT {DEVICE_COLS} FROM devices WHERE id = ?", device_id)
        return _device(r) if r else None

    async def list_devices(self) -> list[Device]:
        return [_device(r) for r in await self._x.fetch(f"SELECT {DEVICE_COLS} FROM devices ORDER BY last_seen DESC")]

    async def set_device_status(self, device_id: int, status: str, note: str | None) -> bool:
        return await self._x.execute("UPDATE devices SET status = ?, note = ? WHERE id = ?",
                                     status, note, device_id) > 0

    # audit and reviews -------------------------------------------------------
    async def add_audit(self, actor: str, action: str, target_type: str, target_id: str,
                        detail: dict[str, Any], now: float) -> AuditEntry:
        rows = await self._x.write_fetch(
            "INSERT INTO audit (time, actor, action, target_type, target_id, detail) VALUES (?, ?, ?, ?, ?, ?) "
            "RETURNING id", now, actor, action, target_type, target_id, dumps(detail))
        return AuditEntry(rows[0]["id"], now, actor, action, target_type, target_id, detail)

    async def list_audit(self, *, target_type: str | None = None, target_id: str | None = None,
                         limit: int = 100) -> list[AuditEntry]:
        where, args = [], []
        if target_type:
            where.append("target_type = ?")
            args.append(target_type)
        if target_id:
            where.append("target_id = ?")
            args.append(target_id)
        sql = "SELECT * FROM audit" + (" WHERE " + " AND ".join(where) if where else "")
        return [_audit(r) for r in await self._x.fetch(sql + " ORDER BY id DESC LIMIT ?", *args, limit)]

    async def add_review(self, actor: str, doc_hash: str, verdict: str, finding_count: int, size: int,
                         now: float) -> Review:
        rows = await self._x.write_fetch(
            "INSERT INTO reviews (time, actor, doc_hash, verdict, finding_count, size) VALUES (?, ?, ?, ?, ?, ?) "
            "RETURNING id", now, actor, doc_hash, verdict, finding_count, size)
        return Review(rows[0]["id"], now, actor, doc_hash, verdict, finding_count, size)

    # outbox ------------------------------------------------------------------
    async def outbox_enqueue(self, items: list[OutboxItem]) -> int:
        n = 0
        async with self.transaction() as tx:
            for it in items:
                rows = await tx._x.write_fetch(
                    "INSERT INTO outbox (key, destination, alert_id, payload, status, attempts, next_attempt_at, "
                    "created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (key) DO NOTHING RETURNING id",
                    it.key, it.destination, it.alert_id, dumps(it.payload), float(it.next_attempt_at),
                    float(it.created_at or _time.time()))
                if rows:
                    it.id = rows[0]["id"]
                    n += 1
        return n

    async def outbox_claim(self, now: float, limit: int, lease: float, worker: str) -> list[OutboxItem]:
        skip = " FOR UPDATE SKIP LOCKED" if self.pg else ""
        rows = await self._x.write_fetch(
            "UPDATE outbox SET lease_until = ?, worker = ?, attempts = attempts + 1 WHERE id IN "
            "(SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? AND lease_until <= ? "
            f"ORDER BY next_attempt_at, id LIMIT ?{skip}) RETURNING {OUTBOX_COLS}",
            now + lease, worker, now, now, limit)
        return sorted((_outbox(r) for r in rows), key=lambda it: (it.next_attempt_at, it.id or 0))

    async def outbox_delivered(self, item_id: int, now: float) -> None:
        await self.outbox_delivered_many([(item_id, now)])

    async def outbox_failed(self, item_id: int, error: str, next_attempt_at: float | None, now: float) -> None:
        await self.outbox_failed_many([(item_id, error, next_attempt_at)], now)

    async def outbox_delivered_many(self, deliveries: list[tuple[int, float]]) -> None:
        if not deliveries:
            return
        if self.pg:  # one statement for the batch
            ids, ats = (list(col) for col in zip(*deliveries))
            await self._x.execute(
                "UPDATE outbox o SET status = 'delivered', delivered_at = v.at, lease_until = 0, last_error = NULL "
                "FROM unnest(?::bigint[], ?::float8[]) AS v(id, at) WHERE o.id = v.id", ids, [float(a) for a in ats])
            return
        await self._x.executemany("UPDATE outbox SET status = 'delivered', delivered_at = ?, lease_until = 0, "
                                  "last_error = NULL WHERE id = ?", [(float(at), i) for i, at in deliveries])

    async def outbox_failed_many(self, failures: list[tuple[int, str, float | None]], now: float) -> None:
        if not failures:
            return
        rows = [(item_id, error[:2000], None if nxt is None else float(nxt)) for item_id, error, nxt in failures]
        if self.pg:  # one statement for the batch
            ids, errors, nexts = (list(col) for col in zip(*rows))
            await self._x.execute(
                "UPDATE outbox o SET last_error = v.err, lease_until = 0, "
                "status = CASE WHEN v.nxt IS NULL THEN 'dead' ELSE o.status END, "
                "next_attempt_at = COALESCE(v.nxt, o.next_attempt_at) "
                "FROM unnest(?::bigint[], ?::text[], ?::float8[]) AS v(id, err, nxt) WHERE o.id = v.id",
                ids, errors, nexts)
            return
        await self._x.executemany(
            "UPDATE outbox SET last_error = ?, lease_until = 0, "
            "status = CASE WHEN ? IS NULL THEN 'dead' ELSE status END, "
            "next_attempt_at = COALESCE(?, next_attempt_at) WHERE id = ?",
            [(err, nxt, nxt, item_id) for item_id, err, nxt in rows])

    async def outbox_release(self, releases: list[tuple[int, float]], note: str | None, now: float) -> None:
        if not releases:
            return
        # the claim counted an attempt; a row handed back untried gives it back
        larger = "GREATEST" if self.pg else "MAX"  # two-argument MAX is SQLite's GREATEST
        await self._x.executemany(
            f"UPDATE outbox SET attempts = {larger}(attempts - 1, 0), next_attempt_at = ?, lease_until = 0, "
            "last_error = COALESCE(?, last_error) WHERE id = ? AND status = 'pending'",
            [(float(nxt), note, item_id) for item_id, nxt in releases])

    async def outbox_list(self, status: str | None, limit: int) -> list[OutboxItem]:
        if status:
            rows = await self._x.fetch(f"SELECT {OUTBOX_COLS} FROM outbox WHERE status = ? ORDER BY id DESC LIMIT ?",
                                       status, limit)
        else:
            rows = await self._x.fetch(f"SELECT {OUTBOX_COLS} FROM outbox ORDER BY id DESC LIMIT ?", limit)
        return [_outbox(r) for r in rows]

    async def outbox_retry(self, item_id: int, now: float) -> bool:
        return await self._x.execute("UPDATE outbox SET status = 'pending', next_attempt_at = ?, lease_until = 0 "
                                     "WHERE id = ? AND status = 'dead'", now, item_id) > 0

    async def outbox_fold(self, items: list[OutboxItem], now: float) -> list[int]:
        """Insert repeat-summary rows, or update the payload of those still waiting (never tried, not
        leased); returns the ids written. A key absent from the answer was already claimed or sent."""
        ids: list[int] = []
        async with self.transaction() as tx:
            for it in items:
                rows = await tx._x.write_fetch(
                    "INSERT INTO outbox (key, destination, alert_id, payload, status, attempts, next_attempt_at, "
                    "created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                    "payload = excluded.payload WHERE outbox.status = 'pending' AND outbox.attempts = 0 "
                    "AND outbox.lease_until <= ? RETURNING id",
                    it.key, it.destination, it.alert_id, dumps(it.payload), float(it.next_attempt_at),
                    float(it.created_at or now), float(now))
                if rows:
                    it.id = rows[0]["id"]
                    ids.append(it.id)
        return ids

    async def outbox_page(self, *, status: str | None = None, destination: str | None = None,
                          before_id: int | None = None, limit: int = 100) -> list[OutboxItem]:
        """Rows newest first, filtered; keyset paging: pass the last id of a page as ``before_id``."""
        where, args = [], []
        for cond, value in (("status = ?", status), ("destination = ?", destination), ("id < ?", before_id)):
            if value is not None:
                where.append(cond)
                args.append(value)
        sql = f"SELECT {OUTBOX_COLS} FROM outbox"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [_outbox(r) for r in await self._x.fetch(sql + " ORDER BY id DESC LIMIT ?", *args, limit)]

    async def outbox_retry_many(self, now: float, *, ids: list[int] | None = None,
                                destination: str | None = None) -> list[int]:
        """Dead rows back to pending: those of ``ids``, or every dead row of ``destination``
        (both given: both must hold); returns the ids put back."""
        where, args = ["status = 'dead'"], []
        if destination is not None:
            where.append("destination = ?")
            args.append(destination)
        if ids is not None:
            if not ids:
                return []
            where.append(f"id IN ({_marks(len(ids))})")
            args.extend(ids)
        rows = await self._x.write_fetch(
            "UPDATE outbox SET status = 'pending', next_attempt_at = ?, lease_until = 0 "
            f"WHERE {' AND '.join(where)} RETURNING id", now, *args)
        return sorted(int(r["id"]) for r in rows)

    async def outbox_depth(self) -> dict[str, int]:
        rows = await self._x.fetch("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
        return {r["status"]: int(r["n"]) for r in rows}

    async def outbox_backlog(self) -> dict[tuple[str, str], int]:
        # pending and dead rows are few next to the delivered ones; the (status, ...) index finds them
        rows = await self._x.fetch("SELECT destination, status, COUNT(*) AS n FROM outbox "
                                   "WHERE status IN ('pending', 'dead') GROUP BY destination, status")
        return {(r["destination"], r["status"]): int(r["n"]) for r in rows}

    # retention ---------------------------------------------------------------
    async def purge_before(self, *, events_before: float, alerts_before: float, batch: int = 5000) -> dict[str, int]:
        closed = ("resolved", "false_positive")
        total = {"events": 0, "alerts": 0}
        # small batches keep each write transaction short, so ingest is never stalled for long
        while True:
            n = await self._x.execute(
                "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE received_at < ? LIMIT ?)",
                events_before, batch)
            total["events"] += n
            if n < batch:
                break
        while True:
            async with self.transaction() as tx:
                ids = [r["id"] for r in await tx._x.fetch(
                    "SELECT id FROM alerts WHERE updated_at < ? AND status IN (?, ?) LIMIT ?",
                    alerts_before, *closed, batch)]
                if ids:
                    await tx._x.execute(f"DELETE FROM alert_detectors WHERE alert_id IN ({_marks(len(ids))})", *ids)
                    await tx._x.execute(f"DELETE FROM alerts WHERE id IN ({_marks(len(ids))})", *ids)
            total["alerts"] += len(ids)
            if len(ids) < batch:
                break
        # what hangs off old alerts goes with them: settled forwarding copies (they hold paths and user
        # names), incidents no alert points to any more, and pre-publication review verdicts
        for table, sql, args in (
            ("outbox", "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE created_at < ? "
                       "AND status IN ('delivered', 'dead') LIMIT ?)", (alerts_before,)),
            ("incidents", "DELETE FROM incidents WHERE id IN (SELECT id FROM incidents i WHERE i.updated_at < ? "
                          "AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.incident_id = i.id) LIMIT ?)",
             (alerts_before,)),
            ("reviews", "DELETE FROM reviews WHERE id IN (SELECT id FROM reviews WHERE time < ? LIMIT ?)",
             (events_before,)),
        ):
            total[table] = 0
            while True:
                n = await self._x.execute(sql, *args, batch)
                total[table] += n
                if n < batch:
                    break
        return total

    async def delete_user_sessions(self, user_id: int) -> int:
        return await self._x.execute("DELETE FROM sessions WHERE user_id = ?", user_id)
