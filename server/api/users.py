"""Accounts (admin only): list and create."""

from __future__ import annotations

import time
from typing import Annotated

import msgspec
from aiohttp import web

from leakwarden.errors import AuthError, StoreError
from server import auth
from server.api import schemas as s
from server.api.access import actor, person
from server.api.responses import ApiError, decode, json_response, read_body
from server.keys import CONFIG, STORE
from server.store.interface import Role

routes = web.RouteTableDef()


class NewUser(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    role: Role
    password: Annotated[str, msgspec.Meta(min_length=auth.MIN_PASSWORD, max_length=1024)]


@routes.get("/api/v1/users")
@person("admin")
async def list_users(request: web.Request) -> web.Response:
    users = await request.app[STORE].list_users()
    return json_response({"items": [s.answer(u, s.UserOut) for u in users]})


@routes.post("/api/v1/users")
@person("admin")
async def create_user(request: web.Request) -> web.Response:
    cfg, store = request.app[CONFIG], request.app[STORE]
    body = decode(await read_body(request, 16 * 1024, cfg.body_timeout), NewUser)
    try:
        user = await auth.add_user(store, body.username, body.role, body.password)
    except AuthError as e:
        raise ApiError(422, "invalid_field", str(e), field="$.username") from e
    except StoreError as e:
        raise ApiError(409, "exists", str(e), field="$.username") from e
    await store.add_audit(actor(request), "user.create", "user", str(user.id), {"username": user.username,
                                                                               "role": user.role}, time.time())
    return json_response(s.answer(user, s.UserOut), status=201)
