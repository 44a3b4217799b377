"""The dashboard's own application state and the signed-in person of a request."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import jinja2
from aiohttp import web

from server.auth import ROLE_RANK
from server.dashboard.overview import OverviewCache



@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is signed in, as the dashboard needs it (never the password hash)."""

    user_id: int
    username: str
    role: str

    @property
    def can_write(self) -> bool:
        """Analysts and admins change alerts; a viewer reads only (checked in every POST handler)."""
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK["analyst"]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(slots=True)
class DashboardState:
    env: jinja2.Environment
    tz: dt.tzinfo = dt.timezone.utc
    overview: OverviewCache = field(default_factory=OverviewCache)
    page_size: int = 50


DASHBOARD: web.AppKey[DashboardState] = web.AppKey("dashboard", DashboardState)
#: per-request memo of the signed-in person (None: nobody), filled by session.current
VIEWER: web.RequestKey[Viewer | None] = web.RequestKey("lw_viewer", object)  # type: ignore[arg-type]


def viewer_of(request: web.Request) -> Viewer | None:
    return request.get(VIEWER)
