"""Agent enrollment, agent health and revocation, one-time enrollment tokens."""

from __future__ import annotations

import hmac
import secrets
import time
import uuid
from typing import Any

import msgspec
from aiohttp import web

from leakwarden.wire import EnrollRequest, EnrollResponse
from server import auth
from server.api import schemas as s
from server.api.access import actor, person, public
from server.api.responses import ApiError, decode, json_response, read_body
from server.keys import CONFIG, LOGIN_LIMITER, STORE
from server.store.interface import Agent, EnrollToken

routes = web.RouteTableDef()
MAX_ENROLL_BODY = 16 * 1024


def agent_state(a: Agent, offline_after: float, now: float) -> str:
    """revoked, online (heard from, or else enrolled, within ``offline_after``) or offline."""
    if a.revoked_at:
        return "revoked"
    return "online" if now - (a.last_seen or a.enrolled_at) <= offline_after else "offline"


def agent_json(a: Agent, offline_after: float, now: float) -> dict[str, Any]:
    return s.answer(a, s.AgentOut, state=agent_state(a, offline_after, now))


@routes.post("/api/v1/agents/enroll")
@public
async def enroll(request: web.Request) -> web.Response:
    cfg, store = request.app[CONFIG], request.app[STORE]
    # only failed attempts count (against guessing the secret): a fleet rolled out from behind
    # one NAT address must not be throttled
    limiter, limit_key = request.app[LOGIN_LIMITER], f"enroll:{request.remote}"
    wait = limiter.blocked(limit_key)
    if wait:
        raise ApiError(429, "rate_limited", "too many failed enrollment attempts",
                       headers={"Retry-After": limiter.retry_after(wait)})
    body = decode(await read_body(request, MAX_ENROLL_BODY, cfg.body_timeout), EnrollRequest)
    if (body.enroll_secret is None) == (body.enroll_token is None):
        raise ApiError(422, "invalid_field", "give exactly one of enroll_secret or enroll_token",
                       field="$.enroll_secret")
    now = time.time()
    agent_id = str(uuid.uuid4())
    token = auth.new_token("lwa")
    agent = Agent(id=agent_id, token_hash=auth.hash_token(token), hostname=body.hostname, version=body.version,
                  os=body.os, enrolled_at=now)
    async with store.transaction() as tx:
        if body.enroll_secret is not None:
            ok = cfg.enroll_secret is not None and hmac.compare_digest(
                body.enroll_secret.encode("utf-8", "surrogatepass"), cfg.enroll_secret.encode())
        else:
            ok = await tx.consume_enroll_token(auth.hash_token(body.enroll_token or ""), agent_id, now)
        if not ok:
            limiter.take(limit_key)
            raise ApiError(401, "enrollment_refused", "unknown, used, expired or revoked enrollment credential")
        await tx.create_agent(agent)
        await tx.add_audit("agent:" + agent_id, "agent.enroll", "agent", agent_id,
                           {"hostname": body.hostname, "version": body.version,
                            "via": "secret" if body.enroll_secret is not None else "token"}, now)
    return json_response(EnrollResponse(agent_id=agent_id, token=token, heartbeat_interval=cfg.heartbeat_interval),
                         status=201)


@routes.get("/api/v1/agents")
@person("viewer")
async def list_agents(request: web.Request) -> web.Response:
    cfg, now = request.app[CONFIG], time.time()
    agents = await request.app[STORE].list_agents()
    return json_response({"items": [agent_json(a, cfg.offline_after, now) for a in agents]})


@routes.get("/api/v1/agents/{agent_id}")
@person("viewer")
async def get_agent(request: web.Request) -> web.Response:
    a = await request.app[STORE].get_agent(request.match_info["agent_id"])
    if a is None:
        raise ApiError(404, "not_found", "no such agent")
    return json_response(agent_json(a, request.app[CONFIG].offline_after, time.time()))


