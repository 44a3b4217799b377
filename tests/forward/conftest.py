"""Fixtures of the forwarding tests: real stores (SQLite and PostgreSQL), real receivers, alerts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.forward.config import ForwardConfig, load_forward_config
from server.forward.destination import Resources
from server.store.interface import Alert
from server.store.sql import SqlStore
from tests.forward.receivers import HttpReceiver, SmtpReceiver, self_signed_cert

# Values that must never appear in clear in any payload (planted by the tests).
ID_NUMBER = "320102198503151230"  # valid GB 11643 check digit (not the standard's own example)
AWS_KEY = "AKIAZ7VXQ2LMNP4RST5U"


class Clock:
    """An injectable clock the tests advance by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlStore]:
    if request.param == "sqlite":
        from server.store.sqlite import SQLiteExecutor
        s = SqlStore(SQLiteExecutor(tmp_path / "collector.sqlite3"))
    else:
        from server.store.postgres import PostgresExecutor
        template = request.getfixturevalue("pg_template")
        s = SqlStore(PostgresExecutor(request.getfixturevalue("pg_server").create_database(template=template)))
    await s.open()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture()
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    from server.store.sqlite import SQLiteExecutor
    s = SqlStore(SQLiteExecutor(tmp_path / "collector.sqlite3"))
    await s.open()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture()
async def receiver() -> AsyncIterator[HttpReceiver]:
    r = await HttpReceiver().start()
    try:
        yield r
    finally:
        await r.stop()


@pytest.fixture()
def smtp(tls_files: tuple[Path, Path]) -> Iterator[SmtpReceiver]:
    r = SmtpReceiver(*tls_files).start()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture()
async def resources() -> AsyncIterator[Resources]:
    async with aiohttp.ClientSession() as http:
        yield Resources(http=http)


def make_alert(**over: Any) -> Alert:
    now = over.pop("now", 1_800_000_000.0)
    base: dict[str, Any] = dict(
        id=7, created_at=now, updated_at=now, time=now - 2, kind="file.write", title="pii.cn_resident_id · file.write",
        agent_id="agent-1", event_id="e-1", host="fin-pc-01", user="alice", channel="removable",
        path="/media/alice/KINGSTON/salaries.xlsx", device={"vendor": "Kingston", "model": "DataTraveler",
                                                            "serial": "0019E06B"},
        destination=None, content_hash="5f" * 32, detectors=["pii.cn_resident_id"], score=82, level="high",
        explanation=[{"factor": "severity", "detail": "pii.cn_resident_id high", "points": 40},
                     {"factor": "channel", "detail": "removable media", "points": 30}],
        evidence=[{"detector": "pii.cn_resident_id", "severity": "high", "confidence": 0.97,
                   "location": {"path": "/media/alice/KINGSTON/salaries.xlsx", "start": 10, "end": 28, "line": 4},
                   "masked": "1101**********002X", "hash": "9a" * 32}],
        status="new", sla_deadline=now + 3600,
    )
    base.update(over)
    return Alert(**base)


def forward_config(destinations: dict[str, Any], routes: list[dict[str, Any]] | None = None,
                   **extra: Any) -> ForwardConfig:
    data: dict[str, Any] = {"destinations": destinations,
                            "routes": routes if routes is not None else [{"name": "all", "to": list(destinations)}]}
    data.update(extra)
    return load_forward_config(data, "test-server.yaml")
