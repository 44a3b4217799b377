#!/usr/bin/env python3
"""Forwarding benchmark: alerts/s delivered through the durable outbox, and ingest -> delivery delay.

Usage: .venv/bin/python bench/forward_bench.py [--alerts 3000] [--rounds 3] [--mails 300] [--rate 200]
                                               [--seconds 10] [--backends sqlite,postgresql]

Receivers run in their own processes on loopback (an aiohttp webhook receiver,
an aiosmtpd SMTP server), so they do not share the forwarder's event loop.

1. Webhook throughput, side by side: a plain aiohttp client POSTing the same
   payloads with the same concurrency and no store (the comparator: what the
   network and receiver allow), then the outbox worker on each store backend
   (enqueue, claim, POST, mark delivered). Goal: >= 1,000 alerts/s.
2. SMTP throughput: the e-mail destination (one SMTP session per mail,
   smtplib in worker threads) through the outbox on SQLite.
3. Ingest -> delivery delay: a real collector app (``create_app``, SQLite)
   receives agent batches over HTTP at ``--rate`` events/s, each event raises an
   alert, and the receiver timestamps each webhook on arrival: p50/p99 of
   (arrival - event time).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.forward.config import load_forward_config  # noqa: E402
from server.forward.destination import Resources  # noqa: E402
from server.forward.outbox import Forwarder  # noqa: E402
from server.store.interface import Alert  # noqa: E402
from server.store.sql import SqlStore  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- receivers (child processes) -------------------------------------------------------------
def _webhook_receiver(port: int, ready: Any) -> None:
    from aiohttp import web

    delays: list[float] = []
    seen: set[str] = set()
    count = {"n": 0}

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        count["n"] += 1
        doc = json.loads(body)  # the same work for the comparator's requests and the outbox's
        seen.add(doc["metadata"]["uid"])
        delays.append(time.time() - doc["time"] / 1000)
        return web.Response(text="ok")

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"count": count["n"], "unique": len(seen), "delays": delays})

    async def reset(request: web.Request) -> web.Response:
        delays.clear()
        seen.clear()
        count["n"] = 0
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def _smtp_receiver(port: int, ready: Any, counter: Any) -> None:
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with counter.get_lock():
                counter.value += 1
            return "250 OK"

    c = Controller(Handler(), hostname="127.0.0.1", port=port)
    c.start()
    ready.set()
    while True:
        time.sleep(3600)


def start(target: Any, *args: Any) -> mp.Process:
    ready = mp.Event()
    p = mp.Process(target=target, args=(*args, ready), daemon=True) if target is _webhook_receiver else \
        mp.Process(target=target, args=(args[0], ready, args[1]), daemon=True)
    p.start()
    if not ready.wait(20):
        raise SystemExit(f"receiver {target.__name__} did not start")
    return p


async def stats(http: aiohttp.ClientSession, port: int) -> dict[str, Any]:
    async with http.get(f"http://127.0.0.1:{port}/stats") as r:
        return await r.json()


# -- stores ------------------------------------------------------------------------------------
async def open_store(backend: str, tmp: Path, pg: Any) -> SqlStore:
    if backend == "sqlite":
        from server.store.sqlite import SQLiteExecutor
        s = SqlStore(SQLiteExecutor(tmp / f"bench-{uuid.uuid4().hex[:6]}.sqlite3"))
    else:
        from server.store.postgres import PostgresExecutor
        s = SqlStore(PostgresExecutor(pg.create_database()))
    await s.open()
    return s


def alert(i: int, now: float) -> Alert:
    return Alert(id=0, created_at=now, updated_at=now, time=now, kind="file.write", title="bench", agent_id="a",
                 event_id=str(uuid.uuid4()), host=f"pc-{i % 500:03d}", user=f"user{i % 97}", channel="removable",
                 path=f"/media/u/KINGSTON/report-{i}.xlsx", device={"vendor": "Kingston", "serial": "0019E06B"},
                 destination=None, content_hash=f"{i:064x}", detectors=["pii.cn_resident_id"], score=80, level="high",
                 explanation=[{"factor": "severity", "detail": "pii.cn_resident_id high", "points": 40}],
                 evidence=[{"detector": "pii.cn_resident_id", "severity": "high", "confidence": 0.97,
                            "location": {"path": "/x", "start": 0, "end": 18, "line": 1},
                            "masked": "1101**********002X", "hash": "9a" * 32}],
                 sla_deadline=now + 3600)


# -- 1 + 2: throughput -------------------------------------------------------------------------
async def outbox_throughput(store: SqlStore, destinations: dict[str, Any], n: int,
                            done: Any) -> tuple[float, float]:
    """(enqueue alerts/s, delivered alerts/s) for n alerts through one Forwarder."""
    cfg = load_forward_config({"destinations": destinations, "routes": [{"to": list(destinations)}],
                               "dedup": {"window": 0}, "outbox": {"batch": 500, "concurrency": 64}}, "bench")
    fw = Forwarder(cfg, store)
    now = time.time()
    rows = [await store.insert_alert(alert(i, now)) for i in range(n)]
    t0 = time.perf_counter()
    for a in rows:
        await fw.on_alert(a)
    t_enq = time.perf_counter() - t0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as http:
        t0 = time.perf_counter()
        worker = asyncio.create_task(fw.run(Resources(http=http)))  # the production loop
        while fw.stats.delivered < n:
            await asyncio.sleep(0.005)
        t_del = time.perf_counter() - t0
        worker.cancel()
        try:
            await worker
        except asyncio.CancelledError:
            pass
    await fw.close()
    await done()
    return n / t_enq, n / t_del


async def direct_throughput(port: int, n: int, concurrency: int = 64) -> float:
    """The comparator: the same POSTs, same concurrency, no outbox and no store."""
    cfg = load_forward_config({"destinations": {"w": {"type": "webhook", "url": "http://x/"}},
                               "routes": [{"to": "w"}]}, "bench")
    fw = Forwarder(cfg, None)  # type: ignore[arg-type]  # only builds payloads here
    now = time.time()
    bodies = [json.dumps(fw.items(fw.view(alert(i, now)), cfg.router.routes, "x", now)[0].payload).encode()
              for i in range(n)]
    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        async def post(body: bytes) -> None:
            async with sem, http.post(f"http://127.0.0.1:{port}/hook", data=body,
                                      headers={"Content-Type": "application/json"}) as r:
                await r.read()
        t0 = time.perf_counter()
        await asyncio.gather(*(post(b) for b in bodies))
        return n / (time.perf_counter() - t0)


# -- 3: ingest -> delivery delay through the collector app -------------------------------------
async def ingest_delay(tmp: Path, hook_port: int, rate: float, seconds: float) -> dict[str, float]:
    from aiohttp import web

    from server.app import create_app
    from server.config import default_config

    forward = {"destinations": {"hook": {"type": "webhook", "url": f"http://127.0.0.1:{hook_port}/hook", "secret": "b"}},
               "routes": [{"to": "hook"}], "dedup": {"window": 0}, "outbox": {"poll_interval": 0.05}}
    secret = "bench-enrollment-secret-0123456789"
    app = create_app(default_config(forward=forward, data_dir=tmp / "collector", enroll_secret=secret,
                                    ingest_rate=default_config().ingest_rate.__class__(rate=1000.0, burst=1000.0)))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    sent = 0
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/api/v1/agents/enroll", json={
                    "enroll_secret": secret, "hostname": "bench-pc", "version": "0.1.0", "os": "linux"}) as r:
                enrolled = await r.json()
            headers = {"Authorization": f"Bearer {enrolled['token']}"}
            await http.post(f"http://127.0.0.1:{hook_port}/reset")
            per_batch = 10
            interval = per_batch / rate
            t_end = time.monotonic() + seconds
            seq = 0
            while time.monotonic() < t_end:
                tick = time.monotonic()
                events = []
                for _ in range(per_batch):
                    seq += 1
                    events.append({"id": str(uuid.uuid4()), "seq": seq, "time": time.time(), "kind": "file.write",
                                   "host": f"pc-{seq % 300}", "user": f"u{seq % 71}", "channel": "removable",
                                   "file": {"path": f"/media/u/doc-{seq}.docx", "content_hash": f"{seq:064x}"},
                                   "findings": [{"detector": "pii.cn_resident_id", "severity": "high",
                                                 "confidence": 0.95, "location": {"path": "/x", "start": 0, "end": 18},
                                                 "masked": "1101**********002X", "hash": "ab" * 32}]})
                async with http.post(f"{base}/api/v1/events", headers=headers, json={
                        "schema": 1, "agent_id": enrolled["agent_id"], "events": events}) as r:
                    if r.status != 200:
                        raise SystemExit(f"ingest answered {r.status}: {await r.text()}")
                sent += per_batch
                await asyncio.sleep(max(0.0, interval - (time.monotonic() - tick)))
            deadline = time.monotonic() + 30
            while (s := await stats(http, hook_port))["count"] < sent and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
    finally:
        await runner.cleanup()
    delays = sorted(s["delays"])
    q = statistics.quantiles(delays, n=100)
    return {"sent": sent, "delivered": s["count"], "p50": q[49] * 1000, "p99": q[98] * 1000, "max": delays[-1] * 1000}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--alerts", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--mails", type=int, default=300)
    ap.add_argument("--rate", type=float, default=200.0, help="events/s posted for the delay measurement")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    backends = args.backends.split(",")

    hook_port, smtp_port = free_port(), free_port()
    counter = mp.Value("i", 0)
    procs = [start(_webhook_receiver, hook_port), start(_smtp_receiver, smtp_port, counter)]
    pg = None
    if "postgresql" in backends:
        from tests.pg import PgServer
        pg = PgServer.start()
    tmp = Path(tempfile.mkdtemp(prefix="lw-forward-bench-"))
    results: list[tuple[str, str, str]] = []
    try:
        async with aiohttp.ClientSession() as http:
            async def reset() -> None:
                await http.post(f"http://127.0.0.1:{hook_port}/reset")

            hook = {"hook": {"type": "webhook", "url": f"http://127.0.0.1:{hook_port}/hook", "secret": "bench"}}
            runs: dict[str, list[float]] = {"direct": [], **{b: [] for b in backends}}
            enq: dict[str, list[float]] = {b: [] for b in backends}
            # Interleaved rounds: the machine is shared, so each figure is the best and the median of
            # its rounds, measured next to the comparator's rounds under the same load.
            for _ in range(args.rounds):
                runs["direct"].append(await direct_throughput(hook_port, args.alerts))
                await reset()
                for backend in backends:
                    store = await open_store(backend, tmp, pg)
                    e, r = await outbox_throughput(store, hook, args.alerts, reset)
                    await store.close()
                    runs[backend].append(r)
                    enq[backend].append(e)

            def fig(xs: list[float]) -> str:
                return f"{max(xs):,.0f} alerts/s (median {statistics.median(xs):,.0f})"
            results.append(("webhook, direct POST (no outbox, comparator)", fig(runs["direct"]), "-"))
            for backend in backends:
                results.append((f"webhook via outbox ({backend})", fig(runs[backend]),
                                f"enqueue {max(enq[backend]):,.0f} alerts/s"))

            store = await open_store("sqlite", tmp, pg)
            mail = {"mail": {"type": "email", "host": "127.0.0.1", "port": smtp_port, "security": "none",
                             "from": "lw@example.org", "to": ["soc@example.org"]}}
            _, mrate = await outbox_throughput(store, mail, args.mails, reset)
            await store.close()
            results.append(("e-mail via outbox (sqlite, aiosmtpd)", f"{mrate:,.0f} alerts/s",
                            f"{counter.value} mails received"))

        d = await ingest_delay(tmp, hook_port, args.rate, args.seconds)
        results.append((f"ingest -> webhook delay at {args.rate:.0f} events/s (app, sqlite)",
                        f"p50 {d['p50']:.1f} ms · p99 {d['p99']:.1f} ms",
                        f"{d['delivered']}/{d['sent']} delivered, max {d['max']:.0f} ms"))
    finally:
        for p in procs:
            p.kill()
        if pg is not None:
            pg.stop()

    load = os.getloadavg()[0]
    print(f"\nforward_bench: {args.alerts} alerts x {args.rounds} rounds, {args.mails} mails, "
          f"{os.cpu_count()} CPUs, load average {load:.1f}")
    w = max(len(r[0]) for r in results)
    for name, figure, note in results:
        print(f"  {name:<{w}}  {figure:>28}  {note}")


if __name__ == "__main__":
    asyncio.run(main())
