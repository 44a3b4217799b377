"""The collector application: ``create_app(config) -> web.Application``.

Order matters and is explicit: shared objects on typed keys, then the store's
cleanup context (opened first, closed last), background tasks, the API
routes, and finally the other areas' hooks (dashboard, forwarding), which may
add routes, listeners and cleanup contexts of their own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from leakwarden.errors import StoreError
from server import dashboard, forward
from server.api import setup_routes
from server.api.access import access_middleware
from server.api.responses import ApiError, json_response
from server.api.review import ReviewService, load_collector_hash_key
from server.config import ServerConfig
from server.ingest import offline_sweep
from server.keys import (ALERT_LISTENERS, CONFIG, INGEST_LIMITER, LOGIN_LIMITER, METRIC_SOURCES, METRICS, SCANNER,
                         STORE)
from server.metrics import Metrics, metrics_handler
from server.notify import notify
from server.ratelimit import RateLimiter
from server.store import make_store

log = logging.getLogger("leakwarden.server")


class ProtocolErrorFilter(logging.Filter):
    """Malformed requests are the client's mistake: a WARNING line, not an ERROR with a traceback.

    aiohttp answers a request it cannot parse (a header over its 8,190-byte field limit, a bad
    request line, a non-HTTP client) itself, before any middleware runs, and logs it on
    ``aiohttp.server`` at ERROR with the parser's traceback. Its answer is plain text (400/431):
    producing JSON there would mean replacing aiohttp's protocol handler.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            record.args, record.exc_info, record.exc_text = (), None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_protocol_errors() -> None:
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, ProtocolErrorFilter) for f in server_log.filters):
        server_log.addFilter(ProtocolErrorFilter())


@web.middleware
async def error_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                           ) -> web.StreamResponse:
    """API errors are JSON; unexpected failures are logged with the request and answered 500."""
    try:
        response = await handler(request)
    except ApiError:
        raise
    except web.HTTPException as e:
        if not request.path.startswith("/api/") or e.status < 400:
            raise
        names = {413: "too_large", 404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
        raise ApiError(e.status, names.get(e.status, "http_error"), e.reason or e.text or "",
                       headers={k: v for k, v in e.headers.items() if k in ("Allow", "Retry-After")}) from e
    except StoreError as e:
        log.error("store failure", extra={"path": request.path, "error": str(e)})
        raise ApiError(503, "store_unavailable", "the store failed; retry later",
                       headers={"Retry-After": "5"}) from e
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception as e:
        log.exception("unhandled error", extra={"path": request.path, "method": request.method})
        raise ApiError(500, "internal_error", "internal error (logged)") from e
    return response


@web.middleware
async def headers_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                             ) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as e:
        _secure(request, e)
        raise
    _secure(request, response)
    return response


def _secure(request: web.Request, response: web.StreamResponse) -> None:
    if response.prepared:
        return
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")


async def healthz(request: web.Request) -> web.Response:
    """Liveness (no credentials: probes have none); says only whether the store answers."""
    ok = await request.app[STORE].ping()
    return json_response({"status": "ok" if ok else "degraded"}, status=200 if ok else 503)


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    store = make_store(app[CONFIG])
    await store.open()
    app[STORE] = store
    yield
    await store.close()


def _periodic(name: str, interval: float, job: Callable[[web.Application], Awaitable[None]]
              ) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(interval)
                try:
                    await job(app)
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001  # a failed sweep is retried next interval
                    log.exception("background job failed", extra={"job": name})
        task = asyncio.create_task(loop(), name=f"leakwarden-{name}")
        yield
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
    return ctx


async def check_offline(app: web.Application) -> None:
    alerts = await offline_sweep(app[STORE], app[CONFIG])
    await notify(app, alerts)


async def retention(app: web.Application) -> None:
    cfg, now = app[CONFIG], time.time()
    done = await app[STORE].purge_before(events_before=now - cfg.retention_events_days * 86400,
                                         alerts_before=now - cfg.retention_alerts_days * 86400)
    purged = await app[STORE].purge_sessions(now)
    if any(done.values()) or purged:
        log.info("retention", extra={**done, "sessions": purged})


def create_app(config: ServerConfig) -> web.Application:
    app = web.Application(
        middlewares=[headers_middleware, error_middleware, access_middleware],
        # per-route limits are enforced while reading; this is the outer bound
        client_max_size=max(config.max_body_bytes, config.review_max_bytes) + 1024 * 1024,
    )
    quiet_protocol_errors()
    app[CONFIG] = config
    app[METRICS] = Metrics()
    app[ALERT_LISTENERS] = []
    app[METRIC_SOURCES] = []
    app[INGEST_LIMITER] = RateLimiter(config.ingest_rate)
    app[LOGIN_LIMITER] = RateLimiter(config.login_rate)
    app[SCANNER] = ReviewService(config.review_policy,
                                 load_collector_hash_key(config.hash_key_file, config.data_dir, config.source),
                                 config.source)
    app.cleanup_ctx.append(_store_ctx)
    app.cleanup_ctx.append(_periodic("offline", config.offline_check_interval, check_offline))
    app.cleanup_ctx.append(_periodic("retention", config.retention_interval, retention))
    setup_routes(app)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_handler)

    # The other areas' hooks come last: they may add routes, listeners and cleanup contexts of their own.
    dashboard.setup(app)
    forward.setup(app)
    return app
