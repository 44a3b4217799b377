"""Forwarding inside the real collector app: ingest -> listener -> outbox -> receivers; admin and SLA API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.config import default_config
from server.openapi_spec import build_spec
from server.forward.keys import FORWARDER
from tests.forward.conftest import AWS_KEY, ID_NUMBER
from tests.forward.receivers import HttpReceiver, SmtpReceiver, SyslogReceiver, server_tls
from tests.server.helpers import batch, enroll, event, finding, person

ENROLL_SECRET = "test-enrollment-secret-0123456789"
# the collector's one OpenAPI document, which describes forwarding's routes too
SPEC = build_spec()
PATHS, COMPONENTS = SPEC["paths"], SPEC["components"]["schemas"]


async def documented(r: Any, path: str, method: str) -> Any:
    """The answer, after checking it against the collector's OpenAPI document."""
    body = await r.json()
    response = PATHS[path][method]["responses"][str(r.status)]
    schema = {**response["content"]["application/json"]["schema"], "components": {"schemas": COMPONENTS}}
    errors = [e.message for e in jsonschema_rs.validator_for(schema).iter_errors(body)]
    assert errors == [], f"{method} {path} {r.status}: {errors[:3]}"
    return body


async def until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@pytest.fixture()
async def syslogs(tls_files: tuple[Path, Path]) -> AsyncIterator[dict[str, SyslogReceiver]]:
    rx = {"udp": await SyslogReceiver("udp").start(), "tcp": await SyslogReceiver("tcp").start(),
          "tls": await SyslogReceiver("tls", server_tls(*tls_files)).start()}
    yield rx
    for r in rx.values():
        await r.stop()


async def app_client(tmp_path: Path, forward: dict[str, Any], **overrides: Any) -> TestClient:
    # The collector's loader passes the `forward:` mapping of server.yaml through as it is.
    cfg = default_config(forward=forward, data_dir=tmp_path / "data", enroll_secret=ENROLL_SECRET,
                         public_url="https://leakwarden.example", **overrides)
    client = TestClient(TestServer(create_app(cfg)))
    await client.start_server()
    return client


