"""Alerts for responders: list (filters, keyset pages), one with evidence, status changes, audit."""

from __future__ import annotations

import time
from typing import Annotated, Any

import msgspec
from aiohttp import web

from server import triage
from server.api import schemas as s
from server.api.access import actor, person
from server.api.responses import ApiError, decode, float_param, int_param, json_response, path_int, read_body
from server.keys import CONFIG, STORE
from server.store.interface import ALERT_ORDERS, ALERT_STATUSES, LEVELS, Alert, AlertFilter, AlertStatus, AuditEntry

routes = web.RouteTableDef()
MAX_PAGE = 500


def alert_json(a: Alert, *, evidence: bool = False) -> dict[str, Any]:
    d = s.answer(a, s.AlertOut)
    if evidence:
        d["evidence"] = a.evidence
    return d


def audit_json(e: AuditEntry) -> dict[str, Any]:
    return s.answer(e, s.AuditOut)


def _choices(request: web.Request, name: str, allowed: tuple[str, ...]) -> list[str] | None:
    raw = request.query.getall(name, [])
    values = [v for item in raw for v in item.split(",") if v]
    for v in values:
        if v not in allowed:
            raise ApiError(400, "invalid_parameter", f"{name} must be among {', '.join(allowed)}", field=name)
    return values or None


def _text(request: web.Request, name: str, limit: int = 256) -> str | None:
    value = request.query.get(name)
    if value is not None and len(value) > limit:
        raise ApiError(400, "invalid_parameter", f"{name} longer than {limit}", field=name)
    return value or None


def alert_filter(request: web.Request) -> AlertFilter:
    order = request.query.get("sort") or "id"
    if order not in ALERT_ORDERS:
        raise ApiError(400, "invalid_parameter", f"sort must be among {', '.join(ALERT_ORDERS)}", field="sort")
    before = int_param(request, "before", minimum=1)
    before_score = int_param(request, "before_score", minimum=0, maximum=100)
    if before_score is not None and order != "risk":
        raise ApiError(400, "invalid_parameter", "before_score belongs to sort=risk", field="before_score")
    if order == "risk" and (before is None) != (before_score is None):
        raise ApiError(400, "invalid_parameter", "sort=risk pages need both before and before_score "
                       "(next_before and next_before_score of the previous page)",
                       field="before" if before is None else "before_score")
    return AlertFilter(
        level=_choices(request, "level", LEVELS), status=_choices(request, "status", ALERT_STATUSES),
        host=_text(request, "host"), user=_text(request, "user"), detector=_text(request, "detector", 128),
        kind=_text(request, "kind", 64), incident_id=int_param(request, "incident_id", minimum=1),
        since=float_param(request, "since"), until=float_param(request, "until"), q=_text(request, "q"),
        order=order, before_id=before, before_score=before_score,
        limit=int_param(request, "limit", 50, minimum=1, maximum=MAX_PAGE) or 50)


@routes.get("/api/v1/alerts")
@person("viewer")
async def list_alerts(request: web.Request) -> web.Response:
    page = await request.app[STORE].list_alerts(alert_filter(request))
    return json_response({"items": [alert_json(a) for a in page.items], "next_before": page.next_cursor,
                          "next_before_score": page.next_score})


@routes.get("/api/v1/alerts/{id}")
@person("viewer")
async def get_alert(request: web.Request) -> web.Response:
    store = request.app[STORE]
    alert_id = path_int(request)
    alert = await store.get_alert(alert_id)
    if alert is None:
        raise ApiError(404, "not_found", "no such alert")
    audit = await store.list_audit(target_type="alert", target_id=str(alert_id))
    return json_response({**alert_json(alert, evidence=True), "audit": [audit_json(e) for e in audit]})


class AlertChange(msgspec.Struct, forbid_unknown_fields=True):
    status: AlertStatus | None = None
    assignee: Annotated[str, msgspec.Meta(max_length=triage.MAX_ASSIGNEE)] | None = None
    note: Annotated[str, msgspec.Meta(max_length=triage.MAX_NOTE)] | None = None


@routes.patch("/api/v1/alerts/{id}")
@routes.post("/api/v1/alerts/{id}/status")
@person("analyst")
async def change_alert(request: web.Request) -> web.Response:
    cfg, store = request.app[CONFIG], request.app[STORE]
    alert_id = path_int(request)
    body = decode(await read_body(request, 64 * 1024, cfg.body_timeout), AlertChange)
    try:
        found = await triage.change_alerts(store, [alert_id], actor=actor(request), now=time.time(),
                                           status=body.status, assignee=body.assignee, note=body.note)
    except triage.ChangeRejected as e:
        raise ApiError(422, "invalid_field", e.detail, field=f"$.{e.field}") from e
    if alert_id not in found.found:
        raise ApiError(404, "not_found", "no such alert")
    return json_response(alert_json(found.found[alert_id]))


@routes.get("/api/v1/audit")
@person("analyst")
async def list_audit(request: web.Request) -> web.Response:
    entries = await request.app[STORE].list_audit(
        target_type=_text(request, "target_type", 64), target_id=_text(request, "target_id", 128),
        limit=int_param(request, "limit", 100, minimum=1, maximum=1000) or 100)
    return json_response({"items": [audit_json(e) for e in entries]})
