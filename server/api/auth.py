"""People sign in: ``POST /api/v1/auth/login`` → ``{"token"}`` for ``Authorization: Bearer``."""

from __future__ import annotations

from typing import Annotated

import msgspec
from aiohttp import web

from server import auth
from server.api.access import current_user, person, public
from server.api.responses import ApiError, decode, json_response, read_body
from server.keys import CONFIG, LOGIN_LIMITER, STORE, TOKEN

routes = web.RouteTableDef()


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


@routes.post("/api/v1/auth/login")
@public
async def login(request: web.Request) -> web.Response:
    cfg, store, limiter = request.app[CONFIG], request.app[STORE], request.app[LOGIN_LIMITER]
    body = decode(await read_body(request, 16 * 1024, cfg.body_timeout), LoginRequest)
    # failures count per name and per address: guessing one account, or spraying many from one
    # place, both stall; successful logins cost nothing
    keys = (f"user:{body.username}", f"addr:{request.remote}")
    wait = max(limiter.blocked(k) for k in keys)
    if wait:
        raise ApiError(429, "rate_limited", "too many failed login attempts",
                       headers={"Retry-After": limiter.retry_after(wait)})
    user = await auth.authenticate(store, body.username, body.password)
    if user is None:
        for k in keys:
            limiter.take(k)
        raise ApiError(401, "login_failed", "wrong username or password")
    token = await auth.create_session(store, user, ttl=cfg.session_ttl)
    return json_response({"token": token, "username": user.username, "role": user.role,
                          "expires_in": cfg.session_ttl})


@routes.post("/api/v1/auth/logout")
@person("viewer")
async def logout(request: web.Request) -> web.Response:
    await auth.end_session(request.app[STORE], request[TOKEN])
    return json_response({"ok": True})


@routes.get("/api/v1/auth/me")
@person("viewer")
async def me(request: web.Request) -> web.Response:
    user = current_user(request)
    return json_response({"id": user.id, "username": user.username, "role": user.role})