async def test_planted_values_never_leave_in_clear(tmp_path: Path, receiver: HttpReceiver, smtp: SmtpReceiver,
                                                   syslogs: dict[str, SyslogReceiver],
                                                   tls_files: tuple[Path, Path]) -> None:
    jsonl = tmp_path / "alerts.jsonl"
    forward = {
        "destinations": {
            "hook": {"type": "webhook", "url": receiver.url("/hook"), "secret": "s"},
            "slack": {"type": "slack", "url": receiver.url("/slack")},
            "teams": {"type": "teams", "url": receiver.url("/teams")},
            "hive": {"type": "thehive", "url": receiver.url("/thehive"), "api_key": "k"},
            "mail": {"type": "email", "host": "localhost", "port": smtp.port, "username": SmtpReceiver.USER,
                     "password": SmtpReceiver.PASSWORD, "ca_file": str(tls_files[0]),
                     "from": "lw@example.org", "to": ["soc@example.org"]},
            "syslog-udp": {"type": "syslog", "host": "127.0.0.1", "port": syslogs["udp"].port},
            "syslog-tcp": {"type": "syslog", "host": "127.0.0.1", "port": syslogs["tcp"].port, "transport": "tcp",
                           "format": "cef"},
            "syslog-tls": {"type": "syslog", "host": "localhost", "port": syslogs["tls"].port, "transport": "tls",
                           "ca_file": str(tls_files[0])},
            "file": {"type": "jsonl", "path": str(jsonl)},
        },
        "routes": [{"name": "everything", "to": ["hook", "slack", "teams", "hive", "mail", "syslog-udp",
                                                 "syslog-tcp", "syslog-tls", "file"]}],
        "outbox": {"poll_interval": 0.05},
    }
    client = await app_client(tmp_path, forward)
    try:
        agent_id, headers = await enroll(client, "fin-pc-01")
        # The agent reports only masked values, but the endpoint's own free text (a file named after
        # a person's ID number, a USB stick labelled with a key) carries raw values the scanner never saw.
        e = event(1, "device.write", host="fin-pc-01", user="alice", channel="removable",
                  findings=[finding("pii.cn_resident_id", path=f"/media/alice/{ID_NUMBER}.xlsx"),
                            finding("secret.aws_access_key", severity="critical")],
                  file={"path": f"/media/alice/张三-{ID_NUMBER}.xlsx", "content_hash": "cd" * 32},
                  device={"vendor": "Kingston", "label": f"KEY {AWS_KEY}", "serial": "0019E06B"})
        r = await client.post("/api/v1/events", json=batch(agent_id, [e]), headers=headers)
        assert r.status == 200, await r.text()
        await until(lambda: len(receiver.requests) == 4 and len(smtp.messages) == 1
                    and all(rx.messages for rx in syslogs.values()) and jsonl.exists() and jsonl.stat().st_size)
        fw = client.server.app[FORWARDER]
        await until(lambda: fw.stats.delivered == 9)
    finally:
        await client.close()

    received: list[str] = [r.body.decode() for r in receiver.requests]
    received += [m.as_string() for _, _, m in smtp.messages]
    received += [m.get_body(("html",)).get_content() + m.get_body(("plain",)).get_content()
                 for _, _, m in smtp.messages]
    received += [m for rx in syslogs.values() for m in rx.messages]
    received.append(jsonl.read_text(encoding="utf-8"))
    assert len(received) == 4 + 2 + 3 + 1
    for text in received:
        assert ID_NUMBER not in text and AWS_KEY not in text
    # The alert did arrive, with the values masked rather than dropped.
    hook = json.loads(receiver.at("/hook")[0].body)
    assert hook["file"]["path"] == "/media/alice/张三-3201**********1230.xlsx"
    assert hook["unmapped"]["leakwarden"]["removable_device"]["label"] == "KEY AKIA************ST5U"
    assert hook["finding_info"]["src_url"].startswith("https://leakwarden.example/alerts/")


async def test_outbox_admin_api(tmp_path: Path, receiver: HttpReceiver) -> None:
    receiver.status = 410  # gone: a permanent refusal, dead at the first try
    client = await app_client(tmp_path, {
        "destinations": {"hook": {"type": "webhook", "url": receiver.url("/hook")}},
        "routes": [{"to": "hook"}], "outbox": {"poll_interval": 0.05}})
    try:
        agent_id, headers = await enroll(client)
        await client.post("/api/v1/events", json=batch(agent_id, [event(1, findings=[finding()])]), headers=headers)
        await until(lambda: receiver.hits == 1)
        admin, analyst = await person(client, "admin"), await person(client, "analyst")
        for headers, status in (({}, 401), (analyst, 403)):
            r = await client.get("/api/v1/outbox", headers=headers)
            assert r.status == status and (await documented(r, "/api/v1/outbox", "get"))["error"]
        r = await client.get("/api/v1/outbox?status=bogus", headers=admin)
        assert r.status == 400 and (await documented(r, "/api/v1/outbox", "get"))["field"] == "status"

        async def dead() -> list[dict[str, Any]]:
            r = await client.get("/api/v1/outbox?status=dead", headers=admin)
            assert r.status == 200
            return (await documented(r, "/api/v1/outbox", "get"))["items"]
        await until(lambda: client.server.app[FORWARDER].stats.dead == 1)
        [item] = await dead()
        metrics = await (await client.get("/metrics", headers=admin)).text()
        assert 'leakwarden_forward_deliveries_total{destination="hook",outcome="dead"} 1' in metrics
        assert 'leakwarden_outbox_backlog{destination="hook",status="dead"} 1' in metrics
        assert 'leakwarden_outbox_items{status="dead"} 1' in metrics
        assert item["destination"] == "hook" and item["attempts"] == 1
        assert item["last_error"] == "attempt 1: HTTP 410: receiver error"
        assert item["payload"]["class_uid"] == 2006

        assert (await client.post(f"/api/v1/outbox/{item['id']}/retry", headers=analyst)).status == 403
        receiver.status = 200
        r = await client.post(f"/api/v1/outbox/{item['id']}/retry", headers=admin)
        assert r.status == 200 and (await documented(r, "/api/v1/outbox/{id}/retry", "post"))["status"] == "pending"
        await until(lambda: len(receiver.requests) == 1)
        assert await dead() == []
        again = await client.post(f"/api/v1/outbox/{item['id']}/retry", headers=admin)
        assert again.status == 409
        assert (await documented(again, "/api/v1/outbox/{id}/retry", "post"))["error"] == "not_dead"
        assert (await client.post("/api/v1/outbox/999999/retry", headers=admin)).status == 409
        metrics = await (await client.get("/metrics", headers=admin)).text()
        assert 'leakwarden_forward_deliveries_total{destination="hook",outcome="delivered"} 1' in metrics
        assert "leakwarden_outbox_backlog{" not in metrics and 'leakwarden_outbox_items{status="delivered"} 1' in metrics
        audit = await (await client.get("/api/v1/audit", headers=admin)).json()
        entries = audit["items"] if isinstance(audit, dict) else audit
        assert any(a["action"] == "outbox.retry" and a["target_id"] == str(item["id"]) for a in entries)
    finally:
        await client.close()


