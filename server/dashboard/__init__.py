"""The analysts' dashboard: server-rendered pages (Jinja2 + htmx) served by the collector.

``create_app`` calls :func:`setup` once; it registers the dashboard's routes
(all named ``dash.*``) under ``/`` and its assets under ``/static/``, plus the
middlewares: security headers and CSRF for dashboard routes, and the
login-redirect handling. See docs/dashboard.md.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from server.dashboard.render import build_environment
from server.dashboard.security import security_middleware
from server.dashboard.session import page_errors
from server.dashboard.settings import parse as parse_settings
from server.dashboard.state import DASHBOARD, DashboardState
from server.dashboard.views import alerts, auth, language, pages, review
from server.keys import CONFIG

STATIC_DIR = Path(__file__).parent / "static"


#: explicit registry of the dashboard's route tables
ROUTE_TABLES = (auth.routes, language.routes, pages.routes, alerts.routes, review.routes)


def setup(app: web.Application) -> None:
    config = app[CONFIG]
    settings = parse_settings(getattr(config, "dashboard", None), config.source)  # ConfigError at start
    app[DASHBOARD] = DashboardState(env=build_environment(), tz=settings.tz, page_size=settings.page_size)
    app.middlewares.append(security_middleware)
    app.middlewares.append(page_errors)
    app.middlewares.append(language.user_language)
    for table in ROUTE_TABLES:
        app.router.add_routes(table)
    app.router.add_static("/static/", STATIC_DIR, name="dash.static", append_version=False)


__all__ = ["DASHBOARD", "setup"]
