"""PostgreSQL executor (asyncpg): a connection pool; ``?`` placeholders become ``$n``."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from leakwarden.errors import StoreError
from server.store.executor import Row


@functools.lru_cache(maxsize=1024)
def to_dollar(sql: str) -> str:
    out, n = [], 0
    for ch in sql:
        if ch == "?":
            n += 1
            out.append(f"${n}")
        else:
            out.append(ch)
    return "".join(out)


def _count(status: str) -> int:
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class _Conn:
    dialect = "postgresql"

    def __init__(self, con: Any, in_tx: bool) -> None:
        self._con = con  # a Pool (one statement per call) or a Connection in a transaction
        self.in_transaction = in_tx

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self._con.fetch(to_dollar(sql), *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await self._con.fetchrow(to_dollar(sql), *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._con.fetchval(to_dollar(sql), *args)

    async def execute(self, sql: str, *args: Any) -> int:
        return _count(await self._con.execute(to_dollar(sql), *args))

    async def write_fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self._con.fetch(to_dollar(sql), *args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._con.executemany(to_dollar(sql), rows)


class PostgresExecutor(_Conn):
    def __init__(self, dsn: str, *, min_size: int = 2, max_size: int = 10) -> None:
        self.dsn = dsn
        self._min, self._max = min_size, max_size
        self.pool: asyncpg.Pool | None = None
        super().__init__(None, False)

    async def open(self) -> None:
        try:
            # JIT compiles "expensive-looking" plans (a LIMIT over a million rows) for ~20 ms that the
            # index walk never needed: off for this OLTP workload
            self.pool = await asyncpg.create_pool(self.dsn, min_size=self._min, max_size=self._max,
                                                  server_settings={"jit": "off"})
        except (OSError, asyncpg.PostgresError) as e:
            raise StoreError(f"cannot connect to PostgreSQL: {e}") from e
        self._con = self.pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Conn]:
        assert self.pool is not None
        async with self.pool.acquire() as con, con.transaction():
            yield _Conn(con, True)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
