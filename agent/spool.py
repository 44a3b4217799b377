"""The durable on-disk queue between the pipeline and the shipper.

SQLite in WAL mode with ``synchronous=FULL``: a committed event survives
``kill -9`` and power loss. Each event gets the agent's next sequence number
in the same transaction that stores it, so ``seq`` is monotonic across
restarts and gaps are visible to the collector.

Bounded on purpose (an offline laptop must not fill its disk): when adding an
event would pass ``max_events`` or ``max_bytes``, the lowest-risk, oldest
events go first; if the new event is itself the lowest risk it is the one
dropped. Every drop is counted (persisted) and reported in heartbeats.
A full disk is not a crash: :class:`SpoolUnavailable` tells the pipeline to
hold events in memory, report "degraded" and retry.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from leakwarden import wire
from leakwarden.errors import LeakWardenError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events(
    seq  INTEGER PRIMARY KEY,
    id   TEXT NOT NULL UNIQUE,
    risk INTEGER NOT NULL,
    size INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_risk ON events(risk, seq);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class SpoolUnavailable(LeakWardenError):
    """The spool cannot be written right now (disk full, I/O error)."""


@dataclass(frozen=True, slots=True)
class Spooled:
    seq: int
    id: str
    body: bytes  # the wire.Event, JSON encoded


@dataclass(frozen=True, slots=True)
class PutResult:
    stored: int
    dropped_new: int
    evicted: int


class Spool:
    def __init__(self, path: str | Path, *, max_events: int, max_bytes: int) -> None:
        self.path = str(path)
        self.max_events = max_events
        self.max_bytes = max_bytes
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._count, self._bytes = self._db.execute("SELECT count(*), coalesce(sum(size), 0) FROM events").fetchone()
        self._encoder = msgspec.json.Encoder()

    # -- counters ---------------------------------------------------------
    def _meta(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def _bump(self, key: str, by: int) -> None:
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = value + excluded.value",
            (key, by),
        )

    @property
    def depth(self) -> int:
        return self._count

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def fill_ratio(self) -> float:
        return max(self._count / self.max_events, self._bytes / self.max_bytes)

    def drops(self) -> int:
        with self._lock:
            return self._meta("drops")

    def last_seq(self) -> int:
        with self._lock:
            return self._meta("next_seq") - 1

    # -- writing ----------------------------------------------------------
    def put(self, events: Sequence[tuple[wire.Event, int]]) -> PutResult:
        """Store events (each with its risk 0..9), assigning ``seq`` in one transaction.

        Raises SpoolUnavailable when SQLite cannot write (disk full...): then
        nothing of this call was stored and the caller keeps the events.
        """
        with self._lock:
            try:
                return self._put_locked(events)
            except sqlite3.OperationalError as e:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                self._count, self._bytes = self._db.execute(
                    "SELECT count(*), coalesce(sum(size), 0) FROM events"
                ).fetchone()
                raise SpoolUnavailable(f"spool write failed: {e}") from e

    def _put_locked(self, events: Sequence[tuple[wire.Event, int]]) -> PutResult:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        seq = self._meta("next_seq") or 1
        count, nbytes = self._count, self._bytes
        stored = dropped_new = evicted = 0
        for event, risk in events:
            body = self._encoder.encode(msgspec.structs.replace(event, seq=seq))
            size = len(body)
            while count + 1 > self.max_events or nbytes + size > self.max_bytes:
                victim = db.execute("SELECT seq, risk, size FROM events ORDER BY risk, seq LIMIT 1").fetchone()
                if victim is None or victim[1] >= risk:
                    victim = None
                    break
                db.execute("DELETE FROM events WHERE seq=?", (victim[0],))
                count -= 1
                nbytes -= victim[2]
                evicted += 1
            else:
                db.execute(
                    "INSERT INTO events(seq, id, risk, size, body) VALUES(?,?,?,?,?)",
                    (seq, event.id, risk, size, body),
                )
                count += 1
                nbytes += size
                stored += 1
                seq += 1
                continue
            dropped_new += 1  # the newcomer is the lowest risk: it is the one dropped
        db.execute(
            "INSERT INTO meta(key, value) VALUES('next_seq', ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (seq,),
        )
        if dropped_new or evicted:
            self._bump("drops", dropped_new + evicted)
        db.execute("COMMIT")
        self._count, self._bytes = count, nbytes
        return PutResult(stored, dropped_new, evicted)

    # -- reading / acknowledging -------------------------------------------
    def peek(self, limit: int, max_bytes: int = 8 * 1024 * 1024) -> list[Spooled]:
        """The oldest events, in ``seq`` order, up to ``limit`` events and about ``max_bytes``."""
        out: list[Spooled] = []
        total = 0
        with self._lock:
            for seq, eid, body in self._db.execute("SELECT seq, id, body FROM events ORDER BY seq LIMIT ?", (limit,)):
                if out and total + len(body) > max_bytes:
                    break
                out.append(Spooled(seq, eid, bytes(body)))
                total += len(body)
        return out

    def ack(self, ids: Sequence[str]) -> int:
        """Delete acknowledged events; unknown ids are ignored (idempotent)."""
        if not ids:
            return 0
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
                removed = 0
                freed = 0
                for i in range(0, len(ids), 500):
                    chunk = list(ids[i : i + 500])
                    marks = ",".join("?" * len(chunk))
                    row = db.execute(f"SELECT count(*), coalesce(sum(size),0) FROM events WHERE id IN ({marks})", chunk).fetchone()
                    db.execute(f"DELETE FROM events WHERE id IN ({marks})", chunk)
                    removed += row[0]
                    freed += row[1]
                db.execute("COMMIT")
            except sqlite3.OperationalError as e:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                raise SpoolUnavailable(f"spool delete failed: {e}") from e
            self._count -= removed
            self._bytes -= freed
            return removed

    def reject(self, ids: Sequence[str]) -> None:
        """The collector refused these events as invalid (400/422): drop and count them."""
        removed = self.ack(ids)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._bump("rejected", removed)
            self._db.execute("COMMIT")

    def rejected(self) -> int:
        with self._lock:
            return self._meta("rejected")

    def close(self) -> None:
        with self._lock:
            self._db.close()
