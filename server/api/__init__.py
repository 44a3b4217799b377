"""The collector's JSON API under /api/v1: one module per resource, routes registered explicitly."""

from __future__ import annotations

from aiohttp import web

from server.api import agents, alerts, auth, devices, events, incidents, openapi, review, users


def setup_routes(app: web.Application) -> None:
    for module in (auth, agents, events, alerts, incidents, devices, users, review, openapi):
        app.router.add_routes(module.routes)
