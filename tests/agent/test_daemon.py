"""The agent as a process: `leakwarden agent --config`, signals, kill -9, privileges."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.agent.conftest import REPO, SENSITIVE, events_of, needs_root, wait_for, write_config
from tests.agent.receiver import Receiver


def _start(cfg_path: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "leakwarden.cli", "agent", "--config", cfg_path],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=open(log, "ab"))


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_process_enrolls_heartbeats_reloads_on_sighup_and_drains_on_sigterm(tmp_path: Path, receiver: Receiver, procs) -> None:
    cfg = write_config(tmp_path, collector={"url": receiver.url, "enroll_secret": receiver.enroll_secret},
                       heartbeat_interval=1)
    log = tmp_path / "agent.log"
    p = _start(cfg.source, log)
    procs.append(p)
    hb = wait_for(lambda: receiver.of_kind("agent.heartbeat"), timeout=15)[0]["attributes"]
    assert hb["config_hash"] == cfg.config_hash and len(hb["binary_hash"]) == 64 and hb["version"]
    assert hb["monitors"]["files"] == "ok" and hb["monitors"]["fanotify"] in ("ok", "off")
    assert {"spool_depth", "drops", "degraded"} <= set(hb)
    mode = os.stat(Path(cfg.state_dir) / "identity.json").st_mode & 0o777
    assert mode == 0o600
    # SIGHUP with a broken config: refused, the agent keeps running with the old one.
    good = Path(cfg.source).read_text()
    Path(cfg.source).write_text(good + "\nbogus_key: 1\n")
    p.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload refused" in log.read_text())
    # SIGHUP with a changed config: the new hash shows in heartbeats.
    data = yaml.safe_load(good)
    data["files"]["settle"] = 0.2
    Path(cfg.source).write_text(yaml.safe_dump(data))
    p.send_signal(signal.SIGHUP)
    wait_for(lambda: any(h["attributes"]["config_hash"] != cfg.config_hash for h in receiver.of_kind("agent.heartbeat")), timeout=15)
    # SIGTERM: a file written just before is still scanned, spooled and shipped before exit.
    Path(cfg.files.roots[0], "last.txt").write_bytes(SENSITIVE)
    time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 0
    assert [e["file"]["path"] for e in receiver.of_kind("file.create")] == [str(Path(cfg.files.roots[0], "last.txt"))]
    assert receiver.of_kind("agent.stopped")
    assert receiver.enrollments == 1
    for line in log.read_text().splitlines():
        json.loads(line)  # structured logs: every line is one JSON object


def test_kill_9_during_a_burst_then_restart_loses_nothing(tmp_path: Path, receiver: Receiver, procs) -> None:
    cfg = write_config(tmp_path, collector={"url": receiver.url, "enroll_secret": receiver.enroll_secret})
    watched = Path(cfg.files.roots[0])
    log = tmp_path / "agent.log"
    p = _start(cfg.source, log)
    procs.append(p)
    wait_for(lambda: receiver.of_kind("agent.started"), timeout=15)
    sensitive = set()
    for i in range(400):
        path = watched / f"doc{i:03}.txt"
        if i % 10 == 0:
            path.write_bytes(SENSITIVE + f"row {i}\n".encode())
            sensitive.add(str(path))
        else:
            path.write_text(f"ordinary text {i}\n")
        if i == 150:
            p.kill()  # kill -9 in the middle of the burst
            p.wait()
    p2 = _start(cfg.source, log)
    procs.append(p2)

    def reported() -> set[str]:
        return {e["file"]["path"] for k in ("file.create", "file.write") for e in receiver.of_kind(k)}

    wait_for(lambda: reported() >= sensitive, timeout=30)
    assert reported() == sensitive
    p2.send_signal(signal.SIGTERM)
    assert p2.wait(timeout=30) == 0
    ids = [e["id"] for e in receiver.events.values()]
    assert len(ids) == len(set(ids))
    seqs = sorted(e["seq"] for e in receiver.events.values())
    assert seqs == list(range(1, len(seqs) + 1))  # no gap: nothing spooled was lost


@needs_root
def test_unprivileged_agent_runs_with_reduced_monitors_and_says_so(tmp_path: Path, receiver: Receiver, procs) -> None:
    # Without any capability (what an ordinary user has). Not as another uid: this machine's
    # interpreter lives under /root (mode 0700), which only uid 0 can read.
    cfg = write_config(tmp_path, collector={"url": receiver.url, "enroll_secret": receiver.enroll_secret},
                       heartbeat_interval=1, network={"enabled": True, "interval": 5})
    log = tmp_path / "agent.log"
    p = subprocess.Popen(["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--", sys.executable, "-m",
                          "leakwarden.cli", "agent", "--config", cfg.source],
                         cwd=REPO, stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
    procs.append(p)
    started = wait_for(lambda: receiver.of_kind("agent.started"), timeout=20)[0]["attributes"]
    assert started["privilege"].startswith("unprivileged")
    assert set(started["reduced_monitors"]) == {"fanotify (writer pid)", "DNS/SNI capture", "remount read-only of blocked media"}
    hb = wait_for(lambda: receiver.of_kind("agent.heartbeat"), timeout=20)[0]["attributes"]
    assert hb["monitors"]["fanotify"] == "off" and hb["monitors"]["capture"] == "off" and hb["monitors"]["files"] == "ok"
    assert any("capture not permitted" in r for r in hb["degraded"])
    (Path(cfg.files.roots[0]) / "x.txt").write_bytes(SENSITIVE)
    wait_for(lambda: receiver.of_kind("file.create"), timeout=15)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 0


def _lines(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def test_sighup_with_a_broken_policy_or_model_keeps_the_agent_running_and_applies_log_settings(
        tmp_path: Path, receiver: Receiver, procs) -> None:
    devices = tmp_path / "devices.yaml"
    devices.write_text("default: alert\n")
    cfg = write_config(tmp_path, collector={"url": receiver.url, "enroll_secret": receiver.enroll_secret},
                       heartbeat_interval=0.5, devices={"enabled": False, "policy": str(devices)})
    log = tmp_path / "agent.log"
    p = _start(cfg.source, log)
    procs.append(p)
    wait_for(lambda: receiver.of_kind("agent.heartbeat"), timeout=20)
    # A broken device policy: refused, naming the file and the key; the agent keeps its old config.
    devices.write_text("default: allo\n")
    p.send_signal(signal.SIGHUP)
    refused = wait_for(lambda: [r for r in _lines(log) if r["msg"].startswith("reload refused")])[0]
    assert refused["file"] == str(devices) and refused["key"] == "default"
    # A broken ML model in the detection policy: refused too (the model is loaded before anything stops).
    devices.write_text("default: alert\n")
    bad = tmp_path / "bad.skops"
    bad.write_bytes(b"garbage")
    (tmp_path / "policy.yaml").write_text("version: 1\nml: {enabled: true, model: bad.skops}\n")
    data = yaml.safe_load(Path(cfg.source).read_text())
    data["detection"]["policy"] = str(tmp_path / "policy.yaml")
    Path(cfg.source).write_text(yaml.safe_dump(data))
    p.send_signal(signal.SIGHUP)
    wait_for(lambda: len([r for r in _lines(log) if r["msg"].startswith("reload refused")]) == 2)
    refused = [r for r in _lines(log) if r["msg"].startswith("reload refused")][1]
    assert refused["file"] == str(tmp_path / "policy.yaml") and refused["key"] == "ml.model"
    assert not any(r["msg"] in ("reloading", "agent stopped") for r in _lines(log))
    assert p.poll() is None
    n = len(receiver.of_kind("agent.heartbeat"))
    wait_for(lambda: len(receiver.of_kind("agent.heartbeat")) > n + 1)  # still alive and reporting
    Path(cfg.files.roots[0], "while-refused.txt").write_bytes(SENSITIVE)
    wait_for(lambda: receiver.of_kind("file.create"), timeout=15)
    # A valid config with new log settings: applied by the reload.
    del data["detection"]["policy"]
    new_log = tmp_path / "reloaded.log"
    data["log"] = {"level": "debug", "file": str(new_log)}
    Path(cfg.source).write_text(yaml.safe_dump(data))
    p.send_signal(signal.SIGHUP)
    wait_for(lambda: new_log.exists() and any(r["msg"] == "reloaded" for r in _lines(new_log)), timeout=20)
    assert any(r["level"] == "debug" for r in _lines(new_log))  # log.level: debug applied
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 0


def test_a_bad_ml_model_stops_start_up_cleanly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.skops"
    bad.write_bytes(b"garbage")
    (tmp_path / "policy.yaml").write_text("version: 1\nml: {enabled: true, model: bad.skops}\n")
    cfg = write_config(tmp_path, detection={"policy": str(tmp_path / "policy.yaml")})
    out = subprocess.run([sys.executable, "-m", "leakwarden.cli", "agent", "--config", cfg.source],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert f"leakwarden agent: {tmp_path / 'policy.yaml'}: ml.model: {bad}" in out.stderr


def test_signals_during_start_up_wait_for_it_and_then_drain(tmp_path: Path, procs) -> None:
    cfg = write_config(tmp_path)
    log = tmp_path / "agent.log"
    p = _start(cfg.source, log)
    procs.append(p)
    # "agent starting" is logged before the detectors and the monitors are set up (seconds).
    wait_for(lambda: log.exists() and "agent starting" in log.read_text(), interval=0.01)
    p.send_signal(signal.SIGHUP)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=60) == 0  # not 129 (killed by SIGHUP) and not -15
    msgs = [r["msg"] for r in _lines(log)]
    assert msgs.index("agent started") < msgs.index("reloading") < msgs.index("agent stopped")
    assert events_of(cfg.state_dir, "agent.stopped")
