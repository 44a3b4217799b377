"""Fixtures shared by every test package: one throwaway PostgreSQL 15 per test session.

``tests/server`` and ``tests/forward`` (and anyone else) ask for ``pg_server`` and get
the same cluster: starting one costs seconds, so a run of several suites starts it
once. ``pg_template`` is a database migrated once; tests copy it with
``CREATE DATABASE ... TEMPLATE`` (milliseconds) instead of migrating each time.
Missing PostgreSQL binaries fail the tests that need them (``tests/pg.py``), never skip.
"""

from __future__ import annotations

import asyncio
import concurrent.futures

import pytest

from tests.pg import PgServer, pg_dsn, pg_server  # noqa: F401  # fixtures, shared by every package

TEMPLATE_DB = "leakwarden_template"


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer) -> str:  # noqa: F811
    """A database with the collector's schema migrated once; returns its name."""
    from server.store.postgres import PostgresExecutor  # imported late: agent tests never load the collector
    from server.store.sql import SqlStore

    dsn = pg_server.create_database(TEMPLATE_DB)

    async def migrate() -> None:
        store = SqlStore(PostgresExecutor(dsn))
        await store.open()
        await store.close()

    # session fixtures may be set up from inside a test's running loop: migrate on a loop of our own
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, migrate()).result()
    return TEMPLATE_DB
