"""Admin and responder routes of forwarding, mounted by :func:`server.forward.setup`.

- ``GET  /api/v1/outbox?status=dead&destination=siem&limit=100&before=<id>`` (admin): outbox
  rows newest first with their last error and (redacted) payload, keyset paging
  (``next_before``); ``depth`` counts rows per status.
- ``POST /api/v1/outbox/{id}/retry`` (admin): a dead row goes back to pending, audited.
- ``POST /api/v1/outbox/retry`` (admin) ``{"destination"?, "ids"?}``: every dead row of a
  destination, or the listed ones, back to pending in one statement, audited once.
- ``GET  /api/v1/forward/overdue?limit=100`` (viewer): open alerts past their SLA deadline.

:func:`openapi` returns these paths and their answer structs for the collector's
OpenAPI document (``server/openapi_spec.py`` merges them).
"""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from server.api.access import actor, person
from server.api.responses import ApiError, decode, int_param, json_response, path_int, read_body
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
    next_before: int | None = None  # pass as ``before`` for the next page; null on the last one


MAX_RETRY_IDS = 1000
MAX_LIST = 1000


class BulkRetryIn(msgspec.Struct, forbid_unknown_fields=True):
    """Which dead rows to put back: all of ``destination``, the listed ``ids``, or both conditions."""

    destination: str | None = None
    ids: list[int] | None = None


class BulkRetryOut(msgspec.Struct):
    retried: int
    ids: list[int]


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
    destination = request.query.get("destination") or None
    if destination is not None and len(destination) > 200:
        raise ApiError(400, "invalid_parameter", "destination longer than 200 characters", field="destination")
    limit = int_param(request, "limit", 100, minimum=1, maximum=MAX_LIST) or 100
    before = int_param(request, "before", None, minimum=1)
    store = request.app[STORE]
    items = await store.outbox_page(status=status, destination=destination, before_id=before, limit=limit)
    return json_response(OutboxList(items=[_item(i) for i in items], depth=await store.outbox_depth(),
                                    next_before=items[-1].id if len(items) == limit else None))


@routes.post("/api/v1/outbox/retry")
@person("admin")
async def retry_outbox_bulk(request: web.Request) -> web.Response:
    body = decode(await read_body(request, 64 * 1024, 10.0), BulkRetryIn)
    if body.destination is None and body.ids is None:
        raise ApiError(422, "invalid_field", "give destination (all its dead rows), ids, or both", field="$")
    if body.ids is not None:
        if len(body.ids) > MAX_RETRY_IDS:
            raise ApiError(422, "invalid_field", f"at most {MAX_RETRY_IDS} ids at once", field="$.ids")
        bad = next((i for i, v in enumerate(body.ids) if not 0 < v < 2**62), None)
        if bad is not None:
            raise ApiError(422, "invalid_field", "ids are positive integers", field=f"$.ids[{bad}]")
    fw = request.app[FORWARDER]
    now = fw.clock()
    store = request.app[STORE]
    ids = await store.outbox_retry_many(now, ids=body.ids, destination=body.destination)
    if ids:
        await store.add_audit(actor(request), "outbox.retry", "outbox", body.destination or "ids",
                              {"destination": body.destination, "count": len(ids), "ids": ids[:MAX_RETRY_IDS]}, now)
        fw.wake()
    return json_response(BulkRetryOut(retried=len(ids), ids=ids))


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
                403: "Role not allowed", 404: "Not found", 409: "Not a dead outbox item",
                413: "Body too large", 422: "Invalid field"}
        return {str(c): {"description": text[c], **err} for c in codes}

    limit = {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIST}}
    body = {"required": True, "content": {"application/json": {"schema": {"$ref": ref.format(name="BulkRetryIn")}}}}
    paths = {
        "/api/v1/outbox": {"get": {
            "summary": "Forwarding outbox rows, newest first, keyset paged (role: admin)",
            "security": [{"session": []}],
            "parameters": [{"name": "status", "in": "query", "required": False,
                            "schema": {"type": "string", "enum": list(OUTBOX_STATUSES)}},
                           {"name": "destination", "in": "query", "required": False,
                            "schema": {"type": "string", "maxLength": 200}},
                           {"name": "before", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 2**62}}, limit],
            "responses": {"200": answer(OutboxList), **errors(400, 401, 403)}}},
        "/api/v1/outbox/retry": {"post": {
            "summary": "Put dead outbox rows back to pending: all of a destination, or listed ids (role: admin)",
            "security": [{"session": []}], "requestBody": body,
            "responses": {"200": answer(BulkRetryOut), **errors(400, 401, 403, 413, 422)}}},
        "/api/v1/outbox/{id}/retry": {"post": {
            "summary": "Put a dead outbox row back to pending (role: admin)", "security": [{"session": []}],
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": answer(RetryOut), **errors(401, 403, 404, 409)}}},
        "/api/v1/forward/overdue": {"get": {
            "summary": "Open alerts past their SLA deadline (role: viewer)", "security": [{"session": []}],
            "parameters": [limit], "responses": {"200": answer(OverdueList), **errors(400, 401, 403)}}},
    }
    return paths, [OutboxList, RetryOut, OverdueList, BulkRetryIn, BulkRetryOut]
