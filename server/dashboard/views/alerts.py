"""Alert queue, live updates, bulk actions, CSV export, alert detail and status changes."""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from aiohttp import web
from multidict import MultiDict, MultiMapping

from server.dashboard import actions
from server.dashboard.evidence import describe_location, event_facts
from server.dashboard.queue import FAMILIES_KNOWN, RANGES, newer_than, newest_id, pages, parse_query, risk_page
from server.dashboard.render import ERRORS, error_page, rejected, render, translator
from server.dashboard.security import SECURITY_HEADERS
from server.dashboard.session import PageError, redirect, require, safe_next
from server.dashboard.state import DASHBOARD
from server.keys import STORE
from server.store.interface import ALERT_STATUSES, LEVELS

routes = web.RouteTableDef()


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


async def _form(request: web.Request) -> dict[str, Any]:
    data = await request.post()
    return {"ids": [i for i in (_int(v) for v in data.getall("ids", []) if isinstance(v, str)) if i],
            **{k: v for k, v in data.items() if isinstance(v, str) and k != "ids"}}


@routes.get("/alerts", name="dash.alerts")
async def queue(request: web.Request) -> web.StreamResponse:
    me = await require(request)
    return await _queue_page(request, me.can_write, request.query, flash=request.query.get("done"))


async def _queue_page(request: web.Request, can_write: bool, query: MultiMapping[str], *, flash: str | None = None,
                      error: str | None = None, status: int = 200) -> web.Response:
    """The queue for the filter in ``query``; also the answer to a refused bulk change, so the
    analyst stays on the filtered queue with the reason shown."""
    qq = parse_query(query)
    state = request.app[DASHBOARD]
    page = await risk_page(request.app[STORE], qq, state.tz, state.page_size)
    newest = await newest_id(request.app[STORE], qq, state.tz)
    return render(request, "alerts.html", {
        "qq": qq, "page": page, "newest": newest, "levels": list(reversed(LEVELS)), "statuses": ALERT_STATUSES,
        "families": FAMILIES_KNOWN, "ranges": list(RANGES), "can_write": can_write,
        "flash": flash if flash and flash.isdigit() else None, "error": error,
        # where forms return to (bulk, language): this filter and page, without the last result
        "request_url": "/alerts?" + qq.query_string(cursor=qq.cursor),
    }, status=status)


@routes.get("/alerts/live", name="dash.alerts_live")
async def live(request: web.Request) -> web.StreamResponse:
    """Polled by htmx: rows of alerts newer than the page's newest, and the poller with the new mark."""
    me = await require(request)
    qq = parse_query(request.query)
    after = _int(request.query.get("since")) or 0
    fresh = await newer_than(request.app[STORE], qq, request.app[DASHBOARD].tz, after)
    if fresh is None:
        # too many arrived to send as rows: htmx reloads the page, which shows them all in the queue
        response = render(request, "alerts_live.html", {"qq": qq, "fresh": [], "newest": after,
                                                         "can_write": me.can_write})
        response.headers["HX-Refresh"] = "true"
        return response
    # the mark moves only as far as what was sent: a burst arrives over several polls, none skipped
    newest = max([after] + [a.id for a in fresh])
    return render(request, "alerts_live.html", {"qq": qq, "fresh": fresh, "newest": newest,
                                                "can_write": me.can_write})


@routes.post("/alerts/bulk", name="dash.alerts_bulk")
async def bulk(request: web.Request) -> web.StreamResponse:
    me = await require(request, write=True)
    form = await _form(request)
    back = _without(safe_next(form.get("next")), "done")
    op = form.get("op")
    change: dict[str, str | None] = {}
    if op == "acknowledge":
        change["status"] = "acknowledged"
    elif op == "false_positive":
        change["status"] = "false_positive"
    elif op == "assign":
        change["assignee"] = form.get("assignee", "").strip() or me.username
    else:
        return await _refused(request, back, translator(request).gettext(ERRORS["bad_request"]) + f" (op={op!r})")
    if not form["ids"]:
        return redirect(back)
    try:
        done = await actions.change_alerts(request.app[STORE], form["ids"], actor=me.username, now=time.time(),
                                           note=form.get("note") or None, **change)
    except actions.ActionRejected as e:
        return await _refused(request, back, translator(request).gettext(e.message, **e.values))
    request.app[DASHBOARD].overview.clear()
    sep = "&" if "?" in back else "?"
    return redirect(f"{back}{sep}done={len(done)}")


