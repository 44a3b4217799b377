"""Risk grading, incidents and alert listeners: what an analyst sees rises with what matters."""

from __future__ import annotations

import msgspec
import pytest
from aiohttp.test_utils import TestClient

from leakwarden.wire import Event
from server.config import DEFAULT_GRADING, default_config
from server.grading import grade_event
from server.keys import ALERT_LISTENERS
from server.store.interface import Alert
from tests.server.helpers import batch, enroll, event, finding, person

G = DEFAULT_GRADING


def ev(**kw: object) -> Event:
    return msgspec.convert(event(0, **kw), Event)


def score(**kw: object) -> int:
    return grade_event(ev(**kw), G).score


def test_marking_levels_rank_as_the_regulation_orders_them() -> None:
    def marked(level: str, detector: str = "marking.cn_state_secret") -> int:
        return score(findings=[finding(detector, "high", 0.9, level=level)])
    assert marked("绝密") > marked("机密") > marked("秘密") > marked("工作秘密", "marking.cn_work_secret") \
        > marked("corporate", "marking.corporate")


def test_channel_ranks_local_archive_removable_network() -> None:
    f = [finding()]
    local = score(findings=f)
    archive = score(findings=f, channel="archive")
    removable = score(findings=f, channel="removable")
    cloud = score(findings=f, channel="network", destination={"host": "pan.example.cn", "category": "cloud"})
    ai = score(findings=f, channel="network", destination={"host": "chat.example.ai", "category": "ai"})
    corp = score(findings=f, channel="network", destination={"host": "mail.corp", "category": "corporate"})
    assert local < archive < removable < cloud == ai
    assert local < corp < cloud  # a known, sanctioned destination counts less than an unknown one


def test_volume_severity_confidence_and_containers_add_up() -> None:
    one = score(findings=[finding()])
    many = score(findings=[finding()] * 500)
    assert many > one
    assert score(findings=[finding(severity="critical")]) > score(findings=[finding(severity="low")])
    assert score(findings=[finding(confidence=0.99)]) > score(findings=[finding(confidence=0.4)])
    enc = score(findings=[finding(), finding("container.encrypted", "medium", 1.0)])
    assert enc > one


def test_explanation_lists_each_factor_and_sums_to_the_score() -> None:
    g = grade_event(ev(findings=[finding("marking.cn_state_secret", "critical", 1.0, level="绝密")] * 3,
                       channel="removable"), G)
    factors = {f["factor"] for f in g.explanation}
    assert {"detector", "volume", "marking", "channel"} <= factors
    assert sum(f["points"] for f in g.explanation) == g.score
    assert g.score == 100 and g.level == "critical"  # capped, and the cap is itself explained
    assert any(f["factor"] == "cap" for f in g.explanation)


def test_watch_list_and_repetition_raise_the_score() -> None:
    cfg = default_config().grading
    from dataclasses import replace
    watched = replace(cfg, watch_users=frozenset({"alice"}))
    base = grade_event(ev(findings=[finding()]), cfg)
    assert grade_event(ev(findings=[finding()]), watched).score > base.score
    assert grade_event(ev(findings=[finding()]), cfg, repetitions=2).score > base.score
    w = grade_event(ev(findings=[finding()]), watched)
    assert any("watch list" in f["detail"] for f in w.explanation)


@pytest.mark.parametrize("severity,level", [("low", "low"), ("critical", "high")])
def test_levels_follow_thresholds(severity: str, level: str) -> None:
    assert grade_event(ev(findings=[finding(severity=severity, confidence=1.0)]), G).level == level


async def test_write_copy_unmount_is_one_incident_graded_above_its_parts(client: TestClient) -> None:
    heard: list[Alert] = []

    async def listener(alert: Alert) -> None:
        heard.append(alert)
    client.server.app[ALERT_LISTENERS].append(listener)
    agent_id, headers = await enroll(client)
    doc = "cd" * 32
    usb = {"vendor_id": "0781", "product_id": "5567", "serial": "4C530001", "model": "Cruzer"}
    marked = [finding("marking.cn_state_secret", "high", 0.9, level="机密")]
    steps = [
        event(0, "file.write", findings=marked, file={"path": "/home/alice/plan.docx", "content_hash": doc}),
        event(1, "file.write", channel="removable", findings=marked, device=usb,
              file={"path": "/media/alice/CRUZER/plan.docx", "content_hash": doc}),
        event(2, "device.unmount", channel="removable", device=usb),
    ]
    for e in steps:  # one at a time, as the agent would see them happen
        r = await client.post("/api/v1/events", json=batch(agent_id, [e]), headers=headers)
        assert r.status == 200
    admin = await person(client)
    incidents = (await (await client.get("/api/v1/incidents", headers=admin)).json())["items"]
    assert len(incidents) == 1
    inc = await (await client.get(f"/api/v1/incidents/{incidents[0]['id']}", headers=admin)).json()
    assert [s["kind"] for s in inc["steps"]] == ["file.write", "file.write", "device.unmount"]
    alerts = inc["alerts"]
    assert len(alerts) == 2
    alone = [grade_event(msgspec.convert(e, Event), G).score for e in steps[:2]]
    assert inc["score"] > max(alone)
    latest = max(alerts, key=lambda a: a["id"])
    assert latest["score"] == inc["score"]
    assert any(f["factor"] == "incident" for f in latest["explanation"])
    assert sum(f["points"] for f in latest["explanation"]) == latest["score"]
    # the listener heard both alerts, and the rise the unmount caused if it crossed a level
    assert [a.id for a in heard][:2] == sorted(a["id"] for a in alerts)
    # a different document on the same host is a different incident
    other = event(3, "file.write", findings=marked, file={"path": "/home/alice/b.docx", "content_hash": "ef" * 32})
    await client.post("/api/v1/events", json=batch(agent_id, [other]), headers=headers)
    assert len((await (await client.get("/api/v1/incidents", headers=admin)).json())["items"]) == 2


async def test_a_failing_listener_does_not_lose_the_batch(client: TestClient) -> None:
    async def broken(alert: Alert) -> None:
        raise RuntimeError("listener bug")
    client.server.app[ALERT_LISTENERS].append(broken)
    agent_id, headers = await enroll(client)
    r = await client.post("/api/v1/events", json=batch(agent_id, [event(0, findings=[finding()])]), headers=headers)
    assert r.status == 200 and (await r.json())["accepted"] == 1


async def test_sequence_gap_becomes_an_alert(client: TestClient) -> None:
    agent_id, headers = await enroll(client)
    await client.post("/api/v1/events", json=batch(agent_id, [event(0), event(1)]), headers=headers)
    await client.post("/api/v1/events", json=batch(agent_id, [event(5)]), headers=headers)
    admin = await person(client)
    alerts = (await (await client.get("/api/v1/alerts?kind=agent.gap", headers=admin)).json())["items"]
    assert len(alerts) == 1 and "3 event(s)" in alerts[0]["title"]
    assert "seq 2..4" in alerts[0]["explanation"][0]["detail"]


def test_an_anomaly_alert_explains_itself_in_the_agents_words() -> None:
    said = "sent 2.1 GB to cloud-storage between 02:00 and 03:00; this process usually sends 40 MB/day"
    g = grade_event(ev(kind="net.anomaly", channel="network", attributes={"explanation": said}), G)
    assert any(f["factor"] == "event" and said in f["detail"] for f in g.explanation)
