"""Behaviour baselines in the agent (detectors.ml.anomaly.Baselines in state_dir/baselines.sqlite3).

Network observations are fed to the dispatcher as NetConnection records (what
the sock_diag monitor emits, tested for real in test_network.py): real loopback
traffic would mix in every other process's bytes on this shared machine, and a
baseline needs days of history, which the tests write through the same
Baselines API a previous agent run would have used.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

from agent.events import NetConnection
from detectors.ml.anomaly import Baselines
from tests.agent.conftest import SENSITIVE, events_of, wait_for, write_config
from tests.agent.test_devices import _policy, stick  # noqa: F401  (fixture)

DAY = 86400.0
RSYNC = "/usr/bin/rsync"


def _path(cfg) -> Path:
    return Path(cfg.state_dir) / "baselines.sqlite3"


def _seed(path: Path, days: int, *, nbytes: int = 0, files: int = 0) -> None:
    """What earlier runs of the agent learnt: ``days`` past days, at this hour of the day."""
    now = time.time()
    with Baselines(path) as b:
        for d in range(days, 0, -1):
            for key in ("host:test-host", f"process:test-host/{RSYNC}"):
                if nbytes:
                    b.observe(key, "other", nbytes, now - d * DAY, destination="127.0.0.7")
                if files:
                    b.observe_copy(key, files, files * 1000, now - d * DAY)


def _sent(agent, nbytes: int) -> None:
    agent.inbox.put(NetConnection(4242, "rsync", RSYNC, "alice", "127.0.0.7", 873, nbytes, False, time.time()))


def _today_bytes(path: Path, key: str) -> int:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        row = db.execute("SELECT sum(bytes) FROM daily WHERE key=? AND day=date('now', 'localtime')", (key,)).fetchone()
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()
    return row[0] or 0


def _net_cfg(tmp_path: Path, **baselines):
    return write_config(tmp_path, network={"enabled": True, "include_loopback": True, "internal_networks": [], "interval": 60,
                                           "capture": "off"}, baselines={"min_bytes": 5_000_000, **baselines})


def test_warm_up_no_verdict_for_a_new_host_and_what_it_learnt_survives_a_restart(tmp_path: Path, run_agent) -> None:
    cfg = _net_cfg(tmp_path)
    agent = run_agent(cfg)
    _sent(agent, 60_000_000)  # would be far above any baseline, but nothing is known yet
    wait_for(lambda: _today_bytes(_path(cfg), "host:test-host") == 60_000_000)
    time.sleep(0.5)
    assert not events_of(cfg.state_dir, "net.anomaly")
    agent.stop(drain_timeout=0)
    # Another run of the agent on the same state directory adds to the same day and is still warming up.
    agent = run_agent(cfg)
    _sent(agent, 1_000_000)
    wait_for(lambda: _today_bytes(_path(cfg), "host:test-host") == 61_000_000)
    time.sleep(0.5)
    assert not events_of(cfg.state_dir, "net.anomaly")
    assert _today_bytes(_path(cfg), f"process:test-host/{RSYNC}") == 61_000_000


def test_volume_far_above_the_baseline_is_explained_and_not_repeated_after_a_restart(tmp_path: Path, run_agent) -> None:
    cfg = _net_cfg(tmp_path)
    _seed(_path(cfg), 10, nbytes=1_500_000)  # rsync sent about 1.5 MB a day
    agent = run_agent(cfg)
    _sent(agent, 30_000_000)
    ev = wait_for(lambda: events_of(cfg.state_dir, "net.anomaly"))
    assert len(ev) == 1  # one event for the process and the host verdicts of one observation
    a = ev[0]["attributes"]
    assert a["signal"] == "volume" and a["baseline_key"] == f"process:test-host/{RSYNC}" and a["category"] == "other"
    assert a["baseline"] == 1_500_000 and a["observed"] == 30_000_000 and a["deviation"] >= 3.5
    assert "this process usually sends 1.5 MB/day to other" in a["explanation"] and "20x" in a["explanation"]
    assert a["also"][0]["baseline_key"] == "host:test-host" and "this host" in a["also"][0]["explanation"]
    assert ev[0]["process"]["exe"] == RSYNC and ev[0]["destination"]["ip"] == "127.0.0.7"
    agent.stop(drain_timeout=0)
    # A restarted agent remembers both the history and that it already told this story today:
    agent = run_agent(cfg)
    _sent(agent, 20_000_000)  # 50 MB today: more, but not twice what was reported
    wait_for(lambda: _today_bytes(_path(cfg), "host:test-host") == 50_000_000)
    time.sleep(0.5)
    assert len(events_of(cfg.state_dir, "net.anomaly")) == 1
    _sent(agent, 20_000_000)  # 70 MB: more than doubled since the verdict -> told again
    ev = wait_for(lambda: events_of(cfg.state_dir, "net.anomaly")[1:])
    assert ev[0]["attributes"]["observed"] == 70_000_000


def test_many_files_copied_to_a_stick_are_an_anomaly_of_the_host(tmp_path: Path, stick, run_agent) -> None:
    img, mnt = stick
    cfg = write_config(tmp_path, devices={"enabled": True, "removable_mounts": [str(mnt)],
                                          "policy": _policy(tmp_path, [{"label": "LWSTICK", "action": "allow"}])},
                       baselines={"min_files": 10})
    _seed(_path(cfg), 10, files=1)  # a file a day
    run_agent(cfg)
    subprocess.run(["mount", "-o", "loop", str(img), str(mnt)], check=True)
    wait_for(lambda: events_of(cfg.state_dir, "device.mount"))
    for i in range(25):
        (mnt / f"plan-{i:02}.txt").write_text(f"quarterly plan, part {i}\n" * 20)
    ev = wait_for(lambda: events_of(cfg.state_dir, "net.anomaly"))
    time.sleep(1.0)  # the rest of the copy is scanned; the story is told once
    assert len(events_of(cfg.state_dir, "net.anomaly")) == 1
    e = ev[0]
    assert e["channel"] == "removable" and e["device"]["label"] == "LWSTICK"
    a = e["attributes"]
    assert a["signal"] == "removable_copy" and a["baseline_key"] == "host:test-host" and a["baseline"] == 1
    assert 10 <= a["observed"] <= 25 and "to LWSTICK" in a["explanation"] and "usually copies 1 files" in a["explanation"]
    assert e["file"]["path"].startswith(str(mnt))


def test_an_unreadable_baseline_store_degrades_only_anomaly_detection(tmp_path: Path, run_agent) -> None:
    cfg = _net_cfg(tmp_path)
    _path(cfg).parent.mkdir(parents=True)
    _path(cfg).write_bytes(b"not a database, " * 100)
    agent = run_agent(cfg)
    deg = wait_for(lambda: [e for e in events_of(cfg.state_dir, "agent.degraded") if e["attributes"]["key"] == "baselines"])
    assert "behaviour baselines unavailable" in deg[0]["attributes"]["reason"] and "baselines.sqlite3" in deg[0]["attributes"]["reason"]
    _sent(agent, 60_000_000)
    (Path(cfg.files.roots[0]) / "staff.txt").write_bytes(SENSITIVE)
    wait_for(lambda: events_of(cfg.state_dir, "file.create"))  # everything else keeps working
    assert _path(cfg).read_bytes() == b"not a database, " * 100  # left for the operator, not overwritten
