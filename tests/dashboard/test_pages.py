"""Dashboard behaviour over plain HTTP against a real collector (no browser needed for these)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from server.app import create_app
from server.config import default_config
from server.dashboard.security import CSP, SESSION_COOKIE, csrf_token_for
from server.dashboard.state import DASHBOARD
from server.keys import CONFIG, LOGIN_LIMITER, STORE
from server.store.interface import LEVELS, OPEN_STATUSES, AlertFilter
from tests.dashboard.conftest import Collector
from tests.dashboard.seed import PASSWORD, make_alert, seed

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]
TOKEN = re.compile(r'name="csrf-token" content="([0-9a-f]{64})"')


async def signed_in(url: str, user: str, *, session: aiohttp.ClientSession | None = None) -> aiohttp.ClientSession:
    s = session or aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    page = await (await s.get(url + "/login")).text()
    r = await s.post(url + "/login", data={"username": user, "password": PASSWORD, "next": "/",
                                           "csrf_token": TOKEN.search(page).group(1)}, allow_redirects=False)
    assert r.status == 303, await r.text()
    return s


async def token_of(s: aiohttp.ClientSession, url: str) -> str:
    return TOKEN.search(await (await s.get(url)).text()).group(1)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def alice(collector: Collector) -> AsyncIterator[aiohttp.ClientSession]:
    s = await signed_in(collector.url, "alice")
    yield s
    await s.close()


PAGES = ["/", "/alerts", "/alerts?status=any&level=critical", "/incidents", "/agents", "/devices", "/review"]


async def test_pages_have_no_inline_script_or_style_and_send_csp(collector: Collector, alice) -> None:
    pages = PAGES + [f"/alerts/{collector.seeded.worst_id}", f"/alerts/{collector.seeded.xss_id}",
                     f"/incidents/{collector.seeded.incident_id}", "/login"]
    for path in pages:
        r = await alice.get(collector.url + path)
        html = await r.text()
        assert r.status == 200, path
        assert r.headers["Content-Security-Policy"] == CSP
        assert "unsafe-inline" not in CSP and "default-src 'self'" in CSP
        assert r.headers["X-Frame-Options"] == "DENY"
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"inline script on {path}"
        assert not re.search(r"<style|\sstyle=", html), f"inline style on {path}"
        assert not re.search(r"<[a-z][^>]*\son[a-z]+=", html, re.I), f"event-handler attribute on {path}"
        assert not re.search(r"(src|href)=\"(https?:)?//", html), f"external asset on {path}"


async def test_every_referenced_asset_is_served_from_the_package(collector: Collector, alice) -> None:
    html = await (await alice.get(collector.url + "/")).text()
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert {"/static/vendor/htmx.min.js", "/static/vendor/uPlot.iife.min.js", "/static/app.js"} <= set(assets)
    for asset in assets:
        r = await alice.get(collector.url + asset)
        assert r.status == 200 and len(await r.read()) > 100, asset


async def test_anonymous_is_sent_to_login_and_htmx_gets_a_redirect_header(collector: Collector) -> None:
    async with aiohttp.ClientSession() as s:
        for path in PAGES[:-1] + [f"/alerts/{collector.seeded.worst_id}", "/alerts.csv"]:
            r = await s.get(collector.url + path, allow_redirects=False)
            assert r.status == 303 and r.headers["Location"].startswith("/login?next="), path
        r = await s.get(collector.url + "/alerts/live?since=0", headers={"HX-Request": "true"},
                        allow_redirects=False)
        assert r.status == 401 and r.headers["HX-Redirect"].startswith("/login")


async def test_expired_session_returns_to_the_page_not_to_a_fragment_or_an_action(collector: Collector) -> None:
    from urllib.parse import parse_qs, urlsplit
    host = collector.url.split("//", 1)[1]

    def next_of(location: str) -> str:
        return parse_qs(urlsplit(location).query)["next"][0]

    async with aiohttp.ClientSession(cookies={SESSION_COOKIE: "stale-session"}) as s:
        poll = collector.url + "/alerts/live?level=high&since=5"
        # htmx's live poll: back to the queue page in the address bar, with its filter
        r = await s.get(poll, allow_redirects=False, headers={
            "HX-Request": "true", "HX-Current-URL": f"http://{host}/alerts?level=high&q=x%26y"})
        assert r.status == 401 and "expired=1" in r.headers["HX-Redirect"]
        assert next_of(r.headers["HX-Redirect"]) == "/alerts?level=high&q=x%26y"
        # another origin, a POST-only page left in the address bar, or no header: the overview
        for current in ("http://evil.example/alerts", f"http://{host}/alerts/bulk", f"http://{host}/alerts/live",
                        "//evil.example/x", None):
            headers = {"HX-Request": "true", **({"HX-Current-URL": current} if current else {})}
            r = await s.get(poll, allow_redirects=False, headers=headers)
            assert next_of(r.headers["HX-Redirect"]) == "/", current
        # without htmx: a fragment or a POST-only action is no place to return to; a page is
        r = await s.get(poll, allow_redirects=False)
        assert r.status == 303 and next_of(r.headers["Location"]) == "/"
        r = await s.post(collector.url + "/alerts/bulk", allow_redirects=False,
                         data={"csrf_token": csrf_token_for("stale-session"), "op": "acknowledge", "ids": "1"})
        assert r.status == 303 and next_of(r.headers["Location"]) == "/"
        r = await s.get(collector.url + "/alerts?level=low", allow_redirects=False)
        assert next_of(r.headers["Location"]) == "/alerts?level=low"


async def test_login_does_not_redirect_off_site_and_sets_strict_cookie(collector: Collector) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        page = await (await s.get(collector.url + "/login?next=//evil.example/x")).text()
        r = await s.post(collector.url + "/login", allow_redirects=False, data={
            "username": "alice", "password": PASSWORD, "next": "//evil.example/x",
            "csrf_token": TOKEN.search(page).group(1)})
        assert r.status == 303 and r.headers["Location"] == "/"
        cookie = r.cookies[SESSION_COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
        # wrong password: a clear message, no session
        page = await (await s.get(collector.url + "/login")).text()
        r = await s.post(collector.url + "/login", data={"username": "alice", "password": "nope-nope",
                                                         "csrf_token": TOKEN.search(page).group(1)})
        assert r.status == 401 and "Wrong user name or password" in await r.text()


async def test_invalid_filters_are_reported_and_ignored(collector: Collector, alice) -> None:
    r = await alice.get(collector.url + "/alerts?level=bogus&after=zzz&range=1y&since=yesterday&host=finance-01")
    html = await r.text()
    assert r.status == 200
    for bad in ("level=bogus", "after=zzz", "range=1y", "since=yesterday"):
        assert f"Ignored the invalid filter {bad}" in html
    assert "finance-01" in html


async def walk(collector: Collector, session: aiohttp.ClientSession, url: str) -> tuple[list[int], list[str]]:
    """Follow the "next page" links with 7 rows a page; the ids and levels seen, in order."""
    state = collector.app[DASHBOARD]
    state.page_size = 7
    seen: list[int] = []
    levels: list[str] = []
    try:
        for _ in range(40):
            html = await (await session.get(collector.url + url)).text()
            seen += [int(x) for x in re.findall(r'<tr data-alert-id="(\d+)"', html)]
            levels += re.findall(r'<span class="level level-(\w+)">', html.split('id="rows"', 1)[1])
            nxt = re.search(r'rel="next" href="([^"]+)"', html)
            if not nxt:
                break
            url = nxt.group(1).replace("&amp;", "&")
    finally:
        state.page_size = 50
    return seen, levels


async def test_keyset_pages_walk_every_open_alert_once_in_risk_order(collector: Collector, alice) -> None:
    seen, levels = await walk(collector, alice, "/alerts")
    open_ids = []
    for level in LEVELS:
        page = await collector.store.list_alerts(AlertFilter(level=[level], status=list(OPEN_STATUSES), limit=1000))
        open_ids += [a.id for a in page.items]
    assert sorted(seen) == sorted(open_ids) and len(seen) == len(set(seen))
    ranks = [LEVELS.index(lv) for lv in levels]
    assert ranks == sorted(ranks, reverse=True), "critical first, then high, medium, low"
    # strictly by score across pages (newest first among equal scores), not only inside a page
    keys = [(a.score, a.id) for a in [await collector.store.get_alert(i) for i in seen] if a is not None]
    assert len({k[0] for k in keys}) > 3 and keys == sorted(keys, reverse=True)
    # a text search pages too: every match once, nothing else, in risk order
    seen, _levels = await walk(collector, alice, "/alerts?status=any&q=report-1")
    expected = (await collector.store.list_alerts(AlertFilter(q="report-1", limit=1000))).items
    assert len(expected) > 7 and seen == [a.id for a in sorted(expected, key=lambda a: (-a.score, -a.id))]


async def test_csv_export_follows_the_filter_and_defuses_formulas(collector: Collector, alice) -> None:
    now = time.time()
    evils = ("=HYPERLINK(\"http://x\")", "+SUM(A1)", "-2+3", "@cmd", " =1+1", "\n=2+2", "\t=3+3", "\u3000=4+4",
             "\x0b@cmd", "\uff1dSUM(A1)")
    for i, evil in enumerate(evils):
        await collector.store.insert_alert(make_alert(900 + i, level="medium", score=40, host="csv-host", user=evil,
                                                      path=f"/tmp/{i}.txt", detectors=["pii.email"], now=now,
                                                      title=evil))
    r = await alice.get(collector.url + "/alerts.csv?host=csv-host&status=any")
    assert r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO((await r.read()).decode("utf-8-sig"))))
    assert len(rows) == len(evils) and {row["host"] for row in rows} == {"csv-host"}
    for row in rows:
        assert row["title"][0] == "'" and row["user"][0] == "'", row
    assert sorted(row["title"][1:] for row in rows) == sorted(evils)  # defused, not altered


async def test_bulk_assign_and_bad_operation(collector: Collector, alice) -> None:
    token = await token_of(alice, collector.url + "/alerts")
    target = collector.seeded.ids[5]
    r = await alice.post(collector.url + "/alerts/bulk", allow_redirects=False, data=[
        ("csrf_token", token), ("op", "assign"), ("assignee", "root"), ("ids", str(target)), ("next", "/alerts")])
    assert r.status == 303 and "done=1" in r.headers["Location"]
    stored = await collector.store.get_alert(target)
    assert stored is not None and stored.assignee == "root"
    audit = await collector.store.list_audit(target_type="alert", target_id=str(target))
    assert audit[0].actor == "alice" and audit[0].detail["before"]["assignee"] is None
    assert audit[0].detail["after"]["assignee"] == "root"
    r = await alice.post(collector.url + "/alerts/bulk", data={"csrf_token": token, "op": "assign", "assignee": "bob",
                                                              "ids": str(target)})
    assert r.status == 400 and "bob is not a user" in await r.text()
    # the form comes back from a page that showed the last result: only the new one is in the URL
    r = await alice.post(collector.url + "/alerts/bulk", allow_redirects=False, data=[
        ("csrf_token", token), ("op", "assign"), ("assignee", "alice"), ("ids", str(target)),
        ("next", "/alerts?host=ws-00&status=any&done=3")])
    assert r.headers["Location"] == "/alerts?host=ws-00&status=any&done=1"
    html = await (await alice.get(collector.url + r.headers["Location"])).text()
    assert "1 alert changed" in html and 'name="next" value="/alerts?status=any&amp;host=ws-00"' in html
    # a refused change keeps the analyst on the filtered queue, with the reason
    r = await alice.post(collector.url + "/alerts/bulk", data=[
        ("csrf_token", token), ("op", "assign"), ("assignee", "nosuchuser"), ("ids", str(target)),
        ("next", "/alerts?host=ws-00&status=any")])
    html = await r.text()
    assert r.status == 400 and "nosuchuser is not a user." in html and "Back to the overview" not in html
    assert 'name="host" value="ws-00"' in html and "Alert queue" in html
    hosts = set(re.findall(r'<td>([^<]*)</td>\s*<td>user', html))
    assert hosts == {"ws-00"}, hosts
    assert (await collector.store.get_alert(target)).assignee == "alice"  # type: ignore[union-attr]
    r = await alice.post(collector.url + f"/alerts/{target}/status", data={"csrf_token": token, "status": "resolved"})
    assert r.status == 400 and "needs a note" in await r.text()
    r = await alice.post(collector.url + "/alerts/bulk", data={"csrf_token": token, "op": "delete", "ids": "1"})
    assert r.status == 400 and "not valid" in await r.text()
    r = await alice.post(collector.url + f"/alerts/{target}/status", data={"csrf_token": token, "status": "gone"})
    assert r.status == 400
    assert (await collector.store.get_alert(target)).status == "new"  # type: ignore[union-attr]


@pytest_asyncio.fixture(loop_scope="module")
async def strict_collector(tmp_path: Path) -> AsyncIterator[Collector]:
    """Default login limits and a small review limit; served over TLS with a throw-away certificate."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    app = create_app(default_config(data_dir=tmp_path / "data", review_max_bytes=2048))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    seeded = await seed(app[STORE])
    yield Collector(f"https://127.0.0.1:{port}", app, seeded)
    await runner.cleanup()


