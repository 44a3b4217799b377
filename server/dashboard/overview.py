"""Overview aggregates, computed by the store.

Open counts per level, the per-day trend, the top detectors / hosts / users and
the overdue count are exact ``COUNT``/``GROUP BY`` queries of the store
(``count_alerts``, ``count_alerts_grouped``, ``alerts_per_day``,
``top_alert_values``) whatever the table size; the result is cached briefly.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from server.api.agents import agent_state
from server.store.interface import OPEN_STATUSES, Agent, AlertFilter, Store

TREND_DAYS = 14
DAY = 86400.0
CACHE_SECONDS = 15.0
TOP_N = 8
OVERDUE_SHOWN = 100


@dataclass(slots=True)
class AgentHealth:
    agent: Agent
    health: str  # online | offline | degraded | revoked


def agent_health(agent: Agent, now: float, offline_after: float) -> str:
    """The API's online/offline/revoked rule, plus "degraded" for an online agent that says so."""
    state = agent_state(agent, offline_after, now)
    if state == "online" and (agent.degraded or any(s != "ok" for s in agent.monitors.values())):
        return "degraded"
    return state


@dataclass(slots=True)
class Overview:
    computed_at: float
    open_by_level: dict[str, int]
    trend_days: list[float]  # day starts (UTC), oldest first
    trend: dict[str, list[int]]  # level -> count per day
    top_detectors: list[tuple[str, int]]
    top_hosts: list[tuple[str, int]]
    top_users: list[tuple[str, int]]
    total: int  # alerts of the trend period
    agents: Counter[str] = field(default_factory=Counter)
    overdue_count: int = 0
    overdue: list = field(default_factory=list)  # the first OVERDUE_SHOWN, oldest deadline first


async def compute(store: Store, *, now: float, offline_after: float) -> Overview:
    today = now - now % DAY
    days = [today - DAY * i for i in range(TREND_DAYS - 1, -1, -1)]
    recent = AlertFilter(since=days[0])
    open_ = AlertFilter(status=list(OPEN_STATUSES))
    agents = Counter(agent_health(a, now, offline_after) for a in await store.list_agents())
    return Overview(
        computed_at=now,
        open_by_level=await store.count_alerts_grouped(open_, "level"),
        trend_days=days, trend=await store.alerts_per_day(AlertFilter(), start=days[0], days=TREND_DAYS),
        top_detectors=await store.top_alert_values(recent, "detector", TOP_N),
        top_hosts=await store.top_alert_values(recent, "host", TOP_N),
        top_users=await store.top_alert_values(recent, "user", TOP_N),
        total=await store.count_alerts(recent),
        agents=agents,
        overdue_count=await store.count_alerts(AlertFilter(status=list(OPEN_STATUSES), deadline_before=now)),
        overdue=await store.list_overdue(now, limit=OVERDUE_SHOWN),
    )


class OverviewCache:
    """The overview of this process, recomputed when older than ``CACHE_SECONDS``, or than ten times
    what computing it took: exact aggregates over millions of alerts take seconds, and an overview
    open on a wall display must not keep a store reader busy more than a tenth of the time."""

    def __init__(self) -> None:
        self._value: Overview | None = None
        self._ttl = CACHE_SECONDS

    async def get(self, store: Store, *, offline_after: float) -> Overview:
        now = time.time()
        if self._value is None or now - self._value.computed_at > self._ttl:
            started = time.perf_counter()
            self._value = await compute(store, now=now, offline_after=offline_after)
            self._ttl = max(CACHE_SECONDS, 10 * (time.perf_counter() - started))
        return self._value

    def clear(self) -> None:
        self._value = None
