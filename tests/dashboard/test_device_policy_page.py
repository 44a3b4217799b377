"""The devices page shows the agent's device-policy verdict (allow / alert / block, the rule, where and when)
beside the analysts' known / lost / revoked mark, in both languages. Real collector, real Chromium."""

from __future__ import annotations

import time
import uuid

import pytest

from server.store.interface import Device, EventRecord
from tests.dashboard.conftest import Collector, login

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]


async def _phone(collector: Collector) -> Device:
    """A device.mount the agent blocked, stored the way ingest stores it (event first, then the device)."""
    now = time.time()
    key = "18d1:4ee7:PHONE-1"
    device = {"vendor_id": "18d1", "product_id": "4ee7", "vendor": "Google", "model": "Pixel", "serial": "PHONE-1",
              "policy": "block"}
    eid = str(uuid.uuid4())
    await collector.store.insert_events([EventRecord(
        id=eid, agent_id="agent-1", seq=9, time=now - 50, received_at=now - 40, kind="device.mount",
        channel="removable", host="finance-01", user="zhang.wei", path=None, content_hash=None, device_key=key,
        data={"id": eid, "kind": "device.mount", "host": "finance-01", "device": device,
              "attributes": {"rule": "smartphones in mass-storage mode", "severity": "critical"}})])
    return await collector.store.upsert_device(Device(
        id=0, key=key, vendor_id="18d1", product_id="4ee7", vendor="Google", model="Pixel", serial="PHONE-1",
        fs_uuid=None, label=None, first_seen=now - 40, last_seen=now - 40, last_host="finance-01"))


async def test_devices_page_shows_the_agents_verdict_and_the_mark(browser, collector: Collector) -> None:
    phone = await _phone(collector)
    assert phone.policy == "block"
    now = time.time()
    await collector.store.upsert_device(Device(
        id=0, key="fs:0000-NEW1", vendor_id=None, product_id=None, vendor=None, model=None, serial=None,
        fs_uuid="0000-NEW1", label="NO-VERDICT", first_seen=now, last_seen=now, last_host="pc-09"))
    context, page, problems, _dialogs = await login(browser, collector, "alice")
    await page.goto(collector.url + "/devices")
    row = page.locator("tr", has=page.locator("text=PHONE-1").first).first
    cell = row.locator("td[data-policy]")
    assert await cell.get_attribute("data-policy") == "block"
    verdict = await cell.inner_text()
    assert "Blocked" in verdict and "rule smartphones in mass-storage mode" in verdict and "finance-01" in verdict
    # the seeded stick's device.write said "alert" (no rule named); a medium no agent reported on says so
    seeded = page.locator("tr", has=page.locator("text=4C530001").first).first.locator("td[data-policy]")
    assert await seeded.get_attribute("data-policy") == "alert" and "Alert" in await seeded.inner_text()
    silent = page.locator("tr", has=page.locator("text=NO-VERDICT").first).first
    assert "not reported" in await silent.locator("td[data-policy]").inner_text()
    assert "Known" in await row.inner_text() and "Known" in await silent.inner_text()

    await page.select_option("#lang-select", "zh_CN")
    await page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    cell = page.locator("tr", has=page.locator("text=PHONE-1").first).first.locator("td[data-policy]")
    text = await cell.inner_text()
    assert "禁止" in text and "规则 smartphones in mass-storage mode" in text
    head = await page.locator("thead").inner_text()
    assert "终端策略判定" in head and "标记" in head
    assert not problems, problems
    await context.close()
