"""``make run``: a whole LeakWarden on one machine.

Starts the collector (SQLite) and an agent watching ``demo/``, seeds an admin
account, and prints the three lines scripts read::

    Dashboard: <url>
    Login: <user> / <password>
    Watching: <folder>

Ctrl-C (or SIGTERM) stops both. State lives in ``.leakwarden/demo/`` so a
second run keeps the alerts and the same password.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

ROOT = Path.cwd()
CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free TCP port on 127.0.0.1")


def _secret(path: Path) -> str:
    """A random value kept across runs (mode 0600)."""
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(12)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


def _write_yaml(path: Path, data: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _leakwarden() -> list[str]:
    return [sys.executable, "-m", "leakwarden.cli"]


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def prepare(
    state: Path,
    watch: Path,
    *,
    port: int | None = None,
    server_extra: dict[str, Any] | None = None,
    agent_extra: dict[str, Any] | None = None,
) -> tuple[Path, Path, str, str, str]:
    """Write collector and agent configs for one machine; returns (server cfg, agent cfg, url, user, password).

    Also used by ``tests/e2e`` to deploy real processes with a few overrides.
    """
    state.mkdir(parents=True, exist_ok=True)
    watch.mkdir(parents=True, exist_ok=True)
    enroll = _secret(state / "enroll.secret")
    password = _secret(state / "admin.password")
    port = port or _free_port(8700)
    hash_key = state / "hash.key"  # one organisation key shared by agent and collector review
    if not hash_key.exists():
        hash_key.write_text(secrets.token_hex(32) + "\n")
        hash_key.chmod(0o600)

    server = yaml.safe_load((CONFIGS / "server.yaml").read_text(encoding="utf-8"))
    server["listen"] = {"host": "127.0.0.1", "port": port}
    server["storage"] = {"data_dir": str(state / "collector")}
    server["enrollment"]["secret"] = enroll
    server.setdefault("review", {})["hash_key_file"] = str(hash_key)
    _merge(server, server_extra or {})
    server_cfg = state / "server.yaml"
    _write_yaml(server_cfg, server)

    agent = yaml.safe_load((CONFIGS / "agent.yaml").read_text(encoding="utf-8"))
    agent["state_dir"] = str(state / "agent")
    agent["collector"].update(url=f"http://127.0.0.1:{port}", enroll_secret=enroll)
    agent["files"]["roots"] = [str(watch)]
    agent["files"]["settle"] = 0.3
    agent.setdefault("detection", {})["hash_key_file"] = str(hash_key)
    agent["detection"]["policy"] = str(CONFIGS / "policies" / "endpoint.yaml")  # patterns + ML
    agent["devices"]["policy"] = str(CONFIGS / "devices.yaml")
    agent["network"]["destinations"] = str(CONFIGS / "destinations.yaml")
    agent["heartbeat_interval"] = 15
    _merge(agent, agent_extra or {})
    agent_cfg = state / "agent.yaml"
    _write_yaml(agent_cfg, agent)
    return server_cfg, agent_cfg, f"http://127.0.0.1:{port}/", "admin", password


def seed_admin(server_cfg: Path, user: str, password: str) -> None:
    listing = subprocess.run([*_leakwarden(), "user", "list", "--config", str(server_cfg)],
                             capture_output=True, text=True)
    if any(line.split()[:1] == [user] for line in listing.stdout.splitlines()):
        return
    subprocess.run([*_leakwarden(), "user", "add", user, "--role", "admin", "--password-stdin",
                    "--config", str(server_cfg)], input=password + "\n", text=True, check=True,
                   stdout=subprocess.DEVNULL)


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the collector exited with status {proc.returncode}; see its log above")
        try:
            with urllib.request.urlopen(url + "healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the collector did not answer {url}healthz within {timeout:.0f}s")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    state = ROOT / ".leakwarden" / "demo"
    watch = ROOT / "demo"
    server_cfg, agent_cfg, url, user, password = prepare(state, watch)
    seed_admin(server_cfg, user, password)
    logs = state / "logs"
    logs.mkdir(exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []

    def stop() -> None:
        # agent first, so it can ship what it holds while the collector still listens
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the demo like Ctrl-C does
    try:
        server_log = open(logs / "collector.log", "ab")
        procs.append(subprocess.Popen([*_leakwarden(), "server", "--config", str(server_cfg)],
                                      stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True))
        wait_healthy(url, procs[0])
        agent_log = open(logs / "agent.log", "ab")
        procs.append(subprocess.Popen([*_leakwarden(), "agent", "--config", str(agent_cfg)],
                                      stdout=agent_log, stderr=subprocess.STDOUT, start_new_session=True))
        print(f"Dashboard: {url}")
        print(f"Login: {user} / {password}")
        print(f"Watching: {watch}", flush=True)
        print(f"(logs in {logs}; drop a file with sensitive content into {watch} to raise an alert; "
              f"Ctrl-C stops both)", file=sys.stderr, flush=True)
        while True:
            for name, p in (("collector", procs[0]), ("agent", procs[1])):
                if p.poll() is not None:
                    print(f"the {name} exited with status {p.returncode}; see {logs}/{name}.log",
                          file=sys.stderr)
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    except RuntimeError as e:
        print(f"make run: {e}", file=sys.stderr)
        return 1
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
