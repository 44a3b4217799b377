"""Faults, each counting events sent, received, lost and duplicated (docs/reliability.md)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.burst import wait_all, write_burst
from tests.e2e.harness import wait_for

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
    restarted = time.time()
    d.start_collector()
    t = wait_all(d, "kc", 5000, started, timeout=240, recovery_mark=restarted)
    record(t.row("collector kill -9 during a 5,000-file burst"))
    assert (t.lost, t.duplicated) == (0, 0), t


def test_agent_killed_mid_burst(deploy) -> None:
    d = deploy()
    started = time.monotonic()
    write_burst(d.watch, 1500, "ka")
    time.sleep(1.0)
    d.kill_agent(signal.SIGKILL)
    write_burst(d.watch, 1500, "ka", start=1500)  # written while the agent is dead: the catch-up scan finds them
    restarted = time.time()
    d.start_agent()
    t = wait_all(d, "ka", 3000, started, timeout=240, recovery_mark=restarted)
    record(t.row("agent kill -9 mid-burst (3,000 files)"))
    assert t.lost == 0, t
    assert t.duplicated == 0, t


OUTAGE = float(os.environ.get("LEAKWARDEN_OUTAGE_SECONDS", "20"))  # docs/reliability.md: 300


@pytest.mark.timeout(OUTAGE + 240)
def test_collector_unreachable_for_a_while(deploy) -> None:
    outage = OUTAGE
    d = deploy(agent_extra={"collector": {"backoff_max": 5}})
    d.kill_collector(signal.SIGTERM)
    started = time.monotonic()
    write_burst(d.watch, 500, "down")
    time.sleep(outage)
    back = time.time()
    d.start_collector()
    t = wait_all(d, "down", 500, started, timeout=120, recovery_mark=back)
    record(t.row(f"collector unreachable for {outage:.0f}s (500 files)"))
    assert (t.lost, t.duplicated) == (0, 0), t
    assert t.recovered is not None and t.recovered < 30, t  # caught up within the backoff cap and a few batches


def test_spool_on_a_small_filesystem_that_fills_up(deploy, tmp_path: Path) -> None:
    """The agent's state dir on a 1 MB tmpfs: degraded, no crash, recovery when space returns."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small)], check=True)
    try:
        d = deploy(agent_extra={"state_dir": str(small / "agent")})
        d.kill_collector(signal.SIGTERM)  # nothing leaves: the spool must hold everything
        started = time.monotonic()
        write_burst(d.watch, 1000, "full")
        filler = small / "filler"
        with open(filler, "wb") as f:  # whatever room is left, take it
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        write_burst(d.watch, 200, "full", start=1000)
        wait_for("the agent to report a degraded spool", lambda: "degraded" in (d.logs / "agent.log").read_text(), 60)
        assert d.agent is not None and d.agent.poll() is None, "the agent crashed on a full disk"
        space_back = time.time()
        filler.unlink()
        subprocess.run(["mount", "-o", "remount,size=64m", str(small)], check=True)
        d.start_collector()
        t = wait_all(d, "full", 1200, started, timeout=120, recovery_mark=space_back)
        drops = d.db_scalar("SELECT count(*) FROM events WHERE kind IN ('agent.spool_drop', 'agent.degraded')")
        record(t.row("agent spool on a full 1 MB filesystem (1,200 files)") + f" drops/degraded events: {drops}")
        assert d.agent.poll() is None
        assert drops, "the degraded state never reached the collector"
        # Lost events must be accounted for by the agent (drops), never silent.
        reported = sum(int(json.loads(r[0]).get("attributes", {}).get("dropped", 0) or 0)
                       for r in d.db_rows("SELECT data FROM events WHERE kind = 'agent.spool_drop'"))
        assert t.lost <= reported, (t, reported)
        assert t.duplicated == 0
        d.stop()
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False)


def test_agent_clock_an_hour_off(deploy) -> None:
    libfaketime = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
    if not libfaketime.exists():
        pytest.skip("libfaketime (Debian package faketime) is not installed")
    d = deploy(agent_env={"LD_PRELOAD": str(libfaketime), "FAKETIME": "-1h",
                           "FAKETIME_DONT_FAKE_MONOTONIC": "1"})
    (d.watch / "skewed.txt").write_text("身份证号：110105199003071239\n", encoding="utf-8")
    alert = d.alert_for("skewed.txt", timeout=30)
    assert "pii.cn_resident_id" in alert["detectors"]
    skew = d.db_scalar("SELECT received_at - time FROM events WHERE path LIKE '%skewed.txt'")
    assert 3500 < skew < 3700
    # the collector notices the agent's clock and says so
    skew_alert = wait_for("an agent.clock_skew alert", lambda: [a for a in d.alerts(kind="agent.clock_skew")], 30)
    assert "3600" in str(skew_alert[0]["explanation"]) or "1.0 h" in str(skew_alert[0]["explanation"]) or "hour" in str(skew_alert[0]["explanation"])
    record(f"| agent clock 1 h behind | 1 | 1 | 0 | 0 | {alert['created_at'] - alert['time']:.0f} s skew seen | n/a |")