async def test_tls_cookie_secure_login_rate_limit_and_review_size(strict_collector: Collector) -> None:
    url = strict_collector.url
    conn = aiohttp.TCPConnector(ssl=False)  # the throw-away certificate is self-signed
    async with aiohttp.ClientSession(connector=conn, cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        page = await (await s.get(url + "/login")).text()
        token = TOKEN.search(page).group(1)
        r = await s.post(url + "/login", allow_redirects=False,
                         data={"username": "alice", "password": PASSWORD, "csrf_token": token})
        assert r.status == 303 and r.cookies[SESSION_COOKIE]["secure"]
        # the review limit: a clear 413 page, nothing stored
        form = aiohttp.FormData()
        form.add_field("document", b"x" * 4096, filename="big.txt", content_type="text/plain")
        token = await token_of(s, url + "/review")
        r = await s.post(url + "/review", data=form, headers={"X-CSRF-Token": token})
        assert r.status == 413 and "larger than the review limit" in await r.text()


async def login_status(s: aiohttp.ClientSession, url: str, user: str, password: str) -> aiohttp.ClientResponse:
    s.cookie_jar.clear()
    page = await (await s.get(url + "/login")).text()
    return await s.post(url + "/login", allow_redirects=False, data={
        "username": user, "password": password, "csrf_token": TOKEN.search(page).group(1)})


async def test_login_rate_limit_counts_only_failures(strict_collector: Collector) -> None:
    url = strict_collector.url
    burst = int(strict_collector.app[CONFIG].login_rate.burst)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False),
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        # correct sign-ins cost nothing: well past the burst, every one still gets in
        statuses = [(await login_status(s, url, "alice", PASSWORD)).status for _ in range(burst * 2)]
        assert statuses == [303] * (burst * 2), statuses
        # and the API (the same limiter and keys) still lets another person in from this address
        r = await s.post(url + "/api/v1/auth/login", json={"username": "root", "password": PASSWORD})
        assert r.status == 200, await r.text()
        # failures count, per name and per address: past the burst even the right password is refused
        statuses = [(await login_status(s, url, "victor", "guess-guess")).status for _ in range(burst)]
        assert statuses == [401] * burst, statuses
        r = await login_status(s, url, "victor", PASSWORD)
        assert r.status == 429 and "Too many failed sign-ins" in await r.text() and int(r.headers["Retry-After"]) > 0
        r = await s.post(url + "/api/v1/auth/login", json={"username": "victor", "password": PASSWORD})
        assert r.status == 429 and int(r.headers["Retry-After"]) > 0
        # a refused attempt is not a failure that extends the wait, and creates no counter for its name
        assert strict_collector.app[LOGIN_LIMITER].blocked("user:nobody-typed-this") == 0
        r = await login_status(s, url, "nobody-typed-this", "guess-guess")
        assert r.status == 429 and "user:nobody-typed-this" not in strict_collector.app[LOGIN_LIMITER]


