"""Bursts of sensitive files, and counting what the collector received."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

from detectors.validators import gb11643_check_digit
from tests.e2e.harness import Deployment


def resident_id(n: int) -> str:
    """The n-th synthetic, valid resident id number (distinct for n < 3,650,000)."""
    day = dt.date(1960, 1, 1) + dt.timedelta(days=n // 1000)
    body = f"110105{day:%Y%m%d}{n % 1000:03d}"
    return body + gb11643_check_digit(body)


def write_burst(folder: Path, n: int, prefix: str, start: int = 0) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(start, start + n):
        name = f"{prefix}-{i:05d}.txt"
        (folder / name).write_text(f"客户资料 第{i}条\n身份证号：{resident_id(i)}\n", encoding="utf-8")
        names.append(name)
    return names


@dataclass
class Tally:
    sent: int
    received: int  # distinct files the collector has an event for
    stored: int  # file events stored for them
    lost: int
    duplicated: int
    seconds: float  # from the start of the burst until this count (monotonic clock)
    last_arrival: float | None  # collector wall clock (events.received_at) of the newest event of the burst
    # seconds from the recovery mark (a restart, space returning, the outage ending) to the last arrival;
    # None without a mark. 0 when everything had arrived before the mark.
    recovered: float | None = None

    def row(self, scenario: str) -> str:
        recover = "n/a" if self.recovered is None else f"{self.recovered:.1f}"
        return (f"| {scenario} | {self.sent} | {self.received} | {self.lost} | {self.duplicated} "
                f"| {self.seconds:.1f} | {recover} |")


def tally(d: Deployment, prefix: str, sent: int, started: float, recovery_mark: float | None = None) -> Tally:
    """Count the burst ``prefix``; ``recovery_mark`` is a ``time.time()`` taken when recovery began."""
    rows = d.db_rows("SELECT path, count(*), max(received_at) FROM events WHERE kind LIKE 'file.%' AND path LIKE ? "
                     "GROUP BY path", f"%/{prefix}-%")
    received = len(rows)
    stored = sum(c for _, c, _ in rows)
    last = max((r for _, _, r in rows), default=None)
    recovered = None
    if recovery_mark is not None and last is not None:
        recovered = max(0.0, last - recovery_mark)
    return Tally(sent=sent, received=received, stored=stored, lost=sent - received, duplicated=stored - received,
                 seconds=time.monotonic() - started, last_arrival=last, recovered=recovered)


def wait_all(d: Deployment, prefix: str, sent: int, started: float, timeout: float,
             recovery_mark: float | None = None) -> Tally:
    deadline = time.monotonic() + timeout
    t = tally(d, prefix, sent, started, recovery_mark)
    while t.received < sent and time.monotonic() < deadline:
        time.sleep(0.5)
        t = tally(d, prefix, sent, started, recovery_mark)
    return t
