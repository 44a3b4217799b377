from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from agent.config import AgentConfig, load_config
from tests.agent.receiver import Receiver

REPO = Path(__file__).resolve().parents[2]
# Test values only: a valid PRC ID (check digit ok), a card number passing Luhn, a marking.
ID_NUMBER = "440305198503121231"
SENSITIVE = f"员工信息\n姓名 张三 身份证号 {ID_NUMBER}\n".encode()
MARKED = "机密★5年\n\n关于项目的通知\n".encode()

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (loop devices, fanotify, AF_PACKET)")


def wait_for(pred: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def spooled(state_dir: str | Path) -> list[dict[str, Any]]:
    """Events currently in an agent's spool, oldest first (read-only peek)."""
    path = Path(state_dir) / "spool.db"
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("SELECT body FROM events ORDER BY seq").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()
    return [msgspec.json.decode(r[0]) for r in rows]


def write_config(tmp_path: Path, **sections: Any) -> AgentConfig:
    watched = tmp_path / "watched"
    watched.mkdir(exist_ok=True)
    key = tmp_path / "hash.key"
    key.write_bytes(b"0123456789abcdef0123456789abcdef")
    base: dict[str, Any] = {
        "state_dir": str(tmp_path / "state"),
        "host": "test-host",
        "collector": {"url": None},
        "detection": {"hash_key_file": str(key)},
        "files": {"roots": [str(watched)], "settle": 0.15, "max_delay": 2.0},
        "devices": {"enabled": False},
        "network": {"enabled": False},
        "budget": {"workers": 2, "nice": 5},
        "heartbeat_interval": 3600,
    }
    for name, value in sections.items():
        if isinstance(value, dict) and isinstance(base.get(name), dict):
            base[name] = {**base[name], **value}
        else:
            base[name] = value
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(base, allow_unicode=True))
    return load_config(path)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def run_agent() -> Iterator[Callable[..., Any]]:
    from agent.daemon import Agent

    started: list[Agent] = []

    def start(cfg: AgentConfig, **kw: Any) -> Agent:
        a = Agent(cfg, **kw)
        a.start()
        started.append(a)
        # Let the start-up walk of the roots finish first: a file a test writes while it runs may
        # be met by the walk before inotify and then (rightly) be reported as file.write, not
        # file.create, which tests of inotify behaviour do not expect.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and a.pipeline is not None and \
                not all(root in a.pipeline._root_dirs for root in cfg.files.roots if os.path.isdir(root)):
            time.sleep(0.02)
        return a

    yield start
    for a in started:
        a.stop(drain_timeout=0)


def events_of(state_dir: str | Path, kind: str | None = None) -> list[dict[str, Any]]:
    return [e for e in spooled(state_dir) if kind is None or e["kind"] == kind]
