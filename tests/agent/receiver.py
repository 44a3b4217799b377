"""A small real collector for agent tests: the enroll + events + ack contract
(docs/team/contracts.md) on a real aiohttp server on 127.0.0.1, so the agent
is tested against HTTP, gzip and status codes for real without waiting for
server/. It stores events by id (idempotent, like the real collector) and
counts duplicates, so tests can check "exactly once".
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web

from leakwarden import wire


@dataclass
class Receiver:
    enroll_secret: str = "s3cret-enroll"
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: int = 0
    posts: int = 0
    gzip_posts: int = 0
    enrollments: int = 0
    tokens: dict[str, str] = field(default_factory=dict)  # token -> agent id
    rate_limit_next: int = 0  # answer this many posts with 429
    retry_after: str = "1"
    reject_kind: str | None = None  # 422 any batch holding an event of this kind
    raw_bodies: list[bytes] = field(default_factory=list)
    post_times: list[float] = field(default_factory=list)
    port: int = 0
    ssl_context: ssl.SSLContext | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{self.port}"

    def kinds(self) -> list[str]:
        with self._lock:
            return [e["kind"] for e in self.events.values()]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return sorted((e for e in self.events.values() if e["kind"] == kind), key=lambda e: e["seq"])

    # -- handlers -------------------------------------------------------------
    async def enroll(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("enroll_secret") != self.enroll_secret or not body.get("hostname"):
            return web.json_response({"error": "forbidden", "detail": "bad enroll secret"}, status=403)
        token = secrets.token_hex(16)
        agent_id = f"agent-{len(self.tokens) + 1}"
        with self._lock:
            self.tokens[token] = agent_id
            self.enrollments += 1
        return web.json_response({"agent_id": agent_id, "token": token, "heartbeat_interval": 60}, status=201)

    async def ingest(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        agent_id = self.tokens.get(auth.removeprefix("Bearer "))
        if agent_id is None:
            return web.json_response({"error": "unauthorized"}, status=401)
        raw = await request.read()
        if request.headers.get("Content-Encoding") == "gzip":
            self.gzip_posts += 1  # aiohttp already inflated the body, as the real collector's server does
        self.posts += 1
        self.post_times.append(time.monotonic())
        if self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            return web.json_response({"error": "rate limited"}, status=429, headers={"Retry-After": self.retry_after})
        try:
            batch = wire.decode_batch(raw)
        except msgspec.ValidationError as e:
            return web.json_response({"error": "invalid", "detail": str(e)}, status=422)
        if batch.agent_id != agent_id:
            return web.json_response({"error": "forbidden"}, status=403)
        if self.reject_kind and any(e.kind == self.reject_kind for e in batch.events):
            return web.json_response({"error": "invalid", "detail": f"events[].kind {self.reject_kind}"}, status=422)
        self.raw_bodies.append(raw)
        accepted = dup = 0
        with self._lock:
            for e in batch.events:
                if e.id in self.events:
                    dup += 1
                    self.duplicates += 1
                else:
                    accepted += 1
                    self.events[e.id] = json.loads(wire.encode(e))
        return web.json_response({"accepted": accepted, "duplicates": dup, "acked": [e.id for e in batch.events]})

    # -- life cycle -------------------------------------------------------------
    def start(self) -> "Receiver":
        if not self.port:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application(client_max_size=64 * 1024 * 1024)
            app.router.add_post("/api/v1/agents/enroll", self.enroll)
            app.router.add_post("/api/v1/events", self.ingest)
            self._runner = web.AppRunner(app)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self.ssl_context, reuse_address=True)
            loop.run_until_complete(site.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None
