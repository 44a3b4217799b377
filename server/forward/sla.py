"""Follow-up SLA: an alert nobody acknowledged by its deadline escalates, once.

The collector stamps ``sla_deadline`` on each alert from its ``sla:`` section
(per level). This loop asks the store for open alerts past their deadline
(regulation art. 41: risks found by self-supervision must not be left
unhandled) and, for each not yet escalated, in one transaction: raises its
escalation level (the store's conditional update lets exactly one collector
process win), writes the audit entry saying why, and enqueues the escalation
deliveries: the alert one level higher (a critical one stays critical and is
re-notified), marked escalated, to the next route.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import msgspec

from server.forward.config import SlaConfig
from server.forward.outbox import Clock, Forwarder
from server.store.interface import Store

log = logging.getLogger("leakwarden.server.forward.sla")

ESCALATION_LEVEL = 1  # escalate once: a second miss is visible in the overdue list, not re-sent
OVERDUE_BATCH = 1000  # alerts escalated per check at most (the next check takes the rest)


# A struct, not a dataclass: GET /api/v1/forward/overdue answers with it as is and documents it by it.
class Overdue(msgspec.Struct, frozen=True):
    """An open alert past its SLA deadline."""

    id: int
    level: str
    status: str
    host: str | None
    title: str
    sla_deadline: float
    overdue_by: float
    escalation_level: int
    assignee: str | None


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat(timespec="seconds")


class SlaWatcher:
    def __init__(self, store: Store, forwarder: Forwarder, config: SlaConfig, clock: Clock) -> None:
        self.store = store
        self.forwarder = forwarder
        self.config = config
        self.clock = clock

    async def overdue(self, limit: int = 100) -> list[Overdue]:
        now = self.clock()
        return [
            Overdue(id=a.id, level=a.level, status=a.status, host=a.host, title=a.title,
                    sla_deadline=a.sla_deadline or now, overdue_by=round(now - (a.sla_deadline or now), 3),
                    escalation_level=a.escalation_level, assignee=a.assignee)
            for a in await self.store.list_overdue(now, limit)
        ]

    async def check_once(self) -> list[int]:
        """Escalate every overdue alert not escalated yet; returns their ids."""
        if not self.config.escalate:
            return []
        now = self.clock()
        done: list[int] = []
        # Only alerts still "new" (acknowledged or being worked on: someone has it) and not escalated yet:
        # the store reads them from a partial index, so escalated ones nobody handled are not re-read.
        for alert in await self.store.list_overdue(now, OVERDUE_BATCH, statuses=("new",), escalated=False):
            view = self.forwarder.view(alert)
            raised, routes = self.forwarder.router.escalation(view, now)
            names = ", ".join(r.name for r in routes) or "none configured"
            # A critical alert cannot go higher: it is sent again, marked escalated, to the next route
            # (its escalate_to, the next audience), and the trail says so instead of "critical to critical".
            step = (f"escalated from {view.level} to {raised.level}" if raised.level != view.level
                    else f"re-notified (already {view.level})")
            note = f"not acknowledged by its SLA deadline {_iso(alert.sla_deadline or now)}; {step}, routes: {names}"
            async with self.store.transaction() as tx:
                if not await tx.escalate(alert.id, ESCALATION_LEVEL, note, now):
                    continue  # another collector process escalated it first
                await self.forwarder.enqueue(raised, routes, reason=f"escalation:{ESCALATION_LEVEL}", now=now,
                                             store=tx)
            self.forwarder.stats.escalated += 1
            log.warning("alert %s escalated: %s", alert.id, note)
            done.append(alert.id)
        return done

    async def run(self) -> None:
        while True:
            try:
                await self.check_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("forward: SLA check failed")
            await asyncio.sleep(self.config.check_interval)
