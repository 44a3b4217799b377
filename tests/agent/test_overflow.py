"""A real kernel inotify queue overflow (IN_Q_OVERFLOW), not a simulated one.

The agent runs as its own process. The kernel copies fs.inotify.max_queued_events into
each inotify instance when it is created, so the test lowers it only while the agent
creates its instance (restored in a finally, the moment the agent holds a watch), then
SIGSTOPs the agent and writes more files than that queue holds. On SIGCONT the kernel
reports the overflow: the agent must say so (``agent.overflow``), rescan the root and
report every sensitive file written meanwhile.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.conftest import REPO, SENSITIVE, events_of, needs_root, wait_for, write_config

MAX_QUEUED = Path("/proc/sys/fs/inotify/max_queued_events")
QUEUE = 256  # events the agent's inotify instance may hold
FILES, SENSITIVE_EVERY = 300, 10  # each file is >= 3 events (create, modify, close-write)


def _holds_inotify_watch(pid: int) -> bool:
    fd_dir = Path(f"/proc/{pid}/fdinfo")
    try:
        return any("inotify wd:" in f.read_text() for f in fd_dir.iterdir())
    except OSError:  # an fd closed while looked at
        return False


@pytest.fixture
def agent_proc() -> Iterator[list[subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    yield started
    for p in started:
        os.kill(p.pid, signal.SIGCONT)
        p.kill()
        p.wait()


@needs_root
def test_kernel_queue_overflow_is_reported_and_nothing_written_meanwhile_is_lost(tmp_path: Path, agent_proc) -> None:
    cfg = write_config(tmp_path, files={"settle": 0.1})
    watched = Path(cfg.files.roots[0])
    original = MAX_QUEUED.read_text()
    try:
        MAX_QUEUED.write_text(str(QUEUE))
        p = subprocess.Popen([sys.executable, "-m", "leakwarden.cli", "agent", "--config", cfg.source], cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=open(tmp_path / "agent.log", "ab"))
        agent_proc.append(p)
        wait_for(lambda: p.poll() is not None or _holds_inotify_watch(p.pid), timeout=30)
    finally:
        MAX_QUEUED.write_text(original)
    assert p.poll() is None, (tmp_path / "agent.log").read_text()[-2000:]
    wait_for(lambda: events_of(cfg.state_dir, "agent.started"), timeout=30)

    os.kill(p.pid, signal.SIGSTOP)
    expected = set()
    try:
        for i in range(FILES):
            path = watched / f"f{i:04d}.txt"
            if i % SENSITIVE_EVERY == 0:
                path.write_bytes(f"批次 {i}\n".encode() + SENSITIVE)  # distinct contents: each one scanned
                expected.add(str(path))
            else:
                path.write_text(f"meeting notes {i}\n")
    finally:
        os.kill(p.pid, signal.SIGCONT)

    overflow = wait_for(lambda: events_of(cfg.state_dir, "agent.overflow"), timeout=20)
    assert overflow[0]["attributes"]["root"] == str(watched) and overflow[0]["attributes"]["source"] == "inotify"
    assert overflow[0]["attributes"]["action"] == "rescan"

    def reported() -> set[str]:
        return {e["file"]["path"] for e in events_of(cfg.state_dir) if e["kind"] in ("file.create", "file.write")}

    wait_for(lambda: reported() >= expected, timeout=30)
    assert reported() == expected  # every sensitive file, and no plain one
    assert all(e["findings"][0]["detector"] == "pii.cn_resident_id"
               for e in events_of(cfg.state_dir) if e["kind"] in ("file.create", "file.write"))
