"""Changes analysts make from the dashboard: the collector's rules (``server/triage.py``, shared
with the API), with the refusals as catalogue messages shown in the reader's language."""

from __future__ import annotations

from leakwarden.errors import LeakWardenError
from server import triage
from server.dashboard.labels import N_
from server.store.interface import Store

#: triage.ChangeRejected codes -> catalogue message ids (values come with the refusal)
MESSAGES = {
    "unknown_status": N_("Unknown status %(status)s."),
    "assignee_too_long": N_("The assignee is longer than %(n)s characters."),
    "note_too_long": N_("The note is longer than %(n)s characters."),
    "resolution_needs_note": N_("Resolving an alert needs a note."),
    "nothing_to_change": N_("Nothing to change."),
    "too_many": N_("At most %(n)s alerts at once."),
    "assignee_unknown": N_("%(name)s is not a user."),
}


class ActionRejected(LeakWardenError):
    """The requested change is not valid: a catalogue message id and its values (shown translated)."""

    def __init__(self, message: str, **values: object) -> None:
        self.message, self.values = message, values
        super().__init__(message % values if values else message)


def _rejected(e: triage.ChangeRejected) -> ActionRejected:
    return ActionRejected(MESSAGES[e.code], **e.values)


async def change_alerts(store: Store, ids: list[int], *, actor: str, now: float, status: str | None = None,
                        assignee: str | None = None, note: str | None = None) -> list[int]:
    """Set status / assignee / note on alerts; returns the ids changed. ``assignee=""`` unassigns."""
    try:
        done = await triage.change_alerts(store, ids, actor=actor, now=now, status=status, assignee=assignee,
                                          note=note)
        return done.changed
    except triage.ChangeRejected as e:
        raise _rejected(e) from e


async def change_incident(store: Store, incident_id: int, *, actor: str, now: float, status: str,
                          note: str | None) -> bool:
    try:
        return await triage.change_incident(store, incident_id, actor=actor, now=now, status=status,
                                            note=note) is not None
    except triage.ChangeRejected as e:
        raise _rejected(e) from e
