"""The durable outbox on SQLite and PostgreSQL: at-least-once, backoff, dead letters, dedup, rate limits."""

from __future__ import annotations

import asyncio
import time

from server.forward.destination import Resources
from server.forward.outbox import Forwarder
from server.store.sql import SqlStore
from tests.forward.conftest import Clock, forward_config, make_alert
from tests.forward.receivers import HttpReceiver


def hook(receiver: HttpReceiver, **extra: object) -> dict:
    return {"siem": {"type": "webhook", "url": receiver.url("/hook"), **extra}}


async def test_receiver_down_then_up_delivered_once(store: SqlStore, resources: Resources, clock: Clock) -> None:
    receiver = HttpReceiver()  # not started yet: connection refused
    fw = Forwarder(forward_config(hook(receiver), outbox={"backoff": {"initial": 5, "factor": 2}}), store,
                   clock=clock)
    await fw.on_alert(await store.insert_alert(make_alert()))
    assert await fw.deliver_once(resources) == 1
    [item] = await store.outbox_list(None, 10)
    assert (item.status, item.attempts) == ("pending", 1)
    assert 4.5 <= item.next_attempt_at - clock.now <= 5.5 and "Connect" in (item.last_error or "")
    assert await fw.deliver_once(resources) == 0  # not due yet: no hammering
    await receiver.start()
    try:
        clock.advance(6)
        assert await fw.deliver_once(resources) == 1
        clock.advance(3600)
        assert await fw.deliver_once(resources) == 0
        [item] = await store.outbox_list(None, 10)
        assert (item.status, item.attempts, item.delivered_at) == ("delivered", 2, clock.now - 3600)
        assert len(receiver.requests) == 1 and receiver.requests[0].headers["Idempotency-Key"] == item.key
    finally:
        await receiver.stop()


async def test_500_forever_dead_letter_then_admin_retry(store: SqlStore, receiver: HttpReceiver,
                                                       resources: Resources, clock: Clock) -> None:
    receiver.status = 500
    cfg = forward_config(hook(receiver), outbox={"max_attempts": 4, "backoff": {"initial": 1, "factor": 2, "max": 60}})
    fw = Forwarder(cfg, store, clock=clock)
    await fw.on_alert(await store.insert_alert(make_alert()))
    delays = []
    for _ in range(6):
        before = clock.now
        await fw.deliver_once(resources)
        [item] = await store.outbox_list(None, 10)
        if item.status == "pending":
            delays.append(item.next_attempt_at - before)
        clock.advance(120)
    assert receiver.hits == 4  # N tries, then nothing more
    assert (item.status, item.attempts) == ("dead", 4)
    assert item.last_error == "attempt 4: HTTP 500: receiver error"
    assert [round(d) for d in delays] == [1, 2, 4]  # exponential (±10% jitter)
    assert [i.id for i in await store.outbox_list("dead", 10)] == [item.id]
    # An admin fixes the receiver and retries the dead letter: delivered once.
    receiver.status = 200
    assert await store.outbox_retry(item.id, clock.now)
    assert await fw.deliver_once(resources) == 1
    assert len(receiver.requests) == 1
    assert (await store.outbox_list(None, 10))[0].status == "delivered"


async def test_permanent_refusal_is_dead_at_once(store: SqlStore, receiver: HttpReceiver, resources: Resources,
                                                 clock: Clock) -> None:
    receiver.status = 403
    fw = Forwarder(forward_config(hook(receiver)), store, clock=clock)
    await fw.on_alert(await store.insert_alert(make_alert()))
    await fw.deliver_once(resources)
    [item] = await store.outbox_list(None, 10)
    assert (item.status, item.attempts, receiver.hits) == ("dead", 1, 1)


async def test_429_honours_retry_after(store: SqlStore, receiver: HttpReceiver, resources: Resources,
                                       clock: Clock) -> None:
    receiver.status, receiver.retry_after = 429, "120"
    fw = Forwarder(forward_config(hook(receiver), outbox={"backoff": {"initial": 1}}), store, clock=clock)
    await fw.on_alert(await store.insert_alert(make_alert()))
    await fw.deliver_once(resources)
    [item] = await store.outbox_list(None, 10)
    assert item.status == "pending" and item.next_attempt_at - clock.now >= 120