async def test_incident_close_with_note_is_audited(collector: Collector, alice) -> None:
    inc_id = collector.seeded.incident_id
    token = await token_of(alice, f"{collector.url}/incidents/{inc_id}")
    r = await alice.post(f"{collector.url}/incidents/{inc_id}/status",
                         data={"csrf_token": token, "status": "closed", "note": "stick recovered <ok>"})
    html = await r.text()
    assert r.status == 200 and "stick recovered &lt;ok&gt;" in html
    stored = await collector.store.get_incident(inc_id)
    assert stored is not None and stored.status == "closed"
    r = await alice.post(f"{collector.url}/incidents/{inc_id}/status", data={"csrf_token": token, "status": "gone"})
    assert r.status == 400 and "Unknown status gone" in await r.text()


async def test_review_without_a_document_is_a_clear_error(collector: Collector, alice) -> None:
    token = await token_of(alice, collector.url + "/review")
    form = aiohttp.FormData()
    form.add_field("other", "x")
    r = await alice.post(collector.url + "/review", data=form, headers={"X-CSRF-Token": token})
    assert r.status == 400 and "The request was not valid" in await r.text()
    # the plain-form fallback carries the token in the action URL (multipart bodies are not read for it)
    form = aiohttp.FormData()
    form.add_field("document", "季度工作总结，无敏感内容。".encode(), filename="a.txt", content_type="text/plain")
    r = await alice.post(f"{collector.url}/review?csrf_token={token}", data=form)
    html = await r.text()
    assert r.status == 200 and 'id="verdict-text">No sensitive content found<' in html


