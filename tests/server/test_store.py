"""The store itself, on both backends: outbox, SLA/escalation, retention, migrations, concurrency."""

from __future__ import annotations

import asyncio
import time

from server.config import default_config
from server.ingest import new_alert
from server.grading import Grade
from server.store import make_store
from server.store.interface import Incident, OutboxItem
from server.store.sql import SqlStore


def alert(now: float, level: str = "high", **kw: object):  # type: ignore[no-untyped-def]
    a = new_alert(now=now, kind="file.write", title="t", grade=Grade(score=60, level=level, explanation=[]),
                  sla={"low": 400, "medium": 300, "high": 200, "critical": 100}, host="pc", user="u",
                  detectors=["pii.email"])
    for k, v in kw.items():
        setattr(a, k, v)
    return a


async def test_migrations_are_versioned_and_idempotent(store: SqlStore) -> None:
    assert await store.schema_version() >= 1
    await store.migrate()  # again: nothing to do, nothing breaks
    assert await store.schema_version() >= 1


async def test_outbox_enqueue_claim_deliver_fail_retry(store: SqlStore) -> None:
    now = time.time()
    items = [OutboxItem(id=None, key=f"k{i}", destination="webhook", alert_id=None, payload={"i": i},
                        next_attempt_at=now, created_at=now) for i in range(3)]
    assert await store.outbox_enqueue(items) == 3
    assert await store.outbox_enqueue(items[:1]) == 0  # same idempotency key: ignored
    claimed = await store.outbox_claim(now, limit=2, lease=30, worker="w1")
    assert [c.key for c in claimed] == ["k0", "k1"] and all(c.attempts == 1 for c in claimed)
    # leased items are not handed out twice
    again = await store.outbox_claim(now, limit=10, lease=30, worker="w2")
    assert [c.key for c in again] == ["k2"]
    await store.outbox_delivered(claimed[0].id, now)
    await store.outbox_failed(claimed[1].id, "HTTP 503", now + 60, now)
    await store.outbox_failed(again[0].id, "HTTP 400", None, now)
    assert await store.outbox_claim(now + 1, 10, 30, "w1") == []  # k1 waits for its retry time
    due = await store.outbox_claim(now + 61, 10, 30, "w1")
    assert [d.key for d in due] == ["k1"] and due[0].last_error == "HTTP 503"
    dead = await store.outbox_list("dead", 10)
    assert [d.key for d in dead] == ["k2"]
    assert await store.outbox_retry(dead[0].id, now) is True
    assert await store.outbox_retry(dead[0].id, now) is False
    assert (await store.outbox_depth()) == {"delivered": 1, "pending": 2}


async def test_outbox_batch_outcomes_and_release(store: SqlStore) -> None:
    now = time.time()
    await store.outbox_enqueue([OutboxItem(id=None, key=f"b{i}", destination="hook", alert_id=None, payload={},
                                           next_attempt_at=now, created_at=now) for i in range(6)])
    ids = [it.id for it in await store.outbox_claim(now, 10, 30, "w")]
    await store.outbox_delivered_many([(ids[0], now + 1), (ids[1], now + 1.5)])
    await store.outbox_failed_many([(ids[2], "HTTP 503", now + 60), (ids[3], "HTTP 403", None)], now + 1)
    await store.outbox_release([(ids[4], now + 5), (ids[5], now + 5)], "deferred: destination rate limit", now + 1)
    rows = {it.id: it for it in await store.outbox_list(None, 10)}
    assert [(rows[i].status, rows[i].attempts) for i in ids] == [
        ("delivered", 1), ("delivered", 1), ("pending", 1), ("dead", 1), ("pending", 0), ("pending", 0)]
    assert (rows[ids[0]].delivered_at, rows[ids[1]].delivered_at) == (now + 1, now + 1.5)
    assert rows[ids[2]].next_attempt_at == now + 60
    assert rows[ids[3]].last_error == "HTTP 403" and rows[ids[4]].last_error == "deferred: destination rate limit"
    # released rows are due again at their time, not before; the retried one after its backoff
    assert await store.outbox_claim(now + 2, 10, 30, "w") == []
    assert sorted(it.id for it in await store.outbox_claim(now + 6, 10, 30, "w")) == ids[4:]
    await store.outbox_delivered_many([])
    await store.outbox_failed_many([], now)
    await store.outbox_release([], None, now)


