"""Dashboard alert queue at scale: keyset pages in risk order vs. OFFSET paging.

Seeds N alerts (default 1,000,000) into a real SQLite store through the store
API, then times the dashboard's queue pages (``server.dashboard.queue.risk_page``:
the store's risk order, score descending then newest, cursor ``score:id``) at
the start, in the middle and at the end of the queue, with and without filters;
and beside them, in the same run, the usual alternative: ``ORDER BY score DESC,
id DESC LIMIT 50 OFFSET k`` on the same database. Also the overview's
aggregates and the overdue lists.

    .venv/bin/python bench/dashboard_queue_bench.py [--alerts N] [--data DIR]

With ``--data`` the seeded database is kept and reused by later runs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.config import default_config  # noqa: E402
from server.dashboard.overview import compute  # noqa: E402
from server.dashboard.queue import QueueQuery, risk_page  # noqa: E402
from server.store import open_store  # noqa: E402
from server.store.interface import Alert  # noqa: E402

LEVEL_MIX = [("critical", 0.05, 80), ("high", 0.15, 55), ("medium", 0.40, 30), ("low", 0.40, 5)]
STATUS_MIX = [("new", 0.5), ("acknowledged", 0.1), ("in_progress", 0.1), ("resolved", 0.2), ("false_positive", 0.1)]
DETECTORS = ["pii.cn_mobile", "pii.email", "pii.cn_resident_id", "secret.aws_access_key", "marking.cn_state_secret",
             "marking.corporate", "secret.password", "pii.payment_card"]


def _pick(rng: random.Random, mix: list) -> tuple:
    x, acc = rng.random(), 0.0
    for item in mix:
        acc += item[1]
        if x < acc:
            return item
    return mix[-1]


async def seed(store, n: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    now = time.time()
    done, t0 = 0, time.perf_counter()
    while done < n:
        async with store.transaction() as tx:
            for _ in range(min(2000, n - done)):
                level, _p, base = _pick(rng, LEVEL_MIX)
                status = _pick(rng, STATUS_MIX)[0]
                det = rng.choice(DETECTORS)
                host, user = f"ws-{rng.randrange(500):03d}", f"user{rng.randrange(2000)}"
                when = now - rng.random() * 90 * 86400
                await tx.insert_alert(Alert(
                    id=0, created_at=when, updated_at=when, time=when, kind="file.write",
                    title=f"{det} · file.write · doc-{done}.docx", agent_id="a", event_id=None, host=host, user=user,
                    channel="local", path=f"/home/{user}/doc-{done}.docx", device=None, destination=None,
                    content_hash=None, detectors=[det], score=base + rng.randrange(20), level=level,
                    explanation=[{"factor": "detector", "detail": det, "points": base}],
                    evidence=[{"detector": det, "severity": level, "confidence": 0.9,
                               "location": {"path": f"/home/{user}/doc-{done}.docx", "start": 0, "end": 9},
                               "masked": "1**********9", "hash": "ab" * 32}],
                    status=status, sla_deadline=when + 86400))
                done += 1
        if done % 100_000 == 0:
            print(f"  seeded {done:,} ({done / (time.perf_counter() - t0):,.0f}/s)", flush=True)


async def timed(fn, repeat: int = 15) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1000


def offset_page(con: sqlite3.Connection, offset: int, where: str = "") -> None:
    con.execute(f"SELECT * FROM alerts {where} ORDER BY score DESC, id DESC LIMIT 50 OFFSET ?", (offset,)).fetchall()


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=1_000_000)
    ap.add_argument("--data", type=Path, default=None)
    args = ap.parse_args()
    data = args.data or Path(tempfile.mkdtemp(prefix="lw-dash-bench-"))
    cfg = default_config(data_dir=data)
    store = await open_store(cfg)
    have = (await store.count_alerts_by_level())
    if sum(have.values()) < args.alerts:
        print(f"seeding {args.alerts - sum(have.values()):,} alerts into {cfg.sqlite_path} ...", flush=True)
        await seed(store, args.alerts - sum(have.values()))
    total = sum((await store.count_alerts_by_level()).values())
    tz = dt.timezone.utc
    cases = [
        ("first page, open alerts", QueueQuery(), None),
        # (score, id) cursors: scores run 5..99 (low 5-24, medium 30-49, ...), ids 1..N
        ("middle of the queue (medium)", QueueQuery(cursor=f"40:{total // 2}"), None),
        ("near the end (low, oldest)", QueueQuery(cursor=f"5:{total // 50}"), None),
        ("host filter", QueueQuery(host="ws-042"), "host = 'ws-042'"),
        ("detector family filter", QueueQuery(family="secret"),
         "id IN (SELECT alert_id FROM alert_detectors WHERE detector >= 'secret.' AND detector < 'secret/')"),
        ("all statuses, critical only", QueueQuery(statuses=[], levels=["critical"]), "level = 'critical'"),
        ("text search", QueueQuery(q="doc-4242"), "title LIKE '%doc-4242%'"),
    ]
    print(f"\n{total:,} alerts, SQLite, page of 50; median of 15 runs (comparator: 3) in ms")
    print(f"{'query':34} {'keyset (dashboard)':>20} {'OFFSET comparator':>34}")
    loop = asyncio.get_running_loop()
    # the comparator gets one long-lived connection of its own (no per-query connect cost)
    con = sqlite3.connect(cfg.sqlite_path, check_same_thread=False)
    for name, qq, where in cases:
        keyset = await timed(lambda qq=qq: risk_page(store, qq, tz, 50))
        if where is None:
            offset = total // 2 if "middle" in name else (total - 100 if "end" in name else 0)
            label = f"OFFSET {offset:,}"
            cond = "WHERE status IN ('new','acknowledged','in_progress')"
        else:
            offset, label = 0, "OFFSET 0"
            cond = f"WHERE {where}"
        comp = await timed(lambda: loop.run_in_executor(None, offset_page, con, offset, cond), repeat=3)
        print(f"{name:34} {keyset:20.1f} {comp:22.1f} ({label})")
    ov = await timed(lambda: compute(store, now=time.time(), offline_after=300), repeat=3)
    print(f"{'overview aggregates (uncached)':34} {ov:20.1f}")
    now = time.time()
    overdue = await timed(lambda: store.list_overdue(now, 100))
    print(f"{'overdue list (open, 100)':34} {overdue:20.1f}")
    sla = await timed(lambda: store.list_overdue(now, 1000, statuses=("new",), escalated=False))
    print(f"{'SLA loop (new, not escalated, 1000)':34} {sla:20.1f}")
    con.close()
    await store.close()


if __name__ == "__main__":
    asyncio.run(main())
