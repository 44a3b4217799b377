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

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zoneinfo
from pathlib import Path
from typing import Any

import yaml

ROOT = Path.cwd()
CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            # as the collector binds: a port still in TIME_WAIT after a quick restart is free
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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
    """Mode 0600: the configs hold the enrollment secret."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also when it existed with a wider mode
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)


def local_timezone() -> str | None:
    """The machine's IANA zone name (``TZ``, /etc/timezone or the /etc/localtime link), if it has one."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    except OSError:
        pass
    try:
        candidates.append(os.readlink("/etc/localtime").split("zoneinfo/", 1)[-1])
    except OSError:
        pass
    for name in candidates:
        if not name or name.startswith("/"):
            continue
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
        return name
    return None


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
    # the enrollment secret, the admin password, the databases: readable by this account only
    _private_dir(state)
    for sub in ("collector", "agent"):
        _private_dir(state / sub)
        for f in (state / sub).rglob("*"):  # databases of an earlier run made with a wider umask
            if f.is_file():
                f.chmod(0o600)
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
    zone = local_timezone()
    if zone:  # the dashboard shows times as the clock on this machine does
        server.setdefault("dashboard", {})["timezone"] = zone
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
    """Create the admin account, or, if it exists, set its password to ``password``: the printed
    password must work even when admin.password was deleted and the database kept."""
    listing = subprocess.run([*_leakwarden(), "user", "list", "--config", str(server_cfg)],
                             capture_output=True, text=True)
    if any(line.split()[:1] == [user] for line in listing.stdout.splitlines()):
        asyncio.run(_set_password(server_cfg, user, password))
        return
    subprocess.run([*_leakwarden(), "user", "add", user, "--role", "admin", "--password-stdin",
                    "--config", str(server_cfg)], input=password + "\n", text=True, check=True,
                   stdout=subprocess.DEVNULL)


async def _set_password(server_cfg: Path, user: str, password: str) -> None:
    from server import auth
    from server import config as server_config
    from server.store import open_store

    store = await open_store(server_config.load(server_cfg))
    try:
        account = await store.get_user_by_name(user)
        if account is not None and not auth.verify_password(account.password_hash, password):
            await store.update_user(account.id, password_hash=auth.hash_password(password))
            await store.add_audit("make run", "user.password", "user", str(account.id), {"username": user},
                                  time.time())
    finally:
        await store.close()


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
    os.umask(0o077)  # the databases, spool and logs the two processes create: 0600
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

    # `kill` and `kill -INT` stop the demo like Ctrl-C does, also when a script started it in the
    # background (a non-interactive shell starts background jobs with SIGINT ignored)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
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