async def test_agents_page_shows_a_skewed_clock(collector: Collector, alice) -> None:
    from server.store.interface import Agent
    now = time.time()
    for agent_id, skew in (("skew-behind", -3600.4), ("skew-fine", 12.0), ("skew-ahead", 900.0)):
        agent = Agent(id=agent_id, token_hash=f"h-{agent_id}", hostname=agent_id, version="1", os="linux",
                      enrolled_at=now)
        await collector.store.create_agent(agent)
        agent.last_seen, agent.clock_skew = now, skew
        await collector.store.update_agent(agent)
    html = await (await alice.get(collector.url + "/agents")).text()
    assert "Clock 3,600 s behind" in html and "Clock 900 s ahead" in html
    assert "Clock 12 s" not in html  # within agents.clock_skew_tolerance
    zh = await (await alice.get(collector.url + "/agents", headers={"Accept-Language": "zh-CN"})).text()
    assert "时钟慢 3,600 秒" in zh


async def test_live_updates_send_a_burst_over_several_polls_and_reload_for_a_flood(collector: Collector,
                                                                                  alice) -> None:
    from server.dashboard.queue import LIVE_BATCH, LIVE_WINDOW
    # closed alerts (status=any shows them): the open queue the other tests walk stays as seeded
    url = collector.url + "/alerts/live?host=burst-host&status=any&since="
    html = await (await alice.get(collector.url + "/alerts?host=burst-host&status=any")).text()
    since = int(re.search(r"since=(\d+)", html).group(1))
    now = time.time()
    burst = []
    async with collector.store.transaction() as tx:
        for i in range(LIVE_BATCH + 20):
            burst.append((await tx.insert_alert(make_alert(i, level="high", score=60 + i % 30, host="burst-host",
                                                           user="u", path=f"/tmp/b{i}.txt",
                                                           detectors=["pii.email"], now=now,
                                                           status="false_positive"))).id)
    shown: list[int] = []
    for _ in range(4):
        r = await alice.get(url + str(since), headers={"HX-Request": "true"})
        html = await r.text()
        shown += [int(x) for x in re.findall(r'<tr class="new-row" data-alert-id="(\d+)"', html)]
        since = int(re.search(r"since=(\d+)", html).group(1))
    assert sorted(shown) == sorted(burst), "every alert of the burst appears once"
    # more than a poll can look through: the page reloads instead of skipping any
    async with collector.store.transaction() as tx:
        for i in range(LIVE_WINDOW + 1):
            await tx.insert_alert(make_alert(i, level="low", score=20, host="burst-host", user="u",
                                             path=f"/tmp/f{i}.txt", detectors=["pii.email"], now=now,
                                             status="false_positive"))
    r = await alice.get(url + str(since), headers={"HX-Request": "true"})
    assert r.headers.get("HX-Refresh") == "true"


