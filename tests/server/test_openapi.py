"""The OpenAPI document matches what the server really accepts and returns.

1. A scenario over every endpoint validates each live answer (status, JSON body) against the
   document with a JSON Schema validator, on both backends.
2. Schemathesis generates requests from the document against a live collector (SQLite) and
   checks: no server errors, documented status codes, content types and response schemas.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from aiohttp import web
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, settings

from server.app import create_app
from server.auth import create_session
from server.config import default_config
from server.keys import STORE
from server.openapi_spec import build_spec
from tests.server.conftest import ENROLL_SECRET
from tests.server.helpers import batch, event, finding, person

SPEC = build_spec()


def check(path: str, method: str, status: int, body: Any) -> None:
    op = SPEC["paths"][path][method]
    responses = op["responses"]
    assert str(status) in responses, f"{method.upper()} {path} answered {status}, not documented"
    content = responses[str(status)].get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return
    root = {**schema, "components": SPEC["components"]}
    errors = [e.message for e in jsonschema_rs.validator_for(root).iter_errors(body)]
    assert errors == [], f"{method.upper()} {path} {status}: {errors[:3]}"


class Recorder:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.seen: set[tuple[str, str]] = set()

    async def __call__(self, method: str, template: str, url: str | None = None, **kw: Any) -> Any:
        r = await self.client.request(method, url or template, **kw)
        body = await r.json() if r.content_type == "application/json" else await r.text()
        check(template, method.lower(), r.status, body)
        self.seen.add((template, method.lower()))
        return r.status, body


async def test_live_answers_match_the_document(client: TestClient) -> None:
    call = Recorder(client)
    admin = await person(client, "admin", "root")
    status, enrolled = await call("POST", "/api/v1/agents/enroll",
                                  json={"enroll_secret": ENROLL_SECRET, "hostname": "pc-1", "version": "1",
                                        "os": "linux"})
    agent_id, agent = enrolled["agent_id"], {"Authorization": f"Bearer {enrolled['token']}"}
    usb = {"vendor_id": "0781", "product_id": "5567", "serial": "S1"}
    doc = {"path": "/d/a.docx", "content_hash": "ab" * 32}
    events = [event(0, findings=[finding()], file=doc), event(1, "device.attach", device=usb),
              event(2, "file.write", channel="removable", device=usb, findings=[finding()], file=doc)]
    assert (await call("POST", "/api/v1/events", json=batch(agent_id, events), headers=agent))[0] == 200
    await call("POST", "/api/v1/events", data=gzip.compress(b"{}"), headers={**agent, "Content-Encoding": "gzip"})
    await call("POST", "/api/v1/events", json={"agent_id": agent_id, "events": [{"id": 1}]}, headers=agent)
    await call("POST", "/api/v1/events", json=batch(agent_id, events))
    await call("POST", "/api/v1/auth/login", json={"username": "root", "password": "wrong password"})
    await call("POST", "/api/v1/auth/login", json={"username": "root"})
    await call("GET", "/api/v1/auth/me", headers=admin)
    _, page = await call("GET", "/api/v1/alerts", headers=admin)
    await call("GET", "/api/v1/alerts", url="/api/v1/alerts?level=bogus", headers=admin)
    alert_id = page["items"][0]["id"]
    one = f"/api/v1/alerts/{alert_id}"
    await call("GET", "/api/v1/alerts/{id}", one, headers=admin)
    await call("GET", "/api/v1/alerts/{id}", "/api/v1/alerts/424242", headers=admin)
    await call("PATCH", "/api/v1/alerts/{id}", one, json={"status": "acknowledged"}, headers=admin)
    await call("PATCH", "/api/v1/alerts/{id}", one, json={"status": "resolved"}, headers=admin)
    await call("POST", "/api/v1/alerts/{id}/status", one + "/status", json={"note": "n"}, headers=admin)
    _, incs = await call("GET", "/api/v1/incidents", headers=admin)
    inc = f"/api/v1/incidents/{incs['items'][0]['id']}"
    await call("GET", "/api/v1/incidents/{id}", inc, headers=admin)
    await call("PATCH", "/api/v1/incidents/{id}", inc, json={"status": "closed", "note": "done"}, headers=admin)
    _, devs = await call("GET", "/api/v1/devices", headers=admin)
    await call("PATCH", "/api/v1/devices/{id}", f"/api/v1/devices/{devs['items'][0]['id']}",
               json={"status": "lost"}, headers=admin)
    await call("GET", "/api/v1/agents", headers=admin)
    await call("GET", "/api/v1/agents/{agent_id}", f"/api/v1/agents/{agent_id}", headers=admin)
    await call("POST", "/api/v1/agents/{agent_id}/repin", f"/api/v1/agents/{agent_id}/repin", headers=admin)
    await call("POST", "/api/v1/agents/{agent_id}/revoke", f"/api/v1/agents/{agent_id}/revoke", headers=admin)
    _, tok = await call("POST", "/api/v1/enroll-tokens", json={"ttl": 3600}, headers=admin)
    await call("GET", "/api/v1/enroll-tokens", headers=admin)
    await call("DELETE", "/api/v1/enroll-tokens/{token_id}", f"/api/v1/enroll-tokens/{tok['id']}", headers=admin)
    await call("POST", "/api/v1/users", json={"username": "v", "role": "viewer", "password": "long password"},
               headers=admin)
    await call("GET", "/api/v1/users", headers=admin)
    await call("GET", "/api/v1/audit", headers=admin)
    await call("POST", "/api/v1/review", data=b"contact: a.b@example.com",
               headers={**admin, "Content-Type": "application/octet-stream"})
    await call("GET", "/api/v1/outbox", headers=admin)
    await call("GET", "/api/v1/outbox", url="/api/v1/outbox?status=lost", headers=admin)
    await call("POST", "/api/v1/outbox/{id}/retry", "/api/v1/outbox/4242/retry", headers=admin)
    await call("POST", "/api/v1/outbox/retry", json={"ids": [4242]}, headers=admin)
    await call("GET", "/api/v1/forward/overdue", headers=admin)
    await call("GET", "/api/v1/openapi.json", headers=admin)
    await call("GET", "/healthz")
    await call("POST", "/api/v1/auth/logout", headers=admin)
    await call("GET", "/api/v1/alerts")
    documented = {(p, m) for p, ops in SPEC["paths"].items() for m in ops if p.startswith("/api/")}
    assert documented - call.seen == set()
    # every route the app serves under /api is documented
    served = set()
    for route in client.server.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith("/api/") and route.method != "HEAD":
            served.add((path, route.method.lower()))
    assert served - documented == set()


# --- schemathesis against a live collector -------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A collector on loopback in its own thread and loop (schemathesis calls it synchronously)."""
    from server.config import RateLimit
    cfg = default_config(data_dir=Path(tmp_path_factory.mktemp("live")), enroll_secret=ENROLL_SECRET,
                         login_rate=RateLimit(rate=1000, burst=1000), body_timeout=2.0)
    port = _free_port()
    ready = threading.Event()
    state: dict[str, Any] = {"url": f"http://127.0.0.1:{port}"}

    def run() -> None:
        loop = asyncio.new_event_loop()
        state["loop"] = loop
        runner = web.AppRunner(create_app(cfg))

        async def start() -> None:
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            store = runner.app[STORE]
            user = await store.create_user("st", "admin", "x", time.time())
            state["token"] = await create_session(store, user)
            ready.set()
        loop.run_until_complete(start())
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(30)
    yield state
    state["loop"].call_soon_threadsafe(state["loop"].stop)
    t.join(30)


schema = schemathesis.openapi.from_dict(json.loads(json.dumps(SPEC)))


@schema.parametrize()
# six cases per operation keep `make test` quick; LEAKWARDEN_FUZZ_EXAMPLES=150 for a deeper run before a release
@settings(max_examples=int(os.environ.get("LEAKWARDEN_FUZZ_EXAMPLES", "6")), deadline=None,
          suppress_health_check=list(HealthCheck), derandomize=True)
def test_schemathesis(case: schemathesis.Case, live: dict[str, Any]) -> None:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                                   status_code_conformance)
    response = case.call(base_url=live["url"], headers={"Authorization": f"Bearer {live['token']}"}, timeout=10)
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                             content_type_conformance, response_schema_conformance])
