"""Pre-publication review: upload a document, read the verdict (the collector's review logic)."""

from __future__ import annotations

from aiohttp import web

from server.dashboard.render import error_page, render
from server.dashboard.session import require
from server.keys import CONFIG

routes = web.RouteTableDef()


@routes.get("/review", name="dash.review")
async def review_page(request: web.Request) -> web.StreamResponse:
    await require(request)
    return render(request, "review.html", {"result": None, "name": None,
                                           "max_bytes": request.app[CONFIG].review_max_bytes})


@routes.post("/review", name="dash.review_post")
async def review_upload(request: web.Request) -> web.StreamResponse:
    await require(request)
    return error_page(request, 400, "bad_request")
