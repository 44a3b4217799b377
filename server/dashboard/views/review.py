"""Pre-publication review: upload a document, read the verdict.

The scan, the verdict and its record are the collector's (``server.api.review.review_document``,
shared with ``POST /api/v1/review``: one CPU-bound scan at a time whichever door);
this page only reads the upload and shows the result.
"""

from __future__ import annotations

import asyncio

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from server.api.review import review_document
from server.dashboard.evidence import describe_location
from server.dashboard.render import error_page, render
from server.dashboard.session import require
from server.keys import CONFIG

routes = web.RouteTableDef()
FIELD = "document"


@routes.get("/review", name="dash.review")
async def review_page(request: web.Request) -> web.StreamResponse:
    me = await require(request)
    return render(request, "review.html", {"result": None, "name": None, "can_write": me.can_write,
                                           "max_bytes": request.app[CONFIG].review_max_bytes})


async def _upload(request: web.Request, limit: int) -> tuple[bytes, str] | None:
    """The uploaded file (bytes, name); None if there is none. Raises ValueError past ``limit``."""
    if not request.content_type.startswith("multipart/"):
        return None
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader) or part.name != FIELD:
            continue
        chunks, size = [], 0
        while chunk := await part.read_chunk(65536):
            size += len(chunk)
            if size > limit:
                raise ValueError("too large")
            chunks.append(chunk)
        return b"".join(chunks), (part.filename or "document")[:255]
    return None


@routes.post("/review", name="dash.review_post")
async def review_upload(request: web.Request) -> web.StreamResponse:
    me = await require(request, write=True)
    cfg = request.app[CONFIG]
    try:
        async with asyncio.timeout(cfg.body_timeout):
            upload = await _upload(request, cfg.review_max_bytes)
    except HttpProcessingError:  # a malformed multipart body (broken part headers)
        return error_page(request, 400, "bad_request")
    except ValueError:
        return error_page(request, 413, "too_large")
    except TimeoutError:
        return error_page(request, 408, "bad_request")
    if upload is None or not upload[0]:
        return error_page(request, 400, "bad_request")
    data, name = upload
    out = await review_document(request.app, data, name, actor=me.username)
    for f in out["findings"]:
        f["where"] = describe_location(f.get("location") or {})
    return render(request, "review.html", {"result": out, "name": name, "can_write": True,
                                           "max_bytes": cfg.review_max_bytes})
