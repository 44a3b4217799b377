"""The durable outbox: enqueue per destination, deliver at least once, retry, dead-letter.

An alert becomes one outbox row per destination, written with an idempotency
key that is stable across retries, listener re-runs and collector processes
(the store ignores a key it already has). Workers claim rows with a lease
(PostgreSQL: ``FOR UPDATE SKIP LOCKED``), deliver, and mark them delivered or
failed with exponential backoff; after ``max_attempts`` tries, or at once for
a permanent refusal (HTTP 4xx, SMTP 5xx), the row is dead: admins list and
retry dead rows through ``/api/v1/outbox``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from leakwarden.errors import DeliveryError, StoreError
from server.forward.alert import AlertView
from server.forward.config import DestinationConfig, ForwardConfig
from server.forward.dedup import Dedup, Fold
from server.forward.destination import Delivery, Resources, Sender
from server.forward.redaction import Scrubber
from server.forward.router import Route, Router
from server.forward.templates import Message
from server.forward.transport import RetryLater
from server.store.interface import OutboxItem, Store

log = logging.getLogger("leakwarden.server.forward")

Clock = Callable[[], float]
LANES = 2  # concurrent claim/deliver loops of one worker
MAX_HELD = 100_000  # outbox rows kept in memory while the store is failing
RATE_LIMITED = "deferred: destination rate limit"


def idempotency_key(destination: str, alert_id: str, reason: str) -> str:
    """Stable for one (destination, alert, reason): every retry and every process computes the same."""
    return hashlib.sha256(f"{destination}\x1f{alert_id}\x1f{reason}".encode()).hexdigest()[:40]


class TokenBucket:
    def __init__(self, per_second: float, burst: int, now: float) -> None:
        self.rate = per_second
        self.burst = float(burst)
        self.tokens = float(burst)
        self.at = now

    def reserve(self, now: float) -> float:
        """Take a token, possibly on credit; return how long to wait before using it."""
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def refund(self) -> None:
        self.tokens += 1


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one delivery attempt did, recorded with the rest of its batch."""

    item_id: int
    at: float
    delivered: bool = False
    error: str | None = None
    next_attempt_at: float | None = None  # None with an error: dead
    released: bool = False  # handed back untried (rate limit): not an attempt


@dataclass(slots=True)
class Stats:
    enqueued: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    deferred: int = 0
    folded: int = 0  # repeats folded by deduplication
    escalated: int = 0
    #: destination -> outcome (delivered, failed, dead, deferred) -> count, since this process started
    by_destination: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, destination: str, outcome: str) -> None:
        per = self.by_destination.setdefault(destination, {})
        per[outcome] = per.get(outcome, 0) + 1


