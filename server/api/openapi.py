"""``GET /api/v1/openapi.json``: the API as it really is (checked against live responses in the tests)."""

from __future__ import annotations

from aiohttp import web

from server.api.access import person
from server.api.responses import json_response

routes = web.RouteTableDef()


@routes.get("/api/v1/openapi.json")
@person("viewer")
async def openapi(request: web.Request) -> web.Response:
    from server.openapi_spec import build_spec  # it imports every API module: not at import time
    return json_response(build_spec())
