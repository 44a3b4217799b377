"""Agents: enrollment tokens, health from heartbeats, offline and tamper alerts, the device registry."""

from __future__ import annotations

import asyncio
import time

from aiohttp.test_utils import TestClient

from server.ingest import offline_sweep
from server.keys import CONFIG, STORE
from tests.server.helpers import batch, enroll, event, finding, person


def heartbeat(seq: int, config_hash: str = "cfg-1", binary_hash: str = "bin-1", **attrs: object) -> dict:
    return event(seq, "agent.heartbeat", user=None, channel="agent", attributes={
        "version": "0.2.0", "config_hash": config_hash, "binary_hash": binary_hash,
        "monitors": {"files": "ok", "devices": "degraded", "network": "off"}, "spool_depth": 12, "drops": 0,
        "degraded": ["fanotify unavailable"], **attrs})


async def alerts_of(client: TestClient, headers: dict[str, str], kind: str) -> list[dict]:
    return (await (await client.get(f"/api/v1/alerts?kind={kind}", headers=headers)).json())["items"]


async def test_one_time_enroll_token_works_once(client: TestClient) -> None:
    admin = await person(client)
    created = await (await client.post("/api/v1/enroll-tokens", json={"ttl": 600}, headers=admin)).json()
    token = created["token"]
    body = {"enroll_token": token, "hostname": "pc-t", "version": "0.1", "os": "linux"}
    r = await client.post("/api/v1/agents/enroll", json=body)
    assert r.status == 201
    r = await client.post("/api/v1/agents/enroll", json=body)
    assert r.status == 401 and (await r.json())["error"] == "enrollment_refused"
    listed = (await (await client.get("/api/v1/enroll-tokens", headers=admin)).json())["items"]
    assert [t["state"] for t in listed] == ["used"] and "token" not in listed[0]
    # a revoked token cannot enroll
    t2 = await (await client.post("/api/v1/enroll-tokens", headers=admin)).json()
    assert (await client.delete(f"/api/v1/enroll-tokens/{t2['id']}", headers=admin)).status == 200
    r = await client.post("/api/v1/agents/enroll", json={**body, "enroll_token": t2["token"]})
    assert r.status == 401


async def test_enrollment_refuses_bad_secrets_and_bad_bodies(client: TestClient) -> None:
    r = await client.post("/api/v1/agents/enroll", json={"enroll_secret": "wrong-secret-but-long", "hostname": "x"})
    assert r.status == 401
    r = await client.post("/api/v1/agents/enroll", json={"hostname": "x"})
    assert r.status == 422
    r = await client.post("/api/v1/agents/enroll", json={"enroll_secret": "s", "hostname": "x", "extra": 1})
    assert r.status == 422 and (await r.json())["field"] == "$.extra"
    r = await client.post("/api/v1/agents/enroll", data=b"\xff")
    assert r.status == 400
    assert await client.server.app[STORE].list_agents() == []


async def test_heartbeat_updates_health_shown_to_people(client: TestClient) -> None:
    agent_id, headers = await enroll(client)
    await client.post("/api/v1/events", json=batch(agent_id, [heartbeat(0)]), headers=headers)
    admin = await person(client)
    agents = (await (await client.get("/api/v1/agents", headers=admin)).json())["items"]
    a = agents[0]
    assert a["state"] == "online" and a["version"] == "0.2.0" and a["spool_depth"] == 12
    assert a["monitors"] == {"files": "ok", "devices": "degraded", "network": "off"}
    assert a["config_hash"] == "cfg-1" and a["degraded"] == ["fanotify unavailable"]


async def test_silent_agent_raises_offline_once_and_again_after_recovery(client: TestClient) -> None:
    store, cfg = client.server.app[STORE], client.server.app[CONFIG]
    agent_id, headers = await enroll(client)
    await client.post("/api/v1/events", json=batch(agent_id, [heartbeat(0)]), headers=headers)
    later = time.time() + cfg.offline_after + 1
    assert len(await offline_sweep(store, cfg, now=later)) == 1
    assert await offline_sweep(store, cfg, now=later + 60) == []  # once, not on every sweep
    admin = await person(client)
    assert len(await alerts_of(client, admin, "agent.offline")) == 1
    await client.post("/api/v1/events", json=batch(agent_id, [heartbeat(1)]), headers=headers)
    assert await offline_sweep(store, cfg, now=time.time() + 1) == []
    assert len(await offline_sweep(store, cfg, now=time.time() + cfg.offline_after + 5)) == 1
    # a revoked agent is not reported offline
    await client.post(f"/api/v1/agents/{agent_id}/revoke", headers=admin)
    assert await offline_sweep(store, cfg, now=time.time() + 10 * cfg.offline_after) == []


