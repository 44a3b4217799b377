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
    seconds: float

    def row(self, scenario: str) -> str:
        return (f"| {scenario} | {self.sent} | {self.received} | {self.lost} | {self.duplicated} "
                f"| {self.seconds:.1f} |")


def tally(d: Deployment, prefix: str, sent: int, started: float) -> Tally:
    rows = d.db_rows("SELECT path, count(*) FROM events WHERE kind LIKE 'file.%' AND path LIKE ? GROUP BY path",
                     f"%/{prefix}-%")
    received = len(rows)
    stored = sum(c for _, c in rows)
    return Tally(sent=sent, received=received, stored=stored, lost=sent - received,
                 duplicated=stored - received, seconds=time.monotonic() - started)


def wait_all(d: Deployment, prefix: str, sent: int, started: float, timeout: float) -> Tally:
    deadline = time.monotonic() + timeout
    t = tally(d, prefix, sent, started)
    while t.received < sent and time.monotonic() < deadline:
        time.sleep(0.5)
        t = tally(d, prefix, sent, started)
    return t
