"""A throwaway PostgreSQL 15 for tests: one server per test session, fresh databases on demand.

Every test package gets the fixtures from ``tests/conftest.py`` (one cluster per session,
shared by all suites of a run)::

    def test_x(pg_server):                  # session-scoped PgServer
        dsn = pg_server.create_database()   # fresh empty database, returns its DSN

or without pytest: ``with PgServer.start() as pg: ...``. The server runs as the
``postgres`` user (the binaries refuse root) in a temporary directory, on a free
loopback port, with ``-A trust`` (loopback only). Missing binaries are an error,
never a skip: the suite must test PostgreSQL for real.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("LEAKWARDEN_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PgServerError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    fixture_clusters = 0  # clusters the pg_server fixture started in this process (one per session)

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.data = root / "data"
        self.port = port
        self._names = itertools.count(1)

    # -- running commands as postgres -------------------------------------------------
    @staticmethod
    def _as_postgres(cmd: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *cmd]
        return cmd

    def _run(self, cmd: list[str], timeout: float = 60) -> str:
        proc = subprocess.run(self._as_postgres(cmd), capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise PgServerError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr or proc.stdout}")
        return proc.stdout

    @classmethod
    def start(cls) -> "PgServer":
        for tool in ("initdb", "pg_ctl", "psql"):
            if not (PG_BIN / tool).is_file():
                # an error, not a skip: a run without PostgreSQL must not look like a pass
                raise PgServerError(f"PostgreSQL 15 binary {PG_BIN / tool} missing: "
                                    "apt-get install postgresql-15 (tests need a real PostgreSQL)")
        root = Path(tempfile.mkdtemp(prefix="leakwarden-pg-"))
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(root, pw.pw_uid, pw.pw_gid)
        os.chmod(root, 0o700)
        server = cls(root, _free_port())
        try:
            server._run([str(PG_BIN / "initdb"), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale",
                         "-D", str(server.data)], timeout=120)
            opts = (f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            server._run([str(PG_BIN / "pg_ctl"), "-D", str(server.data), "-o", opts, "-l", str(root / "log"),
                         "-w", "-t", "60", "start"], timeout=90)
        except Exception:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return server

    def stop(self) -> None:
        try:
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"], timeout=60)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "PgServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- databases --------------------------------------------------------------------
    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        return self._run([str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                          "-d", dbname, "-v", "ON_ERROR_STOP=1", "-qAtc", sql])

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        """Create a database (a copy of ``template`` if given, which is fast) and return its DSN."""
        name = name or f"t{os.getpid()}_{next(self._names)}_{int(time.time() * 1000) % 100000}"
        tpl = f" TEMPLATE {template}" if template else ""
        self.psql(f'CREATE DATABASE "{name}"{tpl}')
        return self.dsn(name)

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = PgServer.start()
    PgServer.fixture_clusters += 1
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def pg_dsn(pg_server: PgServer) -> str:
    """A fresh, empty database for one test."""
    return pg_server.create_database()
