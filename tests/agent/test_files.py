"""File monitor + pipeline on real inotify over temporary folders."""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.daemon import Agent
from agent.destinations import Destinations
from agent.devicepolicy import DevicePolicy
from agent.index import Index
from agent.monitors.files import FilesMonitor
from agent.pipeline import Pipeline
from agent.scanning import ContentScanner
from agent.spool import Spool
from tests.agent.conftest import ID_NUMBER, MARKED, SENSITIVE, events_of, needs_root, wait_for, write_config


def _state_bytes(state_dir: str) -> bytes:
    return b"".join(p.read_bytes() for p in Path(state_dir).iterdir() if p.is_file())


def test_sensitive_write_is_reported_redacted_and_plain_files_are_not(tmp_path: Path, run_agent, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    cfg = write_config(tmp_path)
    agent = run_agent(cfg)
    watched = Path(cfg.files.roots[0])
    (watched / "notes.txt").write_text("lunch at noon\n")
    (watched / "sub").mkdir()
    (watched / "sub" / "staff.txt").write_bytes(SENSITIVE)
    # The agent's start-up walk may meet the new file before inotify does, and then reports
    # it as file.write (found by the catch-up walk) rather than file.create: either is right.
    ev = wait_for(lambda: [e for e in events_of(cfg.state_dir) if e["kind"] in ("file.create", "file.write")])[0]
    assert ev["file"]["path"] == str(watched / "sub" / "staff.txt")
    assert ev.get("channel", "local") == "local" and ev["host"] == "test-host"
    f = ev["findings"][0]
    assert f["detector"] == "pii.cn_resident_id"
    assert f["masked"] == ID_NUMBER[:4] + "*" * 10 + ID_NUMBER[-4:] and len(f["hash"]) == 64
    wait_for(lambda: agent.pipeline.idle.is_set() and agent.pipeline.status.scanned >= 2)
    assert [e["file"]["path"] for e in events_of(cfg.state_dir) if e.get("file")] == [str(watched / "sub" / "staff.txt")]
    agent.stop(drain_timeout=0)
    # The raw value is nowhere: not in the spool, the index or the logs.
    assert ID_NUMBER.encode() not in _state_bytes(cfg.state_dir)
    assert ID_NUMBER not in caplog.text


def test_a_file_rewritten_1000_times_in_a_second_is_scanned_once(tmp_path: Path, run_agent) -> None:
    cfg = write_config(tmp_path, files={"settle": 0.2, "max_delay": 5.0})
    agent = run_agent(cfg)
    target = Path(cfg.files.roots[0]) / "draft.txt"
    t0 = time.monotonic()
    for i in range(1000):
        target.write_bytes(SENSITIVE + f"rev {i}\n".encode())
    assert time.monotonic() - t0 < 4.5  # all rewrites fell inside one debounce window
    wait_for(lambda: events_of(cfg.state_dir, "file.create"))
    wait_for(lambda: agent.pipeline.idle.is_set(), timeout=5)
    time.sleep(0.3)
    assert agent.pipeline.status.scanned == 1
    (ev,) = events_of(cfg.state_dir, "file.create")
    assert ev["attributes"]["latency_s"] < 5.5


def test_a_file_written_for_long_without_close_is_scanned_within_max_delay(tmp_path: Path, run_agent) -> None:
    """Create/modify events of a path are coalesced before the dispatcher: a writer that keeps
    the file open (a log, a download) must still be scanned by max_delay, not only at close."""
    cfg = write_config(tmp_path, files={"settle": 0.15, "max_delay": 1.5})
    run_agent(cfg)
    target = Path(cfg.files.roots[0]) / "export.log"
    with target.open("wb") as f:
        t0 = time.monotonic()
        sensitive_at = None
        while time.monotonic() - t0 < 5.0 and not events_of(cfg.state_dir, "file.create") + events_of(cfg.state_dir, "file.write"):
            if sensitive_at is None and time.monotonic() - t0 > 0.5:
                f.write(SENSITIVE)
                sensitive_at = time.monotonic()
            else:
                f.write(b"progress line, nothing secret\n")
            f.flush()
            time.sleep(0.05)
        found = time.monotonic()
    ev = (events_of(cfg.state_dir, "file.create") + events_of(cfg.state_dir, "file.write"))[0]
    assert ev["findings"][0]["detector"] == "pii.cn_resident_id"
    assert sensitive_at is not None and found - sensitive_at < 1.5 + 1.0  # while still open, by max_delay


def test_rename_to_jpg_and_delete_of_a_sensitive_file_are_signals(tmp_path: Path, run_agent) -> None:
    cfg = write_config(tmp_path)
    agent = run_agent(cfg)
    watched = Path(cfg.files.roots[0])
    doc = watched / "plan.txt"
    doc.write_bytes(MARKED)
    wait_for(lambda: events_of(cfg.state_dir, "file.create"))
    disguised = watched / "holiday.jpg"
    os.rename(doc, disguised)
    mv = wait_for(lambda: events_of(cfg.state_dir, "file.move"))[0]
    assert mv["file"]["old_path"] == str(doc) and mv["file"]["path"] == str(disguised)
    assert mv["attributes"]["extension_changed"] == [".txt", ".jpg"]
    assert mv["attributes"]["previous_detectors"] == ["marking.cn_state_secret"]
    assert mv["findings"] and mv["attributes"]["cached"] is True  # same content: not scanned again
    disguised.unlink()
    rm = wait_for(lambda: events_of(cfg.state_dir, "file.delete"))[0]
    assert rm["file"]["path"] == str(disguised)
    assert rm["attributes"]["previous_detectors"] == ["marking.cn_state_secret"]
    # A plain file deleted says nothing.
    (watched / "plain.txt").write_text("x")
    wait_for(lambda: agent.pipeline.idle.is_set() and agent.pipeline.status.scanned >= 3)
    (watched / "plain.txt").unlink()
    time.sleep(0.3)
    assert len(events_of(cfg.state_dir, "file.delete")) == 1


def test_catch_up_finds_what_changed_while_the_agent_was_down(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    watched = Path(cfg.files.roots[0])
    (watched / "old.txt").write_bytes(MARKED)
    (watched / "keep.txt").write_text("plain")
    (watched / "keep3.txt").write_bytes(SENSITIVE + b"third\n")
    a = Agent(cfg)
    a.start()
    wait_for(lambda: events_of(cfg.state_dir, "file.write") or events_of(cfg.state_dir, "file.create"))
    wait_for(lambda: a.pipeline.idle.is_set() and a.pipeline.status.scanned >= 3)
    a.stop(drain_timeout=0)
    before = {e["id"] for e in events_of(cfg.state_dir)}
    # While down: one sensitive file deleted, one plain file made sensitive, one new, one renamed to .jpg.
    (watched / "old.txt").unlink()
    (watched / "keep.txt").write_bytes(SENSITIVE)
    (watched / "new.txt").write_bytes(SENSITIVE)
    os.rename(watched / "keep3.txt", watched / "keep3.jpg")
    a = Agent(cfg)
    a.start()
    try:
        wait_for(lambda: len([e for e in events_of(cfg.state_dir) if e["id"] not in before and e.get("file")]) >= 4)
        wait_for(lambda: events_of(cfg.state_dir, "agent.gap"))
        wait_for(lambda: a.pipeline.idle.is_set())
    finally:
        a.stop(drain_timeout=0)
    new = [e for e in events_of(cfg.state_dir) if e["id"] not in before]
    by_kind = {(e["kind"], Path(e["file"]["path"]).name) for e in new if e.get("file")}
    assert by_kind == {("file.delete", "old.txt"), ("file.write", "keep.txt"), ("file.create", "new.txt"),
                       ("file.move", "keep3.jpg")}
    assert all(e["attributes"].get("catch_up") for e in new if e["kind"] in ("file.write", "file.create", "file.move"))
    mv = next(e for e in new if e["kind"] == "file.move")
    assert mv["file"]["old_path"] == str(watched / "keep3.txt")
    assert mv["attributes"]["extension_changed"] == [".txt", ".jpg"]
    assert mv["attributes"]["previous_detectors"] == ["pii.cn_resident_id"] and mv["findings"]
    detail = events_of(cfg.state_dir, "agent.gap")[-1]["attributes"]["detail"]
    assert "2 changed, 1 deleted, 1 moved" in detail


def test_queue_overflow_rescans_the_root_and_loses_nothing(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, files={"queue_max": 20})
    root = cfg.files.roots[0]
    inbox: queue.Queue[object] = queue.Queue(maxsize=cfg.files.queue_max)
    spool = Spool(tmp_path / "spool.db", max_events=10_000, max_bytes=1 << 26)
    index = Index(tmp_path / "index.db")
    files = FilesMonitor(inbox, cfg.files.include, cfg.files.exclude)
    pipe = Pipeline(cfg, inbox=inbox, spool=spool, index=index,
                    scanner=ContentScanner(policy=None, hash_key=cfg.hash_key, index=index, max_file_size=1 << 20),
                    destinations=Destinations.empty(), device_policy=DevicePolicy.default_policy(), files=files)
    files.start()
    files.add_root(root)
    index.mark_root_indexed(root)
    try:
        # Nobody consumes yet: the queue fills after 20 events, the rest would be lost without the overflow path.
        for i in range(300):
            Path(root, f"f{i:03}.txt").write_bytes(SENSITIVE if i % 10 == 0 else b"nothing here %d" % i)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            pipe.step(0.05)
            if len(_paths(spool)) >= 30 and pipe.idle.is_set():
                break
    finally:
        files.stop()
    kinds = [k for k, _ in _kinds(spool)]
    assert "agent.overflow" in kinds
    assert _paths(spool) == {str(Path(root, f"f{i:03}.txt")) for i in range(0, 300, 10)}


def _kinds(spool: Spool) -> list[tuple[str, dict]]:
    import msgspec

    return [(d["kind"], d) for d in (msgspec.json.decode(x.body) for x in spool.peek(100_000))]


def _paths(spool: Spool) -> set[str]:
    return {d["file"]["path"] for k, d in _kinds(spool) if k.startswith("file.")}


def test_files_over_budget_are_skipped_with_a_log_line(tmp_path: Path, run_agent, caplog) -> None:
    caplog.set_level(logging.INFO)
    cfg = write_config(tmp_path, budget={"max_file_size": 1000}, heartbeat_interval=0.5)
    agent = run_agent(cfg)
    big = Path(cfg.files.roots[0]) / "big.txt"
    big.write_bytes(SENSITIVE + b"x" * 5000)
    wait_for(lambda: "scan skipped for budget" in caplog.text)
    rec = next(r for r in caplog.records if "skipped for budget" in r.getMessage())
    assert rec.ctx["path"] == str(big) and rec.ctx["size"] > 1000  # type: ignore[attr-defined]
    hb = wait_for(lambda: [e for e in events_of(cfg.state_dir, "agent.heartbeat") if e["attributes"]["skipped_budget"] == 1])
    assert not events_of(cfg.state_dir, "file.create")
    assert hb[0]["attributes"]["monitors"]["files"] == "ok"


@needs_root
def test_fanotify_names_the_writing_process(tmp_path: Path, run_agent) -> None:
    cfg = write_config(tmp_path)
    agent = run_agent(cfg)
    wait_for(lambda: agent.pipeline.status.monitors.get("fanotify") == "ok")
    target = Path(cfg.files.roots[0]) / "export.txt"
    # The writer lives on for a moment, like most writers: /proc/<pid>/exe of a process that already
    # exited cannot be read (pid and name still can), a limit of fanotify without pidfds (docs/agent.md).
    code = f"import os,sys,time; open({str(target)!r},'wb').write({SENSITIVE!r}); print(os.getpid()); time.sleep(0.5)"
    pid = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    # The agent's start-up walk may meet the new file before inotify does, and then reports
    # it as file.write (found by the catch-up walk) rather than file.create: either is right.
    ev = wait_for(lambda: [e for e in events_of(cfg.state_dir) if e["kind"] in ("file.create", "file.write")])[0]
    assert ev["process"]["pid"] == pid
    assert ev["process"]["exe"] == os.path.realpath(sys.executable)
    assert ev["process"]["user"] == "root"


@needs_root
def test_watch_limit_reached_is_reported_and_the_root_is_rescanned(tmp_path: Path) -> None:
    """A real ENOSPC from inotify: in a user namespace of our own we may lower the watch limit to 5."""
    if subprocess.run(["unshare", "-U", "-r", "true"], capture_output=True).returncode != 0:
        pytest.skip("user namespaces not available")
    cfg = write_config(tmp_path, files={"rescan_interval": 1.0, "fanotify": "off"}, heartbeat_interval=0.5)
    root = Path(cfg.files.roots[0])
    for i in range(20):
        (root / f"dir{i}").mkdir()
    code = f"""
import json, sys, time
from pathlib import Path
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
Path("/proc/sys/user/max_inotify_watches").write_text("5")
from agent.config import load_config
from agent.daemon import Agent
from tests.agent.conftest import events_of, wait_for, SENSITIVE
cfg = load_config({cfg.source!r})
a = Agent(cfg)
a.start()
wait_for(lambda: [e for e in events_of(cfg.state_dir, "agent.degraded") if e["attributes"]["key"] == "files"])
Path({str(root / "dir17" / "late.txt")!r}).write_bytes(SENSITIVE)
ev = wait_for(lambda: events_of(cfg.state_dir, "file.write") + events_of(cfg.state_dir, "file.create"), timeout=15)
hb = wait_for(lambda: events_of(cfg.state_dir, "agent.heartbeat"))
a.stop(drain_timeout=0)
print(json.dumps({{"degraded": [e for e in events_of(cfg.state_dir, "agent.degraded") if e["attributes"]["key"] == "files"][0]["attributes"], "event": ev[0], "hb": hb[-1]["attributes"]}}))
"""
    out = subprocess.run(["unshare", "-U", "-r", sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["degraded"]["state"] == "degraded" and "inotify watch limit reached: 5 of 21 folders" in got["degraded"]["reason"]
    assert got["event"]["file"]["path"] == str(root / "dir17" / "late.txt")
    assert got["hb"]["monitors"]["files"] == "degraded"


@needs_root
def test_spool_stays_consistent_for_other_processes_while_fanotify_runs(tmp_path: Path, run_agent) -> None:
    """Regression: closing fanotify's event fds in the agent dropped SQLite's POSIX locks on the spool,
    and an outside reader then checkpointed and deleted the WAL under the agent: events vanished."""
    cfg = write_config(tmp_path)
    agent = run_agent(cfg)
    wait_for(lambda: agent.pipeline.status.monitors.get("fanotify") == "ok")
    reader = subprocess.Popen([sys.executable, "-c", f"""
import sqlite3, time
while True:
    db = sqlite3.connect({str(Path(cfg.state_dir) / 'spool.db')!r}, timeout=30)
    db.execute('SELECT count(*) FROM events').fetchone()
    db.close()
    time.sleep(0.05)
"""])
    try:
        want = set()
        for i in range(200):
            p = Path(cfg.files.roots[0]) / f"f{i}.txt"
            p.write_bytes(SENSITIVE + b"%d" % i if i % 10 == 0 else b"plain %d" % i)
            if i % 10 == 0:
                want.add(str(p))
        wait_for(lambda: agent.pipeline.status.scanned >= 200 and agent.pipeline.idle.is_set(), timeout=20)
    finally:
        reader.kill()
        reader.wait()
    out = subprocess.run([sys.executable, "-c", f"""
import json, sqlite3
db = sqlite3.connect({str(Path(cfg.state_dir) / 'spool.db')!r})
print(json.dumps([json.loads(b)["file"]["path"] for (b,) in db.execute("SELECT body FROM events") if b'"file"' in b]))
"""], capture_output=True, text=True, check=True)
    assert set(json.loads(out.stdout)) == want


def test_moving_a_file_out_of_the_watched_roots_is_not_a_delete(tmp_path: Path, run_agent) -> None:
    """inotify tells a move out (IN_MOVED_FROM without its IN_MOVED_TO) from a delete; so must the agent."""
    cfg = write_config(tmp_path)
    run_agent(cfg)
    watched, outside = Path(cfg.files.roots[0]), tmp_path / "outside"
    outside.mkdir()
    (watched / "plan.txt").write_bytes(MARKED)
    (watched / "staff.txt").write_bytes(SENSITIVE)
    wait_for(lambda: len(events_of(cfg.state_dir, "file.create")) == 2)
    os.rename(watched / "plan.txt", outside / "plan.txt")
    out = wait_for(lambda: events_of(cfg.state_dir, "file.delete"))[0]
    assert out["file"]["path"] == str(watched / "plan.txt")
    assert out["attributes"]["moved_out_of_watch"] is True
    assert out["attributes"]["previous_detectors"] == ["marking.cn_state_secret"]
    (watched / "staff.txt").unlink()
    rm = wait_for(lambda: events_of(cfg.state_dir, "file.delete")[1:])[0]
    assert rm["file"]["path"] == str(watched / "staff.txt") and rm["attributes"]["moved_out_of_watch"] is False
    # Moved back in from outside: new here again, reported like a created file.
    os.rename(outside / "plan.txt", watched / "back.txt")
    back = wait_for(lambda: events_of(cfg.state_dir, "file.create")[2:])[0]
    assert back["file"]["path"] == str(watched / "back.txt")


def _degraded(state_dir: str, key: str) -> list[dict]:
    return [e["attributes"] for e in events_of(state_dir, "agent.degraded") if e["attributes"]["key"] == key]


def test_a_missing_or_deleted_root_is_reported_and_watched_again_when_it_appears(tmp_path: Path, run_agent) -> None:
    cfg = write_config(tmp_path, files={"roots": [str(tmp_path / "later")], "root_check_interval": 0.2},
                       heartbeat_interval=3600)
    root = Path(cfg.files.roots[0])
    key = f"files:{root}"
    agent = run_agent(cfg)
    first = wait_for(lambda: _degraded(cfg.state_dir, key))[0]
    assert first["state"] == "degraded" and str(root) in first["reason"] and "missing" in first["reason"]
    assert agent.pipeline.heartbeat()["monitors"]["files"] == "degraded"
    root.mkdir()
    wait_for(lambda: [d for d in _degraded(cfg.state_dir, key) if d["state"] == "recovered"])
    assert agent.pipeline.heartbeat()["monitors"]["files"] == "ok"
    (root / "a.txt").write_bytes(SENSITIVE)
    wait_for(lambda: [e for e in events_of(cfg.state_dir) if e["kind"] in ("file.create", "file.write")])
    # Deleted while watched: degraded again, and the sensitive file inside is reported deleted.
    subprocess.run(["rm", "-rf", str(root)], check=True)
    wait_for(lambda: len(_degraded(cfg.state_dir, key)) == 3)
    assert events_of(cfg.state_dir, "file.delete")[0]["file"]["path"] == str(root / "a.txt")
    root.mkdir()
    wait_for(lambda: len(_degraded(cfg.state_dir, key)) == 4)
    (root / "b.txt").write_bytes(SENSITIVE + b"b\n")
    wait_for(lambda: [e for e in events_of(cfg.state_dir, "file.create") if e["file"]["path"] == str(root / "b.txt")])
    # rm -rf root; mkdir root in one go: the new folder (another inode) is watched too.
    subprocess.run(["sh", "-c", f"rm -rf '{root}' && mkdir '{root}'"], check=True)
    time.sleep(0.5)
    (root / "c.txt").write_bytes(SENSITIVE + b"c\n")
    wait_for(lambda: [e for e in events_of(cfg.state_dir, "file.create") if e["file"]["path"] == str(root / "c.txt")])
    assert agent.pipeline.files.root_intact(str(root))


ML_DOC = ("鼎盛置业有限公司\n内部通报（LGL-2019-784）\n战略发展部石涛梓同志在朱雀项目中擅自向供应商透露公司报价，给公司造成损失约2.8亿元。\n"
          "本通报发至各部门经理，由经理向本部门员工口头传达，不张贴、不外发。\n经调查核实，决定给予叶琪记过处分，并调离现岗位。\n"
          "请全体员工引以为戒，严格遵守公司信息管理规定，未公开的经营数据一律不得外传。\n如发现类似情况，请直接向审计部姚秀秀反映，公司将为举报人保密。\n"
          "总经理办公室 2019年11月2日\n")


def test_ml_findings_keep_their_explanation_on_the_wire(tmp_path: Path, run_agent) -> None:
    import msgspec

    from agent.scanning import LIST_ITEM_MAX_CHARS, LIST_MAX_ITEMS
    from leakwarden import wire
    from tests.agent.conftest import REPO

    cfg = write_config(tmp_path, detection={"policy": str(REPO / "configs" / "policies" / "endpoint.yaml")})
    run_agent(cfg)
    (Path(cfg.files.roots[0]) / "notice.txt").write_text(ML_DOC)
    ev = wait_for(lambda: events_of(cfg.state_dir, "file.create"), timeout=15)[0]
    ml = [f for f in ev["findings"] if f["detector"] == "ml.sensitive_document"]
    assert ml, "the endpoint policy's classifier flags this internal notice"
    features = ml[0]["attributes"]["features"]
    assert features and all(isinstance(t, str) and 0 < len(t) <= LIST_ITEM_MAX_CHARS for t in features)
    assert len(features) <= LIST_MAX_ITEMS and all(t in ML_DOC.lower() for t in features)
    assert ml[0]["attributes"]["probability"] >= 0.7
    msgspec.json.decode(msgspec.json.encode(ev), type=wire.Event)  # within the wire schema as it is


def test_only_named_list_attributes_reach_the_wire_and_bounded() -> None:
    from agent.scanning import wire_attributes

    out = wire_attributes({"features": [f"term{i}" for i in range(40)] + ["x" * 500], "values": ["4403051985"],
                           "probability": 0.9, "nested": {"a": 1}})
    assert out["probability"] == 0.9 and "values" not in out and "nested" not in out
    assert out["features"] == [f"term{i}" for i in range(16)]


def test_an_id_number_in_a_file_name_is_masked_in_the_spool_and_the_logs(tmp_path: Path, run_agent) -> None:
    from agent.logs import JsonFormatter
    cfg = write_config(tmp_path)
    run_agent(cfg)
    watched = Path(cfg.files.roots[0])
    (watched / f"{ID_NUMBER}.txt").write_bytes(SENSITIVE)
    ev = wait_for(lambda: [e for e in events_of(cfg.state_dir) if e["kind"] in ("file.create", "file.write")])[0]
    masked_name = ID_NUMBER[:4] + "*" * 10 + ID_NUMBER[-4:] + ".txt"
    assert ev["file"]["path"] == str(watched / masked_name)
    assert ev["findings"][0]["location"]["path"] == str(watched / masked_name)
    assert ID_NUMBER not in json.dumps(events_of(cfg.state_dir), ensure_ascii=False)
    # the same path in a log line's context is masked too
    record = logging.LogRecord("agent", logging.WARNING, __file__, 1, "skipped for budget", None, None)
    record.ctx = {"path": str(watched / f"{ID_NUMBER}.txt"), "size": 12}  # type: ignore[attr-defined]
    line = json.loads(JsonFormatter().format(record))
    assert line["path"] == str(watched / masked_name) and line["size"] == 12