async def test_concurrent_claims_never_share_an_item(config) -> None:  # type: ignore[no-untyped-def]
    stores = [make_store(config) for _ in range(3)]  # like three collector processes
    for s in stores:
        await s.open()
    try:
        now = time.time()
        await stores[0].outbox_enqueue([OutboxItem(id=None, key=f"c{i}", destination="d", alert_id=None,
                                                   payload={}, next_attempt_at=now, created_at=now)
                                        for i in range(60)])
        results = await asyncio.gather(*(s.outbox_claim(now, 7, 30, f"w{i}") for i in range(3)
                                         for s in stores))
        keys = [it.key for r in results for it in r]
        assert len(keys) == len(set(keys)) == 60
    finally:
        for s in stores:
            await s.close()


async def test_overdue_and_escalation(store: SqlStore) -> None:
    now = time.time()
    a = await store.insert_alert(alert(now - 1000))  # deadline now - 800: overdue
    b = await store.insert_alert(alert(now))  # deadline in the future
    c = await store.insert_alert(alert(now - 1000, status="resolved"))  # closed: never overdue
    overdue = await store.list_overdue(now)
    assert [x.id for x in overdue] == [a.id]
    assert b.id not in [x.id for x in overdue] and c.id not in [x.id for x in overdue]
    assert await store.escalate(a.id, 1, "nobody acknowledged", now) is True
    assert await store.escalate(a.id, 1, "again", now) is False  # never twice to the same level
    got = await store.get_alert(a.id)
    assert got is not None and got.escalation_level == 1
    trail = await store.list_audit(target_type="alert", target_id=str(a.id))
    assert [(e.action, e.detail["escalation_level"]) for e in trail] == [("alert.escalate", 1)]


async def test_retention_purges_old_events_and_closed_alerts_only(store: SqlStore) -> None:
    from server.store.interface import EventRecord
    now = time.time()
    old, new = now - 100 * 86400, now
    await store.insert_events([EventRecord(id=f"00000000-0000-4000-8000-00000000000{i}", agent_id="a", seq=i,
                                           time=t, received_at=t, kind="file.write", channel="local", host="h",
                                           user=None, path=None, content_hash=None, device_key=None, data={})
                               for i, t in enumerate([old, old, new])])
    keep_open = await store.insert_alert(alert(old, updated_at=old))
    purge = await store.insert_alert(alert(old, status="resolved", updated_at=old))
    keep_new = await store.insert_alert(alert(new, status="resolved"))
    # what hangs off alerts: an incident still pointed to, an orphaned old one, a recent one
    linked = await store.insert_incident(incident(old))
    keep_open.incident_id = linked.id
    await store.update_alert(keep_open)
    orphan = await store.insert_incident(incident(old))
    recent = await store.insert_incident(incident(new))
    await store.outbox_enqueue([OutboxItem(id=None, key=k, destination="hook", alert_id=None, payload={"p": k},
                                           next_attempt_at=t, created_at=t)
                                for k, t in (("old-sent", old), ("old-dead", old), ("old-pending", old),
                                             ("new-sent", new))])
    for it in await store.outbox_claim(now, 10, 30, "w"):
        if it.key in ("old-sent", "new-sent"):
            await store.outbox_delivered(it.id, now)
        elif it.key == "old-dead":
            await store.outbox_failed(it.id, "HTTP 400", None, now)
        else:
            await store.outbox_failed(it.id, "HTTP 503", now + 60, now)
    await store.add_review("root", "ab" * 32, "clean", 0, 10, old)
    await store.add_review("root", "cd" * 32, "clean", 0, 10, new)
    done = await store.purge_before(events_before=now - 90 * 86400, alerts_before=now - 30 * 86400, batch=1)
    assert done == {"events": 2, "alerts": 1, "outbox": 2, "incidents": 1, "reviews": 1}
    assert await store.count_events() == 1
    assert await store.get_alert(purge.id) is None
    assert await store.get_alert(keep_open.id) is not None and await store.get_alert(keep_new.id) is not None
    assert await store.get_incident(orphan.id) is None
    assert await store.get_incident(linked.id) is not None and await store.get_incident(recent.id) is not None
    assert sorted(it.key for it in await store.outbox_page()) == ["new-sent", "old-pending"]  # undelivered stays