class Forwarder:
    """Turns alerts into outbox rows and delivers them (one per collector process)."""

    def __init__(self, config: ForwardConfig, store: Store, *, public_url: str | None = None,
                 clock: Clock = time.time, scrubber: Scrubber | None = None) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.public_url = public_url.rstrip("/") if public_url else None
        self.router: Router = config.router
        self.destinations: dict[str, DestinationConfig] = dict(config.destinations)
        self.dedup = Dedup(config.dedup_window)
        self.scrubber = scrubber if scrubber is not None else Scrubber()
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stats = Stats()
        self._senders: dict[str, Sender] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._wake = asyncio.Event()
        self._inflight: asyncio.Semaphore | None = None
        self._held: list[OutboxItem] = []

    # -- enqueue ---------------------------------------------------------------------------
    def view(self, alert: Any) -> AlertView:
        v = self.scrubber.scrub_alert(AlertView.from_alert(alert))
        if self.public_url:
            v = v.with_(url=f"{self.public_url}/alerts/{v.id}")
        return v

    async def on_alert(self, alert: Any) -> None:
        """The ALERT_LISTENERS callable: an alert was created or its level rose."""
        if not self.config.enabled or not self.router.routes:
            return
        v = self.view(alert)
        now = self.clock()
        fold = self.dedup.observe(v, now)
        if fold is not None:
            if await self._fold(fold, now):
                self.stats.folded += 1
                return
            # The window's summary was already claimed or sent, or the store failed: this repeat is
            # delivered on its own (at least once, never lost) and opens a new window.
            self.dedup.start(v, now)
        await self.enqueue(v, self.router.match(v, now), reason=f"level:{v.level}", now=now)

    async def _fold(self, fold: Fold, now: float) -> bool:
        """Store (or rewrite) the window's summary rows, due when it closes; True if every row was written."""
        items = self.items(fold.summary, self.router.match(fold.summary, now), fold.reason, now)
        for it in items:
            it.next_attempt_at = fold.due
        if not items:
            return True
        try:
            written = await self.store.outbox_fold(items, now)
        except StoreError as e:
            log.error("forward: storing a repeat summary failed (%s); the repeat is forwarded on its own", e)
            return False
        return len(written) == len(items)

    def items(self, alert: AlertView, routes: Iterable[Route], reason: str, now: float) -> list[OutboxItem]:
        """The outbox rows for one alert: payloads built (pure) and checked for raw values."""
        out: list[OutboxItem] = []
        messages: dict[str, Message] = {}  # a route's templates render once for all its destinations
        for dest_name, route in Router.deliveries(list(routes)):
            dest = self.destinations[dest_name]
            key = idempotency_key(dest_name, alert.id, reason)
            message = messages.get(route.name) or messages.setdefault(route.name, route.template.render(alert))
            payload = self.scrubber.scrub(dest.type.build(dest.settings, alert, message, key))
            out.append(OutboxItem(id=None, key=key, destination=dest_name,
                                  alert_id=int(alert.id) if alert.id.isdigit() else None,
                                  payload=payload, next_attempt_at=now, created_at=now))
        return out

    async def enqueue(self, alert: AlertView, routes: Iterable[Route], *, reason: str, now: float,
                      store: Store | None = None) -> int:
        items = self.items(alert, routes, reason, now)
        if not items:
            return 0
        if store is not None:  # inside the caller's transaction: its failure is the caller's
            n = await store.outbox_enqueue(items)
        else:
            n = await self._store_or_hold(items)
        self.stats.enqueued += n
        self.wake()
        return n

    async def _store_or_hold(self, items: list[OutboxItem]) -> int:
        """The listener runs after the ingest commit: if the store fails now, the rows are held
        in memory and stored by the worker's next round instead of being lost with the error."""
        try:
            return await self.store.outbox_enqueue(items)
        except StoreError as e:
            room = MAX_HELD - len(self._held)
            self._held.extend(items[:room])
            log.error("forward: outbox enqueue failed (%s); %d row(s) held for retry, %d dropped",
                      e, min(len(items), room), max(len(items) - room, 0))
            return 0

    async def flush(self) -> int:
        """Store rows held after a store failure (returns how many were stored); forget ended
        repeat windows (their summaries are already outbox rows, due when the window closed)."""
        n = 0
        if self._held:
            held, self._held = self._held, []
            n += await self._store_or_hold(held)
        self.dedup.expire(self.clock())
        return n

    # -- deliver ---------------------------------------------------------------------------
    def sender(self, dest: DestinationConfig, resources: Resources) -> Sender:
        s = self._senders.get(dest.name)
        if s is None:
            s = self._senders[dest.name] = dest.type.sender(dest.settings, resources)
        return s

    def wake(self) -> None:
        """New work (an enqueue, an admin retry): the worker stops waiting for its poll."""
        self._wake.set()

    def backoff(self, attempts: int) -> float:
        o = self.config.outbox
        delay = min(o.backoff_max, o.backoff_initial * o.backoff_factor ** max(attempts - 1, 0))
        return delay * random.uniform(0.9, 1.1)  # jitter: retries of many rows do not stampede together

    async def deliver_once(self, resources: Resources) -> int:
        """Claim one batch, deliver it, record the outcomes; returns how many rows were claimed."""
        outcomes = await self._send_batch(resources, self.config.outbox.batch)
        await self._record(outcomes)
        return len(outcomes)

    async def _send_batch(self, resources: Resources, limit: int) -> list["_Outcome"]:
        o = self.config.outbox
        if self._inflight is None:
            self._inflight = asyncio.Semaphore(o.concurrency)
        items = await self.store.outbox_claim(self.clock(), limit, o.lease, self.worker_id)
        return list(await asyncio.gather(*(self._deliver(it, resources) for it in items)))

    async def _record(self, outcomes: list["_Outcome"]) -> None:
        """One transaction for a whole batch: one commit instead of one per row. A crash before it
        re-sends the batch after the lease (at least once; receivers dedupe by idempotency key)."""
        if not outcomes:
            return
        now = max(o.at for o in outcomes)
        delivered = [(o.item_id, o.at) for o in outcomes if o.delivered]
        released = [(o.item_id, o.next_attempt_at or now) for o in outcomes if o.released]
        failed = [(o.item_id, o.error or "", o.next_attempt_at) for o in outcomes if not o.delivered and not o.released]
        async with self.store.transaction() as tx:
            await tx.outbox_delivered_many(delivered)
            await tx.outbox_failed_many(failed, now)
            await tx.outbox_release(released, RATE_LIMITED, now)

    async def _deliver(self, item: OutboxItem, resources: Resources) -> "_Outcome":
        assert item.id is not None and self._inflight is not None
        dest = self.destinations.get(item.destination)
        if dest is None:
            self.stats.dead += 1
            self.stats.count(item.destination, "dead")
            return _Outcome(item.id, self.clock(), error=f"destination {item.destination!r} is not configured")
        if dest.rate_limit is not None:
            bucket = self._buckets.get(dest.name)
            if bucket is None:
                bucket = self._buckets[dest.name] = TokenBucket(dest.rate_limit.per_second, dest.rate_limit.burst,
                                                                time.monotonic())
            # Real time, not the injectable clock: the wait below is a real sleep.
            wait = bucket.reserve(time.monotonic())
            if wait > self.config.outbox.lease / 2:
                # Waiting longer would outlive our lease; hand the row back for later.
                bucket.refund()
                self.stats.deferred += 1
                self.stats.count(dest.name, "deferred")
                now = self.clock()
                return _Outcome(item.id, now, released=True, next_attempt_at=now + wait)
            if wait > 0:
                await asyncio.sleep(wait)
        delivery = Delivery(key=item.key, alert_id=str(item.alert_id or ""), attempt=item.attempts)
        try:
            async with self._inflight:
                await self.sender(dest, resources).send(item.payload, delivery)
        except DeliveryError as e:
            return self._failed(item, dest, e)
        except Exception as e:  # a bug in a sender must not stop the worker; the row is retried
            log.exception("forward: %s sender crashed on %s", dest.name, item.key)
            return self._failed(item, dest, DeliveryError(f"internal error: {type(e).__name__}: {e}"))
        self.stats.delivered += 1
        self.stats.count(dest.name, "delivered")
        return _Outcome(item.id, self.clock(), delivered=True)

    def _failed(self, item: OutboxItem, dest: DestinationConfig, e: DeliveryError) -> "_Outcome":
        assert item.id is not None
        max_attempts = dest.max_attempts or self.config.outbox.max_attempts
        now = self.clock()
        if not e.retryable or item.attempts >= max_attempts:
            nxt = None
            self.stats.dead += 1
            self.stats.count(dest.name, "dead")
            log.error("forward: %s dead after %d attempt(s): %s", dest.name, item.attempts, e)
        else:
            delay = self.backoff(item.attempts)
            if isinstance(e, RetryLater) and e.retry_after is not None:
                delay = max(delay, min(e.retry_after, self.config.outbox.backoff_max))
            nxt = now + delay
            self.stats.retried += 1
            self.stats.count(dest.name, "failed")
            log.warning("forward: %s attempt %d failed, retry in %.1fs: %s", dest.name, item.attempts, delay, e)
        return _Outcome(item.id, now, error=f"attempt {item.attempts}: {e}", next_attempt_at=nxt)

    async def run(self, resources: Resources) -> None:
        """The worker: two lanes claim and deliver half-batches, so one lane's slow tail (the
        last rows of a batch) never leaves the connection pool idle."""
        await asyncio.gather(*(self._lane(resources, first=i == 0) for i in range(LANES)))

    async def _lane(self, resources: Resources, *, first: bool) -> None:
        """Deliver while there is work, otherwise sleep until woken or polled. Recording a
        batch's outcomes overlaps with claiming and sending the next (the rows being
        recorded are still leased, so no one claims them twice meanwhile)."""
        poll = self.config.outbox.poll_interval
        recording: asyncio.Task[None] | None = None
        try:
            while True:
                try:
                    outcomes = await self._send_batch(resources, max(1, self.config.outbox.batch // LANES))
                    if recording is not None:
                        await asyncio.shield(recording)
                        recording = None
                    if outcomes:
                        recording = asyncio.create_task(self._record(outcomes))
                    if first:
                        await self.flush()
                except asyncio.CancelledError:
                    raise
                except Exception:  # the store may be briefly unavailable; keep the worker alive
                    log.exception("forward: outbox worker iteration failed")
                    recording, outcomes = None, []
                    await asyncio.sleep(poll)
                if not outcomes:
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), poll)
                    except asyncio.TimeoutError:
                        pass
        finally:
            if recording is not None:  # shutting down: still record what was sent
                await asyncio.shield(recording)

    async def close(self) -> None:
        """Shutting down: one last try to store rows held after a store failure (the store closes
        after forwarding), then close the senders."""
        if self._held:
            try:
                await self.flush()
            except Exception:  # noqa: BLE001  # reported below with the count
                log.exception("forward: storing held rows at shutdown failed")
            if self._held:
                log.error("forward: %d outbox row(s) could not be stored before shutdown and are lost",
                          len(self._held))
        for s in self._senders.values():
            try:
                await s.close()
            except Exception:
                log.exception("forward: closing a sender failed")
        self._senders.clear()
