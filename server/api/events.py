"""``POST /api/v1/events``: agents deliver batches; the answer says which ids the collector holds."""

from __future__ import annotations

import logging
import time

from aiohttp import web

from leakwarden.wire import Batch, BatchAck
from server.api.access import agent_only, current_agent
from server.api.responses import ApiError, decode, json_response, read_body
from server.ingest import Ingestor
from server.keys import CONFIG, INGEST_LIMITER, METRICS, STORE
from server.notify import notify

routes = web.RouteTableDef()
log = logging.getLogger("leakwarden.server.events")


@routes.post("/api/v1/events")
@agent_only
async def post_events(request: web.Request) -> web.Response:
    cfg, metrics = request.app[CONFIG], request.app[METRICS]
    agent = current_agent(request)
    started = time.perf_counter()
    wait = request.app[INGEST_LIMITER].take(agent.id)
    if wait:
        metrics.batches.inc("rate_limited")
        raise ApiError(429, "rate_limited", f"agent over {cfg.ingest_rate.rate:g} batches/s",
                       headers={"Retry-After": request.app[INGEST_LIMITER].retry_after(wait)})
    try:
        body = await read_body(request, cfg.max_body_bytes, cfg.body_timeout)
        batch: Batch = decode(body, Batch)
    except ApiError as e:
        metrics.batches.inc(f"rejected_{e.status}")
        raise
    if batch.agent_id != agent.id:
        metrics.batches.inc("rejected_403")
        raise ApiError(403, "wrong_agent", "batch agent_id is not the agent this token belongs to",
                       field="$.agent_id")
    result = await Ingestor(request.app[STORE], cfg).ingest(agent, batch)
    elapsed = time.perf_counter() - started
    metrics.batches.inc("ok")
    metrics.events.inc("accepted", result.accepted)
    metrics.events.inc("duplicate", result.duplicates)
    metrics.ingest_seconds.observe(elapsed)
    log.debug("batch", extra={"agent_id": agent.id, "accepted": result.accepted, "duplicates": result.duplicates,
                              "alerts": len(result.notify), "ms": round(elapsed * 1000, 1)})
    await notify(request.app, result.notify)
    return json_response(BatchAck(accepted=result.accepted, duplicates=result.duplicates, acked=result.acked))
