"""Follow-up SLA: with the clock advanced past a deadline, escalation fires once, audited, to the next route."""

from __future__ import annotations

from server.forward.destination import Resources
from server.forward.outbox import Forwarder
from server.forward.sla import SlaWatcher
from server.store.sql import SqlStore
from tests.forward.conftest import Clock, forward_config, make_alert
from tests.forward.receivers import HttpReceiver


def chain(receiver: HttpReceiver) -> object:
    return forward_config(
        {"soc": {"type": "webhook", "url": receiver.url("/soc")},
         "duty-officer": {"type": "webhook", "url": receiver.url("/duty")}},
        [{"name": "soc", "match": {"min_level": "medium"}, "to": ["soc"], "escalate_to": "duty"},
         {"name": "duty", "match": {"escalated": True}, "to": ["duty-officer"],
          "title": "OVERDUE {{ level|upper }}: {{ host }}"}],
        sla={"check_interval": 1})


async def test_overdue_alert_escalates_once_with_audit(store: SqlStore, receiver: HttpReceiver,
                                                       resources: Resources, clock: Clock) -> None:
    cfg = chain(receiver)
    fw = Forwarder(cfg, store, clock=clock)
    watcher = SlaWatcher(store, fw, cfg.sla, clock)
    alert = await store.insert_alert(make_alert(now=clock.now, sla_deadline=clock.now + 3600))
    await fw.on_alert(alert)
    await fw.deliver_once(resources)
    assert [r.path for r in receiver.requests] == ["/soc"]

    clock.advance(3599)
    assert await watcher.check_once() == [] and await watcher.overdue() == []
    clock.advance(2)
    assert await watcher.check_once() == [alert.id]
    # A second check, and a second collector process, find it already escalated.
    assert await watcher.check_once() == []
    assert await SlaWatcher(store, Forwarder(cfg, store, clock=clock), cfg.sla, clock).check_once() == []

    await fw.deliver_once(resources)
    assert [r.path for r in receiver.requests] == ["/soc", "/duty"]
    doc = receiver.requests[1].json()
    assert doc["message"] == "OVERDUE CRITICAL: fin-pc-01"
    assert doc["severity"] == "Critical" and doc["activity_name"] == "Update"
    assert doc["unmapped"]["leakwarden"]["escalated"] is True and doc["unmapped"]["leakwarden"]["escalation_level"] == 1

    stored = await store.get_alert(alert.id)
    assert stored is not None and stored.escalation_level == 1
    [entry] = [a for a in await store.list_audit(target_type="alert", target_id=str(alert.id))
               if a.action == "alert.escalate"]
    assert entry.actor == "system" and entry.detail["escalation_level"] == 1
    assert entry.detail["note"] == ("not acknowledged by its SLA deadline 2027-01-15T09:00:00+00:00; "
                                    "escalated from high to critical, routes: duty")
    [overdue] = await watcher.overdue()
    assert (overdue.id, overdue.escalation_level, round(overdue.overdue_by)) == (alert.id, 1, 1)


async def test_overdue_critical_alert_is_re_notified_to_the_next_route(store: SqlStore, receiver: HttpReceiver,
                                                                       resources: Resources, clock: Clock) -> None:
    cfg = chain(receiver)
    fw = Forwarder(cfg, store, clock=clock)
    alert = await store.insert_alert(make_alert(now=clock.now, level="critical", score=95,
                                                sla_deadline=clock.now + 900))
    await fw.on_alert(alert)
    clock.advance(901)
    assert await SlaWatcher(store, fw, cfg.sla, clock).check_once() == [alert.id]
    await fw.deliver_once(resources)
    assert [r.path for r in receiver.requests] == ["/soc", "/duty"]
    doc = receiver.requests[1].json()
    assert doc["message"] == "OVERDUE CRITICAL: fin-pc-01" and doc["unmapped"]["leakwarden"]["escalated"] is True
    [entry] = [a for a in await store.list_audit(target_type="alert", target_id=str(alert.id))
               if a.action == "alert.escalate"]
    assert entry.detail["note"].endswith("; re-notified (already critical), routes: duty")
    assert "critical to critical" not in entry.detail["note"]


async def test_acknowledged_alert_does_not_escalate(store: SqlStore, receiver: HttpReceiver, clock: Clock) -> None:
    cfg = chain(receiver)
    fw = Forwarder(cfg, store, clock=clock)
    alert = await store.insert_alert(make_alert(now=clock.now, sla_deadline=clock.now + 60, status="acknowledged",
                                                acknowledged_at=clock.now + 30))
    clock.advance(120)
    assert await SlaWatcher(store, fw, cfg.sla, clock).check_once() == []
    assert await store.outbox_list(None, 10) == []
    assert (await store.get_alert(alert.id)).escalation_level == 0  # type: ignore[union-attr]


async def test_without_escalate_to_the_raised_alert_is_routed_afresh(store: SqlStore, receiver: HttpReceiver,
                                                                     resources: Resources, clock: Clock) -> None:
    cfg = forward_config(
        {"chat": {"type": "webhook", "url": receiver.url("/chat")},
         "ciso": {"type": "webhook", "url": receiver.url("/ciso")}},
        [{"name": "chat", "match": {"levels": ["medium", "high"]}, "to": ["chat"]},
         {"name": "ciso", "match": {"min_level": "critical"}, "to": ["ciso"]}])
    fw = Forwarder(cfg, store, clock=clock)
    alert = await store.insert_alert(make_alert(now=clock.now, level="medium", sla_deadline=clock.now + 10))
    clock.advance(11)
    assert await SlaWatcher(store, fw, cfg.sla, clock).check_once() == [alert.id]
    await fw.deliver_once(resources)
    [req] = receiver.requests
    assert req.path == "/chat" and req.json()["severity"] == "High"  # medium -> high: still the chat route


async def test_escalated_alerts_nobody_handled_do_not_hide_a_new_overdue_one(store: SqlStore, receiver: HttpReceiver,
                                                                             clock: Clock) -> None:
    """More escalated-but-unacknowledged alerts than one check reads: the newly overdue one still escalates."""
    from server.forward.sla import OVERDUE_BATCH
    cfg = chain(receiver)
    watcher = SlaWatcher(store, Forwarder(cfg, store, clock=clock), cfg.sla, clock)
    async with store.transaction() as tx:
        for i in range(OVERDUE_BATCH + 5):
            await tx.insert_alert(make_alert(id=0, now=clock.now - 7200, sla_deadline=clock.now - 3600 + i,
                                             escalation_level=1))
    fresh = await store.insert_alert(make_alert(id=0, now=clock.now - 100, sla_deadline=clock.now - 1))
    assert await watcher.check_once() == [fresh.id]
