"""Who is signed in: the session cookie, resolved through the collector's sessions.

The cookie holds the same kind of session token the API hands out at
``POST /api/v1/auth/login``; only its hash is stored. Expiry is the store's
``expires_at``; an expired or revoked session sends the browser to the login page
with a notice. Every handler states what it needs with :func:`require`.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

from aiohttp import web

from server import auth
from server.dashboard.render import error_page
from server.dashboard.security import SESSION_COOKIE
from server.dashboard.state import VIEWER, Viewer
from server.keys import STORE


class PageError(Exception):
    """Stop a handler and answer with this response (login redirect, 403 page)."""

    def __init__(self, response: web.StreamResponse) -> None:
        self.response = response


def safe_next(target: str | None) -> str:
    """Only local paths: a login link must not become an open redirect."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


#: routes that answer htmx with a piece of a page: never somewhere to send a person back to
FRAGMENT_ROUTES = frozenset({"dash.alerts_live"})


def _is_page(app: web.Application, path: str) -> bool:
    """Whether a GET of ``path`` shows a whole dashboard page (not a fragment, a POST-only action
    or an asset)."""
    for resource in app.router.resources():
        info = resource.get_info()
        pattern = info.get("pattern")
        if info.get("path") == path or (pattern is not None and pattern.fullmatch(path)):
            if (resource.name or "").startswith("dash.") and resource.name not in FRAGMENT_ROUTES and any(
                    route.method in ("GET", "*") for route in resource):
                return True
    return False


def return_to(request: web.Request) -> str:
    """The page to come back to after signing in: for htmx, the page in the address bar
    (``HX-Current-URL``, same origin only), not the fragment it polled; else this URL if it is a
    page one can GET; otherwise the overview."""
    if request.headers.get("HX-Request") == "true":
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        if current.scheme not in ("http", "https") or current.netloc != request.host:
            return "/"
        target = safe_next(urlunsplit(("", "", current.path, current.query, "")))
    elif request.method not in ("GET", "HEAD"):
        return "/"
    else:
        target = safe_next(str(request.rel_url))
    return target if _is_page(request.app, urlsplit(target).path) else "/"


def _to_login(request: web.Request, expired: bool) -> web.StreamResponse:
    target = "/login?next=" + quote(return_to(request), safe="")
    if expired:
        target += "&expired=1"
    if request.headers.get("HX-Request") == "true":
        # htmx follows this header with a full navigation instead of swapping the login page in
        response = web.Response(status=401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


async def current(request: web.Request) -> Viewer | None:
    """The signed-in person, or None (no cookie, unknown, expired or disabled)."""
    if VIEWER in request:
        return request[VIEWER]
    viewer: Viewer | None = None
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        user = await auth.user_for_token(request.app[STORE], token)
        if user is not None:
            viewer = Viewer(user.id, user.username, user.role)
    request[VIEWER] = viewer
    return viewer


async def require(request: web.Request, *, write: bool = False) -> Viewer:
    """The signed-in person, or stop with a login redirect; ``write`` also refuses viewers (403)."""
    viewer = await current(request)
    if viewer is None:
        raise PageError(_to_login(request, expired=SESSION_COOKIE in request.cookies))
    if write and not viewer.can_write:
        raise PageError(error_page(request, 403, "forbidden"))
    return viewer


@web.middleware
async def page_errors(request: web.Request, handler):  # type: ignore[no-untyped-def]
    try:
        return await handler(request)
    except PageError as stop:
        return stop.response
