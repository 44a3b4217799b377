"""People: login, sessions, roles on every route, alert triage with audit, filters and keyset pages."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from server.api.access import ACCESS_ATTR
from server.auth import add_user, authenticate, user_for_token
from server.keys import STORE
from tests.server.helpers import PASSWORD, batch, enroll, event, finding, person


async def ingest_alerts(client: TestClient, n: int, **kw: Any) -> list[int]:
    host = kw.pop("hostname", "pc-01")
    agent_id, headers = await enroll(client, host)
    events = [event(i, host=host, findings=[finding(**kw)]) for i in range(n)]
    r = await client.post("/api/v1/events", json=batch(agent_id, events), headers=headers)
    assert r.status == 200
    admin = await person(client)
    page = await (await client.get(f"/api/v1/alerts?limit={n}", headers=admin)).json()
    return [a["id"] for a in page["items"]]


async def test_login_gives_a_working_token_and_wrong_password_401(client: TestClient) -> None:
    store = client.server.app[STORE]
    await add_user(store, "carol", "analyst", PASSWORD)
    r = await client.post("/api/v1/auth/login", json={"username": "carol", "password": "wrong password!"})
    assert r.status == 401 and (await r.json())["error"] == "login_failed"
    r = await client.post("/api/v1/auth/login", json={"username": "nobody", "password": PASSWORD})
    assert r.status == 401
    r = await client.post("/api/v1/auth/login", json={"username": "carol", "password": PASSWORD})
    assert r.status == 200
    token = (await r.json())["token"]
    me = await (await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})).json()
    assert me["username"] == "carol" and me["role"] == "analyst"
    # only a hash of the token is stored; the password only as argon2id
    user = await store.get_user_by_name("carol")
    assert user is not None and user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert await store.get_session(token) is None
    await client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert (await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})).status == 401


async def test_login_is_rate_limited(client: TestClient) -> None:
    await add_user(client.server.app[STORE], "dave", "viewer", PASSWORD)
    statuses = []
    for _ in range(6):
        r = await client.post("/api/v1/auth/login", json={"username": "dave", "password": "not the password"})
        statuses.append(r.status)
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    assert int(r.headers["Retry-After"]) > 0
    # even the right password waits now
    r = await client.post("/api/v1/auth/login", json={"username": "dave", "password": PASSWORD})
    assert r.status == 429


async def test_expired_session_and_disabled_user_are_refused(client: TestClient) -> None:
    store = client.server.app[STORE]
    user = await add_user(store, "erin", "viewer", PASSWORD)
    from server.auth import create_session
    token = await create_session(store, user, ttl=-1)
    assert await user_for_token(store, token) is None
    token = await create_session(store, user)
    await store.update_user(user.id, disabled=True)
    assert await user_for_token(store, token) is None
    assert await authenticate(store, "erin", PASSWORD) is None


def test_every_api_route_declares_who_may_call_it(config) -> None:  # type: ignore[no-untyped-def]
    from server.app import create_app
    app = create_app(config)
    missing = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or ""
        if path.startswith("/api/") and route.method != "HEAD":
            if getattr(route.handler, ACCESS_ATTR, None) is None:
                missing.append(f"{route.method} {path}")
    assert missing == []


async def test_roles_are_enforced_server_side(client: TestClient) -> None:
    ids = await ingest_alerts(client, 1)
    viewer, analyst, admin = (await person(client, "viewer"), await person(client, "analyst"),
                              await person(client, "admin"))
    change = {"status": "acknowledged"}
    assert (await client.get("/api/v1/alerts", headers=viewer)).status == 200
    assert (await client.patch(f"/api/v1/alerts/{ids[0]}", json=change, headers=viewer)).status == 403
    assert (await client.patch(f"/api/v1/alerts/{ids[0]}", json=change, headers=analyst)).status == 200
    assert (await client.get("/api/v1/users", headers=analyst)).status == 403
    assert (await client.post("/api/v1/enroll-tokens", headers=analyst)).status == 403
    assert (await client.post("/api/v1/enroll-tokens", headers=admin)).status == 201
    assert (await client.get("/api/v1/users", headers=admin)).status == 200
    # no credentials, or an agent's token, never reaches a people route
    agent_id, agent_headers = await enroll(client, "pc-x")
    for headers in ({}, agent_headers, {"Authorization": "Basic YWRtaW46YWRtaW4="}):
        assert (await client.get("/api/v1/alerts", headers=headers)).status == 401
    # and a person's token is no agent token
    assert (await client.post("/api/v1/events", json=batch(agent_id, [event(0)]), headers=admin)).status == 401


async def test_status_changes_need_a_note_to_resolve_and_are_audited(client: TestClient) -> None:
    ids = await ingest_alerts(client, 1)
    store = client.server.app[STORE]
    await add_user(store, "frank", "analyst", PASSWORD)
    analyst = await person(client, "analyst", "grace")
    url = f"/api/v1/alerts/{ids[0]}"
    r = await client.patch(url, json={"status": "in_progress", "assignee": "frank"}, headers=analyst)
    assert r.status == 200
    body = await r.json()
    assert body["status"] == "in_progress" and body["assignee"] == "frank" and body["acknowledged_at"]
    r = await client.patch(url, json={"status": "resolved"}, headers=analyst)
    assert r.status == 422 and (await r.json())["field"] == "$.note"
    r = await client.patch(url, json={"assignee": "nobody-here"}, headers=analyst)
    assert r.status == 422 and (await r.json())["field"] == "$.assignee"
    r = await client.patch(url, json={"status": "closed"}, headers=analyst)
    assert r.status == 422 and (await r.json())["field"] == "$.status"
    r = await client.post(url + "/status", json={"status": "resolved", "note": "copied by mistake, deleted"},
                          headers=analyst)
    assert r.status == 200
    detail = await (await client.get(url, headers=analyst)).json()
    assert detail["status"] == "resolved" and detail["note"] == "copied by mistake, deleted"
    trail = [(e["actor"], e["detail"]["after"]["status"]) for e in detail["audit"]]
    assert trail == [("grace", "resolved"), ("grace", "in_progress")]
    assert (await client.get("/api/v1/alerts/999999", headers=analyst)).status == 404
    assert (await client.get("/api/v1/alerts/abc", headers=analyst)).status == 404


async def test_alert_detail_has_redacted_evidence_and_explanation(client: TestClient) -> None:
    ids = await ingest_alerts(client, 1)
    admin = await person(client)
    detail = await (await client.get(f"/api/v1/alerts/{ids[0]}", headers=admin)).json()
    assert detail["evidence"][0]["masked"] == "6501**********0877" and "value" not in detail["evidence"][0]
    assert sum(f["points"] for f in detail["explanation"]) == detail["score"]
    listed = await (await client.get("/api/v1/alerts", headers=admin)).json()
    assert "evidence" not in listed["items"][0]


async def test_filters_and_keyset_pagination(client: TestClient) -> None:
    # the worst first, so newest-first and risk order differ
    await ingest_alerts(client, 3, detector="secret.aws_access_key", severity="critical", hostname="srv-9")
    await ingest_alerts(client, 7, detector="pii.email", severity="low", confidence=0.5)
    admin = await person(client)

    async def ids(query: str) -> list[int]:
        r = await client.get(f"/api/v1/alerts?{query}", headers=admin)
        assert r.status == 200, await r.text()
        return [a["id"] for a in (await r.json())["items"]]
    everything = await ids("limit=100")
    assert len(everything) == 10 and everything == sorted(everything, reverse=True)
    assert len(await ids("detector=secret.aws_access_key")) == 3
    assert len(await ids("detector=secret.*")) == 3
    assert len(await ids("detector=pii.*&host=srv-9")) == 0
    assert len(await ids("host=srv-9")) == 3
    low = await ids("level=low")
    assert len(low) == 7 and set(low).isdisjoint(await ids("level=high,critical"))
    assert len(await ids("status=new")) == 10 and await ids("status=resolved") == []
    assert len(await ids(f"since={time.time() - 60}&until={time.time() + 60}")) == 10
    assert await ids(f"since={time.time() + 60}") == []
    # pages: 4 + 4 + 2, no overlap, no gap
    pages, cursor = [], None
    while True:
        r = await client.get("/api/v1/alerts?limit=4" + (f"&before={cursor}" if cursor else ""), headers=admin)
        body = await r.json()
        pages.append([a["id"] for a in body["items"]])
        cursor = body["next_before"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [4, 4, 2] and sum(pages, []) == everything
    # sort=risk: strictly by score, then newest, across pages (cursor: next_before + next_before_score)
    full = (await (await client.get("/api/v1/alerts?limit=100", headers=admin)).json())["items"]
    by_risk = [a["id"] for a in sorted(full, key=lambda a: (-a["score"], -a["id"]))]
    assert by_risk != everything
    risk_pages, query = [], "sort=risk&limit=3"
    while True:
        body = await (await client.get(f"/api/v1/alerts?{query}", headers=admin)).json()
        risk_pages.append([a["id"] for a in body["items"]])
        if body["next_before"] is None:
            assert body["next_before_score"] is None
            break
        query = f"sort=risk&limit=3&before={body['next_before']}&before_score={body['next_before_score']}"
    assert [len(p) for p in risk_pages] == [3, 3, 3, 1] and sum(risk_pages, []) == by_risk
    for bad, field in (("level=severe", "level"), ("limit=0", "limit"), ("limit=abc", "limit"),
                       ("since=yesterday", "since"), ("before=-1", "before"), ("sort=score", "sort"),
                       ("sort=risk&before=5", "before_score"), ("sort=risk&before_score=40", "before"),
                       ("before_score=40&before=5", "before_score"),
                       ("sort=risk&before=5&before_score=101", "before_score")):
        r = await client.get(f"/api/v1/alerts?{bad}", headers=admin)
        assert r.status == 400, bad
        assert (await r.json())["field"] == field, bad


async def test_admin_creates_users_via_api(client: TestClient) -> None:
    admin = await person(client)
    r = await client.post("/api/v1/users", json={"username": "hank", "role": "viewer", "password": "long enough pw"},
                          headers=admin)
    assert r.status == 201
    r = await client.post("/api/v1/users", json={"username": "hank", "role": "viewer", "password": "long enough pw"},
                          headers=admin)
    assert r.status == 409
    r = await client.post("/api/v1/users", json={"username": "ivy", "role": "root", "password": "long enough pw"},
                          headers=admin)
    assert r.status == 422
    r = await client.post("/api/v1/auth/login", json={"username": "hank", "password": "long enough pw"})
    assert r.status == 200


async def test_unknown_api_path_is_json_404(client: TestClient) -> None:
    r = await client.get("/api/v1/nothing-here")
    assert r.status == 404 and (await r.json())["error"] == "not_found"
    assert isinstance(web.HTTPNotFound(), web.HTTPException)
