"""The collector's store: :func:`open_store` picks the backend from the config."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.store.sql import SqlStore

if TYPE_CHECKING:
    from server.config import ServerConfig


def make_store(config: "ServerConfig") -> SqlStore:
    """The configured store, not yet opened (``await store.open()`` connects and migrates)."""
    if config.database:
        from server.store.postgres import PostgresExecutor
        return SqlStore(PostgresExecutor(config.database))
    from server.store.sqlite import SQLiteExecutor
    return SqlStore(SQLiteExecutor(config.sqlite_path))


async def open_store(config: "ServerConfig") -> SqlStore:
    store = make_store(config)
    await store.open()
    return store
