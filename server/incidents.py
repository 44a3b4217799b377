"""Incidents: related steps of one leak, graded above their parts.

An event joins an open incident when it comes from the same host or user and
shares the content (``file.content_hash``) or the removable device with it,
within ``incidents.window`` seconds of the incident's last step. A marked
document written, copied to a USB stick, and the stick unmounted is one
incident: each step adds ``grading.incident_step`` points to the worst step.
Events that are not alerts on their own (an unmount) never open an incident,
but they do raise an open one, and with it the incident's latest alert.
"""

from __future__ import annotations

from dataclasses import dataclass

from leakwarden.wire import Device as WireDevice
from leakwarden.wire import Event
from server.config import GradingConfig
from server.grading import Factor, Grade, finish, message
from server.store.interface import LEVEL_RANK, AlertFilter, Incident, Store


def device_key(device: WireDevice | None) -> str | None:
    if device is None:
        return None
    if device.serial:
        return f"{device.vendor_id or '-'}:{device.product_id or '-'}:{device.serial}"
    if device.fs_uuid:
        return f"fs:{device.fs_uuid}"
    return None


@dataclass(slots=True)
class Linked:
    incident: Incident
    #: points the incident adds on top of the step's own grade (0 if none)
    bonus: int
    step: int


def _regrade(inc: Incident, cfg: GradingConfig) -> None:
    worst = max(int(s.get("score", 0)) for s in inc.steps)
    g = Grade()
    g.add("worst step", message("incident.worst_step", count=len(inc.steps)), worst)
    if len(inc.steps) > 1:
        chain = " → ".join(f"{s['kind']}({s['channel']})" for s in inc.steps[-6:])
        g.add("steps", message("incident.steps", count=len(inc.steps), chain=chain),
              cfg.incident_step * (len(inc.steps) - 1))
    finish(g, cfg)
    inc.score, inc.level, inc.explanation = g.score, g.level, g.explanation


async def link(tx: Store, cfg: GradingConfig, window: float, *, event: Event, event_id: str,
               content_hash: str | None, dkey: str | None, score: int, is_alert: bool,
               now: float) -> Linked | None:
    """Add the event as a step of an open incident (or open one if it is an alert); inside a transaction."""
    if not content_hash and not dkey:
        return None
    # two collector processes must not open two incidents for one leak
    await tx.lock_key(f"incident:{event.host}")
    inc = await tx.find_open_incident(host=event.host, user=event.user, content_hash=content_hash,
                                      device_key=dkey, since=now - window)
    step = {"time": event.time, "kind": event.kind, "channel": event.channel, "event_id": event_id,
            "score": score, "alert": is_alert}
    if inc is None:
        if not is_alert:
            return None
        inc = Incident(id=0, created_at=now, updated_at=now, host=event.host, user=event.user,
                       content_hash=content_hash, device_key=dkey, score=score, level="low", status="open",
                       alert_count=1, steps=[step], explanation=[])
        _regrade(inc, cfg)
        return Linked(await tx.insert_incident(inc), 0, 1)
    inc.steps.append(step)
    inc.updated_at = now
    inc.content_hash = inc.content_hash or content_hash
    inc.device_key = dkey or inc.device_key
    inc.user = inc.user or event.user
    inc.alert_count += int(is_alert)
    _regrade(inc, cfg)
    await tx.update_incident(inc)
    return Linked(inc, max(0, inc.score - score), len(inc.steps))


async def raise_latest_alert(tx: Store, linked: Linked, now: float, sla: dict[str, float]):  # -> Alert | None
    """A non-alert step raised the incident: carry the rise to its latest alert. Returns it if its level rose."""
    inc = linked.incident
    page = await tx.list_alerts(AlertFilter(incident_id=inc.id, limit=1))
    if not page.items:
        return None
    alert = page.items[0]
    if inc.score <= alert.score:
        return None
    before = alert.level
    alert.explanation = [f for f in alert.explanation if f["factor"] != "incident"]
    own = sum(f["points"] for f in alert.explanation)
    alert.explanation.append(Factor("incident", message("incident.step_kind", step=str(linked.step),
                                                        incident=str(inc.id), kind=inc.steps[-1]["kind"]),
                                    inc.score - own))
    alert.score, alert.level, alert.updated_at = inc.score, inc.level, now
    if LEVEL_RANK[alert.level] > LEVEL_RANK[before]:
        deadline = alert.created_at + sla[alert.level]
        alert.sla_deadline = min(alert.sla_deadline or deadline, deadline)
    await tx.update_alert(alert)
    return alert if LEVEL_RANK[alert.level] > LEVEL_RANK[before] else None
