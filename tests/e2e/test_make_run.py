"""`make run`'s program: the three lines scripts read, then a clean stop on Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import socket
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import yaml

from leakwarden.demo import _free_port, local_timezone
from tests.e2e.harness import wait_for


def _start(cwd: Path, *, background: bool = False) -> tuple[subprocess.Popen[str], list[str]]:
    # a script's `make run &` starts the demo with SIGINT ignored (non-interactive shells do that)
    ignore_int = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if background else None
    proc = subprocess.Popen([sys.executable, "-m", "leakwarden.demo"], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=ignore_int)
    lines = [proc.stdout.readline().rstrip("\n") for _ in range(3)]  # type: ignore[union-attr]
    return proc, lines


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    return proc.wait(timeout=40)


def _api_login(url: str, user: str, password: str) -> int:
    req = urllib.request.Request(url + "api/v1/auth/login", method="POST",
                                 data=json.dumps({"username": user, "password": password}).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_demo_prints_the_three_lines_serves_the_dashboard_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    proc, lines = _start(tmp_path)
    try:
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
        code = _stop(proc)
    assert code == 0
    logs = tmp_path / ".leakwarden" / "demo" / "logs"
    assert "agent stopped" in (logs / "agent.log").read_text()
    assert "collector stopped" in (logs / "collector.log").read_text()


def test_demo_restart_in_the_background_keeps_port_secrets_private_and_password_true(tmp_path: Path) -> None:
    state = tmp_path / ".leakwarden" / "demo"
    proc, lines = _start(tmp_path, background=True)
    try:
        first_url = lines[0].split(" ", 1)[1]
        assert _api_login(first_url, "admin", lines[1].rsplit(" ", 1)[1]) == 200
    finally:
        code = _stop(proc)  # SIGINT works although it was started ignoring it
    assert code == 0
    # the secrets and the databases are the account's own
    for name in ("server.yaml", "agent.yaml", "enroll.secret", "admin.password"):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600, name
    databases = [p for p in (state / "collector").rglob("*") if p.is_file()]
    assert databases and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in databases), databases
    server = yaml.safe_load((state / "server.yaml").read_text())
    assert server.get("dashboard", {}).get("timezone") == local_timezone()

    # admin.password deleted, database kept: the password printed next is the one that works
    (state / "admin.password").unlink()
    proc, lines = _start(tmp_path, background=True)
    try:
        url = lines[0].split(" ", 1)[1]
        if first_url.endswith(":8700/"):  # a quick restart gets the same port, not a random one
            assert url == first_url
        password = lines[1].rsplit(" ", 1)[1]
        assert password == (state / "admin.password").read_text().strip()
        assert _api_login(url, "admin", password) == 200
    finally:
        assert _stop(proc) == 0


def test_free_port_takes_a_port_left_in_time_wait() -> None:
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        conn, _ = server.accept()
        conn.close()  # the side that closes first keeps the port in TIME_WAIT, as a stopped collector does
        client.close()
    assert _free_port(port) == port
