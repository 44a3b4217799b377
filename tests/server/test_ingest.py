"""Enrollment and ingest over HTTP, on both backends."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from server.keys import STORE
from tests.server.helpers import batch, enroll, event, finding, person


async def test_enroll_then_post_events_and_retry_is_idempotent(client: TestClient) -> None:
    agent_id, headers = await enroll(client)
    events = [event(0), event(1, findings=[finding()]), event(2, kind="agent.heartbeat", attributes={
        "version": "0.1.0", "config_hash": "c1", "binary_hash": "b1", "monitors": {"files": "ok"},
        "spool_depth": 3})]
    body = batch(agent_id, events)
    r = await client.post("/api/v1/events", json=body, headers=headers)
    assert r.status == 200, await r.text()
    ack = await r.json()
    assert ack["accepted"] == 3 and ack["duplicates"] == 0
    assert sorted(ack["acked"]) == sorted(e["id"] for e in events)
    r = await client.post("/api/v1/events", json=body, headers=headers)
    ack2 = await r.json()
    assert ack2["accepted"] == 0 and ack2["duplicates"] == 3
    assert sorted(ack2["acked"]) == sorted(e["id"] for e in events)
    store = client.server.app[STORE]
    assert await store.count_events() == 3
    admin = await person(client)
    r = await client.get("/api/v1/alerts", headers=admin)
    alerts = (await r.json())["items"]
    assert len(alerts) == 1 and alerts[0]["detectors"] == ["pii.cn_resident_id"]
    agent = await store.get_agent(agent_id)
    assert agent is not None and agent.spool_depth == 3 and agent.monitors == {"files": "ok"}