async def test_background_task_raises_offline(clients) -> None:  # type: ignore[no-untyped-def]
    client = await clients(offline_after=1.0, heartbeat_interval=0.5, offline_check_interval=0.1)
    await enroll(client)
    admin = await person(client)
    for _ in range(50):
        if await alerts_of(client, admin, "agent.offline"):
            break
        await asyncio.sleep(0.1)
    assert len(await alerts_of(client, admin, "agent.offline")) == 1


async def test_changed_hashes_raise_tamper_with_first_seen_pinning(client: TestClient) -> None:
    agent_id, headers = await enroll(client)
    admin = await person(client)
    await client.post("/api/v1/events", json=batch(agent_id, [heartbeat(0), heartbeat(1)]), headers=headers)
    assert await alerts_of(client, admin, "agent.tamper") == []
    await client.post("/api/v1/events", json=batch(agent_id, [heartbeat(2, config_hash="cfg-EVIL")]),
                      headers=headers)
    await client.post("/api/v1/events", json=batch(agent_id, [heartbeat(3, config_hash="cfg-EVIL")]),
                      headers=headers)
    tamper = await alerts_of(client, admin, "agent.tamper")
    assert len(tamper) == 1 and tamper[0]["level"] in ("high", "critical") and "config" in tamper[0]["title"]
    # an admin accepts the new config; no further alert for it
    r = await client.post(f"/api/v1/agents/{agent_id}/repin", headers=admin)
    assert (await r.json())["pinned_config_hash"] == "cfg-EVIL"
    await client.post("/api/v1/events", json=batch(agent_id, [heartbeat(4, config_hash="cfg-EVIL")]),
                      headers=headers)
    assert len(await alerts_of(client, admin, "agent.tamper")) == 1


async def test_expected_hashes_from_config(clients) -> None:  # type: ignore[no-untyped-def]
    client = await clients(expected_binary_hashes=frozenset({"bin-good"}))
    agent_id, headers = await enroll(client)
    admin = await person(client)
    await client.post("/api/v1/events", json=batch(agent_id, [heartbeat(0, binary_hash="bin-good")]),
                      headers=headers)
    assert await alerts_of(client, admin, "agent.tamper") == []
    await client.post("/api/v1/events", json=batch(agent_id, [heartbeat(1, binary_hash="bin-other")]),
                      headers=headers)
    assert len(await alerts_of(client, admin, "agent.tamper")) == 1


async def test_lost_device_seen_again_is_critical(client: TestClient) -> None:
    agent_id, headers = await enroll(client)
    usb = {"vendor_id": "0951", "product_id": "1666", "serial": "LOSTSTICK01", "model": "DataTraveler"}
    await client.post("/api/v1/events", json=batch(agent_id, [event(0, "device.attach", device=usb)]),
                      headers=headers)
    analyst = await person(client, "analyst")
    devices = (await (await client.get("/api/v1/devices", headers=analyst)).json())["items"]
    assert len(devices) == 1 and devices[0]["serial"] == "LOSTSTICK01" and devices[0]["last_host"] == "pc-01"
    r = await client.patch(f"/api/v1/devices/{devices[0]['id']}", json={"status": "lost", "note": "reported lost"},
                           headers=analyst)
    assert r.status == 200 and (await r.json())["status"] == "lost"
    assert await alerts_of(client, analyst, "device.lost_seen") == []
    await client.post("/api/v1/events", json=batch(agent_id, [event(1, "device.attach", device=usb)]),
                      headers=headers)
    lost = await alerts_of(client, analyst, "device.lost_seen")
    assert len(lost) == 1 and lost[0]["level"] == "critical"
    r = await client.patch("/api/v1/devices/99999", json={"status": "lost"}, headers=analyst)
    assert r.status == 404


