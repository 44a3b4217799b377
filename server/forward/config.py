"""The ``forward:`` section of ``configs/server.yaml``, validated once at start-up.

The collector's config loader passes the parsed ``forward`` mapping and the
file name to :func:`load_forward_config`; every problem is a
:class:`ConfigError` naming the file and the dotted key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leakwarden.errors import ConfigError
from server.forward.alert import LEVELS, STATUSES
from server.forward.destination import DestinationType
from server.forward.options import Section
from server.forward.registry import DESTINATION_TYPES
from server.forward.router import DAYS, Match, Route, Router
from server.forward.templates import MessageTemplate

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HOURS = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-4]):([0-5]\d)\s*$")
FAMILIES = ("pii", "secret", "marking", "ml", "custom", "container", "agent", "net", "device")


@dataclass(frozen=True, slots=True)
class RateLimit:
    per_second: float
    burst: int


@dataclass(frozen=True, slots=True)
class DestinationConfig:
    name: str
    type: DestinationType
    settings: Any
    rate_limit: RateLimit | None
    max_attempts: int | None


@dataclass(frozen=True, slots=True)
class OutboxConfig:
    max_attempts: int = 8
    backoff_initial: float = 5.0
    backoff_factor: float = 2.0
    backoff_max: float = 3600.0
    lease: float = 60.0  # a claimed item another worker may take over after this
    batch: int = 200
    poll_interval: float = 0.5
    concurrency: int = 64  # deliveries in flight per process


@dataclass(frozen=True, slots=True)
class SlaConfig:
    """How overdue alerts are followed up. The deadlines per level are the collector's
    top-level ``sla:`` section (it stamps ``sla_deadline`` on every alert it creates)."""

    check_interval: float = 30.0
    escalate: bool = True


@dataclass(frozen=True, slots=True)
class ForwardConfig:
    enabled: bool
    destinations: Mapping[str, DestinationConfig]
    router: Router
    outbox: OutboxConfig
    dedup_window: float
    sla: SlaConfig
    source: str


def load_forward_config(data: Any, source: str) -> ForwardConfig:
    """Validate the ``forward`` mapping (``None`` means: nothing configured, SLA defaults only)."""
    s = Section(data, source, "forward")
    s.only({"enabled", "timezone", "host_groups", "destinations", "routes", "outbox", "dedup", "sla"})
    tz_name = s.str("timezone", "UTC")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise s.error("timezone", f"unknown time zone {tz_name!r}") from e
    destinations = _destinations(s.section("destinations"))
    groups = _host_groups(s.section("host_groups"))
    routes = _routes(s, destinations, groups)
    dedup = s.section("dedup")
    dedup.only({"window"})
    return ForwardConfig(
        enabled=s.bool("enabled", True),
        destinations=destinations,
        router=Router(routes, groups, tz),
        outbox=_outbox(s.section("outbox")),
        dedup_window=dedup.duration("window", 300.0),
        sla=_sla(s.section("sla")),
        source=source,
    )


def _destinations(s: Section) -> dict[str, DestinationConfig]:
    out: dict[str, DestinationConfig] = {}
    for name in s.data:
        if not _NAME.match(name):
            raise s.error(name, "destination names use letters, digits, '.', '_' and '-' (max 64)")
        d = s.section(name)
        kind = d.str("type", choices=tuple(DESTINATION_TYPES))
        if not d.bool("enabled", True):
            continue
        rate = None
        if d.data.get("rate_limit") is not None:
            r = d.section("rate_limit")
            r.only({"per_second", "burst"})
            per_second = r.float("per_second", min=0.001)
            rate = RateLimit(per_second, r.int("burst", max(1, int(per_second)), min=1))
        dtype = DESTINATION_TYPES[kind]
        out[name] = DestinationConfig(name=name, type=dtype, settings=dtype.parse(d), rate_limit=rate,
                                      max_attempts=d.int("max_attempts", None, min=1, max=1000))
    return out


def _host_groups(s: Section) -> dict[str, tuple[str, ...]]:
    return {name: s.str_list(name) for name in s.data}


def _routes(s: Section, destinations: Mapping[str, DestinationConfig],
            groups: Mapping[str, tuple[str, ...]]) -> tuple[Route, ...]:
    raw = s.raw("routes", [])
    if not isinstance(raw, list):
        raise s.error("routes", "must be a list of routes")
    routes: list[Route] = []
    names: set[str] = set()
    for i, item in enumerate(raw):
        r = Section(item, s.source, f"forward.routes[{i}]")
        r.only({"name", "match", "to", "title", "body", "html", "escalate_to", "stop"})
        name = r.str("name", f"route-{i + 1}")
        if name in names:
            raise r.error("name", f"duplicate route name {name!r}")
        names.add(name)
        to = r.str_list("to")
        for dest in to:
            if dest not in destinations:
                raise r.error("to", f"unknown destination {dest!r} (defined: {', '.join(destinations) or 'none'})")
        routes.append(Route(
            name=name,
            match=_match(r.section("match"), groups),
            destinations=to,
            template=MessageTemplate(s.source, r.prefix, r.str("title", None), r.str("body", None), r.str("html", None)),
            escalate_to=r.str("escalate_to", None),
            stop=r.bool("stop", False),
        ))
    for i, route in enumerate(routes):
        if route.escalate_to is not None and route.escalate_to not in names:
            raise ConfigError(s.source, f"forward.routes[{i}].escalate_to", f"no route named {route.escalate_to!r}")
    return tuple(routes)


def _match(m: Section, groups: Mapping[str, tuple[str, ...]]) -> Match:
    m.only({"levels", "min_level", "families", "detectors", "host_groups", "statuses", "hours", "days", "escalated"})
    host_groups = m.str_list("host_groups", None)
    for g in host_groups or ():
        if g not in groups:
            raise m.error("host_groups", f"unknown host group {g!r} (define it under forward.host_groups)")
    days = m.str_list("days", None, choices=DAYS)
    hours = None
    if m.data.get("hours") is not None:
        spans = []
        for text in m.str_list("hours"):
            hm = _HOURS.match(text)
            if not hm:
                raise m.error("hours", f"{text!r} is not a span like 08:00-18:00")
            h1, m1, h2, m2 = (int(x) for x in hm.groups())
            end = h2 * 60 + m2
            if end > 24 * 60:
                raise m.error("hours", f"{text!r} ends after 24:00")
            spans.append((h1 * 60 + m1, end))
        hours = tuple(spans)
    levels = m.str_list("levels", None, choices=LEVELS)
    families = m.str_list("families", None, choices=FAMILIES)
    statuses = m.str_list("statuses", None, choices=STATUSES)
    return Match(
        levels=frozenset(levels) if levels else None,
        min_level=m.str("min_level", None, choices=LEVELS),
        families=frozenset(families) if families else None,
        detectors=m.str_list("detectors", None),
        host_groups=frozenset(host_groups) if host_groups else None,
        statuses=frozenset(statuses) if statuses else None,
        hours=hours,
        days=frozenset(DAYS.index(d) for d in days) if days else None,
        escalated=m.bool("escalated", None) if "escalated" in m.data else None,
    )


def _outbox(s: Section) -> OutboxConfig:
    s.only({"max_attempts", "backoff", "lease", "batch", "poll_interval", "concurrency"})
    b = s.section("backoff")
    b.only({"initial", "factor", "max"})
    d = OutboxConfig()
    return OutboxConfig(
        max_attempts=s.int("max_attempts", d.max_attempts, min=1, max=1000),
        backoff_initial=b.duration("initial", d.backoff_initial, min=0.01),
        backoff_factor=b.float("factor", d.backoff_factor, min=1.0, max=10.0),
        backoff_max=b.duration("max", d.backoff_max, min=0.01),
        lease=s.duration("lease", d.lease, min=1.0),
        batch=s.int("batch", d.batch, min=1, max=10000),
        poll_interval=s.duration("poll_interval", d.poll_interval, min=0.01),
        concurrency=s.int("concurrency", d.concurrency, min=1, max=10000),
    )


def _sla(s: Section) -> SlaConfig:
    s.only({"check_interval", "escalate"})
    return SlaConfig(check_interval=s.duration("check_interval", 30.0, min=0.01),
                     escalate=s.bool("escalate", True))