async def test_dead_letters_filtered_paged_and_retried_in_bulk(tmp_path: Path, receiver: HttpReceiver) -> None:
    receiver.status = 410  # permanent refusal: every row dead at its first try
    client = await app_client(tmp_path, {
        "destinations": {"hook": {"type": "webhook", "url": receiver.url("/hook")},
                         "other": {"type": "webhook", "url": receiver.url("/other")}},
        "routes": [{"to": ["hook", "other"]}], "outbox": {"poll_interval": 0.05}, "dedup": {"window": 0}})
    try:
        agent_id, headers = await enroll(client)
        events = [event(i, findings=[finding(path=f"/home/u/doc{i}.txt")]) for i in range(1, 6)]
        r = await client.post("/api/v1/events", json=batch(agent_id, events), headers=headers)
        assert r.status == 200, await r.text()
        await until(lambda: client.server.app[FORWARDER].stats.dead == 10)
        admin, analyst = await person(client, "admin"), await person(client, "analyst")

        pages, before = [], None
        while True:  # keyset pages of two: every dead row of "hook" once, newest first
            r = await client.get("/api/v1/outbox?status=dead&destination=hook&limit=2"
                                 + (f"&before={before}" if before else ""), headers=admin)
            page = await documented(r, "/api/v1/outbox", "get")
            pages.append([i["id"] for i in page["items"]])
            assert all(i["destination"] == "hook" and i["status"] == "dead" for i in page["items"])
            before = page["next_before"]
            if before is None:
                break
        hook_ids = [i for p in pages for i in p]
        assert [len(p) for p in pages] == [2, 2, 1] and hook_ids == sorted(hook_ids, reverse=True)
        assert len(set(hook_ids)) == 5 and page["depth"] == {"dead": 10}
        r = await client.get("/api/v1/outbox?before=0", headers=admin)
        assert r.status == 400 and (await documented(r, "/api/v1/outbox", "get"))["field"] == "before"

        path = "/api/v1/outbox/retry"
        assert (await client.post(path, json={"destination": "hook"}, headers=analyst)).status == 403
        assert (await client.post(path, json={"destination": "hook"})).status == 401
        for bad, field in (({}, "$"), ({"ids": [0]}, "$.ids[0]"), ({"ids": list(range(1, 1002))}, "$.ids"),
                           ({"destination": "hook", "extra": 1}, "$.extra")):
            r = await client.post(path, json=bad, headers=admin)
            assert r.status == 422 and (await documented(r, path, "post"))["field"] == field, bad
        receiver.status = 200
        r = await client.post(path, json={"destination": "hook"}, headers=admin)
        assert r.status == 200 and await documented(r, path, "post") == {"retried": 5, "ids": sorted(hook_ids)}
        await until(lambda: len(receiver.at("/hook")) == 5)
        others = [i["id"] for i in (await (await client.get("/api/v1/outbox?status=dead", headers=admin)).json())
                  ["items"]]
        assert len(others) == 5
        r = await client.post(path, json={"ids": others[:2] + hook_ids[:1]}, headers=admin)  # delivered: not dead
        assert (await documented(r, path, "post")) == {"retried": 2, "ids": sorted(others[:2])}
        await until(lambda: len(receiver.at("/other")) == 2)
        audit = await (await client.get("/api/v1/audit?target_type=outbox", headers=admin)).json()
        entries = audit["items"] if isinstance(audit, dict) else audit
        assert sorted(e["detail"]["count"] for e in entries if e["action"] == "outbox.retry") == [2, 5]
    finally:
        await client.close()


