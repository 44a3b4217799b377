"""Who may call what: every /api route declares its audience, the middleware enforces it.

A route without a declaration is refused (fail closed), so a forgotten
decorator is a 403 in the tests, not a hole in production.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from server import auth
from server.api.responses import ApiError
from server.keys import AGENT, STORE, TOKEN, USER
from server.store.interface import Agent, User

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ACCESS_ATTR = "_leakwarden_access"


def public(handler: Handler) -> Handler:
    """No credentials (login, enrollment: they check their own secret)."""
    setattr(handler, ACCESS_ATTR, ("public", None))
    return handler


def agent_only(handler: Handler) -> Handler:
    setattr(handler, ACCESS_ATTR, ("agent", None))
    return handler


def person(minimum: str) -> Callable[[Handler], Handler]:
    if minimum not in auth.ROLE_RANK:
        raise ValueError(minimum)

    def mark(handler: Handler) -> Handler:
        setattr(handler, ACCESS_ATTR, ("person", minimum))
        return handler
    return mark


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def current_user(request: web.Request) -> User:
    return request[USER]


def current_agent(request: web.Request) -> Agent:
    return request[AGENT]


def actor(request: web.Request) -> str:
    user: User | None = request.get(USER)
    return user.username if user else "system"


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/api/"):
        return await handler(request)
    route_handler: Any = request.match_info.handler
    access = getattr(route_handler, ACCESS_ATTR, None)
    if access is None:
        if request.match_info.http_exception is not None:  # 404/405 from the router
            return await handler(request)
        raise ApiError(403, "forbidden", "route has no access declaration")
    kind, minimum = access
    if kind == "public":
        return await handler(request)
    token = bearer(request)
    if token is None:
        raise ApiError(401, "unauthenticated", "Authorization: Bearer <token> required",
                       headers={"WWW-Authenticate": "Bearer"})
    store = request.app[STORE]
    if kind == "agent":
        agent = await auth.agent_for_token(store, token)
        if agent is None:
            raise ApiError(401, "unauthenticated", "unknown or revoked agent token",
                           headers={"WWW-Authenticate": "Bearer"})
        request[AGENT] = agent
    else:
        user = await auth.user_for_token(store, token)
        if user is None:
            raise ApiError(401, "unauthenticated", "unknown or expired session",
                           headers={"WWW-Authenticate": "Bearer"})
        if not auth.has_role(user, minimum):
            raise ApiError(403, "forbidden", f"needs role {minimum} or higher (you are {user.role})")
        request[USER] = user
        request[TOKEN] = token
    return await handler(request)
