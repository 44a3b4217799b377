"""Calling the alert listeners (``keys.ALERT_LISTENERS``) after an alert is stored or its level rose."""

from __future__ import annotations

import logging

from aiohttp import web

from server.keys import ALERT_LISTENERS, METRICS
from server.store.interface import Alert

log = logging.getLogger("leakwarden.server.notify")


async def notify(app: web.Application, alerts: list[Alert]) -> None:
    """Best effort, after the commit: a failing listener is logged and never fails ingest."""
    metrics = app[METRICS]
    for alert in alerts:
        metrics.alerts.inc(alert.level)
        for listener in app[ALERT_LISTENERS]:
            try:
                await listener(alert)
            except Exception:  # noqa: BLE001  # a listener's bug must not lose the batch
                log.exception("alert listener failed", extra={"alert_id": alert.id,
                                                              "listener": getattr(listener, "__qualname__", "?")})
