"""Typed application keys of forwarding (the collector's own keys are in ``server/keys.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from server.forward.config import ForwardConfig
    from server.forward.outbox import Forwarder
    from server.forward.sla import SlaWatcher

FORWARD_CONFIG: web.AppKey["ForwardConfig"] = web.AppKey("forward_config")
FORWARDER: web.AppKey["Forwarder"] = web.AppKey("forwarder")
SLA: web.AppKey["SlaWatcher"] = web.AppKey("sla_watcher")