async def test_idempotent_enqueue_and_two_workers_deliver_each_once(store: SqlStore, receiver: HttpReceiver,
                                                                    resources: Resources, clock: Clock) -> None:
    cfg = forward_config(hook(receiver), dedup={"window": 0}, outbox={"batch": 7})
    a, b = Forwarder(cfg, store, clock=clock), Forwarder(cfg, store, clock=clock)
    alerts = [await store.insert_alert(make_alert(content_hash=f"{i:064x}")) for i in range(40)]
    for alert in alerts:
        await a.on_alert(alert)
        await b.on_alert(alert)  # a second collector process hears of the same alert: same keys
    assert len(await store.outbox_list(None, 1000)) == 40
    while sum(await asyncio.gather(a.deliver_once(resources), b.deliver_once(resources))):
        pass
    keys = [r.headers["Idempotency-Key"] for r in receiver.requests]
    assert len(keys) == 40 and len(set(keys)) == 40
    assert a.stats.delivered > 0 and b.stats.delivered > 0 and a.stats.delivered + b.stats.delivered == 40


async def test_repeats_fold_into_one_delivery_with_a_count(store: SqlStore, receiver: HttpReceiver,
                                                           resources: Resources, clock: Clock) -> None:
    fw = Forwarder(forward_config(hook(receiver), dedup={"window": "5m"}), store, clock=clock)
    first_id = None
    for _ in range(5):  # the same file saved again and again on the same host
        alert = await store.insert_alert(make_alert())
        first_id = first_id or alert.id
        await fw.on_alert(alert)
        clock.advance(10)
    await fw.on_alert(await store.insert_alert(make_alert(content_hash="ee" * 32)))  # other content: news
    await fw.on_alert(await store.insert_alert(make_alert(level="critical")))  # same content, worse: news
    await fw.deliver_once(resources)
    first = [r.json() for r in receiver.requests]
    assert [(d["unmapped"]["leakwarden"]["count"], d["severity"]) for d in first] == [
        (1, "High"), (1, "High"), (1, "Critical")]
    # The summary is already a stored row (count so far), due when the window closes.
    [waiting] = await store.outbox_page(status="pending")
    assert waiting.payload["unmapped"]["leakwarden"]["count"] == 5 and waiting.alert_id == first_id
    clock.advance(300)
    await fw.deliver_once(resources)
    summary = receiver.requests[-1].json()
    assert len(receiver.requests) == 4
    assert summary["unmapped"]["leakwarden"]["count"] == 5 and summary["activity_name"] == "Update"
    assert summary["finding_info"]["uid"] == str(first_id)  # an update of the finding already delivered
    assert "×5" in summary["message"]
    await fw.deliver_once(resources)
    assert len(receiver.requests) == 4


def _net(dest: str, **over: object) -> dict:
    return dict(kind="net.forbidden_destination", channel="network", path=None, content_hash=None, device=None,
                detectors=[], evidence=[], destination={"host": dest, "port": 443, "category": "ai"},
                title=f"net.forbidden_destination · {dest}", **over)


def _health(kind: str, detail: str) -> dict:
    return dict(kind=kind, channel="agent", path=None, content_hash=None, device=None, detectors=[], evidence=[],
                title=f"{kind} · fin-pc-01", explanation=[{"factor": "event", "detail": detail, "points": 35}])


async def test_unrelated_alerts_on_one_host_are_never_folded(store: SqlStore, receiver: HttpReceiver,
                                                            resources: Resources, clock: Clock) -> None:
    fw = Forwarder(forward_config(hook(receiver), dedup={"window": "5m"}), store, clock=clock)
    for over in (_net("chat.openai.com"), _net("pastebin.com"),
                 _health("agent.gap", "3 event(s) missing (seq 10..12)"), _health("agent.offline", "no contact"),
                 _health("agent.gap", "5 event(s) missing (seq 20..24)"),
                 _health("agent.gap", "1 event(s) missing (seq 40..40)"),
                 {"device": {"vendor": "Kingston", "model": "DataTraveler", "serial": "OTHER-STICK"}},
                 {"channel": "network"}, {}):
        await fw.on_alert(await store.insert_alert(make_alert(**over)))
        clock.advance(5)
    await fw.on_alert(await store.insert_alert(make_alert(**_net("pastebin.com"))))  # a true repeat
    await fw.deliver_once(resources)
    got = [r.json() for r in receiver.requests]
    assert len(got) == 9 and all(d["unmapped"]["leakwarden"]["count"] == 1 for d in got)
    assert [d.get("dst_endpoint", {}).get("hostname") for d in got[:2]] == ["chat.openai.com", "pastebin.com"]
    clock.advance(300)
    await fw.deliver_once(resources)
    [summary] = [r.json() for r in receiver.requests[9:]]
    assert summary["dst_endpoint"]["hostname"] == "pastebin.com" and summary["unmapped"]["leakwarden"]["count"] == 2