def incident(updated: float, status: str = "open", content_hash: str | None = None,
             device_key: str | None = None) -> Incident:
    return Incident(id=0, created_at=updated, updated_at=updated, host="pc", user="u", content_hash=content_hash,
                    device_key=device_key, score=50, level="medium", status=status, alert_count=1, steps=[],
                    explanation=[])


async def test_one_enroll_token_cannot_be_used_twice_concurrently(store: SqlStore) -> None:
    from server.store.interface import EnrollToken
    now = time.time()
    await store.create_enroll_token(EnrollToken(id="t1", token_hash="h1", created_at=now, expires_at=now + 60,
                                                created_by="test"))
    wins = await asyncio.gather(*(store.consume_enroll_token("h1", f"agent{i}", now) for i in range(5)))
    assert sum(wins) == 1


async def test_transaction_rolls_back_everything_on_error(store: SqlStore) -> None:
    now = time.time()
    try:
        async with store.transaction() as tx:
            await tx.insert_alert(alert(now))
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert (await store.list_alerts(__import__("server.store.interface", fromlist=["AlertFilter"])
                                    .AlertFilter())).items == []


def test_postgres_url_selects_asyncpg_backend() -> None:
    assert make_store(default_config(database="postgresql://x@127.0.0.1/db")).dialect == "postgresql"
    assert make_store(default_config()).dialect == "sqlite"


async def _seeded(store: SqlStore, now: float) -> list:  # type: ignore[type-arg]
    """60 alerts over levels, statuses, hosts and days, with many equal scores (ties break by id)."""
    import random
    rng = random.Random(5)
    out = []
    for i in range(60):
        level = ("low", "medium", "high", "critical")[i % 4]
        a = alert(now - (i % 7) * 86400 - 10, level, score=rng.choice([10, 40, 40, 60, 85]),
                  status=("new", "acknowledged", "resolved")[i % 3], host=f"pc-{i % 5}", user=f"u{i % 4}",
                  detectors=[("pii.email", "secret.jwt", "pii.cn_mobile")[i % 3]])
        out.append(await store.insert_alert(a))
    return out


async def test_risk_order_is_strict_across_pages(store: SqlStore) -> None:
    from server.store.interface import AlertFilter
    now = time.time()
    alerts = await _seeded(store, now)
    cases = [
        (AlertFilter(), lambda a: True),
        (AlertFilter(status=["new", "acknowledged"]), lambda a: a.status in ("new", "acknowledged")),
        (AlertFilter(level=["high", "critical"], status=["new"]), lambda a: a.level in ("high", "critical")
         and a.status == "new"),
        (AlertFilter(detector="pii.*"), lambda a: a.detectors[0].startswith("pii.")),
        (AlertFilter(host="pc-2"), lambda a: a.host == "pc-2"),
        (AlertFilter(since=now - 3 * 86400), lambda a: a.time >= now - 3 * 86400),
    ]
    for flt, keep in cases:
        expected = [a.id for a in sorted((a for a in alerts if keep(a)), key=lambda a: (-a.score, -a.id))]
        got, score, before = [], None, None
        while True:
            page = await store.list_alerts(AlertFilter(**{**{k: getattr(flt, k) for k in flt.__slots__},
                                                          "order": "risk", "limit": 7, "before_score": score,
                                                          "before_id": before}))
            got += [a.id for a in page.items]
            if page.next_cursor is None:
                break
            score, before = page.next_score, page.next_cursor
        assert got == expected, flt


