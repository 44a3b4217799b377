"""Risk grading: a score 0-100, a level, and the explanation an analyst reads.

Each factor adds points and says why; the score is their sum, capped at 100,
so the explanation always adds up to what is shown. Weights live in
``configs/server.yaml`` (``grading:``); see docs/collector.md for the table.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
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


def N_(message: str) -> str:
    """Marks an English template for the dashboard's catalogue (``server/dashboard/catalog.py`` extracts it)."""
    return message


#: stable message id -> English template of an explanation line. The API's and forwarders'
#: ``detail`` is the template filled with plain values; the dashboard translates the template and
#: formats the values for the reader's locale. Ids are never renamed (stored alerts carry them);
#: change a wording by changing the template, add a new id for a new sentence.
MESSAGES: dict[str, str] = {
    "detector.worst": N_("%(detector)s (%(severity)s, confidence %(confidence)s)"),
    "volume.findings": N_("%(count)s findings in one item"),
    "marking.level": N_("marked %(marking)s"),
    "event.kind": N_("%(kind)s"),
    "event.said": N_("%(kind)s: %(said)s"),
    "event.device_attached": N_("device attached (policy %(policy)s)"),
    "container.detector": N_("%(detector)s"),
    "channel.network": N_("sent over the network to %(where)s (%(category)s)"),
    "channel.network_unknown": N_("sent over the network to an unknown destination (%(category)s)"),
    "channel.removable": N_("written to removable media"),
    "channel.disguise": N_("file content does not match its name (disguised)"),
    "channel.archive": N_("packed into an archive"),
    "channel.local": N_("written locally"),
    "watchlist.user": N_("user %(user)s is on the watch list"),
    "watchlist.host": N_("host %(host)s is on the watch list"),
    "repetition.earlier": N_("%(count)s earlier alert(s) for the same person or content"),
    "cap": N_("score capped at 100"),
    # collector-raised alerts and incidents (server/ingest.py, server/incidents.py build these with
    # message(); their English equals the texts those modules write today)
    "gap.missing": N_("%(count)s event(s) missing (seq %(first)s..%(last)s)"),
    "tamper.hash": N_("%(what)s hash %(hash)s… is not the expected one"),
    "device.lost_seen": N_("device #%(device)s marked %(status)s was seen on %(host)s"),
    "offline.silent": N_("no contact for %(silent)s s (deadline %(deadline)s s)"),
    "gap.reset": N_("sequence went back from %(before)s to %(after)s: the agent's state was reset or "
                    "restored; undelivered events may be lost"),
    "tamper.claimed_host": N_("events claim host %(claimed)s, the agent enrolled as %(enrolled)s"),
    "clock.behind": N_("agent clock is %(skew)s behind the collector (tolerance %(tolerance)s s)"),
    "clock.ahead": N_("agent clock is %(skew)s ahead of the collector (tolerance %(tolerance)s s)"),
    "incident.step": N_("step %(step)s of incident #%(incident)s"),
    "incident.step_kind": N_("step %(step)s of incident #%(incident)s (%(kind)s)"),
    "incident.worst_step": N_("highest graded step of %(count)s"),
    "incident.steps": N_("%(count)s related steps: %(chain)s"),
}
#: how a parameter is meant: ``int``/``float`` are quantities (the dashboard formats them for the
#: locale; English: ``str(int)``, floats with two decimals); ``str`` is data shown as it is, or a
#: known enumeration value the dashboard names in the reader's language. Identifiers (sequence
#: numbers, ids, pids) are passed as ``str`` so no locale groups their digits.
Param = str | int | float


def _plain(value: Param) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    params: dict[str, Param]

    @property
    def english(self) -> str:
        return MESSAGES[self.id] % {k: _plain(v) for k, v in self.params.items()}


def message(msg_id: str, **params: Param) -> Message:
    """A message of :data:`MESSAGES` with its parameters (KeyError for an unknown id or a missing parameter)."""
    m = Message(msg_id, params)
    m.english  # noqa: B018  # fail where the line is built, not where it is read
    return m


class Factor(dict[str, Any]):
    """One explanation line: the dict ``{"factor", "detail", "points"}`` the API and the forwarders
    show, carrying the message id and parameters its ``detail`` was written from as attributes,
    not keys, so whatever copies or serialises the dict (API answers, forwarded payloads) sees the
    shape it always had. The store keeps both (:func:`stored` / :func:`loaded`)."""

    __slots__ = ("msg", "params")

    def __init__(self, factor: str, detail: str | Message, points: int) -> None:
        text = detail.english if isinstance(detail, Message) else detail
        super().__init__(factor=factor, detail=text, points=points)
        self.msg: str | None = detail.id if isinstance(detail, Message) else None
        self.params: dict[str, Param] = dict(detail.params) if isinstance(detail, Message) else {}


