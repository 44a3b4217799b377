"""Language chosen per person: the switcher saves it on the account; login and every page apply it,
in any browser; the cookie stays the login page's fallback. Real collector, real Chromium."""

from __future__ import annotations

import re

import aiohttp
import pytest

from tests.dashboard.conftest import VIEWPORT, Collector, login
from tests.dashboard.seed import PASSWORD

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(90)]
TOKEN = re.compile(r'name="csrf-token" content="([0-9a-f]{64})"')


async def _lang_of(collector: Collector, name: str) -> str | None:
    user = await collector.store.get_user_by_name(name)
    assert user is not None
    return user.lang


async def test_switch_saves_on_the_account_and_follows_the_person_to_another_browser(
        browser, collector: Collector) -> None:
    # first browser (English): alice picks Chinese
    context, page, problems, _dialogs = await login(browser, collector, "alice", locale="en-US")
    assert await page.locator("h1").inner_text() == "Overview"
    await page.select_option("#lang-select", "zh_CN")
    await page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    assert await _lang_of(collector, "alice") == "zh_CN"
    assert not problems, problems
    await context.close()

    # a second, fresh browser that asks for English and has no cookie: Chinese from the login on
    context, page, problems, _dialogs = await login(browser, collector, "alice", locale="en-US")
    assert await page.locator("html").get_attribute("lang") == "zh-CN"
    assert await page.locator("h1").inner_text() == "总览"
    await page.goto(collector.url + "/devices")
    assert await page.locator("h1").inner_text() == "移动存储设备"
    # signing out: the login page now speaks the saved language too (the cookie was set at login)
    await page.locator("form[action='/logout'] button").click()
    await page.wait_for_url(re.compile(r".*/login\?bye=1"))
    assert await page.locator("label[for=username]").inner_text() == "用户名"
    assert not problems, problems
    await context.close()

    # someone else in an English browser is not affected
    context, page, _problems, _dialogs = await login(browser, collector, "victor", locale="en-US")
    assert await page.locator("h1").inner_text() == "Overview"
    await context.close()


async def test_saved_choice_beats_the_cookie_and_a_bad_choice_is_refused(collector: Collector) -> None:
    root = await collector.store.get_user_by_name("root")
    assert root is not None
    await collector.store.set_user_lang(root.id, "en")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        # anonymous switch: cookie only, the login page follows it
        page = await (await s.get(collector.url + "/login")).text()
        r = await s.post(collector.url + "/language", data={"lang": "zh-CN", "next": "/login",
                                                              "csrf_token": TOKEN.search(page).group(1)},
                         allow_redirects=False)
        assert r.status == 303 and r.cookies["lw_lang"].value == "zh_CN"
        page = await (await s.get(collector.url + "/login")).text()
        assert 'lang="zh-CN"' in page
        # signing in as root (saved: English) gives English pages and puts the cookie back in step
        r = await s.post(collector.url + "/login", data={"username": "root", "password": PASSWORD, "next": "/",
                                                          "csrf_token": TOKEN.search(page).group(1)},
                         allow_redirects=False)
        assert r.status == 303 and r.cookies["lw_lang"].value == "en"
        html = await (await s.get(collector.url + "/")).text()
        assert 'lang="en"' in html and "<h1>Overview</h1>" in html
        # an unknown language is refused with a clear message and changes nothing
        r = await s.post(collector.url + "/language", data={"lang": "klingon", "next": "/",
                                                              "csrf_token": TOKEN.search(html).group(1)},
                         allow_redirects=False)
        assert r.status == 400 and "klingon" in await r.text()
        assert await _lang_of(collector, "root") == "en"
        # without the CSRF token nothing is saved either
        r = await s.post(collector.url + "/language", data={"lang": "zh_CN", "next": "/"}, allow_redirects=False)
        assert r.status == 403
        assert await _lang_of(collector, "root") == "en"


async def test_a_viewer_may_choose_their_own_language(browser, collector: Collector) -> None:
    context = await browser.new_context(viewport=VIEWPORT, locale="en-US")
    page = await context.new_page()
    await page.goto(collector.url + "/login")
    await page.fill("#username", "victor")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(collector.url + "/")
    await page.select_option("#lang-select", "zh_CN")
    await page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    assert await _lang_of(collector, "victor") == "zh_CN"
    # and back
    await page.select_option("#lang-select", "en")
    await page.wait_for_function("document.documentElement.lang === 'en'")
    assert await _lang_of(collector, "victor") == "en"
    await context.close()
