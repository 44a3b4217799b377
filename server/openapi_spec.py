"""The OpenAPI 3.1 document of the collector's API, generated from the structs the code uses."""

from __future__ import annotations

import functools
from typing import Any

import msgspec

from leakwarden.wire import Batch, BatchAck, EnrollRequest, EnrollResponse
from server.api import schemas as s
from server.api.agents import TokenRequest
from server.api.alerts import AlertChange
from server.api.auth import LoginRequest
from server.api.devices import DeviceChange
from server.api.incidents import IncidentChange
from server.api.users import NewUser

REF = "#/components/schemas/{name}"
PERSON = [{"session": []}]
AGENT = [{"agentToken": []}]


def _ref(t: type) -> dict[str, str]:
    return {"$ref": REF.format(name=t.__name__)}


def _json(t: type) -> dict[str, Any]:
    return {"application/json": {"schema": _ref(t)}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "Malformed request", 401: "Missing, unknown or expired credentials", 403: "Role or agent not allowed",
            404: "Not found", 408: "Body not received in time", 409: "Conflict", 413: "Body too large",
            422: "A field is invalid (named in `field`)", 429: "Rate limited (see Retry-After)",
            503: "Store unavailable"}
    return {str(c): {"description": text[c], "content": _json(s.Error)} for c in codes}


def _op(summary: str, ok: tuple[int, type | None], *, security: list[Any] | None = PERSON,
        body: type | None = None, params: list[dict[str, Any]] | None = None, errors: tuple[int, ...] = (),
        role: str | None = None, raw_body: dict[str, Any] | None = None) -> dict[str, Any]:
    status, out = ok
    op: dict[str, Any] = {"summary": summary + (f" (role: {role} or higher)" if role else ""),
                          "responses": {str(status): {"description": "OK", **({"content": _json(out)} if out else {})},
                                        **_errors(*errors)}}
    if security is not None:
        op["security"] = security
    if body is not None:
        op["requestBody"] = {"required": True, "content": _json(body)}
    if raw_body is not None:
        op["requestBody"] = raw_body
    if params:
        op["parameters"] = params
    return op


def _q(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _path(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "integer", "minimum": 1}}


