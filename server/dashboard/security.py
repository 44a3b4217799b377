"""Browser-facing security of the dashboard: headers, CSRF, cookies.

CSRF tokens are *session-bound* and stateless: the token is an HMAC keyed by the
secret in the HttpOnly session cookie (or, before login, by a random pre-session
cookie), so a page from another origin can neither read nor compute it, and
several collector processes sharing one database agree on it without shared state.
htmx sends it in the ``X-CSRF-Token`` header, plain forms in a hidden field.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

SESSION_COOKIE = "lw_session"
PRE_COOKIE = "lw_pre"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
#: a pre-session secret minted while rendering this request (sent as a cookie with the answer)
NEW_PRE: web.RequestKey[str] = web.RequestKey("lw_new_pre", str)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: no inline script or style anywhere: every script and stylesheet is a file under /static/
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


ROUTE_PREFIX = "dash."


def is_dashboard_route(request: web.Request) -> bool:
    """Dashboard routes are named ``dash.*``; the API uses bearer tokens (no ambient cookie) instead."""
    route = request.match_info.route
    name = route.name if route is not None else None
    return bool(name and name.startswith(ROUTE_PREFIX))


def csrf_token_for(cookie_secret: str) -> str:
    return hmac.new(cookie_secret.encode(), b"leakwarden-dashboard-csrf", hashlib.sha256).hexdigest()


def cookie_secret(request: web.Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRE_COOKIE)


def csrf_token(request: web.Request) -> str:
    """The token the current page must embed (creates the pre-session secret if needed)."""
    secret = cookie_secret(request)
    if secret is None:
        secret = request.get(NEW_PRE) or secrets.token_urlsafe(32)
        request[NEW_PRE] = secret
    return csrf_token_for(secret)


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str,
               max_age: int | None = None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, samesite="Strict",
        secure=request.secure,
    )


async def _csrf_ok(request: web.Request) -> bool:
    secret = cookie_secret(request)
    if secret is None:
        return False
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if request.content_type == "multipart/form-data":
            # multipart bodies (uploads) carry the token in the header or the query string;
            # reading the body here would consume the upload stream
            sent = request.query.get(CSRF_FIELD)
        else:
            sent = (await request.post()).get(CSRF_FIELD)  # cached by aiohttp for the handler
    if not isinstance(sent, str):
        return False
    return hmac.compare_digest(sent, csrf_token_for(secret))


@web.middleware
async def security_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """CSRF check for state-changing dashboard requests; security headers on every answer."""
    try:
        if request.method not in SAFE_METHODS and is_dashboard_route(request):
            from server.dashboard.render import error_page  # late: render imports this module

            try:
                ok = await _csrf_ok(request)
            except (UnicodeDecodeError, ValueError, HttpProcessingError):
                # a form body that does not decode (not UTF-8, broken encoding) is the sender's error
                response: web.StreamResponse = error_page(request, 400, "bad_request")
            else:
                response = error_page(request, 403, "csrf") if not ok else await handler(request)
        else:
            response = await handler(request)
    except web.HTTPException as exc:
        for name, value in SECURITY_HEADERS.items():
            exc.headers.setdefault(name, value)
        raise
    if response.prepared:  # a streamed answer (CSV export) sent its own headers already
        return response
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    new_pre = request.get(NEW_PRE)
    if new_pre:
        set_cookie(request, response, PRE_COOKIE, new_pre)
    return response
