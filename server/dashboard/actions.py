"""Changes analysts make from the dashboard, each audited in the same transaction."""

from __future__ import annotations

from typing import Any

from server.store.interface import ALERT_STATUSES, Store

MAX_BULK = 500
MAX_NOTE = 2000
MAX_ASSIGNEE = 64


class ActionRejected(ValueError):
    """The requested change is not valid (unknown status, too many alerts, note too long)."""


def check_change(status: str | None, assignee: str | None, note: str | None) -> None:
    if status is not None and status not in ALERT_STATUSES:
        raise ActionRejected(f"status {status!r}")
    if assignee is not None and len(assignee) > MAX_ASSIGNEE:
        raise ActionRejected("assignee")
    if note is not None and len(note) > MAX_NOTE:
        raise ActionRejected("note")


async def change_alerts(store: Store, ids: list[int], *, actor: str, now: float, status: str | None = None,
                        assignee: str | None = None, note: str | None = None) -> list[int]:
    """Set status / assignee / note on alerts; returns the ids changed. ``assignee=""`` unassigns."""
    check_change(status, assignee, note)
    if len(ids) > MAX_BULK:
        raise ActionRejected(f"more than {MAX_BULK} alerts")
    changed: list[int] = []
    async with store.transaction() as tx:
        for alert_id in dict.fromkeys(ids):
            alert = await tx.get_alert(alert_id)
            if alert is None:
                continue
            detail: dict[str, Any] = {}
            if status is not None and status != alert.status:
                detail["status"] = [alert.status, status]
                alert.status = status
                if status == "acknowledged" and alert.acknowledged_at is None:
                    alert.acknowledged_at = now
            if assignee is not None and (assignee or None) != alert.assignee:
                detail["assignee"] = [alert.assignee, assignee or None]
                alert.assignee = assignee or None
            if note:
                detail["note"] = note
                alert.note = note
            if not detail:
                continue
            alert.updated_at = now
            await tx.update_alert(alert)
            await tx.add_audit(actor, "alert.update", "alert", str(alert_id), detail, now)
            changed.append(alert_id)
    return changed
