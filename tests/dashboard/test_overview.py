"""The overview's figures are exact at any size (store aggregates), not folded from a bounded scan."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest

from server.dashboard.state import DASHBOARD
from server.store.interface import OPEN_STATUSES, AlertFilter
from tests.dashboard.conftest import Collector
from tests.dashboard.test_pages import signed_in
from tests.dashboard.seed import make_alert

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]


async def test_overview_counts_are_exact_past_the_old_scan_caps(collector: Collector) -> None:
    now = time.time()
    store = collector.store
    # more open high alerts than the old per-level cap (2,000), more recent alerts than the old scan (10,000
    # would take too long here; the cap on open counts is what a reader saw as "2,000+")
    async with store.transaction() as tx:
        for i in range(2_150):
            await tx.insert_alert(make_alert(10_000 + i, level="high", score=60 + i % 5, host=f"bulk-{i % 3}",
                                             user="bulk", path=f"/srv/{i}.csv", detectors=["pii.cn_mobile"],
                                             now=now - (i % 10) * 3600))
    everything = []
    cursor = None
    while True:
        page = await store.list_alerts(AlertFilter(before_id=cursor, limit=500))
        everything += page.items
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    open_high = sum(1 for a in everything if a.level == "high" and a.status in OPEN_STATUSES)
    assert open_high > 2_000
    collector.app[DASHBOARD].overview.clear()
    session = await signed_in(collector.url, "alice")
    try:
        html = await (await session.get(collector.url + "/")).text()
    finally:
        await session.close()
    shown = re.search(r'<a class="kpi high" [^>]*><span class="n">([\d,]+)</span>', html)
    assert shown is not None and int(shown.group(1).replace(",", "")) == open_high
    ov = collector.app[DASHBOARD].overview._value
    assert ov is not None
    hosts = Counter(a.host for a in everything if a.host and a.time >= ov.trend_days[0])
    assert ov.top_hosts[:3] == sorted(hosts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert ov.total == sum(1 for a in everything if a.time >= ov.trend_days[0])
    assert sum(sum(v) for v in ov.trend.values()) == ov.total
    overdue = sum(1 for a in everything if a.status in OPEN_STATUSES and a.sla_deadline is not None
                  and a.sla_deadline <= ov.computed_at)
    assert ov.overdue_count == overdue


async def test_top_host_link_lists_exactly_the_alerts_it_counts(collector: Collector) -> None:
    now = time.time()
    async with collector.store.transaction() as tx:
        for i in range(40):  # 25 in the period, 15 from a month ago, some closed
            await tx.insert_alert(make_alert(i, level="medium", score=40, host="twice-seen", user="u",
                                             path=f"/srv/t{i}.txt", detectors=["pii.email"], now=now,
                                             status="false_positive" if i % 4 == 0 else "new",
                                             when=now - (30 * 86400 if i >= 25 else 60)))
    collector.app[DASHBOARD].overview.clear()
    session = await signed_in(collector.url, "alice")
    try:
        html = await (await session.get(collector.url + "/")).text()
        link = re.search(r'<a href="(/alerts\?host=twice-seen[^"]*)">twice-seen</a>', html)
        assert link is not None, "twice-seen is among the top hosts"
        counted = re.search(r'twice-seen</a></td>\s*<td><meter[^>]*>\d+</meter></td><td class="num">(\d+)<', html)
        assert counted is not None and int(counted.group(1)) == 25
        href = link.group(1).replace("&amp;", "&")
        export = await (await session.get(collector.url + href.replace("/alerts?", "/alerts.csv?", 1))).text()
    finally:
        await session.close()
    assert len(export.strip().splitlines()) - 1 == 25  # header + the rows the overview counted