async def test_pages_name_the_time_zone_of_their_times(collector: Collector, alice) -> None:
    import zoneinfo
    pages = ["/", "/alerts", f"/alerts/{collector.seeded.worst_id}", "/incidents", "/agents"]
    for path in pages:
        html = await (await alice.get(collector.url + path)).text()
        assert re.search(r"<span class=\"muted\" data-timezone>UTC</span>", html), path
    state = collector.app[DASHBOARD]
    state.tz = zoneinfo.ZoneInfo("Asia/Shanghai")
    try:
        for path in pages:
            html = await (await alice.get(collector.url + path)).text()
            assert "data-timezone>Asia/Shanghai (UTC+08:00)</span>" in html, path
        html = await (await alice.get(collector.url + "/alerts?status=any")).text()
        assert "Time <span class=\"muted\">(UTC+08:00)</span>" in html
        # the times themselves are in that zone: an alert's shown hour is its UTC hour + 8
        iso, shown = re.search(r'<time datetime="([^"]+)">([^<]+)</time>', html).groups()
        local_hour = (int(iso[11:13]) + 8) % 24
        assert re.search(rf"\b{local_hour % 12 or 12}:\d\d\s?[AP]M", shown), (iso, shown)  # en: 12-hour clock
    finally:
        state.tz = dt.timezone.utc