@routes.post("/api/v1/agents/{agent_id}/revoke")
@person("admin")
async def revoke_agent(request: web.Request) -> web.Response:
    store, agent_id, now = request.app[STORE], request.match_info["agent_id"], time.time()
    async with store.transaction() as tx:
        if await tx.get_agent(agent_id) is None:
            raise ApiError(404, "not_found", "no such agent")
        changed = await tx.revoke_agent(agent_id, now)
        if changed:
            await tx.add_audit(actor(request), "agent.revoke", "agent", agent_id, {}, now)
    return json_response({"id": agent_id, "revoked": True, "changed": changed})


@routes.post("/api/v1/agents/{agent_id}/repin")
@person("admin")
async def repin_agent(request: web.Request) -> web.Response:
    """Accept the agent's current config/binary hashes as the expected ones (after a legitimate update)."""
    store, agent_id, now = request.app[STORE], request.match_info["agent_id"], time.time()
    async with store.transaction() as tx:
        a = await tx.lock_agent(agent_id)
        if a is None:
            raise ApiError(404, "not_found", "no such agent")
        a.pinned_config_hash, a.pinned_binary_hash = a.config_hash, a.binary_hash
        await tx.update_agent(a)
        await tx.add_audit(actor(request), "agent.repin", "agent", agent_id,
                           {"config_hash": a.config_hash, "binary_hash": a.binary_hash}, now)
    return json_response(agent_json(a, request.app[CONFIG].offline_after, now))


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    ttl: float | None = None  # seconds; default enrollment.token_ttl


def token_json(t: EnrollToken, now: float) -> dict[str, Any]:
    state = ("revoked" if t.revoked_at else "used" if t.used_at else "expired" if t.expires_at <= now else "valid")
    return s.answer(t, s.TokenOut, state=state)


async def issue_enroll_token(store: Any, created_by: str, ttl: float) -> tuple[EnrollToken, str]:
    """Create a one-time enrollment token; returns the record and the token (shown once)."""
    now = time.time()
    token = auth.new_token("lwe")
    rec = EnrollToken(id=secrets.token_hex(6), token_hash=auth.hash_token(token), created_at=now,
                      expires_at=now + ttl, created_by=created_by)
    async with store.transaction() as tx:
        await tx.create_enroll_token(rec)
        await tx.add_audit(created_by, "enroll_token.create", "enroll_token", rec.id, {"expires_at": rec.expires_at},
                           now)
    return rec, token


@routes.post("/api/v1/enroll-tokens")
@person("admin")
async def create_token(request: web.Request) -> web.Response:
    cfg = request.app[CONFIG]
    raw = await read_body(request, MAX_ENROLL_BODY, cfg.body_timeout)
    body = decode(raw, TokenRequest) if raw.strip() else TokenRequest()
    ttl = cfg.enroll_token_ttl if body.ttl is None else body.ttl
    if not 60 <= ttl <= 365 * 86400:
        raise ApiError(422, "invalid_field", "ttl must be between 60 s and one year", field="$.ttl")
    rec, token = await issue_enroll_token(request.app[STORE], actor(request), ttl)
    return json_response({**token_json(rec, time.time()), "token": token}, status=201)


@routes.get("/api/v1/enroll-tokens")
@person("admin")
async def list_tokens(request: web.Request) -> web.Response:
    now = time.time()
    return json_response({"items": [token_json(t, now) for t in await request.app[STORE].list_enroll_tokens()]})


@routes.delete("/api/v1/enroll-tokens/{token_id}")
@person("admin")
async def revoke_token(request: web.Request) -> web.Response:
    store, token_id, now = request.app[STORE], request.match_info["token_id"], time.time()
    async with store.transaction() as tx:
        if not await tx.revoke_enroll_token(token_id, now):
            raise ApiError(404, "not_found", "no such unrevoked token")
        await tx.add_audit(actor(request), "enroll_token.revoke", "enroll_token", token_id, {}, now)
    return json_response({"id": token_id, "revoked": True})
