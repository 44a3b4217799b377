"""Collector test fixtures: every store test runs on SQLite and on a real PostgreSQL
(the cluster and its migrated template database come from ``tests/conftest.py``)."""

from __future__ import annotations

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

ENROLL_SECRET = "test-enrollment-secret-0123456789"


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
