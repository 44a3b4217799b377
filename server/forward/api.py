"""Admin and responder routes of forwarding, mounted by :func:`server.forward.setup`.

- ``GET  /api/v1/outbox?status=dead&limit=100`` (admin): outbox rows with their last error
  and (redacted) payload; ``depth`` counts rows per status.
- ``POST /api/v1/outbox/{id}/retry`` (admin): a dead row goes back to pending, audited.
- ``GET  /api/v1/forward/overdue?limit=100`` (viewer): open alerts past their SLA deadline.

:func:`openapi` returns these paths and their answer structs for the collector's
OpenAPI document (``server/openapi_spec.py`` merges them).
"""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from server.api.access import actor, person
from server.api.responses import ApiError, int_param, json_response, path_int
from server.forward.keys import FORWARDER, SLA
from server.forward.sla import Overdue
from server.keys import STORE
from server.store.interface import OutboxItem

routes = web.RouteTableDef()
OUTBOX_STATUSES = ("pending", "delivered", "dead")


class OutboxItemOut(msgspec.Struct):
    id: int
    key: str
    destination: str
    alert_id: int | None
    status: str
    attempts: int
    next_attempt_at: float
    last_error: str | None
    created_at: float
    delivered_at: float | None
    payload: dict[str, Any]


class OutboxList(msgspec.Struct):
    items: list[OutboxItemOut]
    depth: dict[str, int]


class RetryOut(msgspec.Struct):
    id: int
    status: str


class OverdueList(msgspec.Struct):
    items: list[Overdue]


def _item(it: OutboxItem) -> OutboxItemOut:
    return OutboxItemOut(id=it.id or 0, key=it.key, destination=it.destination, alert_id=it.alert_id,
                         status=it.status, attempts=it.attempts, next_attempt_at=it.next_attempt_at,
                         last_error=it.last_error, created_at=it.created_at, delivered_at=it.delivered_at,
                         payload=it.payload)


@routes.get("/api/v1/outbox")
@person("admin")
async def list_outbox(request: web.Request) -> web.Response:
    status = request.query.get("status") or None
    if status is not None and status not in OUTBOX_STATUSES:
        raise ApiError(400, "invalid_parameter", f"status must be one of {', '.join(OUTBOX_STATUSES)}",
                       field="status")
    limit = int_param(request, "limit", 100, minimum=1, maximum=1000) or 100
    store = request.app[STORE]
    items = await store.outbox_list(status, limit)
    return json_response(OutboxList(items=[_item(i) for i in items], depth=await store.outbox_depth()))


@routes.post("/api/v1/outbox/{id}/retry")
@person("admin")
async def retry_outbox(request: web.Request) -> web.Response:
    item_id = path_int(request)
    fw = request.app[FORWARDER]
    now = fw.clock()
    store = request.app[STORE]
    if not await store.outbox_retry(item_id, now):
        raise ApiError(409, "not_dead", f"outbox item {item_id} does not exist or is not dead")
    await store.add_audit(actor(request), "outbox.retry", "outbox", str(item_id), {}, now)
    fw.wake()
    return json_response(RetryOut(id=item_id, status="pending"))


@routes.get("/api/v1/forward/overdue")
@person("viewer")
async def list_overdue(request: web.Request) -> web.Response:
    limit = int_param(request, "limit", 100, minimum=1, maximum=1000) or 100
    items = await request.app[SLA].overdue(limit)
    return json_response(OverdueList(items=items))


def openapi(ref: str = "#/components/schemas/{name}") -> tuple[dict[str, Any], list[type]]:
    """(OpenAPI path items, structs to add to components) for the routes above."""
    def answer(t: type) -> dict[str, Any]:
        return {"description": "OK", "content": {"application/json": {"schema": {"$ref": ref.format(name=t.__name__)}}}}

    def errors(*codes: int) -> dict[str, Any]:
        err = {"content": {"application/json": {"schema": {"$ref": ref.format(name="Error")}}}}
        text = {400: "Malformed request", 401: "Missing, unknown or expired credentials",
                403: "Role not allowed", 404: "Not found", 409: "Not a dead outbox item"}
        return {str(c): {"description": text[c], **err} for c in codes}

    limit = {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}
    paths = {
        "/api/v1/outbox": {"get": {
            "summary": "Forwarding outbox rows, newest first (role: admin)", "security": [{"session": []}],
            "parameters": [{"name": "status", "in": "query", "required": False,
                            "schema": {"type": "string", "enum": list(OUTBOX_STATUSES)}}, limit],
            "responses": {"200": answer(OutboxList), **errors(400, 401, 403)}}},
        "/api/v1/outbox/{id}/retry": {"post": {
            "summary": "Put a dead outbox row back to pending (role: admin)", "security": [{"session": []}],
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": answer(RetryOut), **errors(401, 403, 404, 409)}}},
        "/api/v1/forward/overdue": {"get": {
            "summary": "Open alerts past their SLA deadline (role: viewer)", "security": [{"session": []}],
            "parameters": [limit], "responses": {"200": answer(OverdueList), **errors(400, 401, 403)}}},
    }
    return paths, [OutboxList, RetryOut, OverdueList]
