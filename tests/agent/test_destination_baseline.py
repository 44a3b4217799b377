"""A destination's own volume baseline in the agent (Baselines.observe_destination).

As in test_baselines.py, observations reach the dispatcher as the NetConnection
records the sock_diag monitor emits (tested for real in test_network.py): a
baseline needs days of history, which the test writes through the same
Baselines API earlier runs of the agent would have used, and real loopback
traffic would mix in other processes' bytes on this shared machine.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from agent.events import NetConnection
from detectors.ml.anomaly import Baselines
from tests.agent.conftest import events_of, wait_for, write_config

DAY = 86400.0
HOUR = 3600.0
CURL = "/usr/bin/curl"
DEST = "127.0.0.9"


def _seed(path: Path, days: int) -> None:
    """Earlier runs: curl (and so the host) sends about 2 GB a day, mostly to 127.0.0.5;
    127.0.0.9 receives 2-6 MB an hour, 8 hours a day (what the agent records for both)."""
    now = time.time()
    with Baselines(path) as b:
        for d in range(days, 0, -1):
            for h in range(0, 8):  # this hour of the day and the 7 before
                when = now - d * DAY - h * HOUR
                nbytes = (2 + (d + h) % 5) * 1_000_000
                for key in ("host:test-host", f"process:test-host/{CURL}"):
                    b.observe(key, "web", 250_000_000, when, destination="127.0.0.5")
                    b.observe(key, "web", nbytes, when, destination=DEST)
                b.observe_destination(DEST, "web", nbytes, when)


def _sent(agent, ip: str, nbytes: int) -> None:
    agent.inbox.put(NetConnection(4243, "curl", CURL, "alice", ip, 443, nbytes, False, time.time()))


def test_a_burst_to_one_destination_is_an_anomaly_naming_it(tmp_path: Path, run_agent) -> None:
    cfg = write_config(tmp_path, network={"enabled": True, "include_loopback": True, "internal_networks": [], "interval": 60,
                                          "capture": "off"}, baselines={"min_bytes": 50_000_000})
    _seed(Path(cfg.state_dir) / "baselines.sqlite3", 14)
    agent = run_agent(cfg)
    _sent(agent, DEST, 4_000_000)  # an ordinary hour's worth: nothing
    _sent(agent, "127.0.0.10", 100_000_000)  # a destination never seen: its warm-up starts, no verdict of its own
    time.sleep(1.0)
    assert not events_of(cfg.state_dir, "net.anomaly")
    # 480 MB more to 127.0.0.9 within the hour: ordinary for this process and host (2 GB a day),
    # far above what this destination usually receives in an hour
    _sent(agent, DEST, 480_000_000)
    ev = wait_for(lambda: events_of(cfg.state_dir, "net.anomaly"))
    assert len(ev) == 1
    e = ev[0]
    a = e["attributes"]
    assert a["signal"] == "destination_volume" and a["rule"] == "baseline_destination_volume"
    assert a["baseline_key"] == f"destination:{DEST}" and a["observed"] == 484_000_000
    assert 2_000_000 <= a["baseline"] <= 6_000_000 and a["deviation"] >= 3.5
    assert a["explanation"].startswith(f"sent 484.0 MB to {DEST} (web) between")
    assert "its usual hour is 2.0 MB-6.0 MB" in a["explanation"] and re.search(r"of the last 1[45] days", a["explanation"])  # 15 when the seeded hours cross midnight
    assert "also" not in a  # the process and the host were within their baselines
    assert e["destination"]["ip"] == DEST and e["process"]["exe"] == CURL and e["channel"] == "network"
    # the story is told once: a little more to the same destination raises nothing new
    _sent(agent, DEST, 10_000_000)
    time.sleep(1.0)
    assert len(events_of(cfg.state_dir, "net.anomaly")) == 1