def _without(url: str, *names: str) -> str:
    """``url`` without the named query parameters (a previous result must not ride along)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in names]
    return parts.path + ("?" + urlencode(query) if query else "")


async def _refused(request: web.Request, back: str, message: str) -> web.Response:
    """A refused bulk change: the queue the form came from, filter kept, with the reason (400)."""
    if urlsplit(back).path != "/alerts":
        return error_page(request, 400, "bad_request", message)
    query = MultiDict(parse_qsl(urlsplit(back).query, keep_blank_values=True))
    return await _queue_page(request, True, query, error=message, status=400)


@routes.get("/alerts.csv", name="dash.alerts_csv")
async def export(request: web.Request) -> web.StreamResponse:
    await require(request)
    qq = parse_query(request.query)
    t = translator(request)
    response = web.StreamResponse(headers={
        **SECURITY_HEADERS,
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": 'attachment; filename="leakwarden-alerts.csv"',
        "Cache-Control": "no-store",
    })
    await response.prepare(request)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([csv_cell(h) for h in (
        "id", "time", "level", "score", "status", "assignee", "title", "host", "user", "channel", "path",
        "detectors", "sla_deadline", "incident_id")])
    await response.write(("\ufeff" + buf.getvalue()).encode())  # BOM: spreadsheet programs read UTF-8 (中文)
    # every matching alert, page by page (keyset): no row cap, one page in memory
    async for page in pages(request.app[STORE], qq, request.app[DASHBOARD].tz):
        buf.seek(0)
        buf.truncate()
        for a in page:
            writer.writerow([csv_cell(v) for v in (
                a.id, t.iso(a.time), a.level, a.score, a.status, a.assignee, a.title, a.host, a.user, a.channel,
                a.path, " ".join(a.detectors), t.iso(a.sla_deadline), a.incident_id)])
        await response.write(buf.getvalue().encode())
    await response.write_eof()
    return response


#: what a spreadsheet may take for the start of a formula (also in full width)
FORMULA_START = "=+-@\uff1d\uff0b\uff0d\uff20"
#: spreadsheet programs skip these before looking for a formula (" =1+1", "\n=2+2")
_LEADING_BLANKS = re.compile(r"^[\s\x00-\x1f\x7f]+")


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP CSV injection): any cell that
    starts with a formula character, or with blanks or control characters, gets a leading ``'``."""
    if value is None:
        return ""
    text = str(value)
    if _LEADING_BLANKS.match(text) or text[:1] in tuple(FORMULA_START):
        return "'" + text
    return text


async def _alert_or_404(request: web.Request) -> Any:
    alert_id = _int(request.match_info["alert_id"])
    alert = await request.app[STORE].get_alert(alert_id) if alert_id else None
    if alert is None:
        raise PageError(error_page(request, 404, "not_found"))
    return alert


@routes.get("/alerts/{alert_id:\\d+}", name="dash.alert")
async def detail(request: web.Request) -> web.StreamResponse:
    me = await require(request)
    alert = await _alert_or_404(request)
    store = request.app[STORE]
    event = await store.get_event(alert.event_id) if alert.event_id else None
    incident = await store.get_incident(alert.incident_id) if alert.incident_id else None
    audit = await store.list_audit(target_type="alert", target_id=str(alert.id), limit=200)
    evidence = [dict(f, where=describe_location(f.get("location") or {})) for f in alert.evidence]
    timeline: list[tuple[float, str, str]] = [(alert.time, "event", alert.kind)]
    if event is not None:
        timeline.append((event.received_at, "received", ""))
    timeline.append((alert.created_at, "alerted", alert.level))
    timeline += [(e.time, "audit", e.action) for e in audit]
    timeline.sort(key=lambda x: x[0])
    return render(request, "alert_detail.html", {
        "a": alert, "event": event_facts(event.data if event else None, alert), "incident": incident,
        "audit": audit, "evidence": evidence, "timeline": timeline, "statuses": ALERT_STATUSES,
        "can_write": me.can_write, "saved": request.query.get("saved") == "1",
    })


@routes.post("/alerts/{alert_id:\\d+}/status", name="dash.alert_status")
async def change_status(request: web.Request) -> web.StreamResponse:
    me = await require(request, write=True)
    alert = await _alert_or_404(request)
    form = await _form(request)
    status = form.get("status") or None
    assignee = form.get("assignee")
    try:
        await actions.change_alerts(request.app[STORE], [alert.id], actor=me.username, now=time.time(),
                                    status=status, assignee=None if assignee is None else assignee.strip(),
                                    note=(form.get("note") or "").strip() or None)
    except actions.ActionRejected as e:
        return rejected(request, e)
    request.app[DASHBOARD].overview.clear()
    return redirect(f"/alerts/{alert.id}?saved=1")
