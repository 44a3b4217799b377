"""Typed application keys: the collector's shared objects, one place to find them.

Other areas read these from the app: the dashboard (``STORE``, ``CONFIG``),
the forwarders (``STORE``, ``ALERT_LISTENERS``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from server.store.interface import Agent, Alert, Store, User

if TYPE_CHECKING:
    from server.api.review import ReviewService
    from server.config import ServerConfig
    from server.metrics import Metrics
    from server.ratelimit import RateLimiter

AlertListener = Callable[[Alert], Awaitable[None]]
#: renders more Prometheus text lines for /metrics (the forwarding area registers one)
MetricSource = Callable[[], Awaitable[list[str]]]

CONFIG: web.AppKey["ServerConfig"] = web.AppKey("config")
STORE: web.AppKey["Store"] = web.AppKey("store")
METRICS: web.AppKey["Metrics"] = web.AppKey("metrics")
#: async callables awaited after an alert is created or its level rises
#: (the forwarding engineer appends its enqueue function here in ``forward.setup``)
ALERT_LISTENERS: web.AppKey[list[AlertListener]] = web.AppKey("alert_listeners")
METRIC_SOURCES: web.AppKey[list[MetricSource]] = web.AppKey("metric_sources")
INGEST_LIMITER: web.AppKey["RateLimiter"] = web.AppKey("ingest_limiter")
LOGIN_LIMITER: web.AppKey["RateLimiter"] = web.AppKey("login_limiter")
#: the pre-publication review service (it builds its scanner on first use: the detectors take a while)
SCANNER: web.AppKey["ReviewService"] = web.AppKey("scanner")

# per-request: who is calling (set by the access middleware)
USER: web.RequestKey["User"] = web.RequestKey("user")
AGENT: web.RequestKey["Agent"] = web.RequestKey("agent")
TOKEN: web.RequestKey[str] = web.RequestKey("token")
