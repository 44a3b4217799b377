"""What the agent remembers between runs, apart from the spool (``index.db``).

- files: size, mtime and keyed content hash of every watched file, so the
  start-up catch-up scan finds what changed while the agent was down, and
  which files had findings (a later rename to ``.jpg`` or a delete is a
  signal, and a process reading them matters to the network monitor);
- a bounded cache content-hash -> redacted findings, so unchanged content is
  not scanned twice (copies, renames, editors that rewrite in place);
- the registry of removable devices seen on this endpoint.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("agent.index")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files(
    path TEXT PRIMARY KEY, root TEXT NOT NULL, size INTEGER, mtime_ns INTEGER,
    hash TEXT, detectors TEXT, severity TEXT
);
CREATE INDEX IF NOT EXISTS files_by_root ON files(root);
CREATE TABLE IF NOT EXISTS cache(hash TEXT PRIMARY KEY, findings BLOB NOT NULL, used REAL NOT NULL);
CREATE TABLE IF NOT EXISTS roots(root TEXT PRIMARY KEY, indexed REAL NOT NULL);
CREATE TABLE IF NOT EXISTS devices(
    key TEXT PRIMARY KEY, identity TEXT NOT NULL, first_seen REAL NOT NULL, last_seen REAL NOT NULL, times INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class FileRecord:
    path: str
    size: int
    mtime_ns: int
    hash: str | None
    detectors: tuple[str, ...]
    severity: str | None

    @property
    def sensitive(self) -> bool:
        return bool(self.detectors)


class Index:
    CACHE_MAX = 20_000

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # losing the last updates only causes a rescan
        self._db.executescript(_SCHEMA)
        self._cache_inserts = 0
        # Cache entries and "used" times wait in memory and are written with the next file records
        # (after a spool commit): one transaction instead of one per scan thread insert, each of
        # which queued behind the dispatcher's index writes. Losing them in a crash costs a rescan.
        self._cache_new: dict[str, dict[str, Any]] = {}
        self._cache_used: dict[str, float] = {}
        # The content hashes in the cache, in memory (at most CACHE_MAX, ~2 MB): most files are not
        # cached (a small plain file is cheaper to rescan), and a miss must not cost a query.
        self._cached: set[str] = {h for (h,) in self._db.execute("SELECT hash FROM cache")}
        # Paths with findings are few; kept in memory for the per-event checks.
        self.sensitive: dict[str, FileRecord] = {
            r.path: r for r in self._records("SELECT * FROM files WHERE detectors IS NOT NULL AND detectors != ''")
        }

    def _records(self, sql: str, args: tuple = ()) -> list[FileRecord]:
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [
            FileRecord(p, s or 0, m or 0, h, tuple(d.split(",")) if d else (), sev)
            for p, _root, s, m, h, d, sev in rows
        ]

    # -- files ----------------------------------------------------------
    def get(self, path: str) -> FileRecord | None:
        rows = self._records("SELECT * FROM files WHERE path=?", (path,))
        return rows[0] if rows else None

    def get_many(self, paths: list[str]) -> dict[str, FileRecord]:
        """Records of these paths (absent ones are missing), a query per 500 paths."""
        out: dict[str, FileRecord] = {}
        for i in range(0, len(paths), 500):
            chunk = paths[i : i + 500]
            for r in self._records(f"SELECT * FROM files WHERE path IN ({','.join('?' * len(chunk))})", tuple(chunk)):
                out[r.path] = r
        return out

    def root_state(self, root: str) -> dict[str, tuple[int, int]]:
        with self._lock:
            rows = self._db.execute("SELECT path, size, mtime_ns FROM files WHERE root=?", (root,)).fetchall()
        return {p: (s or 0, m or 0) for p, s, m in rows}

    def root_indexed(self, root: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM roots WHERE root=?", (root,)).fetchone() is not None

    def mark_root_indexed(self, root: str) -> None:
        self._write("roots", lambda db: db.execute("INSERT OR REPLACE INTO roots VALUES(?, ?)", (root, time.time())))

    def put_many(self, root: str, records: list[FileRecord]) -> None:
        self.put_records([(root, r) for r in records])

    def _write(self, what: str, fn: Any) -> bool:
        """Run a write; on a full disk or I/O error log it and go on.

        The index only saves work (a lost update means a file is scanned again at
        the next catch-up); it must never stop the agent or lose an event.
        """
        with self._lock:
            try:
                fn(self._db)
                return True
            except sqlite3.Error as e:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                log.warning("index write failed", extra={"ctx": {"what": what, "error": str(e)}})
                return False

    def put_records(self, items: list[tuple[str, FileRecord]], *, remember: bool = True) -> None:
        """Write the rows and the cache entries waiting; ``remember=False`` when memory was told earlier (:meth:`remember`)."""
        def write(db: sqlite3.Connection) -> None:
            db.execute("BEGIN")
            db.executemany(
                "INSERT OR REPLACE INTO files VALUES(?,?,?,?,?,?,?)",
                [(r.path, root, r.size, r.mtime_ns, r.hash, ",".join(r.detectors), r.severity) for root, r in items],
            )
            self._write_cache(db)
            db.execute("COMMIT")

        self._write("files", write)
        if remember:
            for _, r in items:
                self.remember(r)

    def remember(self, r: FileRecord) -> None:
        """The in-memory view of files with findings (the pipeline tells it at scan time, before the row is written)."""
        if r.sensitive:
            self.sensitive[r.path] = r
        else:
            self.sensitive.pop(r.path, None)

    def take_sensitive(self, path: str) -> list[FileRecord]:
        """Forget (in memory) the sensitive records at or under ``path`` and return them.

        The rows stay until :meth:`delete_rows`, which the pipeline calls only
        after the events about them are safely spooled: a crash in between
        makes the catch-up scan report the deletion again rather than never.
        """
        prefix = path.rstrip("/") + "/"
        gone = [r for p, r in self.sensitive.items() if p == path or p.startswith(prefix)]
        for r in gone:
            self.sensitive.pop(r.path, None)
        return gone

    def delete_rows(self, path: str) -> None:
        prefix = path.rstrip("/") + "/"
        self._write("delete", lambda db: db.execute("DELETE FROM files WHERE path=? OR substr(path, 1, ?)=?", (path, len(prefix), prefix)))

    def remove(self, path: str) -> list[FileRecord]:
        gone = self.take_sensitive(path)
        self.delete_rows(path)
        return gone

    def remove_root(self, root: str) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM files WHERE root=?", (root,))
            db.execute("DELETE FROM roots WHERE root=?", (root,))

        self._write("roots", write)
        prefix = root.rstrip("/") + "/"
        for p in [p for p in self.sensitive if p.startswith(prefix)]:
            self.sensitive.pop(p, None)

    # -- content cache ----------------------------------------------------
    def cached(self, content_hash: str) -> dict[str, Any] | None:
        if content_hash not in self._cached:
            return None
        with self._lock:
            new = self._cache_new.get(content_hash)
            if new is not None:
                return json.loads(json.dumps(new))  # a copy, as if read from the table
            row = self._db.execute("SELECT findings FROM cache WHERE hash=?", (content_hash,)).fetchone()
            if row is None:
                return None
            self._cache_used[content_hash] = time.time()
        return json.loads(row[0])

    def cache(self, content_hash: str, findings: dict[str, Any]) -> None:
        with self._lock:
            self._cache_new[content_hash] = findings
            self._cached.add(content_hash)
            backlog = len(self._cache_new) >= 1000
        if backlog:  # no file records written for a while (they bring the cache along): write it now
            self.flush_cache()

    def flush_cache(self) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute("BEGIN")
            self._write_cache(db)
            db.execute("COMMIT")

        self._write("cache", write)

    def _write_cache(self, db: sqlite3.Connection) -> None:
        """Inside a write transaction, with the lock held."""
        new, self._cache_new = self._cache_new, {}
        used, self._cache_used = self._cache_used, {}
        now = time.time()
        if new:
            db.executemany("INSERT OR REPLACE INTO cache VALUES(?,?,?)", [(h, json.dumps(f), now) for h, f in new.items()])
        if used:
            db.executemany("UPDATE cache SET used=? WHERE hash=?", [(t, h) for h, t in used.items()])
        before, self._cache_inserts = self._cache_inserts, self._cache_inserts + len(new)
        if before // 1000 != self._cache_inserts // 1000:  # trimming is a table scan: now and then, not per insert
            n = db.execute("SELECT count(*) FROM cache").fetchone()[0]
            if n > self.CACHE_MAX:
                db.execute("DELETE FROM cache WHERE hash IN (SELECT hash FROM cache ORDER BY used LIMIT ?)", (n - self.CACHE_MAX,))
                self._cached = {h for (h,) in db.execute("SELECT hash FROM cache")}

    # -- device registry ----------------------------------------------------
    def see_device(self, key: str, identity: dict[str, Any]) -> tuple[bool, int]:
        """Record a sighting; returns (first time seen, number of sightings)."""
        now = time.time()
        with self._lock:
            row = self._db.execute("SELECT times FROM devices WHERE key=?", (key,)).fetchone()
        if row is None:
            self._write("devices", lambda db: db.execute("INSERT INTO devices VALUES(?,?,?,?,1)", (key, json.dumps(identity), now, now)))
            return True, 1
        self._write("devices", lambda db: db.execute(
            "UPDATE devices SET last_seen=?, times=times+1, identity=? WHERE key=?", (now, json.dumps(identity), key)))
        return False, row[0] + 1

    def devices(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT key, identity, first_seen, last_seen, times FROM devices").fetchall()
        return [{"key": k, "identity": json.loads(i), "first_seen": f, "last_seen": l, "times": t} for k, i, f, l, t in rows]

    def close(self) -> None:
        self.flush_cache()
        with self._lock:
            self._db.close()
