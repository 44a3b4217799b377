"""Forwarding and follow-up: alerts to responders through a durable outbox; SLA escalation.

The collector's ``create_app`` calls :func:`setup` once; it registers the
alert listener, the admin routes and a cleanup context that runs the outbox
worker and the SLA loop for the life of the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from server.forward.config import ForwardConfig, load_forward_config
from server.forward.destination import Resources
from server.forward.keys import FORWARD_CONFIG, FORWARDER, SLA
from server.forward.outbox import Clock, Forwarder
from server.forward.sla import SlaWatcher
from server.keys import ALERT_LISTENERS, CONFIG, METRIC_SOURCES, STORE
from server.metrics import family

__all__ = ["setup", "load_forward_config", "ForwardConfig", "Forwarder", "SlaWatcher"]


def config_of(server_config: Any) -> ForwardConfig:
    """The validated ``forward`` section: the collector's loader passes the raw mapping through
    (``ServerConfig.forward``) and it is validated here, once, when the app is created."""
    given = getattr(server_config, "forward", None)
    if isinstance(given, ForwardConfig):
        return given
    return load_forward_config(given, str(getattr(server_config, "source", "configs/server.yaml")))


def setup(app: web.Application, *, config: ForwardConfig | None = None, clock: Clock = time.time) -> None:
    fcfg = config if config is not None else config_of(app[CONFIG])
    app[FORWARD_CONFIG] = fcfg

    async def forward_alert(alert: Any) -> None:
        fw = app.get(FORWARDER)
        if fw is not None:
            await fw.on_alert(alert)

    if ALERT_LISTENERS not in app:
        app[ALERT_LISTENERS] = []
    app[ALERT_LISTENERS].append(forward_alert)

    async def forwarding(app: web.Application) -> AsyncIterator[None]:
        fw = Forwarder(fcfg, app[STORE], public_url=getattr(app[CONFIG], "public_url", None), clock=clock)
        app[FORWARDER] = fw
        app[SLA] = SlaWatcher(app[STORE], fw, fcfg.sla, clock)
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=fcfg.outbox.concurrency))
        tasks = [asyncio.create_task(fw.run(Resources(http=session)), name="forward-outbox"),
                 asyncio.create_task(app[SLA].run(), name="forward-sla")]
        try:
            yield
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await t
            await fw.close()
            await session.close()

    async def forward_metrics() -> list[str]:
        fw = app.get(FORWARDER)
        per = fw.stats.by_destination if fw is not None else {}
        lines = family("leakwarden_forward_deliveries_total",
                       "Delivery attempts by destination and outcome (delivered, failed = will retry, dead, "
                       "deferred = rate limit), this process", "counter",
                       {(("destination", d), ("outcome", o)): n
                        for d, outcomes in per.items() for o, n in outcomes.items()})
        backlog = await app[STORE].outbox_backlog()
        lines += family("leakwarden_outbox_backlog", "Outbox rows pending or dead, by destination", "gauge",
                        {(("destination", d), ("status", st)): n for (d, st), n in backlog.items()})
        return lines

    if METRIC_SOURCES in app:
        app[METRIC_SOURCES].append(forward_metrics)
    app.cleanup_ctx.append(forwarding)
    # Imported here, not at the top: server.api imports server.config, which may import
    # server.forward.config (this package) while it is itself being imported.
    from server.forward import api

    app.router.add_routes(api.routes)
