"""Overview, incidents, agents and devices."""

from __future__ import annotations

import time

from aiohttp import web

from server.auth import ROLE_RANK
from server.dashboard.overview import agent_health
from server.dashboard import actions, labels
from server.dashboard.render import error_page, rejected, render, translator
from server.dashboard.session import PageError, redirect, require
from server.dashboard.state import DASHBOARD
from server.keys import CONFIG, STORE
from server.store.interface import LEVELS, AlertFilter

routes = web.RouteTableDef()
DEVICE_MARKS = ("known", "lost", "revoked")
#: the agent's device-policy verdict -> the colour class the health column uses (allowed, alerted, blocked)
POLICY_CLASS = {"allow": "health-ok", "alert": "health-degraded", "block": "health-offline"}
MAX_NOTE = 500


@routes.get("/", name="dash.overview")
async def overview(request: web.Request) -> web.StreamResponse:
    await require(request)
    state = request.app[DASHBOARD]
    ov = await state.overview.get(request.app[STORE], offline_after=request.app[CONFIG].offline_after)
    levels = list(reversed(LEVELS))
    # uPlot's columnar data: [x values, series...]; x is the day's index, labelled by the server
    # so the axis reads in the page's language
    t = translator(request)
    chart = [list(range(len(ov.trend_days)))] + [ov.trend[lv] for lv in levels]
    day_labels = [t.day(d) for d in ov.trend_days]
    series_labels = [t.gettext(labels.LEVELS[lv]) for lv in levels]
    fragment = request.headers.get("HX-Request") == "true"
    return render(request, "overview_body.html" if fragment else "overview.html",
                  {"ov": ov, "levels": levels, "chart": chart, "series_labels": series_labels,
                   "day_labels": day_labels})


@routes.get("/incidents", name="dash.incidents")
async def incidents(request: web.Request) -> web.StreamResponse:
    await require(request)
    before = request.query.get("before", "")
    status = request.query.get("status") or None
    if status not in (None, "open", "closed"):
        status = None
    items = await request.app[STORE].list_incidents(status=status,
                                                    before_id=int(before) if before.isdigit() else None, limit=51)
    more = len(items) > 50
    items = items[:50]
    return render(request, "incidents.html", {"items": items, "next": items[-1].id if more else None,
                                              "status": status or ""})


@routes.get("/incidents/{incident_id:\\d+}", name="dash.incident")
async def incident(request: web.Request) -> web.StreamResponse:
    me = await require(request)
    store = request.app[STORE]
    inc = await store.get_incident(int(request.match_info["incident_id"][:18]))
    if inc is None:
        return error_page(request, 404, "not_found")
    alerts = (await store.list_alerts(AlertFilter(incident_id=inc.id, limit=200))).items
    by_id = {a.id: a for a in alerts}
    audit = await store.list_audit(target_type="incident", target_id=str(inc.id), limit=100)
    return render(request, "incident_detail.html", {"inc": inc, "alerts": alerts, "by_id": by_id,
                                                    "audit": audit, "can_write": me.can_write})


@routes.post("/incidents/{incident_id:\\d+}/status", name="dash.incident_status")
async def incident_status(request: web.Request) -> web.StreamResponse:
    me = await require(request, write=True)
    form = await request.post()
    incident_id = int(request.match_info["incident_id"][:18])
    try:
        found = await actions.change_incident(request.app[STORE], incident_id, actor=me.username, now=time.time(),
                                              status=str(form.get("status", "")),
                                              note=str(form.get("note", "")).strip() or None)
    except actions.ActionRejected as e:
        return rejected(request, e)
    if not found:
        return error_page(request, 404, "not_found")
    return redirect(f"/incidents/{incident_id}")


@routes.get("/agents", name="dash.agents")
async def agents(request: web.Request) -> web.StreamResponse:
    me = await require(request)
    now = time.time()
    offline_after = request.app[CONFIG].offline_after
    rows = [(a, agent_health(a, now, offline_after)) for a in await request.app[STORE].list_agents()]
    order = {"offline": 0, "degraded": 1, "online": 2, "revoked": 3}
    rows.sort(key=lambda r: (order[r[1]], r[0].hostname))
    return render(request, "agents.html", {"rows": rows, "can_revoke": me.is_admin,
                                           "done": request.query.get("done"),
                                           "skew_tolerance": request.app[CONFIG].clock_skew_tolerance})


@routes.post("/agents/{agent_id}/revoke", name="dash.agent_revoke")
async def revoke_agent(request: web.Request) -> web.StreamResponse:
    me = await require(request, write=True)
    if ROLE_RANK.get(me.role, 0) < ROLE_RANK["admin"]:
        raise PageError(error_page(request, 403, "forbidden"))
    agent_id = request.match_info["agent_id"][:256]
    store = request.app[STORE]
    now = time.time()
    async with store.transaction() as tx:
        if await tx.get_agent(agent_id) is None:
            return error_page(request, 404, "not_found")
        if await tx.revoke_agent(agent_id, now):
            await tx.add_audit(me.username, "agent.revoke", "agent", agent_id, {}, now)
    request.app[DASHBOARD].overview.clear()
    return redirect("/agents?done=revoked")


@routes.get("/devices", name="dash.devices")
async def devices(request: web.Request) -> web.StreamResponse:
    me = await require(request)
    items = sorted(await request.app[STORE].list_devices(), key=lambda d: -d.last_seen)
    return render(request, "devices.html", {"items": items, "can_write": me.can_write, "marks": DEVICE_MARKS,
                                            "policy_class": POLICY_CLASS, "done": request.query.get("done")})


@routes.post("/devices/{device_id:\\d+}/status", name="dash.device_status")
async def device_status(request: web.Request) -> web.StreamResponse:
    me = await require(request, write=True)
    form = await request.post()
    status = str(form.get("status", ""))
    note = str(form.get("note", "")).strip()[:MAX_NOTE] or None
    if status not in DEVICE_MARKS:
        return error_page(request, 400, "bad_request", f"status={status!r}")
    device_id = int(request.match_info["device_id"][:18])
    store = request.app[STORE]
    now = time.time()
    async with store.transaction() as tx:
        device = await tx.get_device(device_id)
        if device is None:
            return error_page(request, 404, "not_found")
        await tx.set_device_status(device_id, status, note)
        await tx.add_audit(me.username, "device.status", "device", str(device_id),
                           {"status": [device.status, status], "note": note}, now)
    return redirect("/devices?done=saved")
