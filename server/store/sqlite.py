"""SQLite executor: WAL; writes inline on the event loop, reads on a small pool of threads.

Measured (bench/ingest_bench.py, docs/collector.md): handing every statement
to a dedicated writer thread (what aiosqlite does too) cost more than the
statements themselves: a batch is ~10-60 short statements and each thread hop
is a GIL hand-off plus a loop wake-up. Writes in WAL mode with
synchronous=NORMAL never fsync on commit, so they take microseconds and run
inline, serialised by an asyncio lock (SQLite has one writer anyway).
Checkpoints, the one slow write-side step, run in a background thread on their
own connection (wal_autocheckpoint is off on the writer). Reads, which can be
long (alert lists over millions of rows), run on reader threads with their own
connections: WAL readers never block the writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from leakwarden.errors import StoreError
from server.store.executor import Row

T = TypeVar("T")

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # NORMAL in WAL: a crash can lose the last commits only on power loss, never corrupt
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-65536",
)


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    con.row_factory = sqlite3.Row
    for p in PRAGMAS:
        con.execute(p)
    return con


class _Conn:
    """Statements on one connection, each run in a given thread pool."""

    dialect = "sqlite"

    def __init__(self, pool: ThreadPoolExecutor | None, con: Callable[[], sqlite3.Connection], in_tx: bool) -> None:
        self._pool = pool  # None: run inline on the loop (the writer)
        self._con = con
        self.in_transaction = in_tx

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            try:
                return fn(self._con())
            except sqlite3.IntegrityError:
                raise
            except sqlite3.Error as e:
                raise StoreError(f"sqlite: {e}") from e
        if self._pool is None:
            return call()
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self._run(lambda c: c.execute(sql, args).fetchall())

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await self._run(lambda c: c.execute(sql, args).fetchone())

    async def fetchval(self, sql: str, *args: Any) -> Any:
        def one(c: sqlite3.Connection) -> Any:
            row = c.execute(sql, args).fetchone()
            return None if row is None else row[0]
        return await self._run(one)

    async def execute(self, sql: str, *args: Any) -> int:
        return await self._run(lambda c: c.execute(sql, args).rowcount)

    async def write_fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self._run(lambda c: c.execute(sql, args).fetchall())

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._run(lambda c: c.executemany(sql, rows))


class SQLiteExecutor:
    dialect = "sqlite"
    in_transaction = False

    def __init__(self, path: Path, readers: int = 2) -> None:
        self.path = path
        self._checkpoint_pool = ThreadPoolExecutor(1, thread_name_prefix="sqlite-checkpoint")
        self._checkpoint_con: sqlite3.Connection | None = None
        self._checkpoint_task: asyncio.Task[None] | None = None
        self._reader_pool = ThreadPoolExecutor(readers, thread_name_prefix="sqlite-reader")
        self._local = threading.local()
        self._writer_con: sqlite3.Connection | None = None
        self._readers: list[sqlite3.Connection] = []
        self._lock = asyncio.Lock()
        self._writer = _Conn(None, self._writer_connection, False)
        self._reader = _Conn(self._reader_pool, self._reader_connection, False)

    def _writer_connection(self) -> sqlite3.Connection:
        if self._writer_con is None:
            self._writer_con = _connect(self.path)
            self._writer_con.execute("PRAGMA wal_autocheckpoint=0")
        return self._writer_con

    def _reader_connection(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = _connect(self.path)
            con.execute("PRAGMA query_only=ON")
            self._readers.append(con)
        return con

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create data directory {self.path.parent}: {e}") from e
        await self._writer._run(lambda c: None)
        self._checkpoint_task = asyncio.create_task(self._checkpoints(), name="sqlite-checkpoint")

    def _checkpoint(self) -> None:
        if self._checkpoint_con is None:
            self._checkpoint_con = _connect(self.path)
        self._checkpoint_con.execute("PRAGMA wal_checkpoint(PASSIVE)")

    async def _checkpoints(self, interval: float = 1.0) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            try:
                await loop.run_in_executor(self._checkpoint_pool, self._checkpoint)
            except sqlite3.Error:
                pass  # busy: the next round catches up; the WAL only grows meanwhile

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self._reader.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await self._reader.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._reader.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._lock:
            return await self._writer.execute(sql, *args)

    async def write_fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._lock:
            return await self._writer.write_fetch(sql, *args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        async with self.transaction() as tx:
            await tx.executemany(sql, rows)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Conn]:
        async with self._lock:
            tx = _Conn(None, self._writer_connection, True)
            await tx._run(lambda c: c.execute("BEGIN IMMEDIATE"))
            try:
                yield tx
            except BaseException:
                await asyncio.shield(tx._run(lambda c: c.execute("ROLLBACK")))
                raise
            else:
                await asyncio.shield(tx._run(lambda c: c.execute("COMMIT")))

    async def close(self) -> None:
        if self._checkpoint_task is not None:
            self._checkpoint_task.cancel()
            try:
                await self._checkpoint_task
            except asyncio.CancelledError:
                pass
        self._checkpoint_pool.shutdown(wait=True)
        self._reader_pool.shutdown(wait=True)
        for con in [*self._readers, self._checkpoint_con, self._writer_con]:
            if con is not None:
                con.close()
        if self._writer_con is not None:
            # a last full checkpoint leaves a tidy database file behind
            with sqlite3.connect(str(self.path)) as con:
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
