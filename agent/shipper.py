"""Ships the spool to the collector: batches, gzip, backoff, ack-then-delete.

Runs its own asyncio loop in a thread. Events leave the spool only when the
collector lists their ids in ``BatchAck.acked``; a crash between sending and
deleting re-sends them, and the collector's idempotent ingest (by event id)
makes that exactly-once at the store.

Responses (docs/team/contracts.md): 200 ack; 429 wait ``Retry-After``; 413
halve the batch; 400/422 bisect down to the bad event and drop only it
(counted as "rejected"); 401/403 the token is no longer valid: re-enroll when
an enroll secret is configured, otherwise stay degraded ("unauthorized") and
keep spooling. Network errors and 5xx back off exponentially with equal jitter
up to ``backoff_max``; a successful send resets the backoff. New events only
wake an idle shipper: during a backoff (or a ``Retry-After``) they wait, or an
outage with files being written would turn into hundreds of attempts a second.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import aiohttp

from agent.config import CollectorConfig
from agent.enrollment import Identity, enroll_body, forget_identity, load_identity, parse_enroll_reply, save_identity
from agent.spool import Spool, SpoolUnavailable
from leakwarden import __version__
from leakwarden.errors import AuthError

log = logging.getLogger("agent.shipper")


def retry_after_seconds(value: str | None, default: float) -> float:
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return default


class Shipper:
    def __init__(
        self,
        cfg: CollectorConfig,
        spool: Spool,
        *,
        state_dir: str,
        host: str,
        set_state: Callable[[str, str | None], None],
        rng: random.Random | None = None,
    ) -> None:
        self.cfg = cfg
        self.spool = spool
        self.state_dir = state_dir
        self.host = host
        self.set_state = set_state  # ("ok"|"degraded"|"off", reason)
        self.identity: Identity | None = load_identity(state_dir)
        self.sent = 0
        self._rng = rng or random.Random()
        self._batch = cfg.batch_size
        self._failures = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None  # new events (wakes an idle shipper only)
        self._halt: asyncio.Event | None = None  # stop (ends any wait)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._draining = False

    # -- control from other threads ----------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="shipper", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        self._set(self._wake)

    def _set(self, event: asyncio.Event | None) -> None:
        loop = self._loop
        if loop is not None and event is not None:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:
                pass  # the loop already ended (stopping)

    def stop(self, drain_timeout: float = 0.0) -> None:
        """Stop; with ``drain_timeout`` first try to empty the spool for that long."""
        if drain_timeout > 0 and self._thread is not None:
            self._draining = True
            self.notify()
            deadline = time.monotonic() + drain_timeout
            while time.monotonic() < deadline and self.spool.depth and self.identity is not None and self._failures == 0:
                time.sleep(0.05)
        self._stop.set()
        self._set(self._halt)
        self.notify()
        if self._thread is not None:
            self._thread.join(timeout=10)

    # -- the loop ----------------------------------------------------------
    def _run(self) -> None:
        asyncio.run(self._main())

    def _ssl(self) -> ssl.SSLContext | bool:
        if self.cfg.url and self.cfg.url.startswith("https://"):
            if not self.cfg.tls_verify:
                log.warning("TLS verification disabled by collector.tls_verify=false", extra={"ctx": {}})
                return False
            return ssl.create_default_context(cafile=self.cfg.ca_file)
        return True

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._halt = asyncio.Event()
        if self._stop.is_set():
            return
        if not self.cfg.url:
            self.set_state("off", None)  # no collector.url: events stay in the spool
            while not self._stop.is_set():
                await self._sleep(3600)
            return
        timeout = aiohttp.ClientTimeout(total=self.cfg.timeout)
        connector = aiohttp.TCPConnector(ssl=self._ssl(), limit=2)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            while not self._stop.is_set():
                delay = await self._step(session)
                if delay:
                    # After a failure only stop() ends the wait early, never new events.
                    await self._sleep(delay, wakeable=self._failures == 0)

    async def _sleep(self, seconds: float, *, wakeable: bool = True) -> None:
        assert self._wake is not None and self._halt is not None
        self._wake.clear()
        try:
            await asyncio.wait_for((self._wake if wakeable else self._halt).wait(), timeout=seconds)
        except TimeoutError:
            pass

    def _backoff(self) -> float:
        self._failures += 1
        cap = min(self.cfg.backoff_max, self.cfg.backoff_initial * 2 ** min(self._failures - 1, 30))
        return self._rng.uniform(cap / 2, cap)  # "equal jitter": never hammer, never stall at 0

    async def _step(self, session: aiohttp.ClientSession) -> float:
        if self.identity is None:
            return await self._enroll(session)
        batch = self.spool.peek(self._batch)
        if not batch:
            return 1.0
        return await self._send(session, batch)

    async def _enroll(self, session: aiohttp.ClientSession) -> float:
        if not (self.cfg.enroll_secret or self.cfg.enroll_token):
            self.set_state("degraded", "not enrolled and no collector.enroll_secret or enroll_token configured")
            return max(60.0, self._backoff())
        url = self.cfg.url.rstrip("/") + "/api/v1/agents/enroll"  # type: ignore[union-attr]
        try:
            async with session.post(url, json=enroll_body(self.cfg.enroll_secret, self.cfg.enroll_token, self.host, __version__)) as resp:
                data = await resp.json(content_type=None) if resp.status < 500 else None
                ident = parse_enroll_reply(resp.status, data)
        except AuthError as e:
            self.set_state("degraded", f"enrollment refused: {e}")
            log.error("enrollment refused", extra={"ctx": {"error": str(e)}})
            return self._backoff()
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            self.set_state("degraded", "collector unreachable")
            delay = self._backoff()
            log.warning("enrollment failed, will retry", extra={"ctx": {"error": type(e).__name__, "retry_in_s": round(delay, 2)}})
            return delay
        save_identity(self.state_dir, ident)
        self.identity = ident
        self._failures = 0
        log.info("enrolled", extra={"ctx": {"agent_id": ident.agent_id}})
        self.set_state("ok", None)
        return 0.0

    def _body(self, batch: list, agent_id: str) -> bytes:
        return b'{"schema":1,"agent_id":' + json.dumps(agent_id).encode() + b',"events":[' + b",".join(s.body for s in batch) + b"]}"

    async def _post(self, session: aiohttp.ClientSession, batch: list) -> tuple[int, dict | None, str | None]:
        assert self.identity is not None
        body = self._body(batch, self.identity.agent_id)
        headers = {"Authorization": f"Bearer {self.identity.token}", "Content-Type": "application/json"}
        if len(body) >= self.cfg.gzip_min_bytes:
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        url = self.cfg.url.rstrip("/") + "/api/v1/events"  # type: ignore[union-attr]
        async with session.post(url, data=body, headers=headers) as resp:
            data = None
            if resp.status == 200:
                data = await resp.json(content_type=None)
            return resp.status, data, resp.headers.get("Retry-After")

    async def _send(self, session: aiohttp.ClientSession, batch: list) -> float:
        try:
            status, data, retry_after = await self._post(session, batch)
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            self.set_state("degraded", "collector unreachable")
            delay = self._backoff()
            log.warning("send failed, backing off",
                        extra={"ctx": {"error": type(e).__name__, "pending": self.spool.depth, "retry_in_s": round(delay, 2)}})
            return delay
        if status == 200 and isinstance(data, dict) and isinstance(data.get("acked"), list):
            acked = [a for a in data["acked"] if isinstance(a, str)]
            try:
                self.spool.ack(acked)
            except SpoolUnavailable as e:
                log.error("could not delete acked events", extra={"ctx": {"error": str(e)}})
                return self._backoff()
            self.sent += len(acked)
            self._failures = 0
            self._batch = min(self.cfg.batch_size, self._batch * 2)
            self.set_state("ok", None)
            return 0.0 if len(acked) else 1.0
        if status == 429:
            self.set_state("degraded", "collector rate limited")
            return retry_after_seconds(retry_after, self._backoff())
        if status == 413:
            self._batch = max(1, self._batch // 2)
            return 0.0
        if status in (400, 422):
            if len(batch) == 1:
                log.error("collector rejected an event; dropped", extra={"ctx": {"event_id": batch[0].id, "status": status}})
                self.spool.reject([batch[0].id])
                return 0.0
            self._batch = max(1, len(batch) // 2)  # bisect towards the bad event
            return 0.0
        if status in (401, 403):
            log.error("collector refused the agent token", extra={"ctx": {"status": status}})
            if self.cfg.enroll_secret:
                forget_identity(self.state_dir)
                self.identity = None
                return 0.0
            self.set_state("degraded", "unauthorized: token revoked and no enroll secret to re-enroll")
            return max(60.0, self._backoff())
        self.set_state("degraded", f"collector error HTTP {status}")
        return self._backoff()
