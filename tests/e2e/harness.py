"""Real collector and agent processes on this machine, for end-to-end tests.

The configs come from the same code as ``make run`` (``leakwarden.demo.prepare``)
with per-test overrides, so what the tests run is what users run.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from leakwarden.demo import prepare, seed_admin, wait_healthy

T = TypeVar("T")


def leakwarden_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "leakwarden.cli", *args]


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.25) -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


class Deployment:
    def __init__(self, root: Path, *, server_extra: dict[str, Any] | None = None,
                 agent_extra: dict[str, Any] | None = None, agent_env: dict[str, str] | None = None) -> None:
        self.root = root
        self.state = root / "state"
        self.watch = root / "watched"
        self.server_cfg, self.agent_cfg, self.url, self.user, self.password = prepare(
            self.state, self.watch, server_extra=server_extra, agent_extra=agent_extra)
        seed_admin(self.server_cfg, self.user, self.password)
        self.logs = root / "logs"
        self.logs.mkdir(exist_ok=True)
        self.collector: subprocess.Popen[bytes] | None = None
        self.agent: subprocess.Popen[bytes] | None = None
        self.agent_env = agent_env or {}
        self._token: str | None = None

    # -- processes ----------------------------------------------------------
    def start_collector(self) -> None:
        log = open(self.logs / "collector.log", "ab")
        self.collector = subprocess.Popen(leakwarden_cmd("server", "--config", str(self.server_cfg)),
                                          stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_healthy(self.url, self.collector)

    def start_agent(self) -> None:
        log = open(self.logs / "agent.log", "ab")
        self.agent = subprocess.Popen(leakwarden_cmd("agent", "--config", str(self.agent_cfg)),
                                      stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                      env={**os.environ, **self.agent_env})

    def start(self) -> "Deployment":
        self.start_collector()
        self.start_agent()
        self.wait_agent_enrolled()
        return self

    def wait_agent_enrolled(self, timeout: float = 30.0) -> None:
        wait_for("the agent to enroll", lambda: self.db_scalar("SELECT count(*) FROM agents") or None, timeout)

    @staticmethod
    def _signal(proc: subprocess.Popen[bytes] | None, sig: int, wait: bool = True) -> None:
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        if wait:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def kill_collector(self, sig: int = signal.SIGKILL) -> None:
        self._signal(self.collector, sig)

    def kill_agent(self, sig: int = signal.SIGKILL) -> None:
        self._signal(self.agent, sig)

    def stop(self) -> None:
        self._signal(self.agent, signal.SIGTERM)
        self._signal(self.collector, signal.SIGTERM)

    # -- API ----------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None, *, token: str | None = None,
                headers: dict[str, str] | None = None, raw: bytes | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                payload = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            payload, status = e.read(), e.code
        try:
            return status, json.loads(payload) if payload else None
        except ValueError:
            return status, payload.decode("utf-8", "replace")

    def login(self, user: str | None = None, password: str | None = None) -> str:
        status, body = self.request("POST", "/api/v1/auth/login",
                                    {"username": user or self.user, "password": password or self.password})
        assert status == 200, body
        return body["token"]

    def api(self, method: str, path: str, body: Any = None) -> Any:
        if self._token is None:
            self._token = self.login()
        status, payload = self.request(method, path, body, token=self._token)
        assert 200 <= status < 300, (status, payload)
        return payload

    def alerts(self, **params: str) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={urllib.request.quote(str(v))}" for k, v in params.items())
        items: list[dict[str, Any]] = []
        path = "/api/v1/alerts?limit=200" + (f"&{query}" if query else "")
        cursor = None
        while True:
            page = self.api("GET", path + (f"&before={cursor}" if cursor else ""))
            items.extend(page["items"])
            cursor = page.get("next_before")
            if not cursor:
                return items

    def alert_for(self, path_suffix: str, timeout: float = 30.0) -> dict[str, Any]:
        return wait_for(f"an alert for {path_suffix}",
                        lambda: next((a for a in self.alerts() if (a.get("path") or "").endswith(path_suffix)), None),
                        timeout)

    # -- the collector's database, read directly to count what arrived -------
    @property
    def db_path(self) -> Path:
        return self.state / "collector" / "collector.sqlite3"

    def db_rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        if not self.db_path.exists():
            return []
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute(sql, args).fetchall()
        except sqlite3.OperationalError:
            return []
        finally:
            con.close()

    def db_scalar(self, sql: str, *args: Any) -> Any:
        rows = self.db_rows(sql, *args)
        return rows[0][0] if rows else None