LEVEL = {"type": "string", "enum": ["low", "medium", "high", "critical"]}
STATUS = {"type": "string", "enum": ["new", "acknowledged", "in_progress", "resolved", "false_positive"]}
ALERT_FILTERS = [
    _q("level", LEVEL, "one or more (repeat or comma-separate)"), _q("status", STATUS, "one or more"),
    _q("host", {"type": "string", "maxLength": 256}), _q("user", {"type": "string", "maxLength": 256}),
    _q("detector", {"type": "string", "maxLength": 128}, "exact id, or family.* for a family"),
    _q("kind", {"type": "string", "maxLength": 64}), _q("incident_id", {"type": "integer", "minimum": 1}),
    _q("since", {"type": "number"}, "event time >= (epoch seconds)"),
    _q("until", {"type": "number"}, "event time < (epoch seconds)"),
    _q("q", {"type": "string", "maxLength": 256}, "substring of title, path, host or user"),
    _q("sort", {"type": "string", "enum": ["id", "risk"], "default": "id"},
       "id: newest first; risk: score descending, then newest (strict across pages)"),
    _q("before", {"type": "integer", "minimum": 1}, "keyset cursor: next_before of the previous page"),
    _q("before_score", {"type": "integer", "minimum": 0, "maximum": 100},
       "sort=risk only, with before: next_before_score of the previous page"),
    _q("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
]
STD = (400, 401, 403)


@functools.cache
def build_spec() -> dict[str, Any]:
    types = [s.Error, s.AlertOut, s.AlertDetail, s.AlertPage, s.IncidentOut, s.IncidentDetail, s.IncidentPage,
             s.AgentOut, s.AgentList, s.RevokeOut, s.TokenOut, s.NewTokenOut, s.TokenList, s.DeviceOut,
             s.DeviceList, s.UserOut, s.UserList, s.AuditList, s.LoginOut, s.MeOut, s.Ok, s.ReviewOut, s.Health,
             Batch, BatchAck, EnrollRequest, EnrollResponse, TokenRequest, AlertChange, LoginRequest, DeviceChange,
             IncidentChange, NewUser]
    # forwarding's routes (outbox admin, overdue list) describe themselves; one document for the API
    from server.forward.api import openapi as forward_openapi  # imports server.api: not at import time
    forward_paths, forward_types = forward_openapi(REF)
    _, components = msgspec.json.schema_components([*types, *forward_types], ref_template=REF)
    paths: dict[str, Any] = {
        "/api/v1/auth/login": {"post": _op("Sign in; returns a bearer session token", (200, s.LoginOut),
                                           security=[], body=LoginRequest, errors=(400, 401, 422, 429))},
        "/api/v1/auth/logout": {"post": _op("End this session", (200, s.Ok), errors=(401,))},
        "/api/v1/auth/me": {"get": _op("Who am I", (200, s.MeOut), errors=(401,))},
        "/api/v1/agents/enroll": {"post": _op("Enroll an agent with the enrollment secret or a one-time token",
                                              (201, EnrollResponse), security=[], body=EnrollRequest,
                                              errors=(400, 401, 413, 422, 429))},
        "/api/v1/events": {"post": _op("Deliver a batch of events (gzip accepted); idempotent by event id",
                                       (200, BatchAck), security=AGENT, body=Batch,
                                       errors=(400, 401, 403, 408, 413, 422, 429, 503))},
        "/api/v1/agents": {"get": _op("Agents and their health", (200, s.AgentList), errors=(401, 403),
                                      role="viewer")},
        "/api/v1/agents/{agent_id}": {"get": _op("One agent", (200, s.AgentOut), errors=(401, 403, 404),
                                                 role="viewer",
                                                 params=[_path("agent_id", {"type": "string"})])},
        "/api/v1/agents/{agent_id}/revoke": {"post": _op("Revoke an agent's token", (200, s.RevokeOut),
                                                         errors=(401, 403, 404), role="admin",
                                                         params=[_path("agent_id", {"type": "string"})])},
        "/api/v1/agents/{agent_id}/repin": {"post": _op("Accept the agent's current config/binary hashes",
                                                        (200, s.AgentOut), errors=(401, 403, 404), role="admin",
                                                        params=[_path("agent_id", {"type": "string"})])},
        "/api/v1/enroll-tokens": {
            "post": _op("Create a one-time enrollment token (shown once)", (201, s.NewTokenOut),
                        errors=(400, 401, 403, 422), role="admin",
                        raw_body={"required": False, "content": _json(TokenRequest)}),
            "get": _op("Enrollment tokens", (200, s.TokenList), errors=(401, 403), role="admin")},
        "/api/v1/enroll-tokens/{token_id}": {"delete": _op("Revoke an unused token", (200, s.RevokeOut),
                                                           errors=(401, 403, 404), role="admin",
                                                           params=[_path("token_id", {"type": "string"})])},
        "/api/v1/alerts": {"get": _op("Alerts, newest first or by risk (sort=risk), keyset-paginated", (200, s.AlertPage),
                                      params=ALERT_FILTERS, errors=STD, role="viewer")},
        "/api/v1/alerts/{id}": {
            "get": _op("One alert with its redacted evidence and audit trail", (200, s.AlertDetail),
                       params=[_path("id")], errors=(401, 403, 404), role="viewer"),
            "patch": _op("Change status (resolved needs a note), assignee or note", (200, s.AlertOut),
                         params=[_path("id")], body=AlertChange, errors=(400, 401, 403, 404, 422),
                         role="analyst")},
        "/api/v1/alerts/{id}/status": {"post": _op("Same as PATCH /api/v1/alerts/{id}", (200, s.AlertOut),
                                                   params=[_path("id")], body=AlertChange,
                                                   errors=(400, 401, 403, 404, 422), role="analyst")},
        "/api/v1/incidents": {"get": _op("Incidents, newest first", (200, s.IncidentPage), role="viewer",
                                         params=[_q("status", {"type": "string", "enum": ["open", "closed"]}),
                                                 _q("before", {"type": "integer", "minimum": 1}),
                                                 _q("limit", {"type": "integer", "minimum": 1, "maximum": 500})],
                                         errors=STD)},
        "/api/v1/incidents/{id}": {
            "get": _op("One incident with its alerts", (200, s.IncidentDetail), params=[_path("id")],
                       errors=(401, 403, 404), role="viewer"),
            "patch": _op("Open or close an incident", (200, s.IncidentOut), params=[_path("id")],
                         body=IncidentChange, errors=(400, 401, 403, 404, 422), role="analyst")},
        "/api/v1/devices": {"get": _op("Removable devices seen", (200, s.DeviceList), errors=(401, 403),
                                       role="viewer")},
        "/api/v1/devices/{id}": {"patch": _op("Mark a device known, lost or revoked", (200, s.DeviceOut),
                                              params=[_path("id")], body=DeviceChange,
                                              errors=(400, 401, 403, 404, 422), role="analyst")},
        "/api/v1/users": {
            "get": _op("Accounts", (200, s.UserList), errors=(401, 403), role="admin"),
            "post": _op("Create an account", (201, s.UserOut), body=NewUser, errors=(400, 401, 403, 409, 422),
                        role="admin")},
        "/api/v1/audit": {"get": _op("Audit trail, newest first", (200, s.AuditList), role="analyst",
                                     params=[_q("target_type", {"type": "string", "maxLength": 64}),
                                             _q("target_id", {"type": "string", "maxLength": 128}),
                                             _q("limit", {"type": "integer", "minimum": 1, "maximum": 1000})],
                                     errors=STD)},
        "/api/v1/review": {"post": _op(
            "Pre-publication review of a document: verdict + redacted findings; only verdict and hash are kept",
            (200, s.ReviewOut), role="analyst", errors=(400, 401, 403, 408, 413, 422),
            params=[_q("name", {"type": "string", "maxLength": 255}, "file name (raw body only)")],
            raw_body={"required": True, "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                                   "properties": {"file": {"type": "string",
                                                                           "format": "binary"}}}}}})},
        "/api/v1/openapi.json": {"get": {"summary": "This document", "security": PERSON,
                                         "responses": {"200": {"description": "OpenAPI 3.1",
                                                               "content": {"application/json": {
                                                                   "schema": {"type": "object"}}}},
                                                       **_errors(401)}}},
        "/healthz": {"get": {"summary": "Liveness (no credentials)", "security": [],
                             "responses": {"200": {"description": "ok", "content": _json(s.Health)},
                                           "503": {"description": "store unavailable",
                                                   "content": _json(s.Health)}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics (scrape token or session)", "security": PERSON,
                             "responses": {"200": {"description": "text exposition",
                                                   "content": {"text/plain": {"schema": {"type": "string"}}}},
                                           **_errors(401)}}},
    }
    clash = set(paths) & set(forward_paths)
    if clash:
        raise RuntimeError(f"OpenAPI paths described twice: {sorted(clash)}")
    paths.update(forward_paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": "LeakWarden collector API", "version": "1",
                 "description": "Agents deliver events; people triage alerts. Evidence is always redacted."},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "session": {"type": "http", "scheme": "bearer",
                            "description": "token from POST /api/v1/auth/login"},
                "agentToken": {"type": "http", "scheme": "bearer",
                               "description": "token from POST /api/v1/agents/enroll"}}},
        "security": PERSON,
    }
