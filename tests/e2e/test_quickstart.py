"""docs/quickstart.md, followed for real: processes, a dropped file, the alert in Chromium.

Saves the screenshots the quickstart shows (docs/screenshots/quickstart-*.png).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SAMPLE = "机密★5年\n\n关于2027年度人员调整的通知\n\n张三，身份证号110105199003071239，手机 139-1234-8765。\n"


def test_quickstart_first_alert_in_the_browser(deploy) -> None:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium (listed in .ci/apt-packages.txt)")
    from playwright.sync_api import sync_playwright

    d = deploy()
    (d.watch / "人员调整通知.txt").write_text(SAMPLE, encoding="utf-8")
    alert = d.alert_for("人员调整通知.txt", timeout=30)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="en-US")
        page.goto(d.url + "login")
        page.fill("#username", d.user)
        page.fill("#password", d.password)
        page.click("button[type=submit]")
        page.wait_for_url(d.url)
        page.click("nav >> text=Alerts")
        page.wait_for_url(re.compile(r"/alerts"))
        first = page.locator("#rows tr").first
        assert first.get_attribute("data-alert-id") == str(alert["id"])
        page.screenshot(path=str(SHOTS / "quickstart-queue.png"))
        page.click(f"#rows tr[data-alert-id='{alert['id']}'] a[data-row-link]")
        page.wait_for_url(re.compile(rf"/alerts/{alert['id']}$"))
        body = page.locator("main").inner_text()
        assert "人员调整通知.txt" in body and "机密" in body and "110105199003071239" not in body
        page.screenshot(path=str(SHOTS / "quickstart-detail.png"), full_page=True)
        browser.close()
