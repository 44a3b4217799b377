"""Status changes of alerts and incidents: the one place for their rules and their audit record.

Both doors use it, the API (``PATCH /api/v1/alerts/{id}``, ``/incidents/{id}``) and the
dashboard's forms, so the rules cannot drift apart and the trail reads the same
whichever was used: closing an alert (resolved, false_positive) needs a note, an assignee must be a user,
any status past "new" counts as acknowledged, and every change is audited in the
same transaction as ``{"before", "after", "note"}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from leakwarden.errors import LeakWardenError
from server.store.interface import ALERT_STATUSES, Alert, Incident, Store

INCIDENT_STATUSES: tuple[str, ...] = ("open", "closed")
#: statuses that close an alert: each needs a resolution note, so the trail says why it was closed
CLOSING_STATUSES: tuple[str, ...] = ("resolved", "false_positive")
MAX_NOTE = 4000
MAX_ASSIGNEE = 128
MAX_BULK = 500


class ChangeRejected(LeakWardenError):
    """A change the rules refuse. ``code`` is stable (the dashboard translates it), ``field`` names the
    input at fault, ``values`` fill the message."""

    def __init__(self, code: str, field: str, detail: str, **values: Any) -> None:
        super().__init__(detail)
        self.code, self.field, self.detail, self.values = code, field, detail, values


@dataclass(slots=True)
class AlertChanges:
    found: dict[int, Alert] = field(default_factory=dict)  # every alert asked for that exists, as it is now
    changed: list[int] = field(default_factory=list)  # those written (and audited)


def check_alert_change(status: str | None, assignee: str | None, note: str | None) -> None:
    if status is not None and status not in ALERT_STATUSES:
        raise ChangeRejected("unknown_status", "status", f"unknown status {status!r}", status=status)
    if assignee is not None and len(assignee) > MAX_ASSIGNEE:
        raise ChangeRejected("assignee_too_long", "assignee", f"assignee longer than {MAX_ASSIGNEE}", n=MAX_ASSIGNEE)
    if note is not None and len(note) > MAX_NOTE:
        raise ChangeRejected("note_too_long", "note", f"note longer than {MAX_NOTE}", n=MAX_NOTE)
    if status in CLOSING_STATUSES and not (note or "").strip():
        raise ChangeRejected("resolution_needs_note", "note",
                             f"closing an alert as {status} needs a resolution note (why it is closed)",
                             status=status)
    if status is None and assignee is None and note is None:
        raise ChangeRejected("nothing_to_change", "status", "nothing to change: give status, assignee or note")


async def change_alerts(store: Store, ids: list[int], *, actor: str, now: float, status: str | None = None,
                        assignee: str | None = None, note: str | None = None) -> AlertChanges:
    """Set status / assignee / note on alerts in one transaction; ``assignee=""`` unassigns.

    Ids not found are skipped. A change that changes nothing (same status and assignee, no
    note) is not written and not audited.
    """
    check_alert_change(status, assignee, note)
    if len(ids) > MAX_BULK:
        raise ChangeRejected("too_many", "ids", f"at most {MAX_BULK} alerts at once", n=MAX_BULK)
    out = AlertChanges()
    async with store.transaction() as tx:
        if assignee and await tx.get_user_by_name(assignee) is None:
            raise ChangeRejected("assignee_unknown", "assignee", "assignee is not a user", name=assignee)
        for alert_id in dict.fromkeys(ids):
            alert = await tx.get_alert(alert_id)
            if alert is None:
                continue
            out.found[alert_id] = alert
            before = {"status": alert.status, "assignee": alert.assignee}
            if status is not None:
                alert.status = status
                if status != "new" and alert.acknowledged_at is None:
                    alert.acknowledged_at = now
            if assignee is not None:
                alert.assignee = assignee or None
            if note is not None:
                alert.note = note
            after = {"status": alert.status, "assignee": alert.assignee}
            if after == before and note is None:
                continue
            alert.updated_at = now
            await tx.update_alert(alert)
            await tx.add_audit(actor, "alert.update", "alert", str(alert_id),
                               {"before": before, "after": after, "note": note}, now)
            out.changed.append(alert_id)
    return out


async def change_incident(store: Store, incident_id: int, *, actor: str, now: float, status: str,
                          note: str | None) -> Incident | None:
    """Open or close an incident, audited; None if there is no such incident."""
    if status not in INCIDENT_STATUSES:
        raise ChangeRejected("unknown_status", "status", f"unknown status {status!r}", status=status)
    if note is not None and len(note) > MAX_NOTE:
        raise ChangeRejected("note_too_long", "note", f"note longer than {MAX_NOTE}", n=MAX_NOTE)
    async with store.transaction() as tx:
        inc = await tx.get_incident(incident_id)
        if inc is None:
            return None
        before = inc.status
        inc.status, inc.updated_at = status, now
        await tx.update_incident(inc)
        await tx.add_audit(actor, "incident.update", "incident", str(incident_id),
                           {"before": before, "after": status, "note": note}, now)
    return inc