async def test_repeats_held_in_a_window_survive_shutdown_and_crash(store: SqlStore, receiver: HttpReceiver,
                                                                   resources: Resources, clock: Clock) -> None:
    cfg = forward_config(hook(receiver), dedup={"window": "5m"})
    fw = Forwarder(cfg, store, clock=clock)
    for _ in range(3):
        await fw.on_alert(await store.insert_alert(make_alert()))
        clock.advance(1)
    await fw.deliver_once(resources)
    await fw.close()  # SIGTERM: the window's two repeats must not die with this process
    del fw
    restarted = Forwarder(cfg, store, clock=clock)
    await restarted.on_alert(await store.insert_alert(make_alert()))  # new process: no window, delivered at once
    await restarted.deliver_once(resources)
    assert [r.json()["unmapped"]["leakwarden"]["count"] for r in receiver.requests] == [1, 1]
    clock.advance(300)
    await restarted.deliver_once(resources)
    assert [r.json()["unmapped"]["leakwarden"]["count"] for r in receiver.requests] == [1, 1, 3]  # first + two repeats
    # No close at all (a crash) in the restarted process: its new window's summary is stored too.
    await restarted.on_alert(await store.insert_alert(make_alert()))
    await restarted.on_alert(await store.insert_alert(make_alert()))
    crashed_later = Forwarder(cfg, store, clock=clock)
    clock.advance(300)
    await crashed_later.deliver_once(resources)
    assert [r.json()["unmapped"]["leakwarden"]["count"] for r in receiver.requests] == [1, 1, 3, 1, 2]


async def test_rate_limit_spaces_deliveries_and_defers_beyond_the_lease(store: SqlStore, receiver: HttpReceiver,
                                                                        resources: Resources) -> None:
    cfg = forward_config(hook(receiver, rate_limit={"per_second": 20, "burst": 2}), dedup={"window": 0})
    fw = Forwarder(cfg, store)
    for i in range(10):
        await fw.on_alert(await store.insert_alert(make_alert(content_hash=f"{i:064x}")))
    started = time.monotonic()
    await fw.deliver_once(resources)
    elapsed = time.monotonic() - started
    assert len(receiver.requests) == 10 and elapsed >= (10 - 2) / 20 * 0.9
    arrivals = [r.headers["Idempotency-Key"] for r in receiver.requests]
    assert len(set(arrivals)) == 10

    slow = forward_config(hook(receiver, rate_limit={"per_second": 1, "burst": 1}), dedup={"window": 0},
                          outbox={"lease": 2})
    fw2 = Forwarder(slow, store)
    for i in range(4):
        await fw2.on_alert(await store.insert_alert(make_alert(content_hash=f"{100 + i:064x}")))
    await fw2.deliver_once(resources)
    pending = await store.outbox_list("pending", 10)
    assert len(receiver.requests) == 12 and len(pending) == 2  # one now, one after 1 s, two handed back
    assert all(p.last_error == "deferred: destination rate limit" and p.next_attempt_at > time.time()
               for p in pending)
    assert [p.attempts for p in pending] == [0, 0]  # handed back untried: no attempt counted


async def test_row_for_a_removed_destination_is_dead_with_a_reason(store: SqlStore, receiver: HttpReceiver,
                                                                   resources: Resources, clock: Clock) -> None:
    fw = Forwarder(forward_config(hook(receiver)), store, clock=clock)
    await fw.on_alert(await store.insert_alert(make_alert()))
    other = Forwarder(forward_config({"mail": {"type": "webhook", "url": receiver.url("/x")}}), store, clock=clock)
    await other.deliver_once(resources)  # a process whose config no longer has "siem"
    [item] = await store.outbox_list(None, 10)
    assert item.status == "dead" and item.last_error == "destination 'siem' is not configured"


class FailingOnce:
    """Fault injection (a real store cannot be made to fail on cue): the first enqueue raises."""

    def __init__(self, store: SqlStore) -> None:
        self.store, self.failed = store, False

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    async def outbox_enqueue(self, items: list) -> int:
        if not self.failed:
            self.failed = True
            from leakwarden.errors import StoreError
            raise StoreError("database is locked")
        return await self.store.outbox_enqueue(items)


async def test_store_failure_at_enqueue_loses_nothing(sqlite_store: SqlStore, receiver: HttpReceiver,
                                                      resources: Resources, clock: Clock) -> None:
    flaky = FailingOnce(sqlite_store)
    fw = Forwarder(forward_config(hook(receiver)), flaky, clock=clock)  # type: ignore[arg-type]
    await fw.on_alert(await sqlite_store.insert_alert(make_alert()))  # the listener does not raise
    assert await sqlite_store.outbox_list(None, 10) == []
    assert await fw.flush() == 1  # the worker's next round stores the held row
    await fw.deliver_once(resources)
    assert len(receiver.requests) == 1