async def test_overdue_alert_escalates_and_resolution_needs_a_note(tmp_path: Path, receiver: HttpReceiver) -> None:
    client = await app_client(tmp_path, {
        "destinations": {"soc": {"type": "webhook", "url": receiver.url("/soc")},
                         "duty": {"type": "webhook", "url": receiver.url("/duty")}},
        "routes": [{"name": "soc", "to": "soc", "escalate_to": "duty", "match": {"escalated": False}},
                   {"name": "duty", "to": "duty", "match": {"escalated": True}}],
        "sla": {"check_interval": 0.1}, "outbox": {"poll_interval": 0.05}},
        sla={"critical": 1.5, "high": 1.5, "medium": 1.5, "low": 1.5})
    try:
        # People first (password hashing is slow on a busy machine): the deadline runs from ingest.
        analyst, viewer = await person(client, "analyst"), await person(client, "viewer")
        agent_id, headers = await enroll(client)
        r = await client.post("/api/v1/events", headers=headers, json=batch(agent_id, [
            event(1, findings=[finding()], file={"path": "/home/alice/a.xlsx", "content_hash": "01" * 32}),
            event(2, findings=[finding()], file={"path": "/home/alice/b.xlsx", "content_hash": "02" * 32})]))
        assert r.status == 200
        alerts = (await (await client.get("/api/v1/alerts", headers=analyst)).json())["items"]
        ids = sorted(a["id"] for a in alerts)
        handled = ids[0]
        # Resolving needs a resolution note (the collector enforces it; we check).
        nonote = await client.patch(f"/api/v1/alerts/{handled}", json={"status": "resolved"}, headers=analyst)
        assert nonote.status == 422 and (await nonote.json())["field"] == "$.note"
        ok = await client.patch(f"/api/v1/alerts/{handled}", headers=analyst,
                                json={"status": "resolved", "note": "USB stick recovered, file wiped"})
        assert ok.status == 200
        await until(lambda: len(receiver.at("/duty")) == 1)
        await asyncio.sleep(0.4)  # more SLA checks run: still one escalation
        [duty] = receiver.at("/duty")
        assert duty.json()["finding_info"]["uid"] == str(ids[1])
        assert duty.json()["unmapped"]["leakwarden"]["escalated"] is True
        r = await client.get("/api/v1/forward/overdue", headers=viewer)
        assert r.status == 200
        [overdue] = (await documented(r, "/api/v1/forward/overdue", "get"))["items"]
        assert overdue["id"] == ids[1] and overdue["escalation_level"] == 1 and overdue["overdue_by"] > 0
        assert (await client.get("/api/v1/forward/overdue")).status == 401
    finally:
        await client.close()
