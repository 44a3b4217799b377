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


async def person(client: TestClient, role: str = "admin", name: str | None = None) -> dict[str, str]:
    """Create an account directly in the store and log in through the API."""
    from server.auth import add_user
    from server.keys import STORE
    name = name or f"{role}-{uuid.uuid4().hex[:6]}"
    await add_user(client.server.app[STORE], name, role, "correct horse battery")
    r = await client.post("/api/v1/auth/login", json={"username": name, "password": "correct horse battery"})
    assert r.status == 200, await r.text()
    return {"Authorization": f"Bearer {(await r.json())['token']}"}
