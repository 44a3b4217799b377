"""Incidents: related steps of one leak, with their alerts."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

import msgspec
from aiohttp import web

from server import triage
from server.api import schemas as s
from server.api.access import actor, person
from server.api.alerts import alert_json
from server.api.responses import ApiError, decode, int_param, json_response, path_int, read_body
from server.keys import CONFIG, STORE
from server.store.interface import AlertFilter, Incident

routes = web.RouteTableDef()


def incident_json(i: Incident) -> dict[str, Any]:
    return s.answer(i, s.IncidentOut)


@routes.get("/api/v1/incidents")
@person("viewer")
async def list_incidents(request: web.Request) -> web.Response:
    status = request.query.get("status") or None
    if status not in (None, "open", "closed"):
        raise ApiError(400, "invalid_parameter", "status must be open or closed", field="status")
    limit = int_param(request, "limit", 50, minimum=1, maximum=500) or 50
    items = await request.app[STORE].list_incidents(status=status, before_id=int_param(request, "before", minimum=1),
                                                    limit=limit)
    return json_response({"items": [incident_json(i) for i in items],
                          "next_before": items[-1].id if len(items) == limit else None})


@routes.get("/api/v1/incidents/{id}")
@person("viewer")
async def get_incident(request: web.Request) -> web.Response:
    store = request.app[STORE]
    inc = await store.get_incident(path_int(request))
    if inc is None:
        raise ApiError(404, "not_found", "no such incident")
    alerts = await store.list_alerts(AlertFilter(incident_id=inc.id, limit=500))
    return json_response({**incident_json(inc), "alerts": [alert_json(a) for a in alerts.items]})


class IncidentChange(msgspec.Struct, forbid_unknown_fields=True):
    status: Literal["open", "closed"]
    note: Annotated[str, msgspec.Meta(max_length=triage.MAX_NOTE)] | None = None


@routes.patch("/api/v1/incidents/{id}")
@person("analyst")
async def change_incident(request: web.Request) -> web.Response:
    cfg, store = request.app[CONFIG], request.app[STORE]
    incident_id = path_int(request)
    body = decode(await read_body(request, 64 * 1024, cfg.body_timeout), IncidentChange)
    try:
        inc = await triage.change_incident(store, incident_id, actor=actor(request), now=time.time(),
                                           status=body.status, note=body.note)
    except triage.ChangeRejected as e:
        raise ApiError(422, "invalid_field", e.detail, field=f"$.{e.field}") from e
    if inc is None:
        raise ApiError(404, "not_found", "no such incident")
    return json_response(incident_json(inc))
