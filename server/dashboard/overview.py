"""Overview aggregates, computed from the store's public methods.

The store offers counts by level and the overdue list; trend and top lists are
folded here from the recent alerts (newest first, at most
``DashboardState.overview_scan_limit`` of them) and cached briefly, so opening
the overview costs one bounded scan per ``CACHE_SECONDS`` whatever the table size.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from server.store.interface import LEVELS, OPEN_STATUSES, Agent, AlertFilter, Store

TREND_DAYS = 14
DAY = 86400.0
CACHE_SECONDS = 15.0
TOP_N = 8
#: how many of the newest alerts the trend and top lists read at most
SCAN_LIMIT = 10_000
#: open alerts are counted per level up to this many (shown as "2,000+"): the store
#: counts only all alerts by level, so open ones are counted from indexed pages
OPEN_COUNT_CAP = 2_000


@dataclass(slots=True)
class AgentHealth:
    agent: Agent
    health: str  # online | offline | degraded | revoked


def agent_health(agent: Agent, now: float, offline_after: float) -> str:
    if agent.revoked_at is not None:
        return "revoked"
    if agent.last_seen is None or agent.last_seen < now - offline_after:
        return "offline"
    if agent.degraded or any(state != "ok" for state in agent.monitors.values()):
        return "degraded"
    return "online"


@dataclass(slots=True)
class Overview:
    computed_at: float
    open_by_level: dict[str, int]
    open_capped: set[str]  # levels whose count reached OPEN_COUNT_CAP
    all_by_level: dict[str, int]
    trend_days: list[float]  # day starts (UTC), oldest first
    trend: dict[str, list[int]]  # level -> count per day
    top_detectors: list[tuple[str, int]]
    top_hosts: list[tuple[str, int]]
    top_users: list[tuple[str, int]]
    scanned: int
    truncated: bool
    agents: Counter[str] = field(default_factory=Counter)
    overdue: list = field(default_factory=list)


async def count_open(store: Store, level: str, cap: int = OPEN_COUNT_CAP) -> int:
    n, cursor = 0, None
    while n < cap:
        page = await store.list_alerts(AlertFilter(level=[level], status=list(OPEN_STATUSES), before_id=cursor,
                                                   limit=min(1000, cap - n)))
        n += len(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return n


async def compute(store: Store, *, now: float, offline_after: float, scan_limit: int) -> Overview:
    today = now - now % DAY
    days = [today - DAY * i for i in range(TREND_DAYS - 1, -1, -1)]
    trend = {lv: [0] * TREND_DAYS for lv in LEVELS}
    detectors: Counter[str] = Counter()
    hosts: Counter[str] = Counter()
    users: Counter[str] = Counter()
    scanned = 0
    cursor: int | None = None
    while scanned < scan_limit:
        page = await store.list_alerts(AlertFilter(since=days[0], before_id=cursor, limit=min(1000, scan_limit - scanned)))
        for a in page.items:
            index = int((a.time - days[0]) // DAY)
            if 0 <= index < TREND_DAYS and a.level in trend:
                trend[a.level][index] += 1
            detectors.update(set(a.detectors))
            if a.host:
                hosts[a.host] += 1
            if a.user:
                users[a.user] += 1
        scanned += len(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    open_by_level = {lv: await count_open(store, lv) for lv in reversed(LEVELS)}
    agents = Counter(agent_health(a, now, offline_after) for a in await store.list_agents())
    return Overview(
        computed_at=now,
        open_by_level=open_by_level,
        open_capped={lv for lv, n in open_by_level.items() if n >= OPEN_COUNT_CAP},
        all_by_level=await store.count_alerts_by_level(),
        trend_days=days, trend=trend,
        top_detectors=detectors.most_common(TOP_N), top_hosts=hosts.most_common(TOP_N),
        top_users=users.most_common(TOP_N),
        scanned=scanned, truncated=scanned >= scan_limit,
        agents=agents,
        overdue=await store.list_overdue(now, limit=100),
    )


class OverviewCache:
    def __init__(self) -> None:
        self._value: Overview | None = None

    async def get(self, store: Store, *, offline_after: float, scan_limit: int) -> Overview:
        now = time.time()
        if self._value is None or now - self._value.computed_at > CACHE_SECONDS:
            self._value = await compute(store, now=now, offline_after=offline_after, scan_limit=scan_limit)
        return self._value

    def clear(self) -> None:
        self._value = None
