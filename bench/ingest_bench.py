#!/usr/bin/env python3
"""Collector ingest and alert-list benchmark: SQLite and PostgreSQL side by side.

Usage: .venv/bin/python bench/ingest_bench.py [--seconds 15] [--agents 50] [--batch 100]
                                              [--alerts 1000000] [--backends sqlite,postgresql]

For each backend it starts a real collector process (``leakwarden server``) on
loopback, enrolls ``--agents`` simulated agents over HTTP and lets them post
batches of ``--batch`` events (10 % carry findings and become graded alerts) as
fast as the collector answers, for ``--seconds``: events/s and p50/p99 batch
latency. Then it bulk-loads ``--alerts`` alerts into the store, restarts the
collector and times the filtered alert list (``GET /api/v1/alerts``) with the
filters an analyst uses. PostgreSQL is a throwaway server started from
/usr/lib/postgresql/15/bin (tests/pg.py). Goals: SQLite >= 5,000 events/s with
p99 < 200 ms; alert list < 100 ms at 1,000,000 alerts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pg import PgServer  # noqa: E402

SECRET = "bench-enrollment-secret-0123456789"
PY = sys.executable
DETECTORS = ["pii.cn_resident_id", "pii.cn_mobile", "pii.email", "secret.aws_access_key", "marking.cn_state_secret",
             "pii.payment_card"]


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collector:
    """A real ``leakwarden server`` process."""

    def __init__(self, workdir: Path, database: str | None) -> None:
        self.port = free_port()
        self.config = workdir / "server.yaml"
        storage = f"  database: {database}\n" if database else ""
        self.config.write_text(
            f"listen: {{host: 127.0.0.1, port: {self.port}}}\n"
            f"storage:\n  data_dir: {workdir / 'data'}\n{storage}"
            f"enrollment: {{secret: {SECRET}}}\n"
            "ingest: {rate_limit: {per_second: 100000, burst: 100000}}\n"
            "auth: {login_rate_limit: {per_second: 100, burst: 100}}\n"
            "logging: {level: warning}\n", encoding="utf-8")
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, stdin: str | None = None) -> str:
        out = subprocess.run([PY, "-m", "leakwarden.cli", *args, "--config", str(self.config)], input=stdin,
                             capture_output=True, text=True, cwd=ROOT, check=True)
        return out.stdout

    async def start(self) -> None:
        self.proc = subprocess.Popen([PY, "-m", "leakwarden.cli", "server", "--config", str(self.config)], cwd=ROOT)
        async with aiohttp.ClientSession() as s:
            for _ in range(200):
                try:
                    async with s.get(self.url + "/healthz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("collector did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
            self.proc = None


PLAIN = ('{{"id":"{id}","seq":{seq},"time":{t},"kind":"file.write","host":"{host}","user":"user{u}",'
         '"channel":"local","file":{{"path":"/home/user{u}/docs/report-{seq}.docx","size":20480,'
         '"content_hash":"{h}"}}')
FINDING = ('{{"detector":"{det}","severity":"high","confidence":0.9,"location":{{"path":"/home/user{u}/docs/'
           'report-{seq}.docx","start":{s},"end":{e}}},"masked":"6501**********0877","hash":"{h}"}}')


def batch_body(agent_id: str, prefix: str, host: str, i: int, seq0: int, n: int) -> bytes:
    """A batch as bytes, from templates: the load generator must not eat the collector's CPU."""
    t = time.time()
    parts = []
    for seq in range(seq0, seq0 + n):
        h = f"{prefix}{seq:024x}" * 2
        e = PLAIN.format(id=f"{prefix}-{seq >> 48 & 0xffff:04x}-4{seq >> 36 & 0xfff:03x}-8{seq >> 24 & 0xfff:03x}-"
                            f"{seq & 0xffffff:06x}{i:06x}", seq=seq, t=t, host=host, u=i % 500, h=h)
        if seq % 10 == 0:  # one event in ten carries findings and becomes a graded alert
            fs = ",".join(FINDING.format(det=DETECTORS[(seq // 10 + k) % len(DETECTORS)], u=i % 500, seq=seq, s=10 * k, e=10 * k + 8,
                                         h=h) for k in range(3))
            e += f',"findings":[{fs}]'
        parts.append(e + "}")
    return f'{{"schema":1,"agent_id":"{agent_id}","events":[{",".join(parts)}]}}'.encode()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def ingest(url: str, agents: int, batch: int, seconds: float, pid: int, rate: float | None = None
                 ) -> dict[str, float]:
    """Closed loop (rate None: each agent posts again as soon as answered) or paced at ``rate`` events/s."""
    latencies: list[float] = []
    events = 0
    errors = 0
    conn = aiohttp.TCPConnector(limit=agents + 5)
    async with aiohttp.ClientSession(connector=conn) as s:
        creds = []
        for i in range(agents):
            async with s.post(url + "/api/v1/agents/enroll", json={"enroll_secret": SECRET,
                                                                    "hostname": f"pc-{i:04d}"}) as r:
                body = await r.json()
                creds.append((body["agent_id"], {"Authorization": f"Bearer {body['token']}"}, f"pc-{i:04d}"))
        deadline = time.perf_counter() + seconds

        async def agent(agent_id: str, headers: dict[str, str], host: str, i: int) -> None:
            nonlocal events, errors
            seq = 0
            prefix = f"{i + (0x1000 if rate else 0):08x}"
            headers = {**headers, "Content-Type": "application/json"}
            period = agents * batch / rate if rate else 0.0
            next_at = time.perf_counter() + period * i / agents  # staggered, like real agents
            while time.perf_counter() < deadline:
                if period:
                    await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                    next_at += period
                body = batch_body(agent_id, prefix, host, i, seq, batch)
                seq += batch
                t = time.perf_counter()
                async with s.post(url + "/api/v1/events", data=body, headers=headers) as r:
                    await r.read()
                    ok = r.status == 200
                if time.perf_counter() <= deadline + 5:
                    latencies.append(time.perf_counter() - t)
                    if ok:
                        events += batch
                    else:
                        errors += 1
        t0, cpu0 = time.perf_counter(), cpu_seconds(pid)
        await asyncio.gather(*(agent(a, h, host, i) for i, (a, h, host) in enumerate(creds)))
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    latencies.sort()
    return {"events_s": events / elapsed, "events_cpu_s": events / cpu, "server_busy": cpu / elapsed, "p50_ms": 1000 * latencies[len(latencies) // 2],
            "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)], "batches": len(latencies), "errors": errors}


def alert_rows(n: int, start_id: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    rnd = random.Random(7)
    levels = ["low"] * 50 + ["medium"] * 30 + ["high"] * 15 + ["critical"] * 5
    statuses = ["resolved"] * 60 + ["false_positive"] * 15 + ["new"] * 15 + ["acknowledged"] * 5 + ["in_progress"] * 5
    now = time.time()
    alerts, dets = [], []
    for k in range(n):
        i = start_id + k
        t = now - (n - k) * 30.0
        det = DETECTORS[i % len(DETECTORS)]
        level = levels[rnd.randrange(100)]
        alerts.append((i, t, t, t, "file.write", f"{det} · file.write · report-{i}.docx", None, None,
                       f"pc-{i % 5000:04d}", f"user{i % 2000}", "local", f"/home/user{i % 2000}/report-{i}.docx",
                       None, None, None, f'["{det}"]', {"low": 20, "medium": 40, "high": 65, "critical": 90}[level],
                       level, "[]", "[]", statuses[rnd.randrange(100)], None, None, t + 3600, 0, None, None))
        dets += [(i, det), (i, det.split(".")[0] + ".*")]
    return alerts, dets


ALERT_COLUMNS = ["id", "created_at", "updated_at", "time", "kind", "title", "agent_id", "event_id", "host", "user",
                 "channel", "path", "device", "destination", "content_hash", "detectors", "score", "level",
                 "explanation", "evidence", "status", "assignee", "note", "sla_deadline", "escalation_level",
                 "acknowledged_at", "incident_id"]


async def seed(database: str | None, sqlite_path: Path, n: int) -> float:
    t = time.perf_counter()
    chunk = 200_000
    if database:
        import asyncpg
        con = await asyncpg.connect(database)
        start = int(await con.fetchval("SELECT COALESCE(MAX(id), 0) FROM alerts")) + 1
        for off in range(0, n, chunk):
            alerts, dets = alert_rows(min(chunk, n - off), start + off)
            await con.copy_records_to_table("alerts", records=alerts, columns=ALERT_COLUMNS)
            await con.copy_records_to_table("alert_detectors", records=dets, columns=["alert_id", "detector"])
        await con.execute("SELECT setval('alerts_id_seq', (SELECT MAX(id) FROM alerts))")
        await con.execute("ANALYZE alerts; ANALYZE alert_detectors")
        await con.close()
    else:
        con = sqlite3.connect(sqlite_path, isolation_level=None)
        start = int(con.execute("SELECT COALESCE(MAX(id), 0) FROM alerts").fetchone()[0]) + 1
        cols = ", ".join(f'"{c}"' for c in ALERT_COLUMNS)
        for off in range(0, n, chunk):
            alerts, dets = alert_rows(min(chunk, n - off), start + off)
            con.execute("BEGIN")
            con.executemany(f"INSERT INTO alerts ({cols}) VALUES ({','.join('?' * len(ALERT_COLUMNS))})", alerts)
            con.executemany("INSERT INTO alert_detectors (alert_id, detector) VALUES (?, ?)", dets)
            con.execute("COMMIT")
        con.execute("ANALYZE")
        con.close()
    return time.perf_counter() - t


QUERIES = [
    ("level=critical", "level=critical"),
    ("status=new&level=high", "status=new&level=high"),
    ("host", "host=pc-0042"),
    ("user+status", "user=user17&status=resolved"),
    ("detector", "detector=secret.aws_access_key&status=new"),
    ("family.*", "detector=pii.*&level=critical"),
    ("time range", "since={since}&until={until}&level=high"),
    ("page 2 (keyset)", "level=medium&before={cursor}"),
    ("q text (scan)", "q=report-99999&limit=20"),
    ("sort=risk, open", "sort=risk&status=new,acknowledged,in_progress"),
    ("sort=risk, page 2", "sort=risk&status=new,acknowledged,in_progress&before={rcursor}&before_score={rscore}"),
    ("sort=risk, all", "sort=risk"),
    ("sort=risk + family", "sort=risk&detector=pii.*&status=new"),
    ("sort=risk + host", "sort=risk&host=pc-0042"),
]


async def alert_list(url: str, token: str, repeats: int = 15) -> dict[str, float]:
    out: dict[str, float] = {}
    h = {"Authorization": f"Bearer {token}"}
    now = time.time()
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/api/v1/alerts?level=medium", headers=h) as r:
            cursor = (await r.json())["next_before"]
        async with s.get(url + "/api/v1/alerts?sort=risk&status=new,acknowledged,in_progress", headers=h) as r:
            first = await r.json()
        for name, q in QUERIES:
            q = q.format(since=now - 86400 * 30, until=now - 86400 * 29, cursor=cursor,
                         rcursor=first["next_before"], rscore=first["next_before_score"])
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                async with s.get(f"{url}/api/v1/alerts?{q}", headers=h) as r:
                    assert r.status == 200, await r.text()
                    await r.read()
                times.append(time.perf_counter() - t)
            out[name] = 1000 * statistics.median(times)
    return out


async def run_backend(name: str, args: argparse.Namespace, pg: PgServer | None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"lw-bench-{name}-"))
    database = pg.create_database() if pg else None
    c = Collector(work, database)
    await c.start()
    res: dict[str, Any] = {}
    try:
        assert c.proc is not None
        if not args.list_only:
            res = await ingest(c.url, args.agents, args.batch, args.seconds, c.proc.pid)
            paced = await ingest(c.url, args.agents, args.batch, args.seconds, c.proc.pid, rate=args.rate)
            res.update({f"paced_{k}": v for k, v in paced.items()})
    finally:
        c.stop()
    c.cli("user", "add", "bench", "--role", "viewer", "--password-stdin", stdin="bench-password\n")
    res["seed_s"] = await seed(database, work / "data" / "collector.sqlite3", args.alerts)
    await c.start()
    try:
        async with aiohttp.ClientSession() as s:
            async with s.post(c.url + "/api/v1/auth/login",
                              json={"username": "bench", "password": "bench-password"}) as r:
                token = (await r.json())["token"]
        res["list"] = await alert_list(c.url, token)
    finally:
        c.stop()
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--agents", type=int, default=50)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--alerts", type=int, default=1_000_000)
    ap.add_argument("--rate", type=float, default=5000, help="offered events/s of the paced run")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--list-only", action="store_true", help="skip the ingest runs; only the alert-list part")
    args = ap.parse_args()
    backends = args.backends.split(",")
    results: dict[str, dict[str, Any]] = {}
    pg = PgServer.start() if "postgresql" in backends else None
    try:
        for b in backends:
            print(f"... {b}", file=sys.stderr)
            results[b] = asyncio.run(run_backend(b, args, pg if b == "postgresql" else None))
    finally:
        if pg:
            pg.stop()
    cols = list(results)
    print(f"\nmachine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end of the run")
    if args.list_only:
        print_list(args, results, cols)
        return 0
    print(f"\nSaturation: {args.agents} agents x batches of {args.batch} events, each posting again as soon as "
          f"answered, {args.seconds:g} s (10 % of events carry findings -> graded alerts)")
    print(f"{'':28}" + "".join(f"{c:>14}" for c in cols))
    for key, label, fmt in (("events_s", "events/s (wall clock)", "{:14,.0f}"),
                            ("events_cpu_s", "events per server CPU-s", "{:14,.0f}"),
                            ("server_busy", "server CPU (cores busy)", "{:14.2f}"), ("p50_ms", "batch p50 ms", "{:14.1f}"),
                            ("p99_ms", "batch p99 ms", "{:14.1f}"), ("batches", "batches", "{:14,d}"),
                            ("errors", "non-200 answers", "{:14,d}")):
        print(f"{label:28}" + "".join(fmt.format(results[c][key]) for c in cols))
    print(f"\nPaced: the same agents offering {args.rate:,.0f} events/s in total (one batch each "
          f"{args.agents * args.batch / args.rate:.2f} s)")
    for key, label, fmt in (("paced_events_s", "events/s delivered", "{:14,.0f}"),
                            ("paced_events_cpu_s", "events per server CPU-s", "{:14,.0f}"),
                            ("paced_server_busy", "server CPU (cores busy)", "{:14.2f}"),
                            ("paced_p50_ms", "batch p50 ms", "{:14.1f}"), ("paced_p99_ms", "batch p99 ms", "{:14.1f}"),
                            ("paced_errors", "non-200 answers", "{:14,d}")):
        print(f"{label:28}" + "".join(fmt.format(results[c][key]) for c in cols))
    print_list(args, results, cols)
    return 0


def print_list(args: argparse.Namespace, results: dict[str, dict[str, Any]], cols: list[str]) -> None:
    print(f"\nAlert list over {args.alerts:,} stored alerts (GET /api/v1/alerts, 50 per page, median of 15 ms)")
    print(f"{'bulk load s':28}" + "".join(f"{results[c]['seed_s']:14.1f}" for c in cols))
    for name, _ in QUERIES:
        print(f"{name:28}" + "".join(f"{results[c]['list'][name]:14.1f}" for c in cols))


if __name__ == "__main__":
    sys.exit(main())
