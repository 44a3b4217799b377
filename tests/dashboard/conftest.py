"""A real collector (create_app, aiohttp's real server on loopback, SQLite) with seeded data,
and real headless Chromium (Debian's /usr/bin/chromium driven by Playwright, no browser download).

Everything is module-scoped and runs on one event loop: the server answers the
browser while a test awaits Playwright.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web

from server.app import create_app
from server.config import default_config
from server.keys import STORE
from server.store.interface import Store
from tests.dashboard.seed import PASSWORD, Seeded, seed

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


@dataclass(slots=True)
class Collector:
    url: str
    app: web.Application
    seeded: Seeded

    @property
    def store(self) -> Store:
        return self.app[STORE]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def collector(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Collector]:
    data = tmp_path_factory.mktemp("collector")
    # the default login limit: only failed sign-ins count, so the many sign-ins of a run pass
    app = create_app(default_config(data_dir=data))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    seeded = await seed(app[STORE])
    try:
        yield Collector(f"http://127.0.0.1:{port}", app, seeded)
    finally:
        await runner.cleanup()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[object]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium (listed in .ci/apt-packages.txt)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            await b.close()


async def login(browser: object, collector: Collector, user: str = "alice", *, locale: str = "en-US",
                accept_dialogs: bool = False):
    """A fresh browser context signed in as ``user``; returns (context, page, console/page errors, dialogs).

    Dialogs are recorded (an XSS would raise one) and dismissed, or accepted for confirmations.
    """
    context = await browser.new_context(viewport=VIEWPORT, locale=locale)  # type: ignore[attr-defined]
    page = await context.new_page()
    problems: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)

    async def on_dialog(d) -> None:  # type: ignore[no-untyped-def]
        dialogs.append(d.message)
        await (d.accept() if accept_dialogs else d.dismiss())

    page.on("dialog", on_dialog)
    await page.goto(collector.url + "/login")
    await page.fill("#username", user)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(collector.url + "/")
    return context, page, problems, dialogs
