"""Endpoint agent benchmark: idle cost with 100,000 watched files, and burst latency.

    .venv/bin/python bench/agent_bench.py [--files 100000] [--burst 10000] [--sensitive 500]

One run, two agents (real `leakwarden agent` processes) on the same tree:
  A. scanning on (the product): idle CPU and RSS with the whole tree watched,
     then a burst of writes of which some carry sensitive content; every
     sensitive file must be reported; latency = write -> event seen in the spool
     by a reader polling every 25 ms, with a per-stage breakdown;
  B. the comparator: scanning off, every write reported (files.report_all),
     the same burst: what the monitor, debounce and spool cost without detection.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
SENSITIVE = "员工信息表\n姓名 张三 身份证号 440305198503121231 备注 第{}行\n"
PLAIN = "meeting notes, nothing secret here; line {0} of the quarterly plan. " * 12 + "\n"


def make_tree(root: Path, n: int, per_dir: int = 100) -> None:
    for i in range(n):
        d = root / f"d{i // per_dir:04}"
        if i % per_dir == 0:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:06}.txt").write_text(PLAIN.format(i))


def write_config(base: Path, root: Path, *, scan: bool) -> Path:
    key = base / "hash.key"
    key.write_bytes(os.urandom(32).hex().encode())
    cfg = {
        "state_dir": str(base / "state"),
        "collector": {"url": None},
        "detection": {"hash_key_file": str(key), "scan": scan},
        "files": {"roots": [str(root)], "initial_scan": False, "report_all": not scan, "settle": 0.3, "max_delay": 3.0},
        "devices": {"enabled": False},
        "network": {"enabled": False},
        "budget": {"workers": 2, "nice": 10},
        "spool": {"max_events": 100_000},
        "heartbeat_interval": 60,
        "log": {"level": "info", "file": str(base / "agent.log")},
    }
    path = base / "agent.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


class SpoolWatch:
    """Reads new spool rows every 25 ms and notes when each was first seen: the "spooled" time.

    The event's own ``time`` is set when the pipeline builds it, before the spool commit;
    the time a reader first sees the row is the commit plus at most one poll interval.
    """

    POLL_S = 0.025

    def __init__(self, state: Path) -> None:
        self.db_path = state / "spool.db"
        self.last_seq = 0
        self.seen: dict[str, tuple[float, dict]] = {}  # path -> (time first seen, event)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "SpoolWatch":
        self._thread.start()  # polls while the burst is written: early events are seen when they land
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.POLL_S):
            self.poll()

    def poll(self) -> None:
        # A plain reader: "mode=ro" readers can remap -shm under the writer.
        try:
            db = sqlite3.connect(self.db_path, timeout=30)
        except sqlite3.OperationalError:
            return
        try:
            rows = db.execute("SELECT seq, body FROM events WHERE seq > ? ORDER BY seq", (self.last_seq,)).fetchall()
        except sqlite3.OperationalError:
            return
        finally:
            db.close()
        now = time.time()
        for seq, body in rows:
            self.last_seq = seq
            e = json.loads(body)
            if e.get("file"):
                self.seen.setdefault(e["file"]["path"], (now, e))


def wait_log(log: Path, needle: str, timeout: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if log.exists() and needle in log.read_text(errors="replace"):
            return time.monotonic() - t0
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {needle!r} in {log}")


def run(label: str, base: Path, root: Path, *, scan: bool, burst: int, sensitive: int, idle_s: float) -> dict:
    base.mkdir(parents=True)
    cfg = write_config(base, root, scan=scan)
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-X", "faulthandler", "-m", "leakwarden.cli", "agent", "--config", str(cfg)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=open(base / "stderr.log", "wb"))
    p = psutil.Process(proc.pid)
    try:
        wait_log(base / "agent.log", '"walk done"', 600)
        startup = time.monotonic() - t0
        time.sleep(2)  # let start-up work finish
        c0, w0 = p.cpu_times(), time.monotonic()
        time.sleep(idle_s)
        c1, w1 = p.cpu_times(), time.monotonic()
        idle_cpu = 100 * ((c1.user + c1.system) - (c0.user + c0.system)) / (w1 - w0)
        rss = p.memory_info().rss
        # The burst: new files in a fresh folder, every (burst/sensitive)-th sensitive.
        every = max(1, burst // sensitive)
        bdir = root / f"burst-{label}"
        bdir.mkdir()
        written: dict[str, float] = {}
        want: set[str] = set()
        watch = SpoolWatch(base / "state").__enter__()
        cb = p.cpu_times()
        tb = time.monotonic()
        for i in range(burst):
            path = bdir / f"b{i:05}.txt"
            is_sensitive = i % every == 0 and len(want) < sensitive
            path.write_text(SENSITIVE.format(i) if is_sensitive else PLAIN.format(i))
            written[str(path)] = time.time()
            if is_sensitive:
                want.add(str(path))
        write_s = time.monotonic() - tb
        deadline = time.monotonic() + 300
        expect = want if scan else set(written)
        while time.monotonic() < deadline:
            if expect <= set(watch.seen):
                break
            if proc.poll() is not None:
                raise SystemExit(f"agent died (exit {proc.returncode}); see {base / 'stderr.log'}")
            time.sleep(SpoolWatch.POLL_S)
        drained = time.monotonic() - tb
        watch.__exit__()
        ce = p.cpu_times()
        burst_cpu = (ce.user + ce.system) - (cb.user + cb.system)
        got = watch.seen
        reported = want & set(got)
        lat = sorted(got[f][0] - written[f] for f in reported)
        # Where the time goes, per reported file: write -> the dispatcher takes the create
        # (monitor, queue), -> the event is built (debounce settle, scan queue, scan),
        # -> a reader sees it in the spool (commit grouping, fsync).
        stages = {"to_dispatch": [], "to_event": [], "to_spool": []}
        for f in reported:
            seen, e = got[f]
            built = e["time"]
            queued = built - (e.get("attributes") or {}).get("latency_s", 0.0)
            stages["to_dispatch"].append(queued - written[f])
            stages["to_event"].append(built - queued)
            stages["to_spool"].append(seen - built)
        peak_rss = p.memory_info().rss
    finally:
        proc.terminate()
        proc.wait(60)
    p95 = lat[int(0.95 * (len(lat) - 1))] if lat else float("nan")
    return {
        "label": label, "startup_s": startup, "idle_cpu_pct": idle_cpu, "rss_mb": rss / 2**20, "peak_rss_mb": peak_rss / 2**20,
        "burst_write_s": write_s, "drained_s": drained, "burst_cpu_s": burst_cpu, "sensitive_reported": len(reported), "sensitive": len(want),
        "p50_s": statistics.median(lat) if lat else float("nan"), "p95_s": p95, "max_s": lat[-1] if lat else float("nan"),
        "events": len(got),
        **{f"{k}_p50": statistics.median(v) if v else float("nan") for k, v in stages.items()},
        **{f"{k}_p95": sorted(v)[int(0.95 * (len(v) - 1))] if v else float("nan") for k, v in stages.items()},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--burst", type=int, default=10_000)
    ap.add_argument("--sensitive", type=int, default=500)
    ap.add_argument("--idle", type=float, default=15.0, help="seconds of idle measurement")
    ap.add_argument("--keep", action="store_true", help="keep the temporary tree")
    ap.add_argument("--quick", action="store_true", help="a 10,000-file tree and 3 s of idle measurement (same burst)")
    args = ap.parse_args()
    if args.quick:
        args.files, args.idle = min(args.files, 10_000), min(args.idle, 3.0)
    tmp = Path(tempfile.mkdtemp(prefix="lw-agent-bench-"))
    try:
        root = tmp / "tree"
        t = time.monotonic()
        make_tree(root, args.files)
        print(f"tree: {args.files} files in {args.files // 100} folders, made in {time.monotonic() - t:.1f}s")
        a = run("scan", tmp / "a", root, scan=True, burst=args.burst, sensitive=args.sensitive, idle_s=args.idle)
        b = run("noscan", tmp / "b", root, scan=False, burst=args.burst, sensitive=args.sensitive, idle_s=args.idle)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    rows = [
        ("start-up: index + watch tree (s)", "startup_s", "{:.1f}", None),
        ("idle CPU, % of one core", "idle_cpu_pct", "{:.2f}", "< 1"),
        ("RSS idle (MB)", "rss_mb", "{:.0f}", "< 120"),
        ("RSS after burst (MB)", "peak_rss_mb", "{:.0f}", None),
        ("burst: time to write (s)", "burst_write_s", "{:.1f}", None),
        ("burst: until all reported (s)", "drained_s", "{:.1f}", None),
        ("burst: agent CPU (s)", "burst_cpu_s", "{:.1f}", None),
        ("sensitive files reported", "sensitive_reported", "{}", f"all {args.sensitive}"),
        ("write -> spooled p50 (s)", "p50_s", "{:.2f}", None),
        ("write -> spooled p95 (s)", "p95_s", "{:.2f}", "< 2"),
        ("write -> spooled max (s)", "max_s", "{:.2f}", None),
        ("  stage p50/p95: write -> dispatcher", "to_dispatch", None, None),
        ("  stage p50/p95: -> event built", "to_event", None, None),
        ("  stage p50/p95: -> seen in spool", "to_spool", None, None),
        ("events spooled", "events", "{}", None),
    ]
    print(f"\n{'':34} {'scanning on':>14} {'scanning off':>14}   goal")
    for name, key, fmt, goal in rows:
        if fmt is None:  # a stage: p50/p95 pair
            pair = [f"{r[key + '_p50']:.2f}/{r[key + '_p95']:.2f}" for r in (a, b)]
            print(f"{name:34} {pair[0]:>14} {pair[1]:>14}")
            continue
        print(f"{name:34} {fmt.format(a[key]):>14} {fmt.format(b[key]):>14}   {goal or ''}")
    print(f"\n(scanning off = files.report_all with detection.scan false: every write spooled, no detection)")
    return 0 if a["sensitive_reported"] == a["sensitive"] else 1


if __name__ == "__main__":
    sys.exit(main())