def stored(explanation: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What the store writes: each line with ``msg`` and ``params`` keys when it has a message."""
    out = []
    for f in explanation:
        msg = getattr(f, "msg", None)
        out.append({**f, "msg": msg, "params": f.params} if msg else dict(f))  # type: ignore[attr-defined]
    return out


def loaded(explanation: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """What the store reads back: :class:`Factor` lines (plain dicts for lines stored without a message)."""
    out: list[dict[str, Any]] = []
    for raw in explanation or ():
        if isinstance(raw.get("msg"), str) and isinstance(raw.get("params"), dict):
            f = Factor(str(raw.get("factor")), str(raw.get("detail", "")), raw.get("points", 0))
            f.msg, f.params = raw["msg"], raw["params"]
            out.append(f)
        else:
            out.append(dict(raw))
    return out


@dataclass(slots=True)
class Grade:
    score: int = 0
    level: str = "low"
    explanation: list[dict[str, Any]] = field(default_factory=list)

    def add(self, factor: str, detail: str | Message, points: float) -> None:
        if points:
            self.explanation.append(Factor(factor, detail, round(points)))


def level_for(score: float, cfg: GradingConfig) -> str:
    for level in ("critical", "high", "medium"):
        if score >= cfg.thresholds[level]:
            return level
    return "low"


def finish(grade: Grade, cfg: GradingConfig) -> Grade:
    raw = sum(f["points"] for f in grade.explanation)
    if raw > 100:
        grade.explanation.append(Factor("cap", message("cap"), 100 - raw))
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


def channel_class(event: Event, cfg: GradingConfig) -> tuple[str, Message]:
    """(weight key, explanation) for where the data is going."""
    if event.channel == "network" or event.destination is not None:
        category = (event.destination.category if event.destination else None) or "unknown"
        where = (event.destination.host or event.destination.ip) if event.destination else None
        detail = (message("channel.network", where=where, category=category) if where
                  else message("channel.network_unknown", category=category))
        return ("network_risky" if category in cfg.risky_categories else "network"), detail
    if event.channel == "removable":
        return "removable", message("channel.removable")
    if event.file is not None and event.file.disguised:
        return "disguise", message("channel.disguise")
    if event.channel == "archive":
        return "archive", message("channel.archive")
    return "local", message("channel.local")


def grade_event(event: Event, cfg: GradingConfig, *, repetitions: int = 0) -> Grade:
    g = Grade()
    content = [f for f in event.findings if f.detector not in CONTAINER_DETECTORS]
    if content:
        worst = max(content, key=lambda f: (cfg.severity.get(f.severity, 0) * f.confidence))
        g.add("detector", message("detector.worst", detector=worst.detector, severity=worst.severity,
                                  confidence=float(worst.confidence)),
              cfg.severity.get(worst.severity, 0) * worst.confidence)
        n = len(content)
        if n > 1:
            g.add("volume", message("volume.findings", count=n),
                  min(cfg.volume_max, cfg.volume_per_doubling * math.log2(n)))
        levels = [lv for lv in map(marking_level, content) if lv is not None]
        if levels:
            top = max(levels, key=lambda lv: cfg.marking.get(lv, 0))
            g.add("marking", message("marking.level", marking=top), cfg.marking.get(top, 0))
    elif event.kind in cfg.event_base:
        # the agent's own words for what it saw (e.g. an anomaly against its baseline)
        said = event.attributes.get("explanation") if isinstance(event.attributes, dict) else None
        detail = (message("event.said", kind=event.kind, said=said[:300]) if isinstance(said, str) and said
                  else message("event.kind", kind=event.kind))
        g.add("event", detail, cfg.event_base[event.kind])
    elif event.kind == "device.attach":
        g.add("event", message("event.device_attached",
                               policy=(event.device.policy if event.device else None) or "?"),
              cfg.event_base.get("device.attach", 10))
    for det in CONTAINER_DETECTORS:
        if any(f.detector == det for f in event.findings):
            g.add("container", message("container.detector", detector=det), cfg.container.get(det, 0))
    key, detail = channel_class(event, cfg)
    g.add("channel", detail, cfg.channel.get(key, 0))
    if event.user and event.user in cfg.watch_users:
        g.add("watchlist", message("watchlist.user", user=event.user), cfg.watchlist_points)
    elif event.host in cfg.watch_hosts:
        g.add("watchlist", message("watchlist.host", host=event.host), cfg.watchlist_points)
    if repetitions:
        g.add("repetition", message("repetition.earlier", count=repetitions),
              min(cfg.repetition_max, cfg.repetition_per_alert * repetitions))
    return finish(g, cfg)


def grade_fixed(kind: str, detail: str | Message, cfg: GradingConfig) -> Grade:
    """Collector-raised alerts (agent.offline, agent.tamper, device.lost_seen); a plain ``str``
    detail is shown as written in every language."""
    g = Grade()
    g.add("event", detail, cfg.event_base.get(kind, 50))
    return finish(g, cfg)
