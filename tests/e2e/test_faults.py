"""Faults, each counting events sent, received, lost and duplicated (docs/reliability.md)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.burst import wait_all, write_burst

pytestmark = pytest.mark.slow
FIGURES = Path(os.environ.get("LEAKWARDEN_RELIABILITY_OUT", "")) if os.environ.get("LEAKWARDEN_RELIABILITY_OUT") else None


def record(line: str) -> None:
    """Print a figure row; with LEAKWARDEN_RELIABILITY_OUT set, also append it to that file."""
    print(line)
    if FIGURES:
        with open(FIGURES, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def test_collector_killed_during_a_burst_of_5000(deploy) -> None:
    d = deploy()
    started = time.monotonic()
    write_burst(d.watch, 2500, "kc")
    time.sleep(1.0)
    d.kill_collector(signal.SIGKILL)
    write_burst(d.watch, 2500, "kc", start=2500)
    time.sleep(3.0)
    d.start_collector()
    t = wait_all(d, "kc", 5000, started, timeout=240)
    record(t.row("collector kill -9 during a 5,000-file burst"))
    assert (t.lost, t.duplicated) == (0, 0), t


def test_agent_killed_mid_burst(deploy) -> None:
    d = deploy()
    started = time.monotonic()
    write_burst(d.watch, 1500, "ka")
    time.sleep(1.0)
    d.kill_agent(signal.SIGKILL)
    write_burst(d.watch, 1500, "ka", start=1500)  # written while the agent is dead: the catch-up scan finds them
    d.start_agent()
    t = wait_all(d, "ka", 3000, started, timeout=240)
    record(t.row("agent kill -9 mid-burst (3,000 files)"))
    assert t.lost == 0, t
    assert t.duplicated == 0, t


def test_collector_unreachable_for_a_while(deploy) -> None:
    outage = float(os.environ.get("LEAKWARDEN_OUTAGE_SECONDS", "20"))
    d = deploy(agent_extra={"collector": {"backoff_max": 5}})
    d.kill_collector(signal.SIGTERM)
    started = time.monotonic()
    write_burst(d.watch, 500, "down")
    time.sleep(outage)
    d.start_collector()
    t = wait_all(d, "down", 500, started, timeout=120)
    record(t.row(f"collector unreachable for {outage:.0f}s (500 files)"))
    assert (t.lost, t.duplicated) == (0, 0), t
    assert t.seconds - outage < 30  # caught up within the backoff cap and a few batches