async def test_many_agents_enroll_from_one_address_but_guessing_is_throttled(client: TestClient) -> None:
    for i in range(12):  # a fleet behind one NAT address
        await enroll(client, f"pc-{i}")
    statuses = []
    for _ in range(7):
        r = await client.post("/api/v1/agents/enroll", json={"enroll_secret": "guess-guess-guess", "hostname": "x"})
        statuses.append(r.status)
    assert statuses[:5] == [401] * 5 and statuses[-1] == 429 and "Retry-After" in r.headers


async def test_clock_skew_raises_one_alert_per_streak_with_both_times_kept(clients) -> None:  # type: ignore[no-untyped-def]
    client = await clients(clock_skew_confirm=0.0)
    store = client.server.app[STORE]
    agent_id, headers = await enroll(client)
    admin = await person(client)
    for seq in range(3):  # three batches, each an hour behind: one alert, not three
        e = event(seq, findings=[finding()], file={"path": f"/d/skewed-{seq}.txt"}, time=time.time() - 3600)
        assert (await client.post("/api/v1/events", json=batch(agent_id, [e]), headers=headers)).status == 200
    skew = await alerts_of(client, admin, "agent.clock_skew")
    assert len(skew) == 1 and skew[0]["level"] == "medium"
    detail = skew[0]["explanation"][0]["detail"]
    assert "1.0 h (3600 s) behind the collector" in detail, detail
    agent = (await (await client.get(f"/api/v1/agents/{agent_id}", headers=admin)).json())
    assert -3610 < agent["clock_skew"] < -3590
    # the event keeps the agent's time, the store its own receive time; the alert carries the event's
    stored = await store.get_event(e["id"])
    assert stored is not None and 3590 < stored.received_at - stored.time < 3610
    leak = [a for a in (await (await client.get("/api/v1/alerts?kind=file.write", headers=admin)).json())["items"]
            if a["event_id"] == e["id"]][0]
    assert abs(leak["time"] - e["time"]) < 0.01 and leak["created_at"] - leak["time"] > 3590
    # back within tolerance: re-armed; skewed again (now ahead): a second alert
    await client.post("/api/v1/events", json=batch(agent_id, [event(3)]), headers=headers)
    assert len(await alerts_of(client, admin, "agent.clock_skew")) == 1
    await client.post("/api/v1/events", json=batch(agent_id, [event(4, time=time.time() + 600)]), headers=headers)
    again = await alerts_of(client, admin, "agent.clock_skew")
    assert len(again) == 2 and "10.0 min (600 s) ahead of the collector" in again[0]["explanation"][0]["detail"]


async def test_clock_behind_must_persist_so_a_drained_backlog_is_not_skew(store) -> None:  # type: ignore[no-untyped-def]
    from leakwarden.wire import Batch, Event
    from server.config import default_config
    from server.ingest import Ingestor
    from server.store.interface import Agent
    cfg = default_config(clock_skew_tolerance=300.0, clock_skew_confirm=10.0)
    now = 1_800_000_000.0
    await store.create_agent(Agent(id="a1", token_hash="h", hostname="pc", version="1", os="linux", enrolled_at=now))
    ing = Ingestor(store, cfg)

    def shipped(seq: int, t: float) -> Batch:
        return Batch(agent_id="a1", events=[Event(id=f"00000000-0000-4000-8000-{seq:012d}", seq=seq, time=t,
                                                  kind="agent.heartbeat", host="pc")])

    async def skew_alerts(seq: int, t: float, at: float) -> list:
        agent = await store.get_agent("a1")
        done = await ing.ingest(agent, shipped(seq, t), now=at)
        return [a for a in done.notify if a.kind == "agent.clock_skew"]
    # after a 10-minute outage the spool drains: old events for a few seconds, then live ones
    assert await skew_alerts(0, now - 600, now) == []
    assert await skew_alerts(1, now - 598, now + 2) == []
    assert await skew_alerts(2, now + 4, now + 4) == []  # caught up: the streak ends
    # a clock that stays wrong is reported once it has stayed wrong for clock_skew_confirm
    assert await skew_alerts(3, now + 20 - 900, now + 20) == []
    raised = await skew_alerts(4, now + 31 - 900, now + 31)
    assert len(raised) == 1 and "15.0 min (900 s) behind" in raised[0].explanation[0]["detail"]
    assert await skew_alerts(5, now + 60 - 900, now + 60) == []
    # an agent clock ahead cannot be a backlog: at once
    assert await skew_alerts(6, now + 70, now + 70) == []
    assert len(await skew_alerts(7, now + 80 + 400, now + 80)) == 1
