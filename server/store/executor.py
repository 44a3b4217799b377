"""The small database seam both backends implement: run SQL, in or out of a transaction.

SQL is written once with ``?`` placeholders; the PostgreSQL executor rewrites
them to ``$n``. Rows are mappings (``row["col"]``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

Row = Mapping[str, Any]


class Executor(Protocol):
    dialect: str
    in_transaction: bool

    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...
    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...
    async def fetchval(self, sql: str, *args: Any) -> Any: ...
    async def execute(self, sql: str, *args: Any) -> int:
        """A writing statement; returns the number of rows it touched."""
        ...
    async def write_fetch(self, sql: str, *args: Any) -> list[Row]:
        """A writing statement with RETURNING."""
        ...
    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def transaction(self) -> AbstractAsyncContextManager["Executor"]: ...
    async def close(self) -> None: ...
