"""Risk grading: a score 0-100, a level, and the explanation an analyst reads.

Each factor adds points and says why; the score is their sum, capped at 100,
so the explanation always adds up to what is shown. Weights live in
``configs/server.yaml`` (``grading:``); see docs/collector.md for the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from leakwarden.wire import Event, WireFinding
from server.config import GradingConfig

#: events that raise an alert even without findings (points in grading.event_base)
ALERTABLE_KINDS = frozenset({"net.forbidden_destination", "net.anomaly", "agent.overflow", "agent.spool_drop",
                             "agent.degraded", "agent.gap"})
CONTAINER_DETECTORS = ("container.encrypted", "container.disguised", "container.limit_exceeded")
# marking level named by a detector when the finding carries no attributes.level
DEFAULT_MARKING = {"marking.cn_state_secret": "秘密", "marking.cn_work_secret": "工作秘密",
                   "marking.corporate": "corporate", "marking.us_classification": "CONFIDENTIAL"}
SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3, "critical": 4}


@dataclass(slots=True)
class Grade:
    score: int = 0
    level: str = "low"
    explanation: list[dict[str, Any]] = field(default_factory=list)

    def add(self, factor: str, detail: str, points: float) -> None:
        if points:
            self.explanation.append({"factor": factor, "detail": detail, "points": round(points)})


def level_for(score: float, cfg: GradingConfig) -> str:
    for level in ("critical", "high", "medium"):
        if score >= cfg.thresholds[level]:
            return level
    return "low"


def finish(grade: Grade, cfg: GradingConfig) -> Grade:
    raw = sum(f["points"] for f in grade.explanation)
    if raw > 100:
        grade.explanation.append({"factor": "cap", "detail": "score capped at 100", "points": 100 - raw})
    grade.score = max(0, min(100, raw))
    grade.level = level_for(grade.score, cfg)
    return grade


def is_alertable(event: Event) -> bool:
    if event.findings:
        return True
    if event.kind == "device.attach":
        return event.device is not None and event.device.policy in ("alert", "block")
    return event.kind in ALERTABLE_KINDS


def marking_level(f: WireFinding) -> str | None:
    if not f.detector.startswith("marking."):
        return None
    level = f.attributes.get("level") if isinstance(f.attributes, dict) else None
    return level if isinstance(level, str) else DEFAULT_MARKING.get(f.detector, "corporate")


def channel_class(event: Event, cfg: GradingConfig) -> tuple[str, str]:
    """(weight key, human detail) for where the data is going."""
    if event.channel == "network" or event.destination is not None:
        category = (event.destination.category if event.destination else None) or "unknown"
        where = (event.destination.host or event.destination.ip) if event.destination else None
        detail = f"sent over the network to {where or 'an unknown destination'} ({category})"
        return ("network_risky" if category in cfg.risky_categories else "network"), detail
    if event.channel == "removable":
        return "removable", "written to removable media"
    if event.file is not None and event.file.disguised:
        return "disguise", "file content does not match its name (disguised)"
    if event.channel == "archive":
        return "archive", "packed into an archive"
    return "local", "written locally"


def grade_event(event: Event, cfg: GradingConfig, *, repetitions: int = 0) -> Grade:
    g = Grade()
    content = [f for f in event.findings if f.detector not in CONTAINER_DETECTORS]
    if content:
        worst = max(content, key=lambda f: (cfg.severity.get(f.severity, 0) * f.confidence))
        g.add("detector", f"{worst.detector} ({worst.severity}, confidence {worst.confidence:.2f})",
              cfg.severity.get(worst.severity, 0) * worst.confidence)
        n = len(content)
        if n > 1:
            g.add("volume", f"{n} findings in one item",
                  min(cfg.volume_max, cfg.volume_per_doubling * math.log2(n)))
        levels = [lv for lv in map(marking_level, content) if lv is not None]
        if levels:
            top = max(levels, key=lambda lv: cfg.marking.get(lv, 0))
            g.add("marking", f"marked {top}", cfg.marking.get(top, 0))
    elif event.kind in cfg.event_base:
        # the agent's own words for what it saw (e.g. an anomaly against its baseline)
        said = event.attributes.get("explanation") if isinstance(event.attributes, dict) else None
        detail = f"{event.kind}: {said[:300]}" if isinstance(said, str) and said else event.kind
        g.add("event", detail, cfg.event_base[event.kind])
    elif event.kind == "device.attach":
        g.add("event", f"device attached (policy {event.device.policy if event.device else '?'})",
              cfg.event_base.get("device.attach", 10))
    for det in CONTAINER_DETECTORS:
        if any(f.detector == det for f in event.findings):
            g.add("container", det, cfg.container.get(det, 0))
    key, detail = channel_class(event, cfg)
    g.add("channel", detail, cfg.channel.get(key, 0))
    if event.user and event.user in cfg.watch_users:
        g.add("watchlist", f"user {event.user} is on the watch list", cfg.watchlist_points)
    elif event.host in cfg.watch_hosts:
        g.add("watchlist", f"host {event.host} is on the watch list", cfg.watchlist_points)
    if repetitions:
        g.add("repetition", f"{repetitions} earlier alert(s) for the same person or content",
              min(cfg.repetition_max, cfg.repetition_per_alert * repetitions))
    return finish(g, cfg)


def grade_fixed(kind: str, detail: str, cfg: GradingConfig) -> Grade:
    """Collector-raised alerts (agent.offline, agent.tamper, device.lost_seen)."""
    g = Grade()
    g.add("event", detail, cfg.event_base.get(kind, 50))
    return finish(g, cfg)
