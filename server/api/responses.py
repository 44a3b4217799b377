"""JSON bodies for answers and errors, and bounded, timed body reading."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import msgspec
from aiohttp import web

_enc = msgspec.json.Encoder()
_FIELD = re.compile(r"at `([^`]*)`")
_UNKNOWN = re.compile(r"unknown field `([^`]*)`")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=_enc.encode(data), status=status, content_type="application/json", headers=headers)


class ApiError(web.HTTPException):
    """An HTTP error with the JSON body ``{"error", "detail", "field"?}``."""

    def __init__(self, status: int, error: str, detail: str, *, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        body: dict[str, Any] = {"error": error, "detail": detail}
        if field is not None:
            body["field"] = field
        super().__init__(headers=headers, text=_enc.encode(body).decode(), content_type="application/json")


def validation_error(e: msgspec.ValidationError | msgspec.DecodeError) -> ApiError:
    text = str(e)
    m = _FIELD.search(text)
    if isinstance(e, msgspec.ValidationError):
        where = m.group(1) if m else "$"
        unknown = _UNKNOWN.search(text)
        if unknown:  # name the offending key itself, not just the object holding it
            where = f"{where}.{unknown.group(1)}"
        return ApiError(422, "invalid_field", text, field=where)
    return ApiError(400, "malformed_json", text, field=m.group(1) if m else None)


def decode(data: bytes, type_: Any) -> Any:
    try:
        return msgspec.json.decode(data, type=type_)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise validation_error(e) from e


async def read_body(request: web.Request, limit: int, timeout: float) -> bytes:
    """The (decompressed) body, at most ``limit`` bytes, read within ``timeout`` seconds."""
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "too_large", f"body of {request.content_length} bytes exceeds {limit}")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.content.iter_any():
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, "too_large", f"body exceeds {limit} bytes (after decompression)")
                chunks.append(chunk)
    except TimeoutError as e:
        raise ApiError(408, "body_timeout", f"body not received within {timeout:g} s") from e
    except web.HTTPException:
        raise
    except Exception as e:  # aiohttp payload errors: bad gzip, truncated chunked body
        raise ApiError(400, "bad_body", f"body could not be read: {e}") from e
    return b"".join(chunks)


# ids and counts are 64-bit in both stores; a larger number in a query is a bad request, not a crash
MAX_INT = 2**62


def int_param(request: web.Request, name: str, default: int | None = None, *, minimum: int = 0,
              maximum: int = MAX_INT) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as e:
        raise ApiError(400, "invalid_parameter", f"{name} must be an integer", field=name) from e
    if not minimum <= value <= maximum:
        raise ApiError(400, "invalid_parameter", f"{name} must be between {minimum} and {maximum}", field=name)
    return value


def float_param(request: web.Request, name: str) -> float | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError as e:
        raise ApiError(400, "invalid_parameter", f"{name} must be seconds since the epoch", field=name) from e
    if value != value or value in (float("inf"), float("-inf")):
        raise ApiError(400, "invalid_parameter", f"{name} must be finite", field=name)
    return value


def path_int(request: web.Request, name: str = "id") -> int:
    try:
        value = int(request.match_info[name])
    except ValueError as e:
        raise ApiError(404, "not_found", f"no such {name}") from e
    if not 0 < value < MAX_INT:
        raise ApiError(404, "not_found", f"no such {name}")
    return value
