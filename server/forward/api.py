"""Admin and responder routes of forwarding, mounted by :func:`server.forward.setup`.

- ``GET  /api/v1/outbox?status=dead&limit=100`` (admin): outbox rows with their last error
  and (redacted) payload; ``depth`` counts rows per status.
- ``POST /api/v1/outbox/{id}/retry`` (admin): a dead row goes back to pending, audited.
- ``GET  /api/v1/sla/overdue?limit=100`` (viewer): open alerts past their SLA deadline.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.api.access import actor, person
from server.api.responses import ApiError, int_param, json_response, path_int
from server.forward.keys import FORWARDER, SLA
from server.keys import STORE
from server.store.interface import OutboxItem

routes = web.RouteTableDef()
OUTBOX_STATUSES = ("pending", "delivered", "dead")


def _item(it: OutboxItem) -> dict[str, Any]:
    return {"id": it.id, "key": it.key, "destination": it.destination, "alert_id": it.alert_id,
            "status": it.status, "attempts": it.attempts, "next_attempt_at": it.next_attempt_at,
            "last_error": it.last_error, "created_at": it.created_at, "delivered_at": it.delivered_at,
            "payload": it.payload}


@routes.get("/api/v1/outbox")
@person("admin")
async def list_outbox(request: web.Request) -> web.Response:
    status = request.query.get("status") or None
    if status is not None and status not in OUTBOX_STATUSES:
        raise ApiError(400, "invalid_parameter", f"status must be one of {', '.join(OUTBOX_STATUSES)}",
                       field="status")
    limit = int_param(request, "limit", 100, minimum=1, maximum=1000)
    store = request.app[STORE]
    items = await store.outbox_list(status, limit or 100)
    return json_response({"items": [_item(i) for i in items], "depth": await store.outbox_depth()})


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
    return json_response({"id": item_id, "status": "pending"})


@routes.get("/api/v1/sla/overdue")
@person("viewer")
async def list_overdue(request: web.Request) -> web.Response:
    limit = int_param(request, "limit", 100, minimum=1, maximum=1000)
    items = await request.app[SLA].overdue(limit or 100)
    return json_response({"items": [o.to_dict() for o in items]})
