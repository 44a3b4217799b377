"""Changes analysts make from the dashboard, each audited in the same transaction.

The rules and the audit record are those of the API (``PATCH /api/v1/alerts/{id}``
and ``/incidents/{id}`` in server/api/): resolving needs a note, an assignee must
be a user, any status past "new" counts as acknowledged, and the audit detail is
``{"before", "after", "note"}``, so the trail reads the same whichever door was used.
"""

from __future__ import annotations

from server.dashboard.labels import N_
from server.store.interface import ALERT_STATUSES, Store

MAX_BULK = 500
MAX_NOTE = 4000
MAX_ASSIGNEE = 128
INCIDENT_STATUSES = ("open", "closed")


class ActionRejected(ValueError):
    """The requested change is not valid: a catalogue message id and its values (shown translated)."""

    def __init__(self, message: str, **values: object) -> None:
        self.message, self.values = message, values
        super().__init__(message % values if values else message)


def check_change(status: str | None, assignee: str | None, note: str | None) -> None:
    if status is not None and status not in ALERT_STATUSES:
        raise ActionRejected(N_("Unknown status %(status)s."), status=status)
    if assignee is not None and len(assignee) > MAX_ASSIGNEE:
        raise ActionRejected(N_("The assignee is longer than %(n)s characters."), n=MAX_ASSIGNEE)
    if note is not None and len(note) > MAX_NOTE:
        raise ActionRejected(N_("The note is longer than %(n)s characters."), n=MAX_NOTE)
    if status == "resolved" and not (note or "").strip():
        raise ActionRejected(N_("Resolving an alert needs a note."))
    if status is None and assignee is None and note is None:
        raise ActionRejected(N_("Nothing to change."))


async def change_alerts(store: Store, ids: list[int], *, actor: str, now: float, status: str | None = None,
                        assignee: str | None = None, note: str | None = None) -> list[int]:
    """Set status / assignee / note on alerts; returns the ids changed. ``assignee=""`` unassigns."""
    check_change(status, assignee, note)
    if len(ids) > MAX_BULK:
        raise ActionRejected(N_("At most %(n)s alerts at once."), n=MAX_BULK)
    changed: list[int] = []
    async with store.transaction() as tx:
        if assignee and await tx.get_user_by_name(assignee) is None:
            raise ActionRejected(N_("%(name)s is not a user."), name=assignee)
        for alert_id in dict.fromkeys(ids):
            alert = await tx.get_alert(alert_id)
            if alert is None:
                continue
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
            changed.append(alert_id)
    return changed


async def change_incident(store: Store, incident_id: int, *, actor: str, now: float, status: str,
                          note: str | None) -> bool:
    if status not in INCIDENT_STATUSES:
        raise ActionRejected(N_("Unknown status %(status)s."), status=status)
    if note is not None and len(note) > MAX_NOTE:
        raise ActionRejected(N_("The note is longer than %(n)s characters."), n=MAX_NOTE)
    async with store.transaction() as tx:
        inc = await tx.get_incident(incident_id)
        if inc is None:
            return False
        before = inc.status
        inc.status, inc.updated_at = status, now
        await tx.update_incident(inc)
        await tx.add_audit(actor, "incident.update", "incident", str(incident_id),
                           {"before": before, "after": status, "note": note}, now)
    return True
