"""The dashboard in real headless Chromium against a real collector (create_app, loopback, SQLite).

One collector and one browser for the module; each test opens its own browser
context (own cookies). Screenshots of the main pages go to docs/screenshots/.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from server import auth
from server.dashboard.security import SESSION_COOKIE
from tests.dashboard.conftest import SCREENSHOTS, VIEWPORT, Collector, login
from tests.dashboard.seed import PASSWORD, XSS_HOST, XSS_NAME, make_alert

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(120)]


async def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


async def test_triage_worst_first_filter_detail_acknowledge_persists(browser, collector: Collector) -> None:
    context, page, problems, dialogs = await login(browser, collector, "alice")
    # overview: counts, chart drawn by uPlot (a canvas), overdue and agent health
    assert await page.locator("h1").inner_text() == "Overview"
    await page.wait_for_selector(".chart canvas")
    assert await page.locator(".kpi.critical .n").inner_text() != "0"
    await shot(page, "overview")

    await page.click("nav >> text=Alerts")
    await page.wait_for_url(re.compile(r"/alerts$"))
    first = page.locator("#rows tr").first
    assert await first.get_attribute("data-alert-id") == str(collector.seeded.worst_id)
    assert "97" in await first.inner_text()
    await shot(page, "queue")

    # filter by host: the filter is kept in the URL, every row matches
    await page.fill("input[name=host]", "finance-01")
    await page.click("form.filters button[type=submit]")
    await page.wait_for_url(re.compile(r"host=finance-01"))
    hosts = await page.locator("#rows tr td:nth-child(5)").all_inner_texts()
    assert hosts and set(hosts) == {"finance-01"}
    await page.reload()
    assert await page.input_value("input[name=host]") == "finance-01"

    # detail: explanation, redacted evidence with archive member and sheet, the device, the timeline
    await page.click(f"#rows tr[data-alert-id='{collector.seeded.worst_id}'] a[data-row-link]")
    await page.wait_for_url(re.compile(rf"/alerts/{collector.seeded.worst_id}$"))
    body = await page.locator("main").inner_text()
    for expected in ("机密★5年", "报告/正文.docx", "员工", "C7", "SanDisk Cruzer", "zhang.wei", "Worst finding",
                     "1101**********1234", "Removable media"):
        assert expected in body, expected
    assert await page.locator("#alert-status").get_attribute("data-status") == "new"
    await shot(page, "detail")

    await page.select_option("#new-status", "acknowledged")
    await page.fill("textarea[name=note]", "Called the owner; USB stick collected.")
    await page.click("#save-status")
    await page.wait_for_selector("#alert-status[data-status=acknowledged]")
    await page.reload()
    assert await page.locator("#alert-status").get_attribute("data-status") == "acknowledged"
    audit = await page.locator("#h-audit + table").inner_text()
    assert "alice" in audit and "USB stick collected" in audit
    stored = await collector.store.get_alert(collector.seeded.worst_id)
    assert stored is not None and stored.status == "acknowledged" and stored.acknowledged_at is not None
    assert not problems and not dialogs, (problems, dialogs)
    await context.close()


async def test_attacker_controlled_names_render_as_text(browser, collector: Collector) -> None:
    context, page, problems, dialogs = await login(browser, collector, "alice")
    await page.goto(f"{collector.url}/alerts/{collector.seeded.xss_id}")
    assert XSS_NAME in await page.locator("#alert-title").inner_text()
    assert XSS_HOST in await page.locator("main").inner_text()
    await page.goto(f"{collector.url}/alerts?status=any&q=onerror")
    assert XSS_NAME in await page.locator("#rows").inner_text()
    await page.goto(f"{collector.url}/agents")
    assert XSS_HOST in await page.locator("main").inner_text()
    await page.goto(f"{collector.url}/devices")
    assert "<i>USB</i>" in await page.locator("main").inner_text()
    # nothing was turned into markup, nothing ran
    assert await page.evaluate("document.querySelectorAll('img[src=x], main script, main i, main b').length") == 0
    await asyncio.sleep(0.3)
    assert dialogs == [] and not problems, (dialogs, problems)
    await context.close()


async def test_post_without_csrf_token_is_refused(browser, collector: Collector) -> None:
    context, page, _problems, _dialogs = await login(browser, collector, "alice")
    target = collector.seeded.ids[1]
    url = f"{collector.url}/alerts/{target}/status"
    # the session cookie rides along (same browser context), the token does not
    missing = await page.request.post(url, form={"status": "resolved"}, max_redirects=0)
    forged = await page.request.post(url, form={"status": "resolved", "csrf_token": "0" * 64}, max_redirects=0)
    assert missing.status == 403 and forged.status == 403
    assert "did not come from this site" in await missing.text()
    stored = await collector.store.get_alert(target)
    assert stored is not None and stored.status == "new"
    await context.close()


async def test_viewer_cannot_change_anything(browser, collector: Collector) -> None:
    context, page, _problems, _dialogs = await login(browser, collector, "victor")
    target = collector.seeded.ids[2]
    await page.goto(f"{collector.url}/alerts/{target}")
    assert await page.locator("#save-status").count() == 0
    assert await page.locator("input[name=ids]").count() == 0
    token = await page.locator('meta[name="csrf-token"]').get_attribute("content")
    # a hand-made request with a valid token is still refused: the role is checked on the server
    for url, form in ((f"/alerts/{target}/status", {"status": "false_positive"}),
                      ("/alerts/bulk", {"op": "acknowledge", "ids": str(target)}),
                      ("/agents/agent-1/revoke", {}),
                      ("/devices/1/status", {"status": "lost"}),
                      (f"/incidents/{collector.seeded.incident_id}/status", {"status": "closed"}),
                      ("/review", {})):
        r = await page.request.post(collector.url + url, form={**form, "csrf_token": token or ""}, max_redirects=0)
        assert r.status == 403, url
        assert "does not allow" in await r.text()
    stored = await collector.store.get_alert(target)
    assert stored is not None and stored.status == "new"
    agent = await collector.store.get_agent("agent-1")
    assert agent is not None and agent.revoked_at is None
    await context.close()


async def test_language_follows_browser_and_switch_shows_chinese(browser, collector: Collector) -> None:
    context = await browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = await context.new_page()
    await page.goto(collector.url + "/login")
    assert await page.locator("html").get_attribute("lang") == "zh-CN"
    assert await page.locator("label[for=username]").inner_text() == "用户名"
    await context.close()

    context, page, problems, _dialogs = await login(browser, collector, "alice", locale="en-US")
    await page.goto(f"{collector.url}/alerts/{collector.seeded.worst_id}")
    assert "Alert queue" in await page.locator("main").inner_text()
    await page.select_option("#lang-select", "zh_CN")
    await page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    text = await page.locator("body").inner_text()
    assert "告警队列" in text and "证据（已脱敏）" in text and "严重" in text
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", text), "dates formatted for zh_CN"
    await page.goto(collector.url + "/")
    assert await page.locator("h1").inner_text() == "总览"
    await page.wait_for_selector(".chart canvas")
    await shot(page, "overview-zh")
    # the choice is saved on alice's account (test_user_language.py): give her English back for the
    # tests below, which expect her pages in English
    await page.select_option("#lang-select", "en")
    await page.wait_for_function("document.documentElement.lang === 'en'")
    assert not problems, problems
    await context.close()


async def test_new_alerts_appear_without_reload(browser, collector: Collector) -> None:
    context, page, problems, _dialogs = await login(browser, collector, "alice")
    await page.goto(collector.url + "/alerts")
    await page.wait_for_selector("#live-poller")
    fresh = await collector.store.insert_alert(make_alert(
        500, level="critical", score=91, host="lab-07", user="li.na", path="/srv/share/绝密-方案.docx",
        detectors=["marking.cn_state_secret"], now=time.time()))
    row = page.locator(f"#live-rows tr[data-alert-id='{fresh.id}']")
    await row.wait_for(timeout=12_000)
    assert "绝密-方案.docx" in await row.inner_text()
    assert not problems, problems
    await context.close()


async def test_bulk_acknowledge_and_keyboard(browser, collector: Collector) -> None:
    context, page, problems, _dialogs = await login(browser, collector, "alice")
    await page.goto(collector.url + "/alerts?level=low")
    # keyboard: "/" focuses the search, j moves to the first row, Enter opens it
    await page.keyboard.press("/")
    assert await page.evaluate("document.activeElement.id") == "q"
    await page.keyboard.press("Escape")
    await page.evaluate("document.activeElement.blur()")
    await page.keyboard.press("j")
    first_id = await page.locator("#rows tr").first.get_attribute("data-alert-id")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(rf"/alerts/{first_id}$"))
    await page.go_back()

    boxes = page.locator("#rows input[name=ids]")
    ids = [int(await boxes.nth(i).get_attribute("value") or 0) for i in range(2)]
    await boxes.nth(0).check()
    await boxes.nth(1).check()
    await page.click("#bulk button[value=acknowledge]")
    await page.wait_for_url(re.compile(r"done=2"))
    assert "2 alerts changed" in await page.locator("main").inner_text()
    for alert_id in ids:
        stored = await collector.store.get_alert(alert_id)
        assert stored is not None and stored.status == "acknowledged"
    assert not problems, problems
    await context.close()


async def test_agents_devices_review_pages(browser, collector: Collector) -> None:
    context, page, problems, dialogs = await login(browser, collector, "root", accept_dialogs=True)
    await page.goto(collector.url + "/agents")
    text = await page.locator("main").inner_text()
    assert "Degraded" in text and "Offline" in text and "network: AF_PACKET unavailable" in text
    await shot(page, "agents")
    await page.click("form[action='/agents/agent-2/revoke'] button")
    await page.wait_for_url(re.compile(r"done=revoked"))
    assert dialogs == ["Revoke this agent? It will have to enroll again."]
    agent = await collector.store.get_agent("agent-2")
    assert agent is not None and agent.revoked_at is not None

    await page.goto(collector.url + "/devices")
    await page.select_option("select[name=status]", "lost")
    await page.fill("input[name=note]", "reported lost by owner")
    await page.click("form[action$='/status'] button")
    await page.wait_for_url(re.compile(r"done=saved"))
    assert "Lost" in await page.locator("main").inner_text()

    await page.goto(collector.url + "/review")
    document = "机密★5年\n\n关于年度预算的通知\n联系人手机 13812345678\n".encode()
    await page.set_input_files("#document", files=[{"name": "通知.txt", "mimeType": "text/plain",
                                                    "buffer": document}])
    await page.click("#review-submit")
    await page.wait_for_selector("#verdict-text")
    assert await page.locator("#verdict-text").inner_text() == "Do not publish"
    assert "marking.cn_state_secret" in await page.locator("#verdict").inner_text()
    await shot(page, "review")
    assert not problems, problems
    await context.close()


async def test_session_expiry_sends_to_login(browser, collector: Collector) -> None:
    user = await collector.store.get_user_by_name("alice")
    assert user is not None
    token = await auth.create_session(collector.store, user, ttl=1.0)
    context = await browser.new_context(viewport=VIEWPORT)
    await context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": collector.url}])
    page = await context.new_page()
    await page.goto(collector.url + "/alerts?level=high")
    assert await page.locator("h1").inner_text() == "Alert queue"
    await asyncio.sleep(1.2)
    await page.goto(collector.url + "/alerts?level=high")
    assert "/login" in page.url and "expired=1" in page.url
    assert "session has expired" in await page.locator("main").inner_text()
    await context.close()


async def test_session_expiry_during_the_live_poll_returns_to_the_queue_page(browser, collector: Collector) -> None:
    user = await collector.store.get_user_by_name("alice")
    assert user is not None
    token = await auth.create_session(collector.store, user, ttl=2.0)
    context = await browser.new_context(viewport=VIEWPORT)
    await context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": collector.url}])
    page = await context.new_page()
    await page.goto(collector.url + "/alerts?level=high&status=any")
    assert await page.locator("h1").inner_text() == "Alert queue"
    # the 5-s poll finds the session gone: htmx navigates to the login page, which must point back
    # at the queue in the address bar, not at the polled fragment
    await page.wait_for_url(re.compile(r"/login\?"), timeout=15_000)
    assert "alerts%2Flive" not in page.url and "expired=1" in page.url
    await page.fill("#username", "alice")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(collector.url + "/alerts?level=high&status=any")
    assert await page.locator("h1").inner_text() == "Alert queue"
    await context.close()
