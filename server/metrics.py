"""Prometheus text exposition, hand-written: a few counters, one histogram, gauges read at scrape.

No prometheus_client: five metric families do not justify a dependency, and
per-process counters are what one collector process can honestly report.
"""

from __future__ import annotations

import time
from bisect import bisect_left

from aiohttp import web

from server.api.access import bearer
from server.api.agents import agent_state
from server.api.responses import ApiError
from server.auth import user_for_token
from server.keys import CONFIG, METRIC_SOURCES, METRICS, STORE


class Counter:
    def __init__(self, name: str, help_: str, label: str) -> None:
        self.name, self.help, self.label = name, help_, label
        self.values: dict[str, float] = {}

    def inc(self, label_value: str, n: float = 1) -> None:
        self.values[label_value] = self.values.get(label_value, 0) + n

    def render(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        out += [f'{self.name}{{{self.label}="{k}"}} {v:g}' for k, v in sorted(self.values.items())]
        return out


class Histogram:
    def __init__(self, name: str, help_: str, buckets: tuple[float, ...]) -> None:
        self.name, self.help, self.buckets = name, help_, buckets
        self.counts = [0] * (len(buckets) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def render(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        acc = 0
        for bound, n in zip(self.buckets, self.counts):
            acc += n
            out.append(f'{self.name}_bucket{{le="{bound:g}"}} {acc}')
        out.append(f'{self.name}_bucket{{le="+Inf"}} {self.count}')
        out += [f"{self.name}_sum {self.sum:.6f}", f"{self.name}_count {self.count}"]
        return out


class Metrics:
    def __init__(self) -> None:
        self.started = time.time()
        self.events = Counter("leakwarden_ingest_events_total", "Events received, by result", "result")
        self.batches = Counter("leakwarden_ingest_batches_total", "Batches received, by outcome", "outcome")
        self.alerts = Counter("leakwarden_alerts_raised_total", "Alerts raised or raised in level", "level")
        self.ingest_seconds = Histogram("leakwarden_ingest_batch_seconds", "Time to ingest one batch",
                                        (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))


def label_value(value: str) -> str:
    """A label value in the exposition format (names come from configuration: escape anyway)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def family(name: str, help_: str, kind: str, samples: dict[tuple[tuple[str, str], ...], float]) -> list[str]:
    """A metric family with any labels: ``{(("destination", "siem"), ("outcome", "dead")): 3}``."""
    out = [f"# HELP {name} {help_}", f"# TYPE {name} {kind}"]
    for labels, v in sorted(samples.items()):
        text = ",".join(f'{k}="{label_value(val)}"' for k, val in labels)
        out.append(f"{name}{{{text}}} {v:g}")
    return out


def _gauge(name: str, help_: str, label: str | None, values: dict[str, float] | float) -> list[str]:
    out = [f"# HELP {name} {help_}", f"# TYPE {name} gauge"]
    if isinstance(values, dict):
        out += [f'{name}{{{label}="{k}"}} {v:g}' for k, v in sorted(values.items())]
    else:
        out.append(f"{name} {values:g}")
    return out


async def metrics_handler(request: web.Request) -> web.Response:
    """``/metrics``: needs the configured scrape token or a person's session."""
    cfg, store, m = request.app[CONFIG], request.app[STORE], request.app[METRICS]
    token = bearer(request)
    allowed = token is not None and (
        (cfg.metrics_token is not None and token == cfg.metrics_token) or await user_for_token(store, token))
    if not allowed:
        raise ApiError(401, "unauthenticated", "metrics need the scrape token or a session",
                       headers={"WWW-Authenticate": "Bearer"})
    now = time.time()
    agents = await store.list_agents()
    states = {"online": 0, "offline": 0, "revoked": 0}
    spool = 0
    for a in agents:
        state = agent_state(a, cfg.offline_after, now)
        states[state] += 1
        if state != "revoked":
            spool += a.spool_depth or 0
    lines: list[str] = []
    for family in (m.events, m.batches, m.alerts, m.ingest_seconds):
        lines += family.render()
    lines += _gauge("leakwarden_alerts", "Stored alerts by level", "level", await store.count_alerts_by_level())
    lines += _gauge("leakwarden_outbox_items", "Forwarding outbox items by status", "status",
                    await store.outbox_depth())
    lines += _gauge("leakwarden_agents", "Enrolled agents by state", "state", states)
    lines += _gauge("leakwarden_agent_spool_depth", "Sum of agents' reported spool depth", None, spool)
    lines += _gauge("leakwarden_uptime_seconds", "Seconds since this process started", None, now - m.started)
    for source in request.app[METRIC_SOURCES]:
        lines += await source()
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain", charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})
