"""The PostgreSQL test cluster is one per session, whatever suites run; missing binaries fail loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

import tests.pg
from tests.pg import PgServer, PgServerError


def test_one_cluster_serves_every_suite(pg_server: PgServer) -> None:
    # run with tests/server first (`pytest tests/server tests/forward`), both used PostgreSQL by now
    assert PgServer.fixture_clusters == 1
    assert pg_server.psql("SELECT 1") == "1\n"


def test_missing_binaries_are_an_error_not_a_skip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tests.pg, "PG_BIN", tmp_path)
    with pytest.raises(PgServerError, match="initdb missing"):
        PgServer.start()
