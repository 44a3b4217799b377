"""Builders for agents, batches and people used across the collector tests."""

from __future__ import annotations

import time
import uuid
from typing import Any

from aiohttp.test_utils import TestClient

from tests.server.conftest import ENROLL_SECRET

HEX64 = "ab" * 32


def finding(detector: str = "pii.cn_resident_id", severity: str = "high", confidence: float = 0.95,
            path: str = "/home/u/doc.txt", **attributes: Any) -> dict[str, Any]:
    f: dict[str, Any] = {"detector": detector, "severity": severity, "confidence": confidence,
                         "location": {"path": path, "start": 0, "end": 18, "line": 1},
                         "masked": "6501**********0877", "hash": HEX64}
    if attributes:
        f["attributes"] = attributes
    return f


def event(seq: int, kind: str = "file.write", *, host: str = "pc-01", user: str | None = "alice",
          findings: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    e: dict[str, Any] = {"id": str(uuid.uuid4()), "seq": seq, "time": time.time(), "kind": kind, "host": host}
    if user is not None:
        e["user"] = user
    if findings:
        e["findings"] = findings
    e.update(extra)
    return e


def batch(agent_id: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schema": 1, "agent_id": agent_id, "events": events}


async def enroll(client: TestClient, hostname: str = "pc-01") -> tuple[str, dict[str, str]]:
    r = await client.post("/api/v1/agents/enroll", json={"enroll_secret": ENROLL_SECRET, "hostname": hostname,
                                                          "version": "0.1.0", "os": "linux"})
    assert r.status == 201, await r.text()
    body = await r.json()
    return body["agent_id"], {"Authorization": f"Bearer {body['token']}"}


PASSWORD = "correct horse battery"
_HASH: list[str] = []


def password_hash() -> str:
    """One argon2id hash of PASSWORD for the whole run (hashing is slow on purpose)."""
    if not _HASH:
        from server.auth import hash_password
        _HASH.append(hash_password(PASSWORD))
    return _HASH[0]


async def person(client: TestClient, role: str = "admin", name: str | None = None) -> dict[str, str]:
    """An account with a session (login itself is tested in test_people.py)."""
    from server.auth import create_session
    from server.keys import STORE
    store = client.server.app[STORE]
    name = name or f"{role}-{uuid.uuid4().hex[:6]}"
    user = await store.create_user(name, role, password_hash(), time.time())
    return {"Authorization": f"Bearer {await create_session(store, user)}"}
