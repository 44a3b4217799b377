"""`make run`'s program: the three lines scripts read, then a clean stop on Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.e2e.harness import wait_for


def test_demo_prints_the_three_lines_serves_the_dashboard_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "leakwarden.demo"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline().rstrip("\n") for _ in range(3)]  # type: ignore[union-attr]
        assert re.fullmatch(r"Dashboard: http://127\.0\.0\.1:\d+/", lines[0]), lines
        assert re.fullmatch(r"Login: admin / \S{12,}", lines[1]), lines
        assert lines[2] == f"Watching: {tmp_path / 'demo'}"
        url = lines[0].split(" ", 1)[1]
        with urllib.request.urlopen(url + "login", timeout=10) as r:
            assert r.status == 200 and "LeakWarden" in r.read().decode()
        password = (tmp_path / ".leakwarden" / "demo" / "admin.password").read_text().strip()
        assert lines[1].endswith(password)
        agent_log = tmp_path / ".leakwarden" / "demo" / "logs" / "agent.log"
        wait_for("the agent to start", lambda: "agent started" in agent_log.read_text(), 30)
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=40)
    assert code == 0
    logs = tmp_path / ".leakwarden" / "demo" / "logs"
    assert "agent stopped" in (logs / "agent.log").read_text()
    assert "collector stopped" in (logs / "collector.log").read_text()