async def test_exact_counts_and_overview_aggregates(store: SqlStore) -> None:
    from collections import Counter

    from server.store.interface import OPEN_STATUSES, AlertFilter
    now = time.time()
    alerts = await _seeded(store, now)
    open_ = [a for a in alerts if a.status in OPEN_STATUSES]
    assert await store.count_alerts(AlertFilter(status=list(OPEN_STATUSES))) == len(open_)
    assert await store.count_alerts(AlertFilter(detector="secret.jwt", host="pc-1")) == sum(
        1 for a in alerts if a.detectors == ["secret.jwt"] and a.host == "pc-1")
    assert await store.count_alerts_grouped(AlertFilter(status=list(OPEN_STATUSES)), "level") == dict(
        Counter(a.level for a in open_))
    start = now - now % 86400 - 13 * 86400
    days = await store.alerts_per_day(AlertFilter(), start=start, days=14)
    for level in ("low", "medium", "high", "critical"):
        assert days[level] == [sum(1 for a in alerts if a.level == level and int((a.time - start) // 86400) == i)
                               for i in range(14)]
    assert await store.top_alert_values(AlertFilter(), "host", 2) == sorted(
        Counter(a.host for a in alerts).items(), key=lambda kv: (-kv[1], kv[0]))[:2]
    assert await store.top_alert_values(AlertFilter(level=["high"]), "detector", 8) == sorted(
        Counter(a.detectors[0] for a in alerts if a.level == "high").items(), key=lambda kv: (-kv[1], kv[0]))


async def test_overdue_can_skip_escalated_alerts(store: SqlStore) -> None:
    now = time.time()
    first = await store.insert_alert(alert(now - 1000))
    second = await store.insert_alert(alert(now - 900))
    worked = await store.insert_alert(alert(now - 950, status="in_progress"))
    await store.escalate(first.id, 1, "overdue", now)
    assert [a.id for a in await store.list_overdue(now)] == [first.id, worked.id, second.id]
    assert [a.id for a in await store.list_overdue(now, statuses=("new",), escalated=False)] == [second.id]
    assert [a.id for a in await store.list_overdue(now, escalated=True)] == [first.id]
    assert [a.id for a in await store.list_overdue(now, limit=1)] == [first.id]


async def test_repetition_count_looks_at_recent_alerts_of_the_person(store: SqlStore) -> None:
    now = time.time()
    await store.insert_alert(alert(now - 10, content_hash="h1", detectors=["pii.email"]))
    await store.insert_alert(alert(now - 10, content_hash="h2", detectors=["secret.aws_access_key", "pii.email"]))
    await store.insert_alert(alert(now - 5000, content_hash="h1"))  # outside the window
    await store.insert_alert(alert(now - 10, content_hash="h1", user="someone-else"))

    async def count(**kw: object) -> int:
        args = {"since": now - 3600, "host": "pc", "user": "u", "content_hash": None, "detectors": []} | kw
        return await store.count_recent_alerts(**args)  # type: ignore[arg-type]

    assert await count(content_hash="h1") == 1
    assert await count(detectors=["secret.aws_access_key"]) == 1
    assert await count(detectors=["pii.email"]) == 2
    assert await count(content_hash="h1", detectors=["secret.aws_access_key"]) == 2  # either reason, once each
    assert await count(content_hash="nope", detectors=["pii.iban"]) == 0
    assert await count() == 0
    assert await count(user=None, host="pc", content_hash="h1") == 2  # by host when the user is unknown


async def test_open_incident_keys_finds_only_open_recent_incidents(store: SqlStore) -> None:
    now = time.time()
    await store.insert_incident(incident(now, content_hash="c-open"))
    await store.insert_incident(incident(now, content_hash="c-open"))  # two incidents, one key in the answer
    await store.insert_incident(incident(now, status="closed", content_hash="c-closed"))
    await store.insert_incident(incident(now - 10_000, content_hash="c-old"))
    await store.insert_incident(incident(now, device_key="usb:1"))
    keys = await store.open_incident_keys(content_hashes=["c-open", "c-closed", "c-old", "c-none", "c-open"],
                                          device_keys=["usb:1", "usb:2"], since=now - 3600)
    assert keys == {"c-open", "usb:1"}
    assert await store.open_incident_keys(content_hashes=[], device_keys=[], since=now) == set()
