"""CSV export past the old 100,000-row stop, over HTTP against a real collector (SQLite).

The 100,050 alerts are cloned from one stored alert by a single INSERT … SELECT on the
collector's database file (storing them one by one through the store API would take a minute);
the export reads them back through the dashboard like any other.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from server.app import create_app
from server.config import default_config
from server.keys import CONFIG, STORE
from tests.dashboard.conftest import Collector
from tests.dashboard.seed import Seeded, make_alert
from tests.dashboard.test_pages import signed_in

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(120)]
MANY = 100_050


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def big(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Collector]:
    data = tmp_path_factory.mktemp("export")
    app = create_app(default_config(data_dir=data))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    from server import auth
    from tests.dashboard.seed import PASSWORD
    await auth.add_user(app[STORE], "alice", "analyst", PASSWORD)
    first = await app[STORE].insert_alert(make_alert(0, level="medium", score=40, host="bulk-host", user="u",
                                                     path="/tmp/a.txt", detectors=["pii.email"], now=time.time()))
    with sqlite3.connect(app[CONFIG].sqlite_path) as con:
        cols = [r[1] for r in con.execute("PRAGMA table_info(alerts)") if r[1] != "id"]
        names = ", ".join(f'"{c}"' for c in cols)
        picks = ", ".join("40 + n % 50" if c == "score" else f'"{c}"' for c in cols)
        con.execute(f"WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < ?) "
                    f"INSERT INTO alerts ({names}) SELECT {picks} FROM alerts, k WHERE alerts.id = ?",
                    (MANY - 1, first.id))
    try:
        yield Collector(f"http://127.0.0.1:{port}", app, Seeded(first.id, 0, 0, 0, [first.id]))
    finally:
        await runner.cleanup()


async def test_csv_export_streams_every_matching_row_in_risk_order(big: Collector) -> None:
    s = await signed_in(big.url, "alice")
    async with s:
        r = await s.get(big.url + "/alerts.csv?status=any")
        assert r.status == 200
        rows = list(csv.reader(io.StringIO((await r.read()).decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert len(body) == MANY, f"{len(body)} of {MANY} rows exported"
    ids = [int(row[header.index("id")]) for row in body]
    assert len(set(ids)) == MANY
    keys = [(int(row[header.index("score")]), int(row[header.index("id")])) for row in body]
    assert keys == sorted(keys, reverse=True)
