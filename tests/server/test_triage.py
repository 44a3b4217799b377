"""One set of rules for alert and incident changes, whichever door (API or dashboard), and one review path."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server import triage
from server.api.review import ReviewService, review_document
from server.dashboard import actions
from server.keys import SCANNER, STORE
from server.store.sql import SqlStore
from tests.server.helpers import batch, enroll, event, finding, password_hash, person
from tests.server.test_store import alert


async def test_rules_and_audit_record(store: SqlStore) -> None:
    now = time.time()
    a = await store.insert_alert(alert(now))
    await store.create_user("bob", "analyst", "x", now)
    for closing in ("resolved", "false_positive"):  # every closing status needs a resolution note
        for note in (None, "", "   "):
            with pytest.raises(triage.ChangeRejected) as e:
                await triage.change_alerts(store, [a.id], actor="amy", now=now, status=closing, note=note)
            assert (e.value.code, e.value.field) == ("resolution_needs_note", "note")
            assert closing in e.value.detail
    assert (await store.get_alert(a.id)).status == "new"  # type: ignore[union-attr]
    with pytest.raises(triage.ChangeRejected) as e:
        await triage.change_alerts(store, [a.id], actor="amy", now=now, assignee="nobody")
    assert (e.value.code, e.value.field) == ("assignee_unknown", "assignee")
    with pytest.raises(triage.ChangeRejected):
        await triage.change_alerts(store, list(range(1, triage.MAX_BULK + 2)), actor="amy", now=now, status="new")
    done = await triage.change_alerts(store, [a.id, 999_999], actor="amy", now=now + 1, status="acknowledged",
                                      assignee="bob")
    assert done.changed == [a.id] and list(done.found) == [a.id]
    assert done.found[a.id].acknowledged_at == now + 1
    # the same change again changes nothing and writes no audit entry
    again = await triage.change_alerts(store, [a.id], actor="amy", now=now + 2, status="acknowledged")
    assert again.changed == [] and again.found[a.id].status == "acknowledged"
    [entry] = await store.list_audit(target_type="alert", target_id=str(a.id))
    assert entry.detail == {"before": {"status": "new", "assignee": None},
                            "after": {"status": "acknowledged", "assignee": "bob"}, "note": None}
    assert await triage.change_incident(store, 4242, actor="amy", now=now, status="closed", note=None) is None
    with pytest.raises(triage.ChangeRejected):
        await triage.change_incident(store, 4242, actor="amy", now=now, status="archived", note=None)


async def test_api_and_dashboard_apply_the_same_rules_and_trail(client: TestClient) -> None:
    store = client.server.app[STORE]
    agent_id, headers = await enroll(client)
    await client.post("/api/v1/events", json=batch(agent_id, [event(i, findings=[finding()]) for i in range(2)]),
                      headers=headers)
    analyst = await person(client, "analyst", "ann")
    await store.create_user("bob", "viewer", password_hash(), time.time())
    by_api, by_dash = sorted(a["id"] for a in (await (await client.get("/api/v1/alerts", headers=analyst)).json())
                             ["items"])
    change: dict[str, Any] = {"status": "in_progress", "assignee": "bob", "note": "looking"}
    r = await client.patch(f"/api/v1/alerts/{by_api}", json=change, headers=analyst)
    assert r.status == 200
    assert await actions.change_alerts(store, [by_dash], actor="ann", now=time.time(), **change) == [by_dash]
    trails = [await store.list_audit(target_type="alert", target_id=str(i)) for i in (by_api, by_dash)]
    assert [(e.actor, e.action, e.detail) for e in trails[0]] == [(e.actor, e.action, e.detail) for e in trails[1]]
    # a change that changes nothing is audited by neither door
    r = await client.patch(f"/api/v1/alerts/{by_api}", json={"status": "in_progress"}, headers=analyst)
    assert r.status == 200 and (await r.json())["status"] == "in_progress"
    assert await actions.change_alerts(store, [by_dash], actor="ann", now=time.time(), status="in_progress") == []
    assert [len(await store.list_audit(target_type="alert", target_id=str(i))) for i in (by_api, by_dash)] == [1, 1]
    # refusals name the same rule: the API as a field, the dashboard as a catalogue message
    r = await client.patch(f"/api/v1/alerts/{by_api}", json={"assignee": "mallory"}, headers=analyst)
    assert r.status == 422 and (await r.json())["field"] == "$.assignee"
    with pytest.raises(actions.ActionRejected) as e:
        await actions.change_alerts(store, [by_dash], actor="ann", now=time.time(), assignee="mallory")
    assert e.value.message == actions.MESSAGES["assignee_unknown"]
    # closing as a false positive needs a note, through either door; with one it closes
    r = await client.patch(f"/api/v1/alerts/{by_api}", json={"status": "false_positive"}, headers=analyst)
    body = await r.json()
    assert r.status == 422 and body["field"] == "$.note" and "false_positive" in body["detail"]
    with pytest.raises(actions.ActionRejected) as e:
        await actions.change_alerts(store, [by_dash], actor="ann", now=time.time(), status="false_positive")
    assert e.value.message == actions.MESSAGES["resolution_needs_note"]
    r = await client.patch(f"/api/v1/alerts/{by_api}", json={"status": "false_positive", "note": "test data"},
                           headers=analyst)
    assert r.status == 200 and (await r.json())["status"] == "false_positive"


async def test_review_document_is_one_path_for_both_doors(client: TestClient) -> None:
    app = client.server.app
    service: ReviewService = app[SCANNER]  # type: ignore[assignment]
    scan = service.review
    counts = {"running": 0, "most": 0}
    guard = threading.Lock()

    def recording(data: bytes, name: str) -> dict[str, Any]:  # the real scan, counting how many run at once
        with guard:
            counts["running"] += 1
            counts["most"] = max(counts["most"], counts["running"])
        try:
            time.sleep(0.05)
            return scan(data, name)
        finally:
            with guard:
                counts["running"] -= 1
    service.review = recording  # type: ignore[method-assign]
    analyst = await person(client, "analyst")
    doc = "身份证号：110105199003071239\n".encode()
    api = client.post("/api/v1/review?name=a.txt", data=doc, headers={**analyst,
                                                                     "Content-Type": "application/octet-stream"})
    results = await asyncio.gather(api, review_document(app, doc, "b.txt", actor="dash-user"),
                                   review_document(app, b"nothing here", "c.txt", actor="dash-user"))
    assert counts["most"] == 1  # one scan at a time, whichever door
    answer = await results[0].json()
    assert answer["verdict"] == results[1]["verdict"] != results[2]["verdict"]
    assert answer["document_hash"] == results[1]["document_hash"]
    assert {results[1]["id"], results[2]["id"], answer["id"]} == {1, 2, 3}
