"""Errors the collector's HTTP layer answers itself: JSON on /api where the app is reached, and
malformed requests logged as a WARNING line, not an ERROR with a traceback."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.config import default_config


@pytest.fixture()
async def client(tmp_path: Path) -> TestClient:
    c = TestClient(TestServer(create_app(default_config(data_dir=tmp_path / "data"))))
    await c.start_server()
    yield c
    await c.close()


async def raw(client: TestClient, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(65536), 10)
    writer.close()
    return answer


async def test_oversized_header_is_a_warning_without_traceback(client: TestClient,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    answer = await raw(client, b"GET /api/v1/alerts HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
    status = int(answer.split(b" ", 2)[1])
    assert status in (400, 431)
    mine = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert mine and all(r.levelno == logging.WARNING and r.exc_info is None for r in mine)
    assert "LineTooLong" in mine[0].getMessage() or "Got more than" in mine[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # and the collector keeps serving
    assert (await client.get("/healthz")).status == 200


async def test_api_method_not_allowed_and_unknown_path_are_json(client: TestClient) -> None:
    r = await client.put("/api/v1/auth/login", json={})
    assert r.status == 405 and r.content_type == "application/json"
    assert (await r.json())["error"] == "method_not_allowed" and "POST" in r.headers["Allow"]
    r = await client.get("/api/v1/no-such-thing")
    assert r.status == 404 and (await r.json())["error"] == "not_found"
