"""Routing: which destinations hear about an alert, with which title and body.

Routes are tried in order; every route whose ``match`` holds contributes its
destinations (a destination named by two routes gets one delivery, with the
first route's templates), until a matching route says ``stop: true``.
Conditions inside one ``match`` all have to hold; a list inside one condition
means any of its values.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from server.forward.alert import AlertView, level_rank, raise_level
from server.forward.templates import MessageTemplate

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Match:
    levels: frozenset[str] | None = None
    min_level: str | None = None
    families: frozenset[str] | None = None
    detectors: tuple[str, ...] | None = None  # glob patterns: "secret.*", "pii.cn_*"
    host_groups: frozenset[str] | None = None
    statuses: frozenset[str] | None = None
    hours: tuple[tuple[int, int], ...] | None = None  # minutes since midnight, [start, end)
    days: frozenset[int] | None = None  # 0 = Monday
    escalated: bool | None = None

    def holds(self, alert: AlertView, groups: frozenset[str], local: dt.datetime) -> bool:
        if self.levels is not None and alert.level not in self.levels:
            return False
        if self.min_level is not None and level_rank(alert.level) < level_rank(self.min_level):
            return False
        if self.families is not None and not self.families.intersection(alert.families):
            return False
        if self.detectors is not None and not any(
            fnmatch.fnmatchcase(d, p) for d in alert.detectors for p in self.detectors
        ):
            return False
        if self.host_groups is not None and not self.host_groups.intersection(groups):
            return False
        if self.statuses is not None and alert.status not in self.statuses:
            return False
        if self.escalated is not None and alert.escalated != self.escalated:
            return False
        if self.days is not None and local.weekday() not in self.days:
            return False
        if self.hours is not None:
            minute = local.hour * 60 + local.minute
            if not any(_in_span(minute, start, end) for start, end in self.hours):
                return False
        return True


def _in_span(minute: int, start: int, end: int) -> bool:
    if start <= end:
        return start <= minute < end
    return minute >= start or minute < end  # wraps midnight: 22:00-06:00


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    match: Match
    destinations: tuple[str, ...]
    template: MessageTemplate
    escalate_to: str | None = None
    stop: bool = False


class Router:
    def __init__(self, routes: tuple[Route, ...], host_groups: Mapping[str, tuple[str, ...]], tz: ZoneInfo) -> None:
        self.routes = routes
        self.by_name = {r.name: r for r in routes}
        self.host_groups = {g: tuple(p.lower() for p in pats) for g, pats in host_groups.items()}
        self.tz = tz

    def groups_of(self, host: str) -> frozenset[str]:
        h = host.lower()
        return frozenset(g for g, pats in self.host_groups.items() if any(fnmatch.fnmatchcase(h, p) for p in pats))

    def match(self, alert: AlertView, now: float) -> list[Route]:
        groups = self.groups_of(alert.host)
        local = dt.datetime.fromtimestamp(now, self.tz)
        out: list[Route] = []
        for route in self.routes:
            if route.match.holds(alert, groups, local):
                out.append(route)
                if route.stop:
                    break
        return out

    def escalation(self, alert: AlertView, now: float) -> tuple[AlertView, list[Route]]:
        """The escalated view of an overdue alert (one level up) and the routes it goes to.

        The routes the alert matched name their ``escalate_to`` route: the next
        route up the chain. Without any, the escalated view is routed afresh
        (its higher level and ``escalated: true`` may now match other routes).
        """
        raised = alert.with_(level=raise_level(alert.level), escalated=True,
                             escalation_level=alert.escalation_level + 1)
        targets = [self.by_name[r.escalate_to] for r in self.match(alert, now) if r.escalate_to]
        if not targets:
            targets = self.match(raised, now)
        return raised, list(dict.fromkeys(targets))

    @staticmethod
    def deliveries(routes: list[Route]) -> list[tuple[str, Route]]:
        """(destination, route whose template it uses), each destination once."""
        seen: dict[str, Route] = {}
        for route in routes:
            for dest in route.destinations:
                seen.setdefault(dest, route)
        return list(seen.items())
