"""Pre-publication review (art. 23) with the real scanner: verdicts, redaction, what is kept."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from server.keys import STORE
from tests.server.helpers import person

MARKED = "机密★5年\n\n关于某项目的通知\n正文内容。\n".encode()
EMAIL = b"Contact: zhang.san@example.com for details"
CLEAN = b"Opening hours of the public library: 9 to 17."


@pytest.fixture()
def backend() -> str:  # the review endpoint does not depend on the store backend
    return "sqlite"


async def test_verdicts_and_only_verdict_and_hash_are_kept(client: TestClient) -> None:
    analyst = await person(client, "analyst")
    answers = {}
    for name, data in (("notice.txt", MARKED), ("contact.txt", EMAIL), ("hours.txt", CLEAN)):
        r = await client.post(f"/api/v1/review?name={name}", data=data,
                              headers={**analyst, "Content-Type": "application/octet-stream"})
        assert r.status == 200, await r.text()
        answers[name] = await r.json()
    assert answers["notice.txt"]["verdict"] == "blocked"
    assert answers["notice.txt"]["findings"][0]["detector"] == "marking.cn_state_secret"
    assert answers["contact.txt"]["verdict"] == "needs_review"
    email = answers["contact.txt"]["findings"][0]
    assert email["masked"] != "zhang.san@example.com" and "value" not in email
    assert answers["hours.txt"]["verdict"] == "publishable" and answers["hours.txt"]["findings"] == []
    rows = await client.server.app[STORE]._x.fetch("SELECT * FROM reviews ORDER BY id")
    assert [r["verdict"] for r in rows] == ["blocked", "needs_review", "publishable"]
    assert set(rows[0].keys()) == {"id", "time", "actor", "doc_hash", "verdict", "finding_count", "size"}
    assert rows[1]["doc_hash"] == answers["contact.txt"]["document_hash"]


async def test_multipart_upload_and_limits(clients) -> None:  # type: ignore[no-untyped-def]
    client = await clients(review_max_bytes=2048)
    analyst = await person(client, "analyst")
    form = aiohttp.FormData()
    form.add_field("file", MARKED, filename="通知.txt", content_type="text/plain")
    r = await client.post("/api/v1/review", data=form, headers=analyst)
    assert r.status == 200 and (await r.json())["verdict"] == "blocked" and (await r.json())["name"] == "通知.txt"
    r = await client.post("/api/v1/review", data=b"x" * 5000, headers={**analyst,
                                                                       "Content-Type": "application/octet-stream"})
    assert r.status == 413
    form = aiohttp.FormData()
    form.add_field("other", b"abc", filename="a.txt")
    r = await client.post("/api/v1/review", data=form, headers=analyst)
    assert r.status == 422 and (await r.json())["field"] == "file"
    r = await client.post("/api/v1/review", data=b"", headers=analyst)
    assert r.status == 422
    viewer = await person(client, "viewer")
    assert (await client.post("/api/v1/review", data=CLEAN, headers=viewer)).status == 403
