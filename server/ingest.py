"""From a validated batch to stored events, alerts and incidents: one transaction per batch.

Idempotent by event id: a retried batch stores nothing twice, and its ids are
acknowledged again so the agent can delete them from its spool. Alert
listeners (forwarding) run after the commit, never inside it.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec

from detectors.redact import Redactor
from leakwarden.wire import IDENTIFIERS, Batch, Event
from server.config import ServerConfig
from server.grading import Factor, Grade, finish, grade_event, grade_fixed, is_alertable, message
from server.incidents import device_key, link, raise_latest_alert
from server.store.interface import Agent, Alert, Device, EventRecord, Store

log = logging.getLogger("leakwarden.server.ingest")

GAP_NAMESPACE = uuid.UUID("5b1c7f7e-3b55-4d0a-9e0e-7d3f0c1a2b40")
MAX_EVIDENCE = 200  # findings kept per alert; the count says how many there were


@dataclass(slots=True)
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    acked: list[str] = field(default_factory=list)
    #: alerts created or whose level rose, for the listeners (after commit)
    notify: list[Alert] = field(default_factory=list)


def _record(agent_id: str, e: Event, now: float) -> EventRecord:
    return EventRecord(
        id=e.id, agent_id=agent_id, seq=e.seq, time=e.time, received_at=now, kind=e.kind, channel=e.channel,
        host=e.host, user=e.user, path=e.file.path if e.file else None,
        content_hash=e.file.content_hash if e.file else None, device_key=device_key(e.device),
        data=msgspec.to_builtins(e))


_WINDOWS_PATH = re.compile(r"^(?:[A-Za-z]:\\|\\\\)")


def _file_name(path: str) -> str:
    """The last component of a path as the agent sends it: POSIX (``/``) or Windows (``C:\\``,
    ``\\\\server``: ``\\`` only, so a ``/`` in a name cannot cut it), and for archive members
    (``outer!member``) the member's own name after the container's (``q.zip!b.docx``)."""
    outer, *members = path.split("!")
    name = outer.rsplit("\\", 1)[-1] if _WINDOWS_PATH.match(outer) else outer.rsplit("/", 1)[-1]
    # "!" is also a legal file-name character: a member needs a container name before it
    if not name or not members or not all(members):
        return path.rsplit("\\" if _WINDOWS_PATH.match(path) else "/", 1)[-1] or path
    return "!".join([name] + [m.rstrip("/").rsplit("/", 1)[-1] or m for m in members])


def _title(e: Event) -> str:
    dets = sorted({f.detector for f in e.findings})
    what = ", ".join(dets[:3]) + (f" +{len(dets) - 3}" if len(dets) > 3 else "") if dets else None
    where = (_file_name(e.file.path) if e.file and e.file.path else None) or (
        e.destination.host or e.destination.ip if e.destination else None) or (
        e.device.model or e.device.label or e.device.serial if e.device else None)
    # no findings: the kind once ("device.attach · SanDisk"), not "device.attach · device.attach"
    return " · ".join(part for part in (what, e.kind, where) if part)


def new_alert(*, now: float, kind: str, title: str, grade: Grade, sla: dict[str, float], event: Event | None = None,
              agent_id: str | None = None, event_id: str | None = None, host: str | None = None,
              user: str | None = None, detectors: list[str] | None = None) -> Alert:
    e = event
    evidence = [msgspec.to_builtins(f) for f in e.findings[:MAX_EVIDENCE]] if e else []
    return Alert(
        id=0, created_at=now, updated_at=now, time=e.time if e else now, kind=kind, title=title[:500],
        agent_id=agent_id, event_id=event_id or (e.id if e else None), host=host or (e.host if e else None),
        user=user or (e.user if e else None), channel=e.channel if e else None,
        path=e.file.path if e and e.file else None,
        device=msgspec.to_builtins(e.device) if e and e.device else None,
        destination=msgspec.to_builtins(e.destination) if e and e.destination else None,
        content_hash=e.file.content_hash if e and e.file else None,
        detectors=detectors if detectors is not None else (sorted({f.detector for f in e.findings}) if e else []),
        score=grade.score, level=grade.level, explanation=grade.explanation, evidence=evidence,
        sla_deadline=now + sla[grade.level])


async def raise_alert(tx: Store, alert: Alert, result: IngestResult) -> Alert:
    stored = await tx.insert_alert(alert)
    result.notify.append(stored)
    return stored


def describe_skew(skew: float) -> str:
    """``1.0 h (3600 s)`` / ``2.5 min (150 s)``: the size of a skew in units and in seconds."""
    size = abs(skew)
    words = f"{size / 3600:.1f} h" if size >= 3600 else (f"{size / 60:.1f} min" if size >= 60 else f"{size:.0f} s")
    return f"{words} ({size:.0f} s)"


class Ingestor:
    def __init__(self, store: Store, config: ServerConfig) -> None:
        self.store = store
        self.cfg = config
        self.redactor = Redactor()

    def _redacted(self, events: list[Event]) -> list[Event]:
        """Names (paths, host, user, device, destination, attributes) with any ID number or key masked.

        The agent masks them before spooling; doing it again here keeps an old or hostile agent from
        planting a raw value in the store."""
        clean = self.redactor.mask_structs(events, keep=IDENTIFIERS)
        if any(c is not e for c, e in zip(clean, events)):
            log.warning("ingest: masked sensitive values in event names (agent sent them in clear)")
        return clean

    async def ingest(self, agent: Agent, batch: Batch, now: float | None = None) -> IngestResult:
        now = time.time() if now is None else now
        result = IngestResult()
        seen: set[str] = set()
        events: list[Event] = []
        for e in batch.events:  # an id twice in one batch counts once
            if e.id not in seen:
                seen.add(e.id)
                events.append(e)
        events = self._redacted(events)
        async with self.store.transaction() as tx:
            a = await tx.lock_agent(agent.id)
            if a is None:
                raise LookupError(agent.id)
            events = await self._own_host(tx, a, events, now, result)
            new_ids = await tx.insert_events([_record(agent.id, e, now) for e in events])
            result.accepted = len(new_ids)
            result.duplicates = len(batch.events) - len(new_ids)
            result.acked = [e.id for e in batch.events]
            fresh = sorted((e for e in events if e.id in new_ids), key=lambda e: e.seq)
            await self._gaps(tx, a, fresh, now, result)
            # events that are no alert of their own matter only if they continue an open incident:
            # one query for the batch instead of one per event
            quiet = [e for e in fresh if not is_alertable(e)]
            joinable = await tx.open_incident_keys(
                content_hashes=[e.file.content_hash for e in quiet if e.file and e.file.content_hash],
                device_keys=[k for k in map(lambda e: device_key(e.device), quiet) if k],
                since=now - self.cfg.incident_window) if quiet else set()
            for e in fresh:
                if e.kind == "agent.heartbeat":
                    await self._heartbeat(tx, a, e, now, result)
                if e.device is not None and e.kind.startswith("device."):
                    await self._device(tx, a, e, now, result)
                await self._grade(tx, a, e, now, result, joinable)
            await self._clock_skew(tx, a, fresh, now, result)
            a.last_seen = now
            a.offline_alerted = False
            await tx.update_agent(a)
        return result

    async def _own_host(self, tx: Store, a: Agent, events: list[Event], now: float,
                        result: IngestResult) -> list[Event]:
        """An agent speaks only for the host it enrolled as: events naming another host are stored
        under the enrolled name (the claim kept in ``attributes.claimed_host``) and raise
        ``agent.tamper`` once per claimed name, so nobody can file alerts against someone else's machine."""
        out = []
        for e in events:
            if e.host == a.hostname:
                out.append(e)
                continue
            claimed = e.host
            out.append(msgspec.structs.replace(e, host=a.hostname,
                                               attributes={**e.attributes, "claimed_host": claimed}))
            marker = str(uuid.uuid5(GAP_NAMESPACE, f"{a.id}:host:{claimed}"))
            if await tx.insert_events([EventRecord(id=marker, agent_id=a.id, seq=e.seq, time=now, received_at=now,
                                                   kind="agent.tamper", channel="agent", host=a.hostname, user=None,
                                                   path=None, content_hash=None, device_key=None,
                                                   data={"kind": "agent.tamper", "claimed_host": claimed})]):
                g = grade_fixed("agent.tamper", message("tamper.claimed_host", claimed=claimed, enrolled=a.hostname),
                                self.cfg.grading)
                await raise_alert(tx, new_alert(now=now, kind="agent.tamper",
                                                title=f"agent.tamper · claims another host · {a.hostname}",
                                                grade=g, sla=self.cfg.sla, agent_id=a.id, event_id=marker,
                                                host=a.hostname), result)
        return out

    async def _gaps(self, tx: Store, a: Agent, fresh: list[Event], now: float, result: IngestResult) -> None:
        for e in fresh:
            if a.last_seq >= 0 and e.seq <= a.last_seq:
                # a new event with an old number: the agent's state (spool, counter) was wiped or restored,
                # so whatever it had not delivered before is gone and later gaps would be measured wrongly
                reset_id = str(uuid.uuid5(GAP_NAMESPACE, f"{a.id}:reset:{a.last_seq}:{e.id}"))
                if await tx.insert_events([EventRecord(id=reset_id, agent_id=a.id, seq=e.seq, time=now,
                                                       received_at=now, kind="agent.gap", channel="agent",
                                                       host=e.host, user=None, path=None, content_hash=None,
                                                       device_key=None, data={"kind": "agent.gap", "reset": True,
                                                                              "from_seq": a.last_seq,
                                                                              "to_seq": e.seq})]):
                    g = grade_fixed("agent.gap", message("gap.reset", before=str(a.last_seq), after=str(e.seq)),
                                    self.cfg.grading)
                    await raise_alert(tx, new_alert(
                        now=now, kind="agent.gap", title=f"agent.gap · sequence reset · {e.host}", grade=g,
                        sla=self.cfg.sla, agent_id=a.id, event_id=reset_id, host=e.host), result)
                a.last_seq = e.seq
                continue
            # the first event ever seen from an agent sets the baseline; later jumps are gaps
            if a.last_seq >= 0 and e.seq > a.last_seq + 1:
                first, last = a.last_seq + 1, e.seq - 1
                gap_id = str(uuid.uuid5(GAP_NAMESPACE, f"{a.id}:{first}:{last}"))
                data = {"kind": "agent.gap", "from_seq": first, "to_seq": last, "missing": last - first + 1}
                if await tx.insert_events([EventRecord(id=gap_id, agent_id=a.id, seq=first, time=now,
                                                       received_at=now, kind="agent.gap", channel="agent",
                                                       host=e.host, user=None, path=None, content_hash=None,
                                                       device_key=None, data=data)]):
                    g = grade_fixed("agent.gap", message("gap.missing", count=last - first + 1, first=str(first),
                                                         last=str(last)), self.cfg.grading)
                    await raise_alert(tx, new_alert(
                        now=now, kind="agent.gap", title=f"agent.gap · {last - first + 1} event(s) lost · {e.host}",
                        grade=g, sla=self.cfg.sla, agent_id=a.id, event_id=gap_id, host=e.host), result)
            a.last_seq = max(a.last_seq, e.seq)

    async def _clock_skew(self, tx: Store, a: Agent, fresh: list[Event], now: float, result: IngestResult) -> None:
        """Compare the agent's clock (the newest event time of the batch: the one that waited least in the
        spool) with the receive time. One ``agent.clock_skew`` alert per streak out of tolerance.

        Ahead is unambiguous (no event comes from the future) and alerts at once. Behind looks the same
        as a spool backlog being drained after an outage, so it must persist ``clock_skew_confirm`` s
        (the drain ends, live events arrive and the streak resets; a wrong clock stays wrong)."""
        if not fresh:
            return
        skew = max(e.time for e in fresh) - now
        a.clock_skew = round(skew, 3)
        tolerance = self.cfg.clock_skew_tolerance
        if abs(skew) <= tolerance:
            a.clock_skew_since, a.clock_skew_alerted = None, False
            return
        if a.clock_skew_since is None:
            a.clock_skew_since = now
        if a.clock_skew_alerted or (skew < 0 and now - a.clock_skew_since < self.cfg.clock_skew_confirm):
            return
        g = grade_fixed("agent.clock_skew", message("clock.behind" if skew < 0 else "clock.ahead",
                                                    skew=describe_skew(skew), tolerance=int(tolerance)),
                        self.cfg.grading)
        await raise_alert(tx, new_alert(now=now, kind="agent.clock_skew", title=f"agent.clock_skew · {a.hostname}",
                                        grade=g, sla=self.cfg.sla, agent_id=a.id, host=a.hostname), result)
        a.clock_skew_alerted = True

    async def _heartbeat(self, tx: Store, a: Agent, e: Event, now: float, result: IngestResult) -> None:
        at: dict[str, Any] = e.attributes
        a.version = str(at.get("version", a.version))[:64]
        monitors = at.get("monitors")
        if isinstance(monitors, dict):
            a.monitors = {str(k)[:64]: str(v)[:16] for k, v in list(monitors.items())[:64]}
        for name in ("spool_depth", "drops"):
            value = at.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                setattr(a, name, value)
        degraded = at.get("degraded")
        if isinstance(degraded, list):
            a.degraded = [str(x)[:200] for x in degraded[:32]]
        for what in ("config", "binary"):
            reported = at.get(f"{what}_hash")
            if not isinstance(reported, str) or not reported:
                continue
            reported = reported[:128]
            previous = getattr(a, f"{what}_hash")
            setattr(a, f"{what}_hash", reported)
            expected: frozenset[str] = getattr(self.cfg, f"expected_{what}_hashes")
            pinned = getattr(a, f"pinned_{what}_hash")
            if expected:
                bad = reported not in expected
            elif self.cfg.pin_first_seen:
                if pinned is None:
                    setattr(a, f"pinned_{what}_hash", reported)
                    continue
                bad = reported != pinned
            else:
                continue
            if bad and reported != previous:  # once per change, not on every heartbeat
                g = grade_fixed("agent.tamper", message("tamper.hash", what=what, hash=reported[:16]), self.cfg.grading)
                await raise_alert(tx, new_alert(now=now, kind="agent.tamper",
                                                title=f"agent.tamper · {what} changed · {e.host}", grade=g,
                                                sla=self.cfg.sla, event=e, agent_id=a.id), result)

    async def _device(self, tx: Store, a: Agent, e: Event, now: float, result: IngestResult) -> None:
        key = device_key(e.device)
        if key is None or e.device is None:
            return
        d = e.device
        dev = await tx.upsert_device(Device(id=0, key=key, vendor_id=d.vendor_id, product_id=d.product_id,
                                            vendor=d.vendor, model=d.model, serial=d.serial, fs_uuid=d.fs_uuid,
                                            label=d.label, first_seen=now, last_seen=now, last_host=e.host))
        if dev.status in ("lost", "revoked"):
            g = grade_fixed("device.lost_seen", message("device.lost_seen", device=str(dev.id), status=dev.status,
                                                        host=e.host), self.cfg.grading)
            await raise_alert(tx, new_alert(now=now, kind="device.lost_seen",
                                            title=f"device.lost_seen · {dev.status} device · {e.host}", grade=g,
                                            sla=self.cfg.sla, event=e, agent_id=a.id), result)

    async def _grade(self, tx: Store, a: Agent, e: Event, now: float, result: IngestResult,
                     joinable: set[str]) -> None:
        cfg = self.cfg.grading
        alertable = is_alertable(e)
        content_hash = e.file.content_hash if e.file else None
        dkey = device_key(e.device)
        if not alertable:
            if content_hash in joinable or dkey in joinable:
                linked = await link(tx, cfg, self.cfg.incident_window, event=e, event_id=e.id,
                                    content_hash=content_hash, dkey=dkey, score=0, is_alert=False, now=now)
                if linked is not None:
                    raised = await raise_latest_alert(tx, linked, now, self.cfg.sla)
                    if raised is not None:
                        result.notify.append(raised)
            return
        reps = await tx.count_recent_alerts(since=now - cfg.repetition_window, host=e.host, user=e.user,
                                            content_hash=content_hash,
                                            detectors=sorted({f.detector for f in e.findings}))
        g = grade_event(e, cfg, repetitions=reps)
        linked = await link(tx, cfg, self.cfg.incident_window, event=e, event_id=e.id, content_hash=content_hash,
                            dkey=dkey, score=g.score, is_alert=True, now=now)
        if linked is not None and linked.bonus:
            g.explanation.append(Factor("incident", message("incident.step", step=str(linked.step),
                                                            incident=str(linked.incident.id)), linked.bonus))
            g = finish(g, cfg)
        alert = new_alert(now=now, kind=e.kind, title=_title(e), grade=g, sla=self.cfg.sla, event=e, agent_id=a.id)
        alert.incident_id = linked.incident.id if linked else None
        await raise_alert(tx, alert, result)


async def offline_sweep(store: Store, config: ServerConfig, now: float | None = None) -> list[Alert]:
    """Raise ``agent.offline`` once for every agent silent past ``agents.offline_after``."""
    now = time.time() if now is None else now
    raised: list[Alert] = []
    for agent in await store.list_silent_agents(now - config.offline_after):
        async with store.transaction() as tx:
            a = await tx.lock_agent(agent.id)
            if a is None or a.offline_alerted or a.revoked_at is not None:
                continue
            silent = now - (a.last_seen or a.enrolled_at)
            g = grade_fixed("agent.offline", message("offline.silent", silent=int(silent),
                                                     deadline=int(config.offline_after)), config.grading)
            alert = await tx.insert_alert(new_alert(now=now, kind="agent.offline",
                                                    title=f"agent.offline · {a.hostname}", grade=g, sla=config.sla,
                                                    agent_id=a.id, host=a.hostname))
            a.offline_alerted = True
            await tx.update_agent(a)
        raised.append(alert)
    return raised
