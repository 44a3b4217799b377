"""A simulated month of endpoint traffic with injected exfiltration, scored against :class:`Baselines`.

``python -m detectors.ml.simulate [--hosts 8] [--days 30] [--seed 7]`` prints, per
injected incident, whether and how fast it was detected (minutes after it
started, bytes already gone), and the false alarms raised on normal traffic
after the warm-up. Every event is observed for two keys, the host and the
process, as the agent does: a brand-new process has no baseline of its own,
but its host does.

Normal traffic: per host, four processes with their own destination
categories, working hours, day-to-day variation (log-normal, sigma 0.5),
quiet weekends, a nightly backup job, occasional small new destinations and
occasional small USB copies. Incidents (after the warm-up):

- night_upload: 2.1 GB to cloud-storage by the browser between 02:00 and 03:00;
- slow_mail: six times the usual mail volume, spread over a working day;
- usb_dump: 400 files (1.2 GB) copied to a USB stick over an hour;
- new_sync: 600 MB to a cloud host never used before, by a new sync tool.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from detectors.ml.anomaly import AnomalyVerdict, Baselines, human_bytes

MB = 1_000_000


@dataclass(frozen=True)
class Profile:
    process: str
    category: str
    median_per_day: float
    hours: tuple[int, int]  # active from, to (exclusive)
    destinations: tuple[str, ...]


PROFILES = (
    Profile("chrome", "web", 300 * MB, (8, 19), ("www.example.com", "news.example.org", "search.example.net")),
    Profile("chrome", "cloud-storage", 40 * MB, (9, 18), ("drive.example.com",)),
    Profile("outlook", "mail", 25 * MB, (8, 18), ("mail.corp.example",)),
    Profile("teams", "messaging", 60 * MB, (8, 18), ("chat.example.com",)),
    Profile("backupd", "backup", 900 * MB, (1, 2), ("backup.corp.example",)),
)


@dataclass
class Incident:
    name: str
    host: str
    start: dt.datetime
    events: list[tuple[dt.datetime, str, str, int, str | None, int]] = field(default_factory=list)
    # (when, process, category, bytes, destination, files) files>0 => removable copy
    detected_at: dt.datetime | None = None
    bytes_before: int = 0
    verdict: AnomalyVerdict | None = None


def normal_events(r: random.Random, host: str, day: dt.date) -> list[tuple[dt.datetime, str, str, int, str | None, int]]:
    out = []
    weekend = day.weekday() >= 5
    for p in PROFILES:
        if weekend and p.category != "backup":
            if r.random() < 0.8:
                continue
        total = p.median_per_day * r.lognormvariate(0, 0.5) * (0.3 if weekend and p.category != "backup" else 1)
        slots = [(h, m) for h in range(*p.hours) for m in (0, 30)]
        weights = [r.random() for _ in slots]
        s = sum(weights)
        for (h, m), w in zip(slots, weights):
            dest = r.choice(p.destinations)
            if p.category == "web" and r.random() < 0.05:
                dest = f"site{r.randint(0, 10**6)}.example"  # browsing new sites is normal, in small amounts
            when = dt.datetime.combine(day, dt.time(h, m, r.randint(0, 59)))
            out.append((when, p.process, p.category, int(total * w / s), dest, 0))
    if not weekend and r.random() < 0.15:  # someone copies a few documents to a stick now and then
        h = r.randint(9, 17)
        out.append((dt.datetime.combine(day, dt.time(h, 10)), "explorer", "removable-media", r.randint(1, 30) * MB, None, r.randint(1, 12)))
    return out


def incidents(r: random.Random, hosts: list[str], start: dt.date, days: int) -> list[Incident]:
    def at(offset: int, hour: int, minute: int = 0) -> dt.datetime:
        d = start + dt.timedelta(days=offset)
        while d.weekday() >= 5:  # the daytime incidents happen on working days
            d += dt.timedelta(days=1)
        return dt.datetime.combine(d, dt.time(hour, minute))

    base = max(10, days * 2 // 3)
    out = []
    inc = Incident("night_upload", hosts[0 % len(hosts)], at(base, 2))
    inc.events = [(inc.start + dt.timedelta(minutes=3 * i), "chrome", "cloud-storage", 105 * MB, "drive.example.com", 0)
                  for i in range(20)]
    out.append(inc)
    inc = Incident("slow_mail", hosts[1 % len(hosts)], at(base + 1, 9))
    inc.events = [(inc.start + dt.timedelta(minutes=30 * i), "outlook", "mail", int(6 * 25 * MB / 18), "mail.corp.example", 0)
                  for i in range(18)]
    out.append(inc)
    inc = Incident("usb_dump", hosts[2 % len(hosts)], at(base + 2, 14))
    inc.events = [(inc.start + dt.timedelta(minutes=3 * i), "explorer", "removable-media", 60 * MB, "usb:0781:5583", 20)
                  for i in range(20)]
    out.append(inc)
    inc = Incident("new_sync", hosts[3 % len(hosts)], at(base + 3, 11))
    inc.events = [(inc.start + dt.timedelta(minutes=5 * i), "syncthing", "cloud-storage", 50 * MB, "files.unknown-cloud.example", 0)
                  for i in range(12)]
    out.append(inc)
    return out


def observe(b: Baselines, host: str, ev: tuple[dt.datetime, str, str, int, str | None, int]) -> list[AnomalyVerdict]:
    when, process, category, nbytes, dest, files = ev
    keys = (f"host:{host}", f"process:{host}/{process}")
    if files:
        found = [b.observe_copy(k, files, nbytes, when, device=dest) for k in keys]
    else:
        found = [b.observe(k, category, nbytes, when, destination=dest) for k in keys]
    return [v for v in found if v is not None]


@dataclass
class Result:
    incidents: list[Incident]
    false_alarms: list[AnomalyVerdict]
    key_days: int
    events: int
    seconds: float


def run(hosts: int = 8, days: int = 30, seed: int = 7, state: Path | None = None, warmup_days: int = 7) -> Result:
    r = random.Random(seed)
    names = [f"ws-{i:02d}" for i in range(hosts)]
    start = dt.date(2026, 10, 1)
    planned = incidents(r, names, start, days)
    with tempfile.TemporaryDirectory() as tmp:
        b = Baselines(state or Path(tmp) / "baselines.sqlite3", warmup_days=warmup_days)
        timeline = []
        for host in names:
            for i in range(days):
                timeline += [(e[0], host, e, None) for e in normal_events(r, host, start + dt.timedelta(days=i))]
        for inc in planned:
            timeline += [(e[0], inc.host, e, inc) for e in inc.events]
        timeline.sort(key=lambda t: (t[0], t[1]))
        false_alarms: list[AnomalyVerdict] = []
        t0 = time.perf_counter()
        for when, host, ev, inc in timeline:
            verdicts = observe(b, host, ev)
            if inc is not None:
                if inc.detected_at is None:
                    inc.bytes_before += ev[3]
                    if verdicts:
                        inc.detected_at, inc.verdict = when, verdicts[0]
                continue
            open_incident = any(i.host == host and i.detected_at is None and i.start <= when for i in planned)
            for v in verdicts:
                same_day = any(i.host == host and i.start.date() == when.date() for i in planned)
                if not (open_incident or same_day):
                    false_alarms.append(v)
        seconds = time.perf_counter() - t0
        b.close()
    return Result(planned, false_alarms, hosts * max(0, days - warmup_days), len(timeline), seconds)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=8)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--runs", type=int, default=1, help="repeat with seeds seed..seed+runs-1 and summarise")
    args = ap.parse_args(argv)
    summary: dict[str, list[float | None]] = {}
    alarms = key_days = 0
    for seed in range(args.seed, args.seed + args.runs):
        res = run(args.hosts, args.days, seed)
        print(f"seed {seed}: {args.hosts} hosts x {args.days} days, {res.events} events observed twice (host and "
              f"process keys) in {res.seconds:.1f} s ({2 * res.events / res.seconds:,.0f} observations/s)")
        print(f"  {'incident':<14} {'detected':<9} {'delay':>8} {'gone before':>12}  verdict")
        for inc in res.incidents:
            if inc.detected_at is None or inc.verdict is None:
                summary.setdefault(inc.name, []).append(None)
                print(f"  {inc.name:<14} {'NO':<9} {'-':>8} {human_bytes(inc.bytes_before):>12}")
                continue
            delay = (inc.detected_at - inc.start).total_seconds() / 60
            summary.setdefault(inc.name, []).append(delay)
            print(f"  {inc.name:<14} {'yes':<9} {delay:>6.0f} m {human_bytes(inc.bytes_before):>12}  "
                  f"[{inc.verdict.key} {inc.verdict.signal}] {inc.verdict.explanation}")
        print(f"  false alarms on normal traffic after warm-up: {len(res.false_alarms)} in {res.key_days} host-days")
        for v in res.false_alarms:
            print(f"    false alarm [{v.key} {v.signal}] {v.explanation}")
        alarms += len(res.false_alarms)
        key_days += res.key_days
    if args.runs > 1:
        print(f"\nsummary over {args.runs} runs")
        for name, delays in summary.items():
            hit = sorted(d for d in delays if d is not None)
            med = f"{statistics.median(hit):.0f} min" if hit else "-"
            print(f"  {name:<14} detected {len(hit)}/{len(delays)}, median delay {med}")
        print(f"  false alarms: {alarms} verdicts in {key_days} host-days ({alarms / max(1, key_days):.3f} per host-day; "
              f"host and process keys each count)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
