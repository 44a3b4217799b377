"""Collector test fixtures: every store test runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.config import ServerConfig, default_config
from server.store import make_store
from server.store.sql import SqlStore
from tests.pg import PgServer, pg_dsn, pg_server  # noqa: F401  # fixtures (pytest_plugins only works top-level)

ENROLL_SECRET = "test-enrollment-secret-0123456789"
TEMPLATE_DB = "leakwarden_template"


def _run_in_thread(coro: Any) -> Any:
    """Run a coroutine to completion on its own loop (session fixtures are sync)."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = asyncio.run(coro)
        except BaseException as e:  # noqa: BLE001
            out["error"] = e
    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out.get("value")


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer) -> str:
    """A database with the schema migrated once; each test copies it (CREATE DATABASE ... TEMPLATE)."""
    pg_server.create_database(TEMPLATE_DB)

    async def migrate() -> None:
        store = make_store(default_config(database=pg_server.dsn(TEMPLATE_DB)))
        await store.open()
        await store.close()
    _run_in_thread(migrate())
    return TEMPLATE_DB


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture()
def config(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ServerConfig]:
    database = pg = None
    if backend == "postgresql":
        pg = request.getfixturevalue("pg_server")
        template = request.getfixturevalue("pg_template")
        database = pg.create_database(template=template)
    yield default_config(data_dir=tmp_path / "data", database=database, enroll_secret=ENROLL_SECRET,
                         body_timeout=2.0)
    if pg is not None and database is not None:
        pg.drop_database(database.rsplit("/", 1)[1])  # keeps the throwaway cluster small


@pytest.fixture()
async def store(config: ServerConfig) -> AsyncIterator[SqlStore]:
    s = make_store(config)
    await s.open()
    yield s
    await s.close()


def app_for(config: ServerConfig) -> web.Application:
    return create_app(config)


@pytest.fixture()
async def client(config: ServerConfig) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(app_for(config))) as c:
        yield c


@pytest.fixture()
async def clients(config: ServerConfig) -> AsyncIterator[Any]:
    opened: list[TestClient] = []

    async def make(**overrides: Any) -> TestClient:
        c = TestClient(TestServer(app_for(config.with_overrides(**overrides))))
        await c.start_server()
        opened.append(c)
        return c
    yield make
    for c in opened:
        await c.close()
