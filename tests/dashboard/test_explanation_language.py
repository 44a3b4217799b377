"""The risk explanation and the event facts of an alert read in the reader's language, with numbers
and sizes formatted for it; English readers see the API's own wording. Real collector over HTTP."""

from __future__ import annotations

import html
import re
import time
import uuid

import aiohttp
import msgspec
import pytest

from leakwarden.wire import Event
from server.config import DEFAULT_GRADING
from server.grading import grade_event
from server.store.interface import EventRecord
from tests.dashboard.conftest import Collector
from tests.dashboard.seed import PASSWORD, make_alert

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]
TOKEN = re.compile(r'name="csrf-token" content="([0-9a-f]{64})"')


async def _leak(collector: Collector) -> int:
    """An alert graded by the collector's grading, from an event with process, size and device."""
    now = time.time()
    wire = {"id": str(uuid.uuid4()), "seq": 1, "time": now, "kind": "net.transfer", "channel": "network",
            "host": "finance-02", "user": "li.na", "process": {"pid": 12345, "name": "curl", "exe": "/usr/bin/curl"},
            "file": {"path": "/home/li.na/名单.xlsx", "size": 1000},
            "device": {"serial": "S-1", "policy": "block"},
            "destination": {"host": "paste.example", "category": "pastebin", "bytes_sent": 1234567},
            "findings": [{"detector": "marking.cn_state_secret", "severity": "critical", "confidence": 1.0,
                          "location": {"path": "/home/li.na/名单.xlsx", "start": 0, "end": 4}, "masked": "秘密",
                          "hash": "ab" * 32, "attributes": {"level": "秘密"}},
                         {"detector": "pii.cn_resident_id", "severity": "high", "confidence": 0.9,
                          "location": {"path": "/home/li.na/名单.xlsx", "start": 9, "end": 27},
                          "masked": "1101**********1234", "hash": "cd" * 32}]}
    grade = grade_event(msgspec.convert(wire, Event), DEFAULT_GRADING, repetitions=1200)
    await collector.store.insert_events([EventRecord(
        id=wire["id"], agent_id="agent-1", seq=1, time=now, received_at=now, kind="net.transfer", channel="network",
        host="finance-02", user="li.na", path=wire["file"]["path"], content_hash=None, device_key=None, data=wire)])
    alert = make_alert(500, level=grade.level, score=grade.score, host="finance-02", user="li.na",
                       path=wire["file"]["path"], detectors=["marking.cn_state_secret"], now=now,
                       event_id=wire["id"], channel="network", kind="net.transfer")
    alert.explanation = grade.explanation
    return (await collector.store.insert_alert(alert)).id


async def _page(collector: Collector, path: str, lang: str) -> str:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        s.cookie_jar.update_cookies({"lw_lang": lang})
        page = await (await s.get(collector.url + "/login")).text()
        r = await s.post(collector.url + "/login", data={"username": "alice", "password": PASSWORD, "next": "/",
                                                          "csrf_token": TOKEN.search(page).group(1)})
        assert r.status == 200
        return html.unescape(await (await s.get(collector.url + path)).text())


async def test_explanation_and_facts_in_chinese(collector: Collector) -> None:
    alert_id = await _leak(collector)
    text = await _page(collector, f"/alerts/{alert_id}", "zh_CN")
    assert "marking.cn_state_secret（严重，置信度 1.00）" in text
    assert "同一项中有 2 处发现" in text
    assert "标注密级“秘密”" in text
    assert "经网络发送至 paste.example（文本粘贴站）" in text
    assert "同一人员或内容此前已有 1,200 条告警" in text, "counts grouped for the locale"
    assert "curl（进程号 12345）" in text, "a pid is an identifier: not grouped"
    assert "1,000 字节" in text and "1,234,567 字节" in text
    assert "<dd>禁止</dd>" in text, "the device policy in the reader's words"
    for english in ("findings in one item", "marked 秘密", "sent over the network", "confidence", "(pid", " B<"):
        assert english not in text, english


async def test_english_reads_like_the_api(collector: Collector) -> None:
    alert_id = await _leak(collector)
    stored = await collector.store.get_alert(alert_id)
    assert stored is not None
    text = await _page(collector, f"/alerts/{alert_id}", "en")
    for line in stored.explanation:
        if line["factor"] != "repetition":
            assert f"<td>{line['detail']}</td>" in text
    # the API says "1200": the page groups digits for the reader
    assert "<td>1,200 earlier alert(s) for the same person or content</td>" in text
    assert "curl (pid 12345)" in text and "1,000 B" in text and "<dd>Blocked</dd>" in text
