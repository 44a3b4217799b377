"""The device record keeps the agent's latest device-policy verdict (wire ``device.policy``), next to the
analysts' known / lost / revoked mark; SQLite and PostgreSQL, through the real ingest API."""

from __future__ import annotations

import time

from aiohttp.test_utils import TestClient

from server.keys import STORE
from server.store.interface import Device
from tests.server.helpers import batch, enroll, event, person

STICK = {"vendor_id": "18d1", "product_id": "4ee7", "serial": "PHONE-1", "mountpoint": "/media/phone"}


def mount(seq: int, policy: str | None, *, rule: str = "smartphones in mass-storage mode",
          when: float | None = None, kind: str = "device.mount") -> dict:
    device = dict(STICK, **({"policy": policy} if policy else {}))
    e = event(seq, kind, channel="removable", device=device, attributes={"rule": rule})
    if when is not None:
        e["time"] = when
    return e


async def test_latest_verdict_is_stored_beside_the_mark(client: TestClient) -> None:
    store = client.server.app[STORE]
    agent_id, agent = await enroll(client)
    now = time.time()

    async def send(*events: dict) -> None:
        r = await client.post("/api/v1/events", json=batch(agent_id, list(events)), headers=agent)
        assert r.status == 200, await r.text()

    await send(mount(1, "block", when=now - 60))
    [dev] = await store.list_devices()
    assert (dev.policy, dev.policy_rule, dev.policy_host) == ("block", "smartphones in mass-storage mode", "pc-01")
    assert dev.policy_at == now - 60 and dev.status == "known"

    # the analysts' mark and the agent's verdict are independent
    assert await store.set_device_status(dev.id, "lost", "owner reported it")
    await send(mount(2, "allow", rule="issued phones", when=now - 30))
    [dev] = await store.list_devices()
    assert (dev.policy, dev.policy_rule, dev.status) == ("allow", "issued phones", "lost")

    # an older verdict arriving late (a drained spool) does not undo the newer one
    await send(mount(3, "alert", rule="default", when=now - 3600))
    # an event without a verdict (an agent that does not send one) keeps what is stored
    await send(mount(4, None, when=now, kind="device.unmount"))
    [dev] = await store.list_devices()
    assert (dev.policy, dev.policy_rule, dev.policy_at) == ("allow", "issued phones", now - 30)


async def test_a_verdict_on_the_record_itself_is_kept(store) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    base = Device(id=0, key="fs:1234-ABCD", vendor_id=None, product_id=None, vendor=None, model=None, serial=None,
                  fs_uuid="1234-ABCD", label="BACKUP", first_seen=now, last_seen=now, last_host="pc-02")
    saved = await store.upsert_device(base)
    assert saved.policy is None, "no agent reported a verdict for it"
    from dataclasses import replace
    saved = await store.upsert_device(replace(base, last_seen=now + 1, policy="alert", policy_rule="encrypted backup",
                                              policy_at=now + 1, policy_host="pc-02"))
    assert (saved.policy, saved.policy_rule, saved.last_seen) == ("alert", "encrypted backup", now + 1)
    again = await store.get_device(saved.id)
    assert again is not None and again.policy == "alert" and again.policy_host == "pc-02"


async def test_an_unplugged_device_is_a_quiet_event_that_keeps_its_record(client: TestClient) -> None:
    """``device.detach`` (a USB device removed, mounted or not) is stored and updates the device, no alert."""
    store = client.server.app[STORE]
    agent_id, agent = await enroll(client)
    events = [mount(1, "alert", kind="device.attach"), mount(2, "alert", kind="device.detach")]
    r = await client.post("/api/v1/events", json=batch(agent_id, events), headers=agent)
    assert r.status == 200, await r.text()
    [dev] = await store.list_devices()
    assert dev.serial == "PHONE-1" and dev.policy == "alert"
    stored = await store.get_event(events[1]["id"])
    assert stored is not None and stored.kind == "device.detach"
    page = await (await client.get("/api/v1/alerts", headers=await person(client))).json()
    assert [a["kind"] for a in page["items"]] == ["device.attach"]  # the attach under an alert policy only
